// The sim hypervisor's records and options: what a test hands a SimFabric or a
// SimHost, what a sim server is (and a new one with its defaults), and the
// migration log tests read.
import type { CpuDescription, CpuTopology, Server, StoragePool } from '../../agent/hypervisor/hypervisor.ts';
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import type { GuestCpu } from '../../common/generated/drydock/agent/v1/GuestCpu.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface SimServerSpec {
  uuid?: string;
  name: string;
  memoryBytes?: number;
  vcpus?: number;
  /** Default running. */
  running?: boolean;
  disks?: Array<Partial<Disk> & { path: string }>;
  hotMigration?: boolean;
  smart?: boolean;
  cpu?: Partial<GuestCpu>;
  /** Memory dirtied per second while running: at or above the bandwidth a live migration never converges. */
  dirtyRateBps?: number;
  /** The guest ignores ACPI shutdown (cold moves then need the hard stop). */
  ignoreShutdown?: boolean;
}

/** A server as the sim keeps it: the Server record and its simulated behaviour. */
export interface SimServer {
  server: Server;
  dirtyRateBps: number;
  ignoreShutdown: boolean;
  /** True while an outgoing migration runs (a second one is refused). */
  migrating: boolean;
  /** libvirt's reason for the state (domstate --reason): "booted", "migrated", "panicked", ... ("" = none). */
  reason?: string;
}

export interface SimMigrationRecord {
  uuid: string;
  name: string;
  from: string;
  to: string;
  mode: 'live' | 'offline';
  startedAtMs: number;
  finishedAtMs: number;
  result: 'completed' | 'failed' | 'aborted' | 'running';
  bytes: number;
}

/**
 * What a host sees of its fabric (SimFabric, fabric.ts), generic in the host
 * type so that the host's files need not import the fabric's (no import cycle,
 * test/layering.test.ts).
 */
export interface SimWorld<H> {
  readonly bandwidthBps: number;
  readonly tickMs: number;
  readonly setupMs: number;
  readonly shutdownMs: number;
  /** Hosts by migration URI. */
  readonly hosts: Map<string, H>;
  /** uuid → where it lives. The single source of truth for "exactly one host". */
  readonly placement: Map<string, { host: H; sim: SimServer }>;
  /** Every migration any host ran, in start order. */
  readonly migrations: SimMigrationRecord[];
}

export interface SimFabricOptions {
  /** Migration bandwidth between hosts, bytes/s (default 1 GiB/s). */
  bandwidthBps?: number;
  /** Simulation tick (default 100 ms). */
  tickMs?: number;
  /** Time before data starts to move (target QEMU start), default 200 ms. */
  setupMs?: number;
  /** Time an obedient guest takes to shut down on ACPI, default 200 ms. */
  shutdownMs?: number;
}

export interface SimHostOptions {
  hostId: string;
  /** Default qemu+tcp://<hostId>.sim/system. */
  uri?: string;
  cpu?: CpuDescription;
  topology?: Partial<CpuTopology>;
  memoryTotalBytes?: number;
  /** Outgoing bandwidth override, bytes/s. */
  bandwidthBps?: number;
  pools?: StoragePool[];
  hypervisorType?: string;
  /** Path prefixes declared shared (the agent's storage.sharedPathPrefixes), as LibvirtHypervisor's sharedPaths. */
  sharedPaths?: string[];
}

/** A new sim server from its spec (disks and server record with libvirt's defaults). */
export function newSimServer(uuid: string, spec: SimServerSpec): SimServer {
  const disks: Disk[] = (spec.disks ?? []).map((d, i) => ({
    target: d.target ?? `vd${String.fromCharCode(97 + i)}`,
    path: d.path,
    capacity_bytes: d.capacity_bytes ?? 10 * GiB,
    allocation_bytes: d.allocation_bytes ?? 64 * MiB,
    pool: d.pool ?? '',
    shared: d.shared ?? false,
    format: d.format ?? 'qcow2',
    type: d.type ?? 'file',
    readonly: d.readonly ?? false,
  }));
  const server: Server = {
    uuid,
    name: spec.name,
    state: spec.running === false ? 'SERVER_STATE_SHUTOFF' : 'SERVER_STATE_RUNNING',
    vcpus: spec.vcpus ?? 1,
    memory_bytes: spec.memoryBytes ?? 512 * MiB,
    disks,
    cpu: { mode: 'host-model', model: '', features: [], xml: '', ...spec.cpu },
    hot_migration: spec.hotMigration ?? true,
    smart: spec.smart ?? false,
    persistent: true,
    domain_type: 'kvm',
  };
  return { server, dirtyRateBps: spec.dirtyRateBps ?? 0, ignoreShutdown: spec.ignoreShutdown ?? false, migrating: false };
}
