// One chaos trial in the lab: a fresh lab world (./lab-world.ts), a drain
// of h1 with a fault injected alongside it, and the invariant check
// (./invariants.ts, the same rules as the sim's) read from libvirt on every
// lab host. A drain that never ends is checked too: what it left behind
// (an operation running without end) is the finding.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.ts';
import { checkInvariants } from './invariants.ts';
import { drainToEnd, startDrain, type DrainOutcome } from './drain.ts';
import { startLabWorld, type LabGuestSpec, type LabWorld } from './lab-world.ts';
import type { TrialContext, TrialResult, TrialState } from './trial.ts';

const LAB_DRAIN_TIMEOUT_MS = 300_000;
const FINISHED = ['STEP_PHASE_DONE', 'STEP_PHASE_FAILED', 'STEP_PHASE_SKIPPED', 'STEP_PHASE_CANCELLED'];

export interface LabTrialState extends TrialState {
  /** Set by the fault once it acted: a trial whose fault never happened proves nothing and says so. */
  injected: boolean;
}

export async function labDrainTrial(
  ctx: TrialContext,
  guests: LabGuestSpec[],
  inject: (w: LabWorld, opId: string, trial: LabTrialState) => Promise<string[]>,
  heal?: (w: LabWorld) => Promise<void>,
): Promise<TrialResult> {
  const t0 = Date.now();
  const w = await startLabWorld(guests, ctx.log);
  try {
    const setupDoneAt = Date.now();
    const opId = await startDrain(w);
    const trial: LabTrialState = { recoveryMs: null, ended: false, findings: [], injected: false };
    const injecting = inject(w, opId, trial).catch((err: unknown) => [`fault injection failed: ${errorMessage(err)}`]);
    let outcome: DrainOutcome;
    try {
      outcome = await drainToEnd(w, { opId, timeoutMs: LAB_DRAIN_TIMEOUT_MS, heal: heal ? () => heal(w) : undefined });
    } catch (err) {
      outcome = { opId, state: 'NOT_ENDED', reason: errorMessage(err).slice(0, 300), pauses: [], durationMs: Date.now() - setupDoneAt };
    } finally {
      trial.ended = true;
    }
    const notes = [...(await injecting)];
    // Every link and agent up for the check (the fault may have left one down).
    for (const h of w.lab.hosts) await w.setLink(h.name, true);
    for (const a of w.agents) if (a.child.exitCode !== null || a.child.signalCode !== null) await w.restartAgent(a.host.name);
    const ops = (await w.call('ListOperations', {})).operations.map((o: any) => ({ id: o.id, state: o.state, reason: o.reason }));
    const state = await w.state();
    const succeeded = outcome.state === 'OPERATION_STATE_SUCCEEDED';
    const violations = checkInvariants(state, w.expectations({ drained: succeeded }), ops);
    if (outcome.pauses.length)
      notes.push(
        `paused ${outcome.pauses.length}× (resumed by enabling maintenance again): ${outcome.pauses.map((p) => JSON.stringify(p.slice(0, 200))).join('; ')}`,
      );
    if (!succeeded) notes.push(`drain ended ${outcome.state}: ${outcome.reason}`);
    const failed = state.starts.filter((s) => s.result !== 'completed');
    notes.push(
      `libvirt saw ${state.starts.length} migration start(s) (${state.starts.map((s) => `${s.mode} ${s.from}→${s.to} ${s.result}`).join(', ')}), ${failed.length} not completed; drain took ${(outcome.durationMs / 1000).toFixed(1)} s; set-up ${((setupDoneAt - t0) / 1000).toFixed(1)} s (${Object.entries(
        w.setupMs,
      )
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')})`,
    );
    return {
      outcome: trial.injected ? outcome.state.replace('OPERATION_STATE_', '').toLowerCase() : `error: the fault was not injected (${notes[0] ?? 'no reason'})`,
      violations,
      lost: violations.filter((v) => v.invariant === 'lost').length,
      recoveryMs: trial.recoveryMs,
      durationMs: Date.now() - t0,
      notes,
      findings: trial.findings,
    };
  } finally {
    await w.close();
  }
}

export interface StepView {
  server_uuid: string;
  server_name: string;
  action: string;
  phase: string;
  source_host_id: string;
  target_host_id: string;
  migration_id: string;
  attempt: number;
  percent: number;
}

/** The first step seen migrating with `action` (null when the drain ended first). */
export async function untilMigrating(w: LabWorld, opId: string, action: string, ended: () => boolean): Promise<StepView | null> {
  while (!ended()) {
    const op = await w.call('GetOperation', { operation_id: opId }, 5_000).catch(() => null);
    const step = (op?.steps as StepView[] | undefined)?.find((s) => s.action === action && s.phase === 'STEP_PHASE_MIGRATING' && s.migration_id);
    if (step) return step;
    await sleep(100);
  }
  return null;
}

/** From `since` until the step of `serverUuid` is finished (done, failed, ...) or the operation stopped running; null if the trial ended first. */
export async function timeToStepEnd(w: LabWorld, opId: string, serverUuid: string, since: number, ended: () => boolean): Promise<number | null> {
  while (!ended()) {
    const op = await w.call('GetOperation', { operation_id: opId }, 5_000).catch(() => null);
    if (op) {
      const step = (op.steps as StepView[]).find((s) => s.server_uuid === serverUuid);
      if (op.state !== 'OPERATION_STATE_RUNNING' || (step && FINISHED.includes(step.phase))) return Date.now() - since;
    }
    await sleep(100);
  }
  return null;
}
