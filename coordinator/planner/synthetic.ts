// Synthetic inventories for tests, the benchmark and what-if examples:
// small builders with sensible defaults, and seeded random snapshots
// (a hand-rolled PRNG, so a failing seed reproduces everywhere).
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import type { StoragePool } from '../../common/generated/drydock/agent/v1/StoragePool.ts';
import type { InventorySnapshot, ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import type { SnapshotHost } from './types.ts';

export const MIB = 1024 ** 2;
export const GIB = 1024 ** 3;
export const TIB = 1024 ** 4;

export const LOCAL_POOL_PATH = '/var/lib/libvirt/images';
export const SHARED_POOL_PATH = '/srv/shared';

export function makeZone(id: string, policy: Partial<ZonePolicy> = {}, overrides: Partial<ZoneRecord> = {}): ZoneRecord {
  return {
    id,
    name: id,
    description: '',
    cpuMode: 'DEFAULT',
    policy,
    cpu: { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [], updatedAtMs: 0 },
    createdAtMs: 0,
    updatedAtMs: 0,
    ...overrides,
  };
}

export function makePool(name: string, overrides: Partial<StoragePool> = {}): StoragePool {
  const shared = overrides.shared ?? false;
  return {
    name,
    type: shared ? 'netfs' : 'dir',
    path: shared ? `${SHARED_POOL_PATH}/${name}` : LOCAL_POOL_PATH,
    shared,
    active: true,
    capacity_bytes: 2 * TIB,
    available_bytes: TIB,
    ...overrides,
  };
}

/** A KVM host in zone z1: 64 GiB, 16 logical CPUs, a local "default" pool and a shared "nfs" pool. */
export function makeHost(id: string, overrides: Partial<SnapshotHost> = {}): SnapshotHost {
  const memoryTotalBytes = overrides.memoryTotalBytes ?? 64 * GIB;
  return {
    id,
    hostname: `${id}.example`,
    zoneId: 'z1',
    label: id,
    enabled: true,
    storageCluster: '',
    hypervisorType: 'kvm',
    grpcEndpoint: `${id}:7443`,
    migrationUri: `qemu+tcp://${id}/system`,
    incarnation: 'i1',
    bootId: 'b1',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Skylake-Server', features: [], disabled_features: [], xml: '' },
    topology: { sockets: 1, cores_per_socket: 8, threads_per_core: 2, logical_cpus: 16 },
    memoryTotalBytes,
    memoryFreeBytes: memoryTotalBytes,
    storagePools: [makePool('default'), makePool('nfs', { shared: true })],
    libvirtVersion: '9.0.0',
    qemuVersion: '7.2.0',
    maintenance: 'none',
    maintenanceOpId: '',
    registeredAtMs: 0,
    factsAtMs: 0,
    online: true,
    lastHeartbeatMs: 0,
    ...overrides,
  };
}

export function makeDisk(overrides: Partial<Disk> = {}): Disk {
  return {
    target: 'vda',
    path: `${LOCAL_POOL_PATH}/disk.qcow2`,
    capacity_bytes: 0,
    allocation_bytes: 0,
    pool: 'default',
    shared: false,
    format: 'qcow2',
    type: 'file',
    readonly: false,
    ...overrides,
  };
}

/** A shared disk on pool `pool` (a netfs path). */
export function sharedDisk(pool: string, target = 'vdb', overrides: Partial<Disk> = {}): Disk {
  return makeDisk({
    target,
    path: `${SHARED_POOL_PATH}/${pool}/${target}.qcow2`,
    pool,
    shared: true,
    capacity_bytes: 20 * GIB,
    allocation_bytes: 20 * GIB,
    ...overrides,
  });
}

/** A local disk of `bytes` in the "default" pool. */
export function localDisk(bytes: number, target = 'vda', overrides: Partial<Disk> = {}): Disk {
  return makeDisk({ target, path: `${LOCAL_POOL_PATH}/${target}-${bytes}.qcow2`, capacity_bytes: bytes, allocation_bytes: bytes, ...overrides });
}

/** A deterministic UUID-shaped id from a number. */
export function syntheticUuid(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

/** A running, hot-migratable server: 2 GiB, 2 vCPUs, no disks. */
export function makeServer(name: string, hostId: string, overrides: Partial<ServerRecord> = {}): ServerRecord {
  return {
    uuid: overrides.uuid ?? `uuid-${name}`,
    name,
    hostId,
    state: 'running',
    vcpus: 2,
    memoryBytes: 2 * GIB,
    disks: [],
    cpu: { mode: 'host-model', model: '', features: [], xml: '' },
    domainType: 'kvm',
    hotMigration: true,
    smart: false,
    flagsSetByOperator: false,
    operationId: '',
    updatedAtMs: 0,
    ...overrides,
  };
}

export function makeSnapshot(parts: { zones?: ZoneRecord[]; hosts: SnapshotHost[]; servers: ServerRecord[]; takenAtMs?: number }): InventorySnapshot {
  return { takenAtMs: parts.takenAtMs ?? 1_700_000_000_000, zones: parts.zones ?? [makeZone('z1')], hosts: parts.hosts, servers: parts.servers };
}

/** mulberry32: tiny, fast, good enough for test data. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates with the given PRNG; returns a new array. */
export function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface RandomSnapshotOptions {
  hosts: number;
  serversPerHost: number;
  /** Number of zones (hosts spread round-robin). Default 1. */
  zones?: number;
  /** Add disabled / offline / maintenance / non-KVM hosts and odd servers. Default true. */
  chaos?: boolean;
  placement?: ZonePolicy['placement'];
}

/**
 * A plausible inventory: hosts of 32-256 GiB with 8-64 CPUs, servers of
 * 0.5-16 GiB, some with local or shared disks, some smart or cold-only,
 * some shut off; with chaos, a share of hosts that must never be targets.
 */
export function randomSnapshot(seed: number, opts: RandomSnapshotOptions): InventorySnapshot {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chaos = opts.chaos ?? true;
  const zoneCount = Math.max(1, opts.zones ?? 1);
  const zones = Array.from({ length: zoneCount }, (_, i) => makeZone(`z${i + 1}`, opts.placement ? { placement: opts.placement } : {}));
  const width = String(opts.hosts).length;
  const hosts: SnapshotHost[] = [];
  const servers: ServerRecord[] = [];
  let n = 0;
  for (let h = 0; h < opts.hosts; h++) {
    const id = `h${String(h + 1).padStart(width, '0')}`;
    const memoryTotalBytes = pick([32, 64, 128, 256]) * GIB;
    const roll = rand();
    const pools: StoragePool[] = [makePool('default', { available_bytes: Math.floor(rand() * 2 * TIB) })];
    if (rand() < 0.9) pools.push(makePool('nfs', { shared: true }));
    if (rand() < 0.5) pools.push(makePool('ceph', { shared: true, type: 'rbd', path: '' }));
    const host = makeHost(id, {
      zoneId: zones[h % zoneCount]!.id,
      memoryTotalBytes,
      topology: { sockets: 2, cores_per_socket: pick([2, 4, 8, 16]), threads_per_core: 2, logical_cpus: 0 },
      storagePools: pools,
      enabled: !(chaos && roll < 0.05),
      online: !(chaos && roll >= 0.05 && roll < 0.1),
      maintenance: chaos && roll >= 0.1 && roll < 0.13 ? 'in_maintenance' : chaos && roll >= 0.13 && roll < 0.16 ? 'entering' : 'none',
      hypervisorType: chaos && roll >= 0.16 && roll < 0.18 ? 'xen' : pick(['kvm', 'kvm', 'kvm', 'qemu']),
    });
    host.topology.logical_cpus = host.topology.sockets * host.topology.cores_per_socket * host.topology.threads_per_core;
    let allocated = 0;
    for (let s = 0; s < opts.serversPerHost; s++) {
      const memoryBytes = pick([0.5, 1, 2, 4, 8, 16]) * GIB;
      const disks: Disk[] = [];
      const d = rand();
      if (d < 0.4) disks.push(localDisk(pick([5, 10, 20, 50]) * GIB));
      else if (d < 0.7) disks.push(sharedDisk('nfs', 'vda'));
      else if (d < 0.8) disks.push(sharedDisk('ceph', 'vda', { type: 'network', path: '' }));
      const stateRoll = rand();
      const server = makeServer(`vs${n}`, id, {
        uuid: syntheticUuid(n),
        memoryBytes,
        vcpus: pick([1, 2, 4, 8]),
        disks,
        state: stateRoll < 0.8 ? 'running' : stateRoll < 0.95 ? 'shutoff' : chaos ? pick(['paused', 'crashed']) : 'running',
        hotMigration: rand() < 0.8,
        smart: rand() < 0.1,
        domainType: host.hypervisorType === 'qemu' ? 'qemu' : pick(['kvm', 'kvm', 'qemu']),
      });
      servers.push(server);
      allocated += memoryBytes;
      n++;
    }
    // Reported free memory: what guests leave, less some host usage.
    host.memoryFreeBytes = Math.max(0, memoryTotalBytes - Math.floor(allocated * (0.6 + rand() * 0.4)) - Math.floor(rand() * 4 * GIB));
    hosts.push(host);
  }
  return makeSnapshot({ zones, hosts, servers });
}

/**
 * The first host (by id) that can enter maintenance: KVM, online, in
 * service, in a zone. The benchmark and tests plan this one.
 */
export function drainableHost(snapshot: InventorySnapshot): SnapshotHost | undefined {
  return [...snapshot.hosts]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .find((h) => (h.hypervisorType === 'kvm' || h.hypervisorType === 'qemu') && h.online && h.maintenance === 'none' && h.zoneId !== '');
}

/**
 * The same inventory with `count` servers on `hostId`: servers of other hosts
 * (taken in server order) are moved onto it, so the total stays the same.
 * Models one big host in a large zone. Returns a new snapshot; server
 * records that move are copies.
 */
export function crowdHost(snapshot: InventorySnapshot, hostId: string, count: number): InventorySnapshot {
  let missing = count - snapshot.servers.filter((s) => s.hostId === hostId).length;
  const servers = snapshot.servers.map((s) => {
    if (missing <= 0 || s.hostId === hostId) return s;
    missing--;
    return { ...s, hostId };
  });
  return { ...snapshot, servers };
}
