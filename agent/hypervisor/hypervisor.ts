// The narrow seam between the agent and the hypervisor. The real
// implementation (libvirt.ts) drives virsh; harness/sim/host.ts is an in-memory stand-in
// for scale and fault tests only. Every call takes an AbortSignal and fails
// with the typed errors of ./errors.ts, never with raw libvirt text.
import type { Server } from '../../common/generated/drydock/agent/v1/Server.ts';
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';
import type { CpuTopology } from '../../common/generated/drydock/agent/v1/CpuTopology.ts';
import type { StoragePool } from '../../common/generated/drydock/agent/v1/StoragePool.ts';
import type { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import type { DiskPlan } from './disk-plan.ts';

export type { Server, CpuDescription, CpuTopology, StoragePool, DiskPlan, ServerState };

/** A server about to move: as getServer reads it, and how its disks move (decided from that same read). */
export interface MigrationSource {
  server: Server;
  disks: DiskPlan;
}

/** What the hypervisor knows about its host (the agent adds OS facts). */
export interface HypervisorFacts {
  /** "kvm" or "qemu" (TCG) — both are KVM compute resources; else e.g. "xen". */
  hypervisorType: string;
  /** host-model CPU from domcapabilities (what a guest can be given). */
  cpu: CpuDescription;
  topology: CpuTopology;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  libvirtVersion: string;
  qemuVersion: string;
  storagePools: StoragePool[];
  /** libvirt's host UUID (distinct per lab host). */
  hostUuid: string;
}

/** Live migration job statistics (virsh domjobinfo). */
export interface JobStats {
  /** "none", "unbounded", "bounded", "completed", "failed", "cancelled". */
  type: string;
  /** True once the migration switched to post-copy. */
  postCopy: boolean;
  timeElapsedMs: number;
  dataProcessed: number;
  dataRemaining: number;
  dataTotal: number;
  memoryProcessed: number;
  memoryRemaining: number;
  memoryTotal: number;
  diskProcessed: number;
  diskRemaining: number;
  diskTotal: number;
  /** Bytes per second. */
  memoryBandwidth: number;
  diskBandwidth: number;
  /** Memory iteration count (0 before the first pass completes). */
  iteration: number;
  downtimeMs: number;
  dirtyRate: number;
}

export interface LiveMigrationSpec {
  /** Domain uuid (validated). */
  uuid: string;
  /** Target libvirt URI (validated). */
  targetUri: string;
  /** How the server's disks move (migrationSource): followed as is, the domain is not read again. */
  disks: DiskPlan;
  /** Permission to copy the plan's local disks (--copy-storage-all); refused up front when they need it and it is not given. */
  copyStorage: boolean;
  /** Permission for --unsafe, which disks on paths declared shared need (libvirt can't tell they are shared). */
  unsafe: boolean;
  /** Allow switching to post-copy later (--postcopy). */
  postCopy: boolean;
  autoConverge: boolean;
  /** MiB/s, 0 = unlimited. */
  bandwidthMiBps: number;
  signal: AbortSignal;
  /** What prepareLiveMigration opened for this move, if anything: the migration runs on it when it can, else afresh. */
  prepared?: PreparedCall;
}

export interface DomainEvent {
  /** "lifecycle", "job-completed", "reboot", ... */
  event: string;
  /** Domain name (virsh event prints names). */
  name: string;
  /** Detail text, e.g. "Started Migrated". */
  detail: string;
  atMs: number;
}

/** What watchGuestOn saw of a domain on another host. */
export interface GuestWatch {
  /** The domain's events during the window ("lifecycle" Crashed Panicked, "reboot", ...). */
  events: DomainEvent[];
  /** Its state at the end of the window; null: not on that host. */
  state: ServerState | null;
  /** libvirt's reason for that state ("migrated", "booted", "panicked", "crashed"); "" when none. */
  reason: string;
}

export interface Hypervisor {
  readonly kind: 'libvirt' | 'sim';
  /** URI peers use to migrate onto this host. */
  readonly migrationUri: string;

  facts(signal?: AbortSignal): Promise<HypervisorFacts>;
  listServers(signal?: AbortSignal): Promise<Server[]>;
  /** Throws ServerNotFoundError. `ref` is a uuid or a validated name. */
  getServer(ref: string, signal?: AbortSignal): Promise<Server>;
  /** The server (getServer) and the plan of its disks, from one read of the domain and the storage. Throws ServerNotFoundError. */
  migrationSource(ref: string, signal?: AbortSignal): Promise<MigrationSource>;

  /**
   * Runs a live migration to completion (resolves) or failure (typed error).
   * Aborting `spec.signal` aborts the libvirt job unless in post-copy.
   */
  migrateLive(spec: LiveMigrationSpec): Promise<void>;
  /**
   * stateOn, prepared ahead: the connection to `uri` may be made now, the
   * question is asked at state() (the live flow's check after the move).
   * Optional: without it the flow calls stateOn.
   */
  prepareStateOn?(uri: string, uuid: string): PreparedState;
  /** prepareStateOn for this host's own hypervisor (the source's side of the check after the move). Optional: else getServer. */
  prepareStateHere?(uuid: string): PreparedState;
  /**
   * Opens now what migrateLive will run on (spec.prepared): the live flow
   * calls it when a request comes in, so the connection is made while the
   * checks before the move run. Optional; the caller cancels it when unused.
   */
  prepareLiveMigration?(): PreparedCall;
  /** While a live move to `targetUri` runs: opens now what the next move's checks and migration will run on (libvirt: virsh-standby.ts). Optional. */
  armStandby?(targetUri: string): void;
  /**
   * Stats of the outgoing job of a domain on this host; null when none runs.
   * `postCopyPossible: false` (the job was started without post-copy) lets
   * the hypervisor skip asking whether it is in post-copy.
   */
  jobStats(uuid: string, signal?: AbortSignal, opts?: { postCopyPossible?: boolean }): Promise<JobStats | null>;
  /** Cancels the domain's current job (domjobabort). */
  abortJob(uuid: string, signal?: AbortSignal): Promise<void>;
  /** Switches a running live migration to post-copy. */
  startPostCopy(uuid: string, signal?: AbortSignal): Promise<void>;

  /** Moves a shut-off domain's definition to the target (--offline). */
  migrateOffline(uuid: string, targetUri: string, signal?: AbortSignal): Promise<void>;
  /**
   * Copies a local disk file to the same path on the target host (cold
   * moves). Refused (FAILED_PRECONDITION) when the target already has a
   * file there: a copy never overwrites what it did not write.
   */
  copyDiskTo(path: string, targetUri: string, signal?: AbortSignal): Promise<void>;
  /**
   * Removes a disk copy this host made on the target (a cold move that
   * failed before the definition moved). Refused when a domain on the
   * target uses the file; absent is fine.
   */
  removeDiskCopyOn(targetUri: string, path: string, signal?: AbortSignal): Promise<void>;
  /** Removes a local disk file left behind after its domain moved away. */
  removeLocalDisk(path: string, signal?: AbortSignal): Promise<void>;
  /**
   * Undefines a stale definition: a shut-off copy of a server that runs on
   * another host (an interrupted move left it; common/move-verdict.ts says
   * which copy is stale). The definition only: its disk files and NVRAM
   * stay. Refused (DomainRunningError) unless the domain is shut off, so a
   * copy that runs is never touched. `uri`: another host's hypervisor
   * (default: this host's).
   */
  undefineShutOff(uuid: string, uri?: string, signal?: AbortSignal): Promise<void>;

  /** ACPI shutdown request; returns at once. */
  shutdown(uuid: string, signal?: AbortSignal): Promise<void>;
  /** Hard power off. */
  destroy(uuid: string, signal?: AbortSignal): Promise<void>;
  start(uuid: string, signal?: AbortSignal): Promise<void>;
  /** Starts a domain defined on another host (cold move, target side). */
  startOn(targetUri: string, uuid: string, signal?: AbortSignal): Promise<void>;
  /** The domain as the hypervisor at `uri` sees it, or null if unknown there. */
  serverOn(uri: string, uuid: string, signal?: AbortSignal): Promise<Server | null>;
  /**
   * Whether the hypervisor at `uri` holds the domain, and its power state
   * (null: unknown there). One query: what the migration flows ask a target
   * (before a start, to verify a move), where the whole definition is not needed.
   */
  stateOn(uri: string, uuid: string, signal?: AbortSignal): Promise<ServerState | null>;

  /**
   * Watches a domain on the hypervisor at `uri` for `watchMs` (its events;
   * none when 0), then reads its state and reason: how a guest fares right
   * after it moved there (agent/migrations/guest-health.ts judges it).
   */
  watchGuestOn(uri: string, uuid: string, watchMs: number, signal?: AbortSignal): Promise<GuestWatch>;

  compareCpu(cpuXml: string, signal?: AbortSignal): Promise<{ result: CpuCompareResult; missingFeatures: string[]; message: string }>;
  baselineCpu(cpuXmls: string[], opts: { migratable: boolean; expandFeatures: boolean }, signal?: AbortSignal): Promise<CpuDescription>;

  /** Domain events until the signal aborts; restarts its source if it dies. */
  events(signal: AbortSignal): AsyncIterable<DomainEvent>;
}

/** A hypervisor connection opened ahead of the one call it will make (Hypervisor.prepareLiveMigration). */
export interface PreparedCall {
  /** Releases it if no call was made on it (idempotent; a call made on it runs to its end). */
  cancel(): void;
}

/** A stateOn prepared ahead (Hypervisor.prepareStateOn). */
export interface PreparedState {
  /** The domain's state on the prepared host, null when it is not defined there (once). */
  state(): Promise<ServerState | null>;
  /** libvirt's reason for that state, read in the same call ("migrated", "booted", "crashed"); null before state() answered or when it asked afresh. */
  reason(): string | null;
  /** Releases what was prepared (idempotent; after state() too). */
  cancel(): void;
}
