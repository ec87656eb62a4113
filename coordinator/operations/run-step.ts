// Runs the attempt recorded in one step of an operation (step-runner.ts
// follows it through the agent) and writes its outcome to the record. Shared
// by the drain and the return of servers; what differs between them is
// supplied by the worker as OutcomeRules, so this file knows neither.
import { errorMessage } from '../../common/errors.ts';
import { monotonicPercent } from '../../common/progress-percent.ts';
import type { Logger } from '../../common/logging.ts';
import { zonePolicy, type EngineContext, type WorkerSignals } from './context.ts';
import { runMigrationAttempt, runStop, type AttemptOutcome, type Progress } from './step-runner.ts';
import { updateStep } from './steps.ts';
import { movedMessage, stepHealthFromAgent } from './guest-health.ts';
import type { StepRecord } from './types.ts';
import type { ZonePolicy } from '../model.ts';

const PROGRESS_WRITE_MS = 1000;

/** What a worker decides about its steps' outcomes. */
export interface OutcomeRules {
  /** A failed attempt (not one aborted by a cancel): write what becomes of step i (`step`: as the attempt left it). */
  onFailure(ctx: EngineContext, opId: string, i: number, step: StepRecord, error: string, sig: WorkerSignals): Promise<void>;
}

/**
 * Per engine context: the highest servers-bucket revision written by a
 * completed move whose target reservation has since been released. A
 * placement snapshot must reflect at least this revision: otherwise that
 * move is in neither the snapshot (the server still on its source) nor the
 * reservations, and the target's capacity would be counted short.
 */
const releasedMoves = new WeakMap<EngineContext, number>();

export function lastReleasedMoveRevision(ctx: EngineContext): number {
  return releasedMoves.get(ctx) ?? 0;
}

/**
 * What the worker already knows, so the attempt does not read it again: the
 * step as written (or as the worker's pass read it, for a step it resumes),
 * its zone, and when it just placed the attempt, the zone's policy and the
 * target's migration URI (read here when absent).
 */
export interface KnownAttempt {
  step: StepRecord;
  zoneId: string;
  policy?: ZonePolicy;
  targetUri?: string;
}

