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
import type { StepRecord } from './types.ts';

const PROGRESS_WRITE_MS = 1000;

/** What a worker decides about its steps' outcomes. */
export interface OutcomeRules {
  /**
   * A completed move is added to the operation's movedAway list (a drain's:
   * returning servers later reads it). A stop never is.
   */
  recordsMovedAway: boolean;
  /** A failed attempt (not one aborted by a cancel): write what becomes of step i (`step`: as the attempt left it). */
  onFailure(ctx: EngineContext, opId: string, i: number, step: StepRecord, error: string, sig: WorkerSignals): Promise<void>;
}

/** Runs (or resumes) the attempt recorded in step i, and records its outcome. */
export async function runStep(ctx: EngineContext, opId: string, i: number, sig: WorkerSignals, rules: OutcomeRules): Promise<void> {
  const op = (await ctx.ops.require(opId, sig.leadership)).value;
  const step = op.steps[i];
  // Checked before any call: a step that is not mid-attempt (it ended, or
  // the read is older than the write that started it) has nothing to run,
  // and its empty target must never reach the store. The worker re-reads.
  const idle = step ? notRunnable(step) : 'no such step';
  if (!step || idle) {
    sig.log.warn({ step: i, phase: step?.phase }, `step not run: ${idle}`);
    return;
  }
  const log = sig.log.child({ migrationId: step.migrationId, server: step.serverName });
  try {
    const source = await ctx.agentFor(step.sourceHostId, sig.leadership);
    let outcome: AttemptOutcome;
    if (step.phase === 'stopping') {
      outcome = await runStop(source, step, sig.leadership);
    } else {
      const target = await ctx.hosts.require(step.targetHostId, sig.leadership);
      ctx.active.set(step.serverUuid, { sourceHostId: step.sourceHostId, targetHostId: step.targetHostId, zoneId: op.zoneId, operationId: opId });
      const targetAgent = await ctx.agentFor(step.targetHostId, sig.leadership).catch(() => null);
      const policy = await zonePolicy(ctx, op.zoneId, sig.leadership);
      outcome = await runMigrationAttempt({
        step,
        source,
        target: targetAgent,
        targetUri: target.value.migrationUri,
        policy,
        logger: log,
        cancel: sig.cancel,
        detach: sig.leadership,
        onProgress: progressWriter(ctx, opId, i, log),
      });
    }
    await recordOutcome(ctx, opId, i, outcome, sig, rules);
  } catch (err) {
    if (sig.leadership.aborted) return;
    throw err;
  } finally {
    ctx.active.delete(step.serverUuid);
    ctx.reservations.release(step.serverUuid);
    ctx.kick();
  }
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
  let lastWrite = 0;
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

async function recordOutcome(ctx: EngineContext, opId: string, i: number, outcome: AttemptOutcome, sig: WorkerSignals, rules: OutcomeRules): Promise<void> {
  const op = (await ctx.ops.require(opId)).value;
  const step = op.steps[i]!;
  const kind = step.phase === 'stopping' ? 'stop' : step.action;
  const m = outcome.outcome === 'completed' ? outcome.migration : undefined;
  const seconds =
    m && m.finished_at_ms && m.started_at_ms ? (Number(m.finished_at_ms) - Number(m.started_at_ms)) / 1000 : (ctx.clock() - step.startedAtMs) / 1000;
  ctx.metrics?.migrationEnded(kind, outcome.outcome, Math.max(0, seconds), m ? Number(m.bytes_processed) : step.bytesProcessed);
  if (outcome.outcome === 'completed') {
    const stopped = step.phase === 'stopping';
    await ctx.ops.update(
      opId,
      (o) => {
        const s = o.steps[i]!;
        if (s.phase === 'done') return undefined;
        s.phase = 'done';
        s.percent = 100;
        s.etaSeconds = 0;
        s.finishedAtMs = ctx.clock();
        if (!stopped && rules.recordsMovedAway)
          o.movedAway = [
            ...o.movedAway.filter((m) => m.serverUuid !== s.serverUuid),
            { serverUuid: s.serverUuid, serverName: s.serverName, toHostId: s.targetHostId, wasRunning: s.wasRunning },
          ];
        return o;
      },
      (o) => [
        {
          type: 'step',
          step: o.steps[i]!,
          message: stopped ? `${step.serverName} stopped` : `${step.serverName} moved to ${step.targetHostId} (${step.action})`,
        },
      ],
    );
    // The inventory learns it from the agents too; writing it now keeps
    // reads and the next placement right without waiting for a reconcile.
    await ctx.servers
      .mutate(step.serverUuid, (s) => {
        if (stopped) return { ...s, state: 'shutoff', operationId: '' };
        return { ...s, hostId: step.targetHostId, operationId: '', state: step.wasRunning ? 'running' : 'shutoff' };
      })
      .catch(() => undefined);
    return;
  }
  if (outcome.outcome === 'aborted' && (sig.cancel.aborted || op.cancelRequested)) {
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
    return;
  }
  await rules.onFailure(ctx, opId, i, step, outcome.error, sig);
}
