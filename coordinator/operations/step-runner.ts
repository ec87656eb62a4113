// Runs one attempt of one step through the source host's agent and follows
// it to its end. The attempt's migration id is already in the operation
// record when this runs, so the same call after a crash or leader change
// attaches to the agent's migration (or gets its final record) instead of
// starting another: the agent is idempotent by migration id.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import { remoteKind } from '../../common/grpc-status.ts';
import type { Logger } from '../../common/logging.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { MigrateServerRequest__Input } from '../../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { AgentClient } from '../agent-client.ts';
import type { ZonePolicy } from '../model.ts';
import { etaSeconds, migrationDeadlines, monotonicPercent } from './decide.ts';
import type { StepRecord } from './types.ts';
import { moveVerdict, type Presence } from '../../common/move-verdict.ts';

export type AttemptOutcome =
  { outcome: 'completed'; migration?: Migration; note?: string } | { outcome: 'failed'; error: string; kind: string } | { outcome: 'aborted'; error: string };

export interface Progress {
  percent: number;
  bytesProcessed: number;
  bytesTotal: number;
  bandwidthBps: number;
  etaSeconds: number;
  phase: string;
}

export interface AttemptInput {
  step: StepRecord;
  /** Agent of the server's source host. */
  source: AgentClient;
  /** Agent of the target (to find the server when the source forgot the migration). */
  target: AgentClient | null;
  targetUri: string;
  policy: ZonePolicy;
  logger: Logger;
  /** Aborted when the operator cancels: the running migration is aborted. */
  cancel: AbortSignal;
  /** Aborted when this coordinator stops leading: we only detach. */
  detach: AbortSignal;
  onProgress: (p: Progress) => void;
  /** What the agent cleaned before the move started (a stale definition it removed), once per attempt: for the operation's events. */
  onCleanup?: (note: string) => void;
}

const TERMINAL_PHASES = new Set(['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED']);
/** Margin over the agent's own deadline: the agent ends the migration, not us. */
const STREAM_MARGIN_MS = 5 * 60_000;

function outcomeOf(m: Migration): AttemptOutcome | null {
  switch (m.phase) {
    case 'MIGRATION_PHASE_COMPLETED':
      return { outcome: 'completed', migration: m };
    case 'MIGRATION_PHASE_ABORTED':
      return { outcome: 'aborted', error: m.error?.message || 'aborted' };
    case 'MIGRATION_PHASE_FAILED':
      return { outcome: 'failed', error: m.error?.message || 'failed', kind: m.error?.kind || 'MigrationFailedError' };
    default:
      return null;
  }
}

/**
 * Follows a live or cold migration attempt to its terminal phase. Throws
 * only when `detach` aborts (the new leader takes over) — every other
 * ending is an outcome.
 */
export async function runMigrationAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const { request, deadlineMs } = migrateRequest(input);
  const seen: Seen = { percent: input.step.percent, postCopy: false, cleanupSeen: false };
  const abort = abortOnCancel(input, seen);
  try {
    for (let reattach = 0; ; reattach++) {
      if (input.detach.aborted) throw input.detach.reason ?? new Error('detached');
      if (input.cancel.aborted) abort.send();
      const streamed = await followStream(input, request, deadlineMs, seen, reattach);
      if (streamed) return streamed;
      // Lost stream or early end: the agent's record decides.
      const recorded = await askRecord(input, deadlineMs, reattach);
      if (recorded) return recorded;
      await sleep(2000, undefined, { signal: input.detach }).catch(() => undefined);
    }
  } finally {
    abort.dispose();
  }
}

/** What the attempt has seen so far across re-attaches. */
interface Seen {
  percent: number;
  postCopy: boolean;
  /** The agent's stale_definition_removed was passed on. */
  cleanupSeen: boolean;
}

/** The agent's MigrateServer request for the step's current attempt, with its deadlines. */
function migrateRequest(input: AttemptInput): { request: MigrateServerRequest__Input; deadlineMs: number } {
  const { step, policy } = input;
  const bytesToMove = step.memoryBytes + step.localDiskBytes;
  const { stallTimeoutMs, deadlineMs } = migrationDeadlines(bytesToMove, policy);
  const request = {
    migration_id: step.migrationId,
    server_uuid: step.serverUuid,
    mode: step.action === 'live' ? ('MIGRATION_MODE_LIVE' as const) : ('MIGRATION_MODE_COLD' as const),
    target_host_id: step.targetHostId,
    target_uri: input.targetUri,
    stall_timeout_ms: stallTimeoutMs,
    deadline_ms: deadlineMs,
    allow_post_copy: policy.allowPostCopy,
    allow_auto_converge: policy.allowAutoConverge,
  };
  return { request, deadlineMs };
}

/**
 * Operator cancel → ask the agent to abort, once. Refused in post-copy
 * (docs/design.md invariant 5): then we let the migration finish and report that.
 */
function abortOnCancel(input: AttemptInput, seen: Seen): { send(): void; dispose(): void } {
  let abortSent = false;
  const sendAbort = async () => {
    if (abortSent) return;
    abortSent = true;
    try {
      await input.source.abortMigration(input.step.migrationId, 'operation cancelled by operator', { timeoutMs: 15_000 });
    } catch (err) {
      input.logger.warn({ err: errorMessage(err), postCopy: seen.postCopy }, 'abort refused or failed; following the migration to its end');
    }
  };
  const onCancel = () => void sendAbort();
  input.cancel.addEventListener('abort', onCancel, { once: true });
  return { send: onCancel, dispose: () => input.cancel.removeEventListener('abort', onCancel) };
}