/** Runs (or resumes) the attempt recorded in step i, and records its outcome. */
export async function runStep(ctx: EngineContext, opId: string, i: number, sig: WorkerSignals, rules: OutcomeRules, known?: KnownAttempt): Promise<void> {
  const op = known ? null : (await ctx.ops.require(opId, sig.leadership)).value;
  const step = known?.step ?? op!.steps[i];
  // Checked before any call: a step that is not mid-attempt (it ended, or
  // the read is older than the write that started it) has nothing to run,
  // and its empty target must never reach the store. The worker re-reads.
  const idle = step ? notRunnable(step) : 'no such step';
  if (!step || idle) {
    sig.log.warn({ step: i, phase: step?.phase }, `step not run: ${idle}`);
    return;
  }
  // Synchronous from the call when the step is known: the hold is in place
  // before the caller's pass places anything else.
  holdTarget(ctx, opId, step);
  const zoneId = known?.zoneId ?? op!.zoneId;
  // Running from here on: counted by the zone's limits, and its target known to have a migration coming in.
  if (step.phase === 'migrating') {
    ctx.active.set(step.serverUuid, { sourceHostId: step.sourceHostId, targetHostId: step.targetHostId, zoneId, operationId: opId });
  }
  const log = sig.log.child({ migrationId: step.migrationId, server: step.serverName });
  /** The servers revision of a completed move; null when it completed but its record was not written. */
  let moved: number | null = 0;
  try {
    let outcome: AttemptOutcome;
    if (step.phase === 'stopping') {
      outcome = await runStop(await ctx.agentFor(step.sourceHostId, sig.leadership), step, sig.leadership);
    } else {
      // The reads an attempt needs, at once (each is a store round trip, and
      // the migration waits for all of them), except what the worker that
      // recorded the attempt already knows. A failure is reported in this
      // order (the source's first), whichever came back first.
      const [source, targetUri, targetAgent, policy] = await inOrder([
        ctx.agentFor(step.sourceHostId, sig.leadership),
        known?.targetUri ? Promise.resolve(known.targetUri) : ctx.hosts.require(step.targetHostId, sig.leadership).then((h) => h.value.migrationUri),
        ctx.agentFor(step.targetHostId, sig.leadership).catch(() => null),
        known?.policy ? Promise.resolve(known.policy) : zonePolicy(ctx, zoneId, sig.leadership),
      ] as const);
      log.debug({ target: step.targetHostId }, 'asking the source agent to migrate');
      outcome = await runMigrationAttempt({
        step,
        source,
        target: targetAgent,
        targetUri,
        policy,
        logger: log,
        cancel: sig.cancel,
        detach: sig.leadership,
        onProgress: progressWriter(ctx, opId, i, log),
        onCleanup: (note) => void reportCleanup(ctx, opId, i, note, log),
      });
    }
    moved = await recordOutcome(ctx, opId, i, step, outcome, sig, rules);
  } catch (err) {
    if (sig.leadership.aborted) return;
    // The step stays mid-attempt in the record, and the migration may still
    // run (the call to the agent or the store broke, not the migration): its
    // hold stays until the step is resumed (holdTarget finds it there) or
    // its outcome is written (the worker releases it then). For the same
    // reason it still counts as running toward its target (the zone's
    // limits, a migration coming in), until then too.
    moved = null;
    throw err;
  } finally {
    // A move whose record still names the source keeps its reservation (released when the operation ends).
    if (moved !== null) {
      ctx.active.delete(step.serverUuid);
      if (moved > 0) releasedMoves.set(ctx, Math.max(moved, lastReleasedMoveRevision(ctx)));
      ctx.reservations.release(step.serverUuid);
    }
    // No engine kick: the worker's next pass waits on its own steps, and the
    // engine's listing of operations (a key listing and a header read) after
    // every step was two of the ~27 KV requests per migration.
  }
}

/**
 * The capacity an attempt holds on its target while it runs; released in
 * runStep when the attempt ends. A new attempt's hold was taken when it was
 * placed (with its local disk per pool); a step resumed from the record (a
 * previous leader's) takes it again here, memory and vCPUs (one of this
 * leader's that threw kept its hold: not taken twice). Without it the next placement counted the target
 * short by the migration still on its way there (a target over capacity
 * after a NATS node kill, chaos nats-node-kill).
 */
function holdTarget(ctx: EngineContext, opId: string, step: StepRecord): void {
  if (step.phase !== 'migrating' || ctx.reservations.get(step.serverUuid)?.hostId === step.targetHostId) return;
  ctx.reservations.reserve({
    serverUuid: step.serverUuid,
    hostId: step.targetHostId,
    memoryBytes: step.memoryBytes,
    vcpus: step.vcpus,
    localDisk: [],
    operationId: opId,
  });
}

/** Awaits every promise; throws the first failure in the order given (not in time), else the values. */
async function inOrder<T extends readonly unknown[]>(items: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(items);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** Why step i cannot be run as an attempt now (null: it can). */
function notRunnable(step: StepRecord): string | null {
  if (step.phase === 'stopping') return null;
  if (step.phase !== 'migrating') return `its phase is ${step.phase}, not mid-attempt`;
  if (!step.targetHostId || !step.migrationId) return 'it is migrating without a target or migration id';
  return null;
}

/** Writes an attempt's progress to step i, at most once per PROGRESS_WRITE_MS. */
function progressWriter(ctx: EngineContext, opId: string, i: number, log: Logger): (p: Progress) => void {
  // Counted from the attempt's start: a migration shorter than that writes
  // no progress at all (its outcome write says 100 %), instead of one more
  // rewrite of the record per migration.
  let lastWrite = ctx.clock();
  let pending: Progress | null = null;
  const writeProgress = async (p: Progress) => {
    await updateStep(
      ctx,
      opId,
      i,
      (s) => {
        s.percent = monotonicPercent(s.percent, p.percent);
        s.bytesProcessed = p.bytesProcessed;
        s.bytesTotal = p.bytesTotal;
        s.bandwidthBps = p.bandwidthBps;
        s.etaSeconds = p.etaSeconds;
      },
      'progress',
    ).catch((err) => log.warn({ err: errorMessage(err) }, 'progress write failed'));
  };
  return (p) => {
    pending = p;
    const now = ctx.clock();
    if (now - lastWrite >= PROGRESS_WRITE_MS) {
      lastWrite = now;
      const snap = pending;
      pending = null;
      void writeProgress(snap);
    }
  };
}

/** The agent removed a stale definition before the move: said in the operation's events, with the step. */
async function reportCleanup(ctx: EngineContext, opId: string, i: number, note: string, log: Logger): Promise<void> {
  log.warn({ note }, 'the agent removed a stale definition before the move');
  try {
    const op = (await ctx.ops.require(opId)).value;
    await ctx.ops.emit(op, { type: 'message', step: op.steps[i], message: `${op.steps[i]!.serverName}: ${note}` });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'clean-up event not written');
  }
}

