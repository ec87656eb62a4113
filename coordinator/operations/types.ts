// Maintenance operations as persisted state machines (KV bucket
// "operations", one record per operation, every write CAS on the revision).
// A step is one server of the operation; each attempt at moving it has its
// own migration id, written to the record BEFORE the agent is called, so a
// new leader can ask the agent what really happened instead of replaying.

export type OperationKind = 'enable_maintenance' | 'disable_maintenance' | 'return_servers';

export type OperationState =
  | 'pending'
  | 'running'
  /** Waiting its turn (storage-cluster returns) or a settle pause. */
  | 'waiting'
  /** Stopped by a failure it cannot resolve alone; `reason` says why. */
  | 'paused'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<OperationState> = new Set(['succeeded', 'failed', 'cancelled']);

/** A done move's guest health on its target (guest-health.ts); '' = not checked (stops, moves of shut-off servers, records from before the check). */
export type StepHealth = '' | 'alive' | 'crashed' | 'rebooted' | 'stopped' | 'unknown';

export type StepAction = 'live' | 'cold' | 'stop' | 'none';

export type StepPhase = 'pending' | 'migrating' | 'stopping' | 'done' | 'failed' | 'skipped' | 'cancelled';

export const TERMINAL_STEP_PHASES: ReadonlySet<StepPhase> = new Set(['done', 'failed', 'skipped', 'cancelled']);

export interface StepRecord {
  serverUuid: string;
  serverName: string;
  /** What the plan chose; may degrade live → cold → stop on failures. */
  action: StepAction;
  phase: StepPhase;
  sourceHostId: string;
  /** Target of the current attempt ("" before the first). */
  targetHostId: string;
  /** Agent migration id of the current attempt ("" before the first). */
  migrationId: string;
  attempt: number;
  triedTargets: string[];
  percent: number;
  bytesProcessed: number;
  bytesTotal: number;
  bandwidthBps: number;
  etaSeconds: number;
  wasRunning: boolean;
  memoryBytes: number;
  localDiskBytes: number;
  vcpus: number;
  error: string;
  reason: string;
  startedAtMs: number;
  finishedAtMs: number;
  /** A done move: the guest's health on its target (coordinator/operations/guest-health.ts); absent/'' = not checked. */
  guestHealth?: StepHealth;
  /** What the agent's check saw ("crashed (panicked)"). */
  guestHealthDetail?: string;
}

export interface MovedServerRecord {
  serverUuid: string;
  serverName: string;
  toHostId: string;
  wasRunning: boolean;
}

/** Sub-stages of a DISABLE (return to service). */
export type ReturnStage = 'queued' | 'rebooting' | 'waiting-for-host' | 'health-check' | 'settling' | 'returned';

export interface PhaseChange {
  state: OperationState;
  stage: string;
  atMs: number;
  reason: string;
}

export interface OperationRecord {
  id: string;
  kind: OperationKind;
  hostId: string;
  zoneId: string;
  storageCluster: string;
  state: OperationState;
  reason: string;
  stage: string;
  steps: StepRecord[];
  stopUnmigratable: boolean;
  requestedBy: string;
  createdAtMs: number;
  updatedAtMs: number;
  finishedAtMs: number;
  movedAway: MovedServerRecord[];
  /** Set by CancelOperation; the leader acts on it. */
  cancelRequested: boolean;
  cancelReason: string;
  /** DISABLE: the incarnation before the reboot (a new one means it is back). */
  previousIncarnation: string;
  previousBootId: string;
  /** DISABLE: return without rebooting (the operator rebooted by hand). */
  skipReboot: boolean;
  /** DISABLE: when the current stage began (settle pause, reboot wait). */
  stageSinceMs: number;
  /** RETURN: the ENABLE operation whose moved-away list this returns. */
  sourceOperationId: string;
  history: PhaseChange[];
  /**
   * The lease term (coordinator/leader.ts) of the newest leader that wrote
   * this operation: its fencing token. A leader's worker writes only while
   * its term is not older (op-store.ts); absent = never written by a worker.
   */
  leaderTerm?: number;
}

export function isTerminal(op: Pick<OperationRecord, 'state'>): boolean {
  return TERMINAL_STATES.has(op.state);
}

export function countDone(op: Pick<OperationRecord, 'steps'>): number {
  return op.steps.filter((s) => TERMINAL_STEP_PHASES.has(s.phase)).length;
}
