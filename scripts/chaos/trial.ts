// One chaos trial of a drain: a fresh world, the drain with a fault
// injected alongside it, and the invariant check read from the hypervisors
// (./invariants.ts) at the end.
import { errorMessage } from '../../common/errors.ts';
import { checkInvariants, type Violation } from './invariants.ts';
import { drainToEnd, startDrain, type DrainOutcome } from './drain.ts';
import { startWorld, type World, type WorldOptions } from './world.ts';

export interface TrialContext {
  /** Servers on the drained host. */
  servers: number;
  /** Requests of the admin fuzz. */
  requests: number;
  random: () => number;
  log: (msg: string) => void;
}

export interface TrialResult {
  /** What ended the trial (the drain's final state, or the fuzz's summary). */
  outcome: string;
  violations: Violation[];
  /** Servers defined on no host at the end. */
  lost: number;
  /** From the fault to the system working again (ms), when the fault has such a moment. */
  recoveryMs: number | null;
  durationMs: number;
  notes: string[];
  /** Defects seen that are not invariant violations (e.g. a stop without a reason), for RELIABILITY.md's findings. */
  findings: string[];
}

export interface Fault {
  name: string;
  /** What is done to the system, for the report. */
  description: string;
  /** What recovery time means for this fault. */
  recovery: string;
  defaultTrials: number;
  /** A lab fault (real libvirt hosts; run with --lab): its world is ./lab-world.ts. */
  lab?: boolean;
  run(ctx: TrialContext): Promise<TrialResult>;
}

/** Every trial of one fault (error: the fault could not run at all). */
export interface FaultRun {
  fault: Fault;
  trials: TrialResult[];
  error?: string;
}

const DRAIN_TIMEOUT_MS = 240_000;

/** Shared by a trial and its fault: the measured recovery, and whether the drain is over (fault loops stop then). */
export interface TrialState {
  recoveryMs: number | null;
  ended: boolean;
  /** Defects the fault saw that are not invariant violations. */
  findings: string[];
}

/** A world, a drain with `inject` running alongside it, and the final check. */
export async function drainTrial(
  ctx: TrialContext,
  world: Omit<WorldOptions, 'random' | 'servers'> & { servers?: number },
  inject: (w: World, opId: string, trial: TrialState) => Promise<string[] | void>,
  heal?: (w: World) => Promise<void> | void,
): Promise<TrialResult> {
  const t0 = Date.now();
  const w = await startWorld({ servers: ctx.servers, ...world, random: ctx.random });
  try {
    const opId = await startDrain(w);
    const trial: TrialState = { recoveryMs: null, ended: false, findings: [] };
    const injecting = inject(w, opId, trial).catch((err: unknown) => [`fault injection failed: ${errorMessage(err)}`]);
    const outcome = await drainToEnd(w, { opId, timeoutMs: DRAIN_TIMEOUT_MS, heal: heal ? () => heal(w) : undefined })
      .catch(async (err: unknown) => {
        // Say why: a coordinator that exited on its own left its last words on stderr
        // (waitForLog on an exited process reports them).
        const died = await Promise.all(
          w.coordinators
            .filter((c) => c.proc.exited)
            .map((c) =>
              c.proc
                .waitForLog(() => false, 0)
                .then(
                  () => '',
                  (e: unknown) => `${c.id}: ${errorMessage(e).slice(0, 4000)}`,
                ),
            ),
        );
        throw new Error(`${errorMessage(err)}${died.length ? `; ${died.join('; ')}` : ''}`);
      })
      .finally(() => {
        trial.ended = true;
      });
    const notes = ((await injecting) ?? []).slice();
    if (outcome.pauses.length)
      notes.push(
        `paused ${outcome.pauses.length}× (resumed by enabling maintenance again): ${outcome.pauses.map((p) => JSON.stringify(p.slice(0, 160))).join('; ')}`,
      );
    return { ...(await finish(w, outcome, trial.recoveryMs, notes, t0)), findings: trial.findings };
  } finally {
    await w.close();
  }
}

/** The invariant check at the end of a drain trial, from the hypervisors' own state. */
async function finish(w: World, outcome: DrainOutcome, recoveryMs: number | null, notes: string[], t0: number): Promise<TrialResult> {
  // Every agent up for the check (a fault may have stopped one).
  for (const a of w.sims.agents) if (!a.running) await a.start();
  const ops = (await w.call('ListOperations', {})).operations.map((o: any) => ({ id: o.id, state: o.state, reason: o.reason }));
  const state = w.simState();
  const violations = checkInvariants(state, w.expectations({ drained: outcome.state === 'OPERATION_STATE_SUCCEEDED' }), ops);
  if (outcome.state !== 'OPERATION_STATE_SUCCEEDED') notes.push(`drain ended ${outcome.state}: ${outcome.reason}`);
  const started = state.starts.length;
  const failed = state.starts.filter((s) => s.result !== 'completed').length;
  notes.push(`${started} migrations started, ${failed} failed or aborted; drain took ${(outcome.durationMs / 1000).toFixed(1)} s`);
  return {
    outcome: outcome.state.replace('OPERATION_STATE_', '').toLowerCase(),
    violations,
    lost: violations.filter((v) => v.invariant === 'lost').length,
    recoveryMs,
    durationMs: Date.now() - t0,
    notes,
    findings: [],
  };
}