/** Writes the outcome; for a completed move, the revision of the server record's write (null if that write failed), else 0. */
async function recordOutcome(
  ctx: EngineContext,
  opId: string,
  i: number,
  step: StepRecord,
  outcome: AttemptOutcome,
  sig: WorkerSignals,
  rules: OutcomeRules,
): Promise<number | null> {
  const kind = step.phase === 'stopping' ? 'stop' : step.action;
  const m = outcome.outcome === 'completed' ? outcome.migration : undefined;
  const seconds =
    m && m.finished_at_ms && m.started_at_ms ? (Number(m.finished_at_ms) - Number(m.started_at_ms)) / 1000 : (ctx.clock() - step.startedAtMs) / 1000;
  ctx.metrics?.migrationEnded(kind, outcome.outcome, Math.max(0, seconds), m ? Number(m.bytes_processed) : step.bytesProcessed);
  if (outcome.outcome === 'completed') {
    const stopped = step.phase === 'stopping';
    // The outcome and the server record at once (two round trips each, and
    // the next start waits for both): both are written before this step
    // lets go of its hold (runStep's finally), whichever lands first. The
    // inventory learns the move from the agents too; writing it now keeps
    // reads and the next placement right without waiting for a reconcile.
    const [, written] = await Promise.all([
      ctx.ops.update(
        opId,
        (o) => {
          const s = o.steps[i]!;
          if (s.phase === 'done') return undefined;
          s.phase = 'done';
          s.percent = 100;
          s.etaSeconds = 0;
          s.finishedAtMs = ctx.clock();
          if (!stopped) {
            s.guestHealth = stepHealthFromAgent(m?.guest_health);
            s.guestHealthDetail = m?.guest_health_detail ?? '';
          }
          // A drain's movedAway is derived from its done moves (op-layout.ts movedAwayOf).
          return o;
        },
        (o) => [
          {
            type: 'step',
            step: o.steps[i]!,
            message: stopped ? `${step.serverName} stopped` : `${movedMessage(o.steps[i]!)}${outcome.note ? `: ${outcome.note}` : ''}`,
          },
        ],
        undefined,
        [i],
      ),
      ctx.servers
        .mutateFrom(ctx.inventory.serverRecord(step.serverUuid), step.serverUuid, (s) => {
          if (stopped) return { ...s, state: 'shutoff', operationId: '' };
          return { ...s, hostId: step.targetHostId, operationId: '', state: step.wasRunning ? 'running' : 'shutoff' };
        })
        .catch(() => null),
    ]);
    if (stopped) return 0;
    return written ? written.revision : null;
  }
  if (outcome.outcome === 'aborted' && (sig.cancel.aborted || (await ctx.ops.require(opId)).value.cancelRequested)) {
    await updateStep(
      ctx,
      opId,
      i,
      (s) => {
        s.phase = 'cancelled';
        s.error = outcome.error;
        s.finishedAtMs = ctx.clock();
      },
      'step',
    );
    return 0;
  }
  await rules.onFailure(ctx, opId, i, step, outcome.error, sig);
  return 0;
}
