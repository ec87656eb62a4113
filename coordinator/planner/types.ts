// The planner's input and output shapes. The output mirrors the admin API's
// Plan / PlannedServer / CandidateVerdict / CheckResult (admin.proto) in
// camelCase, so the coordinator's conversion is a field-for-field copy:
// `action` is the proto enum name without its SERVER_ACTION_ prefix.
import type { InventorySnapshot, ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import type { Reservation, Reservations } from './reservations.ts';

/** A host as a snapshot carries it: the record plus liveness at takenAtMs. */
export type SnapshotHost = InventorySnapshot['hosts'][number];

/**
 * kubectl-drain-style verdicts. `skip`: the host is not a candidate at all
 * (source, other zone, disabled, ...); `block`: a candidate that fails for
 * this server (capacity, CPU, storage); `warn`: eligible, but the operator
 * should know something. Only ok and warn leave a host eligible.
 */
export type CheckVerdict = 'ok' | 'skip' | 'warn' | 'block';

/** The proto's check names (CheckResult.check), plus not-source / not-attempted. */
export type CheckName =
  | 'not-source'
  | 'not-attempted'
  | 'same-zone'
  | 'kvm'
  | 'enabled'
  | 'online'
  | 'not-in-maintenance'
  | 'memory'
  | 'vcpu'
  | 'local-disk'
  | 'shared-storage'
  | 'cpu-compatible';

export interface CheckResult {
  check: CheckName;
  verdict: CheckVerdict;
  reason: string;
}

export interface CandidateVerdict {
  hostId: string;
  /** True when no check said skip or block. */
  eligible: boolean;
  checks: CheckResult[];
  /**
   * Free memory (bytes, host reserve already deducted) the target would have
   * after every reservation so far plus this server. Negative: it does not fit.
   */
  memoryFreeAfterBytes: number;
}

/** admin.proto ServerAction without the SERVER_ACTION_ prefix. */
export type ServerAction = 'LIVE_MIGRATE' | 'COLD_MIGRATE' | 'STOP' | 'NONE';

export interface PlannedServer {
  serverUuid: string;
  serverName: string;
  action: ServerAction;
  /** "" for STOP / NONE and for blockers. */
  targetHostId: string;
  /** Why this target / this action, in one sentence. */
  reason: string;
  memoryBytes: number;
  localDiskBytes: number;
  vcpus: number;
  /** libvirt state at snapshot time ("running", "shutoff", ...). */
  state: string;
  /** The server was active (not shut off): a cold move starts it again on the target. */
  wasRunning: boolean;
  /**
   * Same-zone hosts' verdicts, sorted by host id; at most
   * PlanOptions.maxCandidatesPerServer of them, the most telling first.
   */
  candidates: CandidateVerdict[];
  /** Same-zone hosts evaluated but left out of `candidates`. */
  candidatesOmitted: number;
  estimatedSeconds: number;
}

export type RefusalCode = 'host-not-found' | 'not-kvm' | 'no-zone' | 'zone-not-found' | 'in-maintenance' | 'returning' | 'offline';

/** A host-level reason the plan cannot run at all. */
export interface PlanRefusal {
  code: RefusalCode;
  message: string;
}

export interface Plan {
  hostId: string;
  zoneId: string;
  stopUnmigratable: boolean;
  /**
   * Moves, stops and NONEs, in placement order (largest first). With
   * stopUnmigratable off, servers that fit nowhere are in `blockers` instead.
   */
  servers: PlannedServer[];
  /**
   * Servers that cannot move; their `action` is what stop_unmigratable would
   * do with them (STOP if active, NONE if shut off). Empty when
   * stopUnmigratable is on.
   */
  blockers: PlannedServer[];
  refusals: PlanRefusal[];
  warnings: string[];
  estimatedSeconds: number;
  /** Bytes per second the estimate assumes. */
  assumedBandwidthBps: number;
  /** True when assumedBandwidthBps is the default, not a measurement. */
  bandwidthAssumed: boolean;
  /** The snapshot's takenAtMs: the planner has no clock of its own. */
  plannedAtMs: number;
  /** The zone policy the plan was made with (defaults applied). */
  policy: ZonePolicy;
  /**
   * Every reservation this plan made (one per moved server), for the
   * executor to hold while it runs. Existing reservations are not included.
   */
  reservations: Reservation[];
}

/**
 * CPU compatibility of a server with a target, decided elsewhere (issue 5:
 * zone CPU mode, CompareCpu results cached per host and CPU). Must be pure
 * and synchronous: the caller resolves what it needs before planning.
 */
export type CpuCompatibleFn = (server: ServerRecord, target: SnapshotHost, zone: ZoneRecord) => { ok: boolean; reason: string };

export interface PlanRequest {
  hostId: string;
  /** Stop servers (or leave shut-off ones) that fit nowhere instead of refusing. */
  stopUnmigratable: boolean;
}

export interface PlanOptions {
  cpuCompatible?: CpuCompatibleFn;
  /** Bandwidth measured on earlier migrations (bytes/s); default 100 MiB/s. */
  measuredBandwidthBps?: number;
  /** Reservations held by operations already running (other drains, returns). */
  reservations?: Reservations | readonly Reservation[];
  /**
   * Verdicts kept per server (default DEFAULT_MAX_CANDIDATES; 0 = all).
   * Every host is always evaluated; this only bounds what the plan carries.
   */
  maxCandidatesPerServer?: number;
}

/**
 * 20 hosts × ~11 checks per server keeps a 100-server plan well under
 * gRPC's default 4 MiB message, and is what an operator can read.
 */
export const DEFAULT_MAX_CANDIDATES = 20;
