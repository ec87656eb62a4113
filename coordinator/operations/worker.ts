// The one loop every worker runs, whatever the kind of operation: read the
// record, stop when it ended, act on a cancel request, wait while paused,
// else do one pass. A kind of operation supplies only its pass and its
// cancel (and, if it starts work that outlives a pass, a settle); the
// engine holds one Worker per kind, given to it by the wiring (module.ts).
import { pause, type EngineContext, type WorkerSignals } from './context.ts';
import { isTerminal, type OperationKind, type OperationRecord } from './types.ts';

/** One run of a worker over one operation; its state lives in the closure that made it. */
export interface WorkerRun {
  /** One pass over a record that is live, not cancelled and not paused: 'end' when it just ended the operation. */
  pass(op: OperationRecord): Promise<'again' | 'end'>;
  /** The operator asked to cancel: bring the operation to its cancelled state. */
  cancel(op: OperationRecord): Promise<void>;
  /** After the loop ends without an error: wait for work the run started (the drain's attempts). */
  settle?(): Promise<void>;
}

/** A kind of operation: starts a run for one operation. */
export type Worker = (ctx: EngineContext, opId: string, sig: WorkerSignals) => WorkerRun;

export type WorkerRegistry = Readonly<Record<OperationKind, Worker>>;

/** Runs the operation until it ends, is cancelled, or this coordinator stops leading. */
export async function runWorker(ctx: EngineContext, opId: string, sig: WorkerSignals, worker: Worker): Promise<void> {
  const run = worker(ctx, opId, sig);
  for (;;) {
    if (sig.leadership.aborted) break;
    const op = (await ctx.ops.require(opId, sig.leadership)).value;
    if (isTerminal(op)) break;
    if (op.cancelRequested || sig.cancel.aborted) {
      await run.cancel(op);
      break;
    }
    // Paused by a failure it cannot resolve alone: it waits for the operator
    // (a cancel, or a new request that supersedes it), re-reading the record.
    if (op.state === 'paused') {
      await pause(ctx.pollIntervalMs, sig);
      continue;
    }
    if ((await run.pass(op)) === 'end') break;
  }
  await run.settle?.();
}
