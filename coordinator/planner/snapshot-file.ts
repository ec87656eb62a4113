// Inventory snapshots as files, for what-if planning away from the cluster:
// `drydock snapshot` writes one, `drydock plan --snapshot FILE --host ID`
// reads it and runs the same planner. The file is versioned; parsing
// validates every field the planner relies on and names the exact path of
// the first bad one, because these files are also written by hand.
// Fields the planner does not need may be left out and get neutral defaults.
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import type { StoragePool } from '../../common/generated/drydock/agent/v1/StoragePool.ts';
import { InvalidArgumentError } from '../../common/errors.ts';
import type { CpuMode, InventorySnapshot, MaintenanceState, PlacementPolicy, ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import { DEFAULT_ZONE_POLICY } from '../model.ts';
import { cmp } from './compare.ts';
import type { SnapshotHost } from './types.ts';

export const SNAPSHOT_FILE_KIND = 'drydock.inventory-snapshot';
export const SNAPSHOT_FILE_VERSION = 1;

/** The first invalid field of a snapshot file; `field` is its JSON path (e.g. "hosts[2].memoryTotalBytes"). */
export class SnapshotFileError extends InvalidArgumentError {}

type Json = Record<string, unknown>;

/** Snapshot → file text: stable order (zones, hosts by id; servers by uuid) so files diff cleanly. */
export function serializeSnapshot(snapshot: InventorySnapshot): string {
  const file = {
    kind: SNAPSHOT_FILE_KIND,
    version: SNAPSHOT_FILE_VERSION,
    takenAtMs: snapshot.takenAtMs,
    zones: [...snapshot.zones].sort((a, b) => cmp(a.id, b.id)),
    hosts: [...snapshot.hosts].sort((a, b) => cmp(a.id, b.id)),
    servers: [...snapshot.servers].sort((a, b) => cmp(a.uuid, b.uuid)),
  };
  return JSON.stringify(file, null, 2) + '\n';
}

/** File text → validated snapshot. Throws SnapshotFileError. */
export function parseSnapshot(text: string): InventorySnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SnapshotFileError('(file)', `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return snapshotFromJson(value);
}

/** Already-parsed JSON → validated snapshot. Throws SnapshotFileError. */
export function snapshotFromJson(value: unknown): InventorySnapshot {
  const root = object(value, '(file)');
  if (root.kind !== SNAPSHOT_FILE_KIND) {
    throw new SnapshotFileError('kind', `must be ${JSON.stringify(SNAPSHOT_FILE_KIND)} (is this a drydock snapshot?), got ${show(root.kind)}`);
  }
  const version = root.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new SnapshotFileError('version', `must be a positive integer, got ${show(version)}`);
  if (version > SNAPSHOT_FILE_VERSION) {
    throw new SnapshotFileError('version', `file version ${version} was written by a newer drydock; this one reads up to ${SNAPSHOT_FILE_VERSION}`);
  }
  const snapshot: InventorySnapshot = {
    takenAtMs: num(root, 'takenAtMs', ''),
    zones: array(root, 'zones', '').map((z, i) => zone(z, `zones[${i}]`)),
    hosts: array(root, 'hosts', '').map((h, i) => host(h, `hosts[${i}]`)),
    servers: array(root, 'servers', '').map((s, i) => server(s, `servers[${i}]`)),
  };
  unique(
    snapshot.zones.map((z) => z.id),
    'zones',
    'zone id',
  );
  unique(
    snapshot.hosts.map((h) => h.id),
    'hosts',
    'host id',
  );
  unique(
    snapshot.servers.map((s) => s.uuid),
    'servers',
    'server uuid',
  );
  const hostIds = new Set(snapshot.hosts.map((h) => h.id));
  snapshot.servers.forEach((s, i) => {
    if (!hostIds.has(s.hostId)) throw new SnapshotFileError(`servers[${i}].hostId`, `host ${JSON.stringify(s.hostId)} is not among the file's hosts`);
  });
  return snapshot;
}

// ---------------------------------------------------------------- records

const CPU_MODES: readonly CpuMode[] = ['DEFAULT', 'EXTENDED', 'PASSTHROUGH'];
const PLACEMENTS: readonly PlacementPolicy[] = ['SPREAD', 'PACK'];
const MAINTENANCE: readonly MaintenanceState[] = ['none', 'entering', 'in_maintenance', 'returning'];

