// The coordinator's records, as stored (JSON) in the JetStream KV buckets of
// common/subjects.ts. Field names are camelCase here; the admin API's proto
// shapes are built from them in one place (coordinator/admin/convert.ts).
import type { CpuDescription } from '../common/generated/drydock/agent/v1/CpuDescription.ts';
import type { CpuTopology } from '../common/generated/drydock/agent/v1/CpuTopology.ts';
import type { StoragePool } from '../common/generated/drydock/agent/v1/StoragePool.ts';
import type { Server as AgentServer } from '../common/generated/drydock/agent/v1/Server.ts';
import type { Disk } from '../common/generated/drydock/agent/v1/Disk.ts';
import type { GuestCpu } from '../common/generated/drydock/agent/v1/GuestCpu.ts';

export type CpuMode = 'DEFAULT' | 'EXTENDED' | 'PASSTHROUGH';
export type PlacementPolicy = 'SPREAD' | 'PACK';
export type MaintenanceState = 'none' | 'entering' | 'in_maintenance' | 'returning';

/** Per-zone knobs; every field is resolved (defaults applied) on read. */
export interface ZonePolicy {
  placement: PlacementPolicy;
  maxMigrationsPerSource: number;
  maxMigrationsPerZone: number;
  maxIncomingPerTarget: number;
  stallTimeoutS: number;
  timeoutPerGibS: number;
  minTimeoutS: number;
  allowPostCopy: boolean;
  allowAutoConverge: boolean;
  cpuOvercommitRatio: number;
  hostMemoryReserveBytes: number;
  maxAttemptsPerServer: number;
  settlePauseS: number;
}

/** docs/design.md §1.3 "Defaults". */
export const DEFAULT_ZONE_POLICY: ZonePolicy = {
  placement: 'SPREAD',
  maxMigrationsPerSource: 1,
  maxMigrationsPerZone: 2,
  maxIncomingPerTarget: 1,
  stallTimeoutS: 150,
  timeoutPerGibS: 150,
  minTimeoutS: 120,
  allowPostCopy: false,
  allowAutoConverge: false,
  cpuOvercommitRatio: 4,
  hostMemoryReserveBytes: 1024 ** 3,
  maxAttemptsPerServer: 3,
  settlePauseS: 300,
};

export interface ZoneCpuChange {
  atMs: number;
  fromModel: string;
  toModel: string;
  featuresLost: string[];
  featuresGained: string[];
  causeHostId: string;
  reason: 'initial' | 'host-joined' | 'host-returned' | 'operator-upgrade' | 'operator-recompute' | 'mode-changed';
  message: string;
  /**
   * An operator upgrade: the servers that were running then and need a power
   * cycle to see the raised model (uuids). Kept so the list outlives the
   * RecomputeZoneCpu answer. Absent in entries written before it existed.
   */
  serversNeedingPowerCycle?: string[];
}

export interface ZoneCpuState {
  model: string;
  vendor: string;
  features: string[];
  extraFeatures: string[];
  xml: string;
  history: ZoneCpuChange[];
  advice: string[];
  mismatchedHosts: string[];
  updatedAtMs: number;
}

export interface ZoneRecord {
  id: string;
  name: string;
  description: string;
  cpuMode: CpuMode;
  /** Only the fields the operator set; resolve with DEFAULT_ZONE_POLICY. */
  policy: Partial<ZonePolicy>;
  cpu: ZoneCpuState;
  createdAtMs: number;
  updatedAtMs: number;
}

/**
 * A host an operator admitted: its NATS identity exists (coordinator/admission.ts).
 * Messages of hosts without one never reach the inventory.
 */
export interface AdmittedHostRecord {
  hostId: string;
  /** Public nkey ("U...") of the host's NATS identity; "" when the NATS servers' auth is managed outside drydock. */
  nkey: string;
  admittedAtMs: number;
  /** What admitted it: "issue-host-credentials", "npm start", a test. */
  by: string;
}

export interface HostRecord {
  id: string;
  hostname: string;
  /** "" until the operator assigns a zone. */
  zoneId: string;
  label: string;
  /** The Enabled switch (operator). New hosts start enabled. */
  enabled: boolean;
  storageCluster: string;
  hypervisorType: string;
  grpcEndpoint: string;
  migrationUri: string;
  incarnation: string;
  bootId: string;
  cpu: CpuDescription;
  topology: CpuTopology;
  memoryTotalBytes: number;
  /** Last reported free memory (heartbeats refresh it in memory). */
  memoryFreeBytes: number;
  storagePools: StoragePool[];
  libvirtVersion: string;
  qemuVersion: string;
  maintenance: MaintenanceState;
  maintenanceOpId: string;
  registeredAtMs: number;
  /** Last facts received (ms). */
  factsAtMs: number;
}

export interface ServerRecord {
  uuid: string;
  name: string;
  hostId: string;
  /** "running", "shutoff", "paused", "crashed", ... */
  state: string;
  vcpus: number;
  memoryBytes: number;
  disks: Disk[];
  cpu: GuestCpu;
  domainType: string;
  /** Operator-controlled (UpdateServer) once set; seeded from the domain XML. */
  hotMigration: boolean;
  smart: boolean;
  /** True once the operator changed hotMigration/smart (agent reports then don't overwrite). */
  flagsSetByOperator: boolean;
  /** Operation moving/stopping the server ("" = none). */
  operationId: string;
  updatedAtMs: number;
}

/** A point-in-time view of the inventory: the planner's only input. */
export interface InventorySnapshot {
  takenAtMs: number;
  zones: ZoneRecord[];
  /** Hosts with liveness derived at takenAtMs. */
  hosts: (HostRecord & { online: boolean; lastHeartbeatMs: number })[];
  servers: ServerRecord[];
}

export function resolvePolicy(policy: Partial<ZonePolicy>): ZonePolicy {
  const out = { ...DEFAULT_ZONE_POLICY };
  for (const [k, v] of Object.entries(policy) as [keyof ZonePolicy, ZonePolicy[keyof ZonePolicy]][]) {
    if (v !== undefined && v !== 0 && (v as unknown) !== '' && (v as unknown) !== 'PLACEMENT_POLICY_UNSPECIFIED') (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Local (non-shared) disk bytes a move has to copy. */
export function localDiskBytes(server: Pick<ServerRecord, 'disks'>): number {
  return server.disks.filter((d) => !d.shared && d.type !== 'network').reduce((sum, d) => sum + Number(d.allocation_bytes || d.capacity_bytes || 0), 0);
}

export function serverFromAgent(hostId: string, s: AgentServer, nowMs: number): ServerRecord {
  return {
    uuid: s.uuid,
    name: s.name,
    hostId,
    state: s.state.replace('SERVER_STATE_', '').toLowerCase(),
    vcpus: s.vcpus,
    memoryBytes: Number(s.memory_bytes),
    disks: s.disks,
    cpu: s.cpu ?? { mode: '', model: '', features: [], xml: '' },
    domainType: s.domain_type,
    hotMigration: s.hot_migration,
    smart: s.smart,
    flagsSetByOperator: false,
    operationId: '',
    updatedAtMs: nowMs,
  };
}
