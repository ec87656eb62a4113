// What the migration flows (live.ts, cold.ts) and the disk clean-up
// (disk-copies.ts) share with the manager (manager.ts): the in-memory state
// of one running migration, and the only manager operations a flow may call
// (record a change, cancel its own job). The manager owns the records; a
// flow never touches the store or the listeners itself.
import type { AgentConfig } from '../config.ts';
import { DrydockError } from '../../common/errors.ts';
import type { Hypervisor, PreparedCall } from '../hypervisor/hypervisor.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { MigrationEvent } from '../../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { MigrationPhase } from '../../common/generated/drydock/agent/v1/MigrationPhase.ts';
import type { ErrorInfo } from '../../common/generated/drydock/agent/v1/ErrorInfo.ts';
import type { StoredMigration } from './store.ts';

/**
 * The agent config's migration section (documented field by field in
 * agent/config.ts), plus what only tests tune.
 */
export type MigrationSettings = Omit<AgentConfig['migration'], 'recordRetentionMs'> & {
  /** Finished records older than this are deleted at open() (0 = never). */
  recordRetentionMs?: number;
  /** How often records undecided at start are reconciled again (default 15 s). */
  reconcileRetryMs?: number;
};

export type MigrationListener = (event: MigrationEvent) => void;

/** Who cancelled a job on purpose: an operator's or the shutdown's cancel ends ABORTED, the monitor's FAILED. */
export type CancelBy = 'operator' | 'monitor' | 'shutdown';

export interface Running {
  stored: StoredMigration;
  listeners: Set<MigrationListener>;
  /** Aborting it cancels the hypervisor job (the guest stays on the source). */
  job: AbortController;
  /** Why the job was cancelled, when it was on purpose. */
  cancel: { by: CancelBy; error: DrydockError } | null;
  /** Set once a move passed the point where abort could roll back. */
  pointOfNoReturn: boolean;
  /** What the hypervisor opened for a live move when the request came (Hypervisor.prepareLiveMigration); released when the run ends. */
  prepared?: PreparedCall;
  done: Promise<Migration>;
}

export interface FlowContext {
  readonly hv: Hypervisor;
  readonly hostId: string;
  readonly settings: MigrationSettings;
  /** Applies a change to the record, notifies listeners, persists on phase changes (and when asked). */
  update(r: Running, patch: Partial<Migration>, message: string, persist?: boolean): void;
  /** Cancels the migration's hypervisor job; the first cancel's reason is the one recorded. */
  cancel(r: Running, by: CancelBy, error: DrydockError): void;
}

export const TERMINAL_PHASES: ReadonlySet<MigrationPhase> = new Set(['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED']);

export function isTerminal(m: Pick<Migration, 'phase'>): boolean {
  return TERMINAL_PHASES.has(m.phase);
}

export function errorInfo(err: DrydockError): ErrorInfo {
  return { kind: err.kind, message: err.message, code: err.code };
}

/** The typed reason a job's signal was aborted with (operator, monitor, shutdown), if any. */
export function abortCause(signal: AbortSignal): DrydockError | null {
  return signal.aborted && signal.reason instanceof DrydockError ? signal.reason : null;
}

export function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