function zone(value: unknown, path: string): ZoneRecord {
  const o = object(value, path);
  const id = nonEmpty(o, 'id', path);
  const cpu = o.cpu === undefined ? {} : object(o.cpu, `${path}.cpu`);
  const cpuPath = `${path}.cpu`;
  return {
    id,
    name: str(o, 'name', path, id),
    description: str(o, 'description', path, ''),
    cpuMode: oneOf(o, 'cpuMode', path, CPU_MODES, 'DEFAULT'),
    policy: policy(o.policy ?? {}, `${path}.policy`),
    cpu: {
      model: str(cpu, 'model', cpuPath, ''),
      vendor: str(cpu, 'vendor', cpuPath, ''),
      features: strings(cpu, 'features', cpuPath),
      extraFeatures: strings(cpu, 'extraFeatures', cpuPath),
      xml: str(cpu, 'xml', cpuPath, ''),
      // History entries are informational: kept as given (objects only).
      history: (cpu.history === undefined
        ? []
        : array(cpu, 'history', cpuPath).map((h, i) => object(h, `${cpuPath}.history[${i}]`))) as unknown as ZoneRecord['cpu']['history'],
      advice: strings(cpu, 'advice', cpuPath),
      mismatchedHosts: strings(cpu, 'mismatchedHosts', cpuPath),
      updatedAtMs: num(cpu, 'updatedAtMs', cpuPath, 0),
    },
    createdAtMs: num(o, 'createdAtMs', path, 0),
    updatedAtMs: num(o, 'updatedAtMs', path, 0),
  };
}

/** Only the keys the operator set; an unknown key is an error (a typo here silently changes the what-if). */
function policy(value: unknown, path: string): Partial<ZonePolicy> {
  const o = object(value, path);
  const out: Partial<ZonePolicy> = {};
  for (const key of Object.keys(o)) {
    if (!(key in DEFAULT_ZONE_POLICY))
      throw new SnapshotFileError(`${path}.${key}`, `unknown policy field (known: ${Object.keys(DEFAULT_ZONE_POLICY).join(', ')})`);
    const k = key as keyof ZonePolicy;
    if (o[k] === undefined) continue;
    const def = DEFAULT_ZONE_POLICY[k];
    if (k === 'placement') out.placement = oneOf(o, k, path, PLACEMENTS, 'SPREAD');
    else if (typeof def === 'boolean') (out as Record<string, unknown>)[k] = bool(o, k, path);
    else (out as Record<string, unknown>)[k] = num(o, k, path);
  }
  return out;
}

function host(value: unknown, path: string): SnapshotHost {
  const o = object(value, path);
  const id = nonEmpty(o, 'id', path);
  const topo = object(o.topology, `${path}.topology`);
  const cpu = o.cpu === undefined ? {} : object(o.cpu, `${path}.cpu`);
  return {
    id,
    hostname: str(o, 'hostname', path, id),
    zoneId: str(o, 'zoneId', path),
    label: str(o, 'label', path, ''),
    enabled: bool(o, 'enabled', path),
    storageCluster: str(o, 'storageCluster', path, ''),
    hypervisorType: str(o, 'hypervisorType', path),
    grpcEndpoint: str(o, 'grpcEndpoint', path, ''),
    migrationUri: str(o, 'migrationUri', path, ''),
    incarnation: str(o, 'incarnation', path, ''),
    bootId: str(o, 'bootId', path, ''),
    cpu: {
      arch: str(cpu, 'arch', `${path}.cpu`, ''),
      vendor: str(cpu, 'vendor', `${path}.cpu`, ''),
      model: str(cpu, 'model', `${path}.cpu`, ''),
      features: strings(cpu, 'features', `${path}.cpu`),
      disabled_features: strings(cpu, 'disabled_features', `${path}.cpu`),
      xml: str(cpu, 'xml', `${path}.cpu`, ''),
    },
    topology: {
      sockets: num(topo, 'sockets', `${path}.topology`, 0),
      cores_per_socket: num(topo, 'cores_per_socket', `${path}.topology`, 0),
      threads_per_core: num(topo, 'threads_per_core', `${path}.topology`, 0),
      logical_cpus: num(topo, 'logical_cpus', `${path}.topology`),
    },
    memoryTotalBytes: num(o, 'memoryTotalBytes', path),
    memoryFreeBytes: num(o, 'memoryFreeBytes', path),
    storagePools: (o.storagePools === undefined ? [] : array(o, 'storagePools', path)).map((p, i) => pool(p, `${path}.storagePools[${i}]`)),
    libvirtVersion: str(o, 'libvirtVersion', path, ''),
    qemuVersion: str(o, 'qemuVersion', path, ''),
    maintenance: oneOf(o, 'maintenance', path, MAINTENANCE, 'none'),
    maintenanceOpId: str(o, 'maintenanceOpId', path, ''),
    registeredAtMs: num(o, 'registeredAtMs', path, 0),
    factsAtMs: num(o, 'factsAtMs', path, 0),
    online: bool(o, 'online', path),
    lastHeartbeatMs: num(o, 'lastHeartbeatMs', path, 0),
  };
}

