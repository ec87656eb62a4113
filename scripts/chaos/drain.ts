// Drives one drain of the world's source host to its end as an operator
// would: enable maintenance, follow the operation, and when it pauses (it
// says why), note the reason, let the fault heal, and enable maintenance
// again — the documented way to resume a paused drain.
import { setTimeout as sleep } from 'node:timers/promises';
import { STORE_FULL_REASON } from '../../coordinator/store/condition.ts';

/** What a drain needs of a world (the sim's ./world.ts, the lab's ./lab-world.ts). */
export interface DrainWorld {
  /** Calls the admin API on any live coordinator. */
  call<T = any>(method: string, req: object, timeoutMs?: number): Promise<T>;
  coordinators: { proc: { exited: boolean } }[];
  /** The host the drain empties. */
  source: string;
  /** True while a hypervisor still runs a migration. */
  migrating(): boolean | Promise<boolean>;
}

export interface DrainOutcome {
  /** The last operation of the drain (the one that succeeded, or the last paused one). */
  opId: string;
  state: string;
  reason: string;
  /** Each pause seen, with its reason. */
  pauses: string[];
  durationMs: number;
}

const END = new Set(['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_CANCELLED', 'OPERATION_STATE_PAUSED']);

/** Ended or paused for the operator: not a drain held while the NATS store is full (it resumes by itself). */
function ended(op: { state: string; reason: string }): boolean {
  return END.has(op.state) && !(op.state === 'OPERATION_STATE_PAUSED' && op.reason.startsWith(STORE_FULL_REASON));
}

export async function startDrain(w: DrainWorld): Promise<string> {
  const op = await w.call('EnableMaintenance', { host_id: w.source, confirm: true, stop_unmigratable: false });
  return op.id as string;
}

/** Polls the operation until it ends or pauses (transient "unavailable" answers are retried: coordinators and NATS nodes die here on purpose). */
export async function waitForEnd(w: DrainWorld, opId: string, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (w.coordinators.every((c) => c.proc.exited)) throw new Error('every coordinator process exited');
    try {
      const op = await w.call('GetOperation', { operation_id: opId }, 10_000);
      if (ended(op)) return op;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`operation ${opId} did not end within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Finished steps of an operation (done, failed, skipped, cancelled). */
export function doneSteps(op: { steps?: { phase: string }[] }): number {
  return (op.steps ?? []).filter((s) => ['STEP_PHASE_DONE', 'STEP_PHASE_FAILED', 'STEP_PHASE_SKIPPED', 'STEP_PHASE_CANCELLED'].includes(s.phase)).length;
}

/**
 * Runs a drain to success (or to `maxResumes` pauses). `heal` is called at
 * the first pause, before resuming: the fault stops, as an operator's fix would.
 */
export async function drainToEnd(
  w: DrainWorld,
  opts: { opId?: string; timeoutMs: number; heal?: () => Promise<void> | void; maxResumes?: number },
): Promise<DrainOutcome> {
  const t0 = Date.now();
  let opId = opts.opId ?? (await startDrain(w));
  const pauses: string[] = [];
  let healed = false;
  for (;;) {
    const op = await waitForEnd(w, opId, Math.max(1000, opts.timeoutMs - (Date.now() - t0)));
    if (op.state !== 'OPERATION_STATE_PAUSED' || pauses.length >= (opts.maxResumes ?? 3)) {
      if (op.state === 'OPERATION_STATE_PAUSED') pauses.push(op.reason);
      return { opId, state: op.state, reason: op.reason, pauses, durationMs: Date.now() - t0 };
    }
    pauses.push(op.reason);
    if (!healed) {
      healed = true;
      await opts.heal?.();
    }
    // At once, while the paused drain's other attempts may still run: the new
    // drain waits for them and keeps their capacity holds (the race the
    // chaos suite found, test/maintenance-resume-race.test.ts).
    opId = await startDrain(w);
  }
}

/**
 * Time from `since` until the operation finished one more step than it had
 * then (the drain is moving again), or null if it never did before `until`.
 */
export async function timeToProgress(w: DrainWorld, opId: string, since: number, baseline: number, until: () => boolean): Promise<number | null> {
  while (!until()) {
    try {
      const op = await w.call('GetOperation', { operation_id: opId }, 5_000);
      if (doneSteps(op) > baseline || op.state === 'OPERATION_STATE_SUCCEEDED') return Date.now() - since;
      if (ended(op)) return null;
    } catch {
      // The fault is still on: keep asking.
    }
    await sleep(100);
  }
  return null;
}

/** Waits until the operation has finished `n` steps (or stopped running); returns how many it had. */
export async function untilDone(w: DrainWorld, opId: string, n: number, ended: () => boolean = () => false): Promise<number> {
  while (!ended()) {
    const op = await w.call('GetOperation', { operation_id: opId }).catch(() => null);
    if (op && (doneSteps(op) >= n || op.state !== 'OPERATION_STATE_RUNNING')) return doneSteps(op);
    await sleep(50);
  }
  return 0;
}