/**
 * Calls (or re-attaches to) the migration and follows its events. The
 * outcome when it reaches a terminal phase or the agent refused to start;
 * null when the stream ended early or was lost (ask the agent's record).
 */
async function followStream(
  input: AttemptInput,
  request: MigrateServerRequest__Input,
  deadlineMs: number,
  seen: Seen,
  reattach: number,
): Promise<AttemptOutcome | null> {
  try {
    const stream = input.source.migrateServer(request, { timeoutMs: deadlineMs + STREAM_MARGIN_MS, signal: input.detach });
    for await (const ev of stream) {
      const m = ev.migration;
      if (!m) continue;
      if (m.phase === 'MIGRATION_PHASE_POST_COPY') seen.postCopy = true;
      if (m.stale_definition_removed && !seen.cleanupSeen) {
        seen.cleanupSeen = true;
        input.onCleanup?.(m.stale_definition_removed);
      }
      seen.percent = monotonicPercent(seen.percent, m.percent);
      input.onProgress({
        percent: seen.percent,
        bytesProcessed: Number(m.bytes_processed),
        bytesTotal: Number(m.bytes_total),
        bandwidthBps: Number(m.bandwidth_bps),
        etaSeconds: etaSeconds(Number(m.bytes_remaining), Number(m.bandwidth_bps)),
        phase: m.phase,
      });
      if (TERMINAL_PHASES.has(m.phase)) return outcomeOf(m)!;
    }
    // The stream ended without a terminal event: ask for the record.
  } catch (err) {
    if (input.detach.aborted) throw input.detach.reason ?? err;
    const kind = remoteKind(err);
    // The agent refused before starting (bad target, unknown server,
    // unreachable target): a failed attempt, not something to re-attach to.
    if (
      err instanceof FailedPreconditionError ||
      (err as { code?: number }).code === 3 /* INVALID_ARGUMENT */ ||
      kind.endsWith('NotFoundError') ||
      kind === 'TargetUnreachableError' ||
      kind === 'SameHostError'
    ) {
      // The refusal may follow a move that did happen (an earlier attempt, or
      // the agent just removed its own stale copy of a server the target runs):
      // only the rule, on what both hosts hold, says so.
      const located = await locate(input, `the agent refused (${errorMessage(err)})`);
      if (located) return located;
      return { outcome: 'failed', error: errorMessage(err), kind: kind || (err as Error).name };
    }
    input.logger.warn({ err: errorMessage(err), reattach }, 'lost the migration stream; asking the agent');
  }
  return null;
}

/** The agent's record of the migration: its outcome when it ended; null to try the stream again. */
async function askRecord(input: AttemptInput, deadlineMs: number, reattach: number): Promise<AttemptOutcome | null> {
  try {
    const m = await input.source.getMigration(input.step.migrationId, { timeoutMs: 10_000, signal: input.detach });
    const done = outcomeOf(m);
    if (done) return done;
  } catch (err) {
    if (input.detach.aborted) throw input.detach.reason ?? err;
    if (err instanceof NotFoundError) {
      const located = await locate(input, 'the source agent has no record of the migration');
      if (located) return located;
    }
    // Agent unreachable (rebooting, network): keep trying, bounded by the deadline.
    if (reattach * 2000 > deadlineMs + STREAM_MARGIN_MS) {
      return { outcome: 'failed', error: `lost contact with the source agent: ${errorMessage(err)}`, kind: 'UnavailableError' };
    }
  }
  return null;
}

/**
 * Where is the server now? Asked when the source agent refused the attempt
 * or does not know the migration. The one rule (common/move-verdict.ts)
 * decides on what both agents list: completed only when the source no
 * longer has the server and the target holds it in the power state it had.
 * A definition on the target proves nothing by itself: an interrupted move
 * leaves stale shut-off copies. null when not completed or unknown (an agent
 * did not answer): the caller decides.
 */
async function locate(input: AttemptInput, why: string): Promise<AttemptOutcome | null> {
  if (!input.target) return null;
  const uuid = input.step.serverUuid.toLowerCase();
  const stateOn = async (agent: AgentClient, hostId: string): Promise<Presence> => {
    try {
      const res = await agent.listServers([uuid], { timeoutMs: 10_000 });
      // A host speaks only for itself (docs/design.md invariant 8).
      if (res.host_id !== hostId) return undefined;
      return res.servers.find((s) => s.uuid.toLowerCase() === uuid)?.state ?? null;
    } catch {
      return undefined;
    }
  };
  const [source, target] = await Promise.all([stateOn(input.source, input.step.sourceHostId), stateOn(input.target, input.step.targetHostId)]);
  const v = moveVerdict({
    source,
    target,
    expectRunning: input.step.wasRunning,
    sourceHostId: input.step.sourceHostId,
    targetHostId: input.step.targetHostId,
  });
  input.logger.info({ source, target, complete: v.complete, why }, `located the server: ${v.reason}`);
  return v.complete ? { outcome: 'completed', note: `${why}; ${v.reason}` } : null;
}

/** Stops a server that fits nowhere (only with stop_unmigratable). */
export async function runStop(source: AgentClient, step: StepRecord, signal: AbortSignal): Promise<AttemptOutcome> {
  try {
    await source.stopServer({ server_uuid: step.serverUuid, timeout_ms: 120_000, force: true }, { timeoutMs: 180_000, signal });
    return { outcome: 'completed' };
  } catch (err) {
    if (signal.aborted) throw err;
    return { outcome: 'failed', error: errorMessage(err), kind: remoteKind(err) || (err as Error).name };
  }
}