function pool(value: unknown, path: string): StoragePool {
  const o = object(value, path);
  return {
    name: nonEmpty(o, 'name', path),
    type: str(o, 'type', path, 'dir'),
    path: str(o, 'path', path, ''),
    shared: bool(o, 'shared', path, false),
    active: bool(o, 'active', path, true),
    capacity_bytes: num(o, 'capacity_bytes', path, 0),
    available_bytes: num(o, 'available_bytes', path),
  };
}

function server(value: unknown, path: string): ServerRecord {
  const o = object(value, path);
  const uuid = nonEmpty(o, 'uuid', path);
  const cpu = o.cpu === undefined ? {} : object(o.cpu, `${path}.cpu`);
  return {
    uuid,
    name: str(o, 'name', path, uuid),
    hostId: nonEmpty(o, 'hostId', path),
    state: nonEmpty(o, 'state', path),
    vcpus: num(o, 'vcpus', path),
    memoryBytes: num(o, 'memoryBytes', path),
    disks: (o.disks === undefined ? [] : array(o, 'disks', path)).map((d, i) => disk(d, `${path}.disks[${i}]`)),
    cpu: {
      mode: str(cpu, 'mode', `${path}.cpu`, ''),
      model: str(cpu, 'model', `${path}.cpu`, ''),
      features: strings(cpu, 'features', `${path}.cpu`),
      xml: str(cpu, 'xml', `${path}.cpu`, ''),
    },
    domainType: str(o, 'domainType', path, 'kvm'),
    // Unknown means "not allowed to move live": a cold move is the safe guess.
    hotMigration: bool(o, 'hotMigration', path, false),
    smart: bool(o, 'smart', path, false),
    flagsSetByOperator: bool(o, 'flagsSetByOperator', path, false),
    operationId: str(o, 'operationId', path, ''),
    updatedAtMs: num(o, 'updatedAtMs', path, 0),
  };
}

function disk(value: unknown, path: string): Disk {
  const o = object(value, path);
  return {
    target: str(o, 'target', path, ''),
    path: str(o, 'path', path, ''),
    capacity_bytes: num(o, 'capacity_bytes', path, 0),
    allocation_bytes: num(o, 'allocation_bytes', path, 0),
    pool: str(o, 'pool', path, ''),
    shared: bool(o, 'shared', path, false),
    format: str(o, 'format', path, ''),
    type: str(o, 'type', path, 'file'),
    readonly: bool(o, 'readonly', path, false),
  };
}

// ---------------------------------------------------------------- field readers
// Each takes the parent object, the key and the parent's path; a `def`
// makes the field optional.

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function object(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SnapshotFileError(path, `must be an object, got ${show(v)}`);
  return v as Json;
}

function array(o: Json, key: string, path: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new SnapshotFileError(join(path, key), `must be an array, got ${show(v)}`);
  return v;
}

function str(o: Json, key: string, path: string, def?: string): string {
  const v = o[key];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== 'string') throw new SnapshotFileError(join(path, key), `must be a string, got ${show(v)}`);
  return v;
}

function nonEmpty(o: Json, key: string, path: string): string {
  const v = str(o, key, path);
  if (v === '') throw new SnapshotFileError(join(path, key), 'must not be empty');
  return v;
}

function strings(o: Json, key: string, path: string): string[] {
  if (o[key] === undefined) return [];
  return array(o, key, path).map((v, i) => {
    if (typeof v !== 'string') throw new SnapshotFileError(`${join(path, key)}[${i}]`, `must be a string, got ${show(v)}`);
    return v;
  });
}

function bool(o: Json, key: string, path: string, def?: boolean): boolean {
  const v = o[key];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== 'boolean') throw new SnapshotFileError(join(path, key), `must be true or false, got ${show(v)}`);
  return v;
}

/** A finite, non-negative number; a decimal string is accepted too (proto JSON writes uint64 as strings). */
function num(o: Json, key: string, path: string, def?: number): number {
  const v = o[key];
  if (v === undefined && def !== undefined) return def;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new SnapshotFileError(join(path, key), `must be a non-negative number, got ${show(v)}`);
  if (n > Number.MAX_SAFE_INTEGER) throw new SnapshotFileError(join(path, key), `is too large to be exact (${show(v)})`);
  return n;
}

function oneOf<T extends string>(o: Json, key: string, path: string, allowed: readonly T[], def: T): T {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new SnapshotFileError(join(path, key), `must be one of ${allowed.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

function unique(ids: readonly string[], path: string, what: string): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined) throw new SnapshotFileError(`${path}[${i}]`, `duplicate ${what} ${JSON.stringify(id)} (also at ${path}[${first}])`);
    seen.set(id, i);
  });
}
