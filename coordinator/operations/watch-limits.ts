// WatchOperation streams at once: at most maxPerCaller per authenticated
// caller and maxTotal on this instance (each holds a JetStream consumer and
// a gRPC stream); beyond, RESOURCE_EXHAUSTED naming the limit. Every stream
// also ends when the instance shuts down (close()), so a stopping
// coordinator does not wait on clients that never hang up.
import { setTimeout as sleep } from 'node:timers/promises';
import { ResourceExhaustedError, UnavailableError } from '../../common/errors.ts';

export interface WatchLimitOptions {
  maxPerCaller: number;
  maxTotal: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimitOptions = { maxPerCaller: 16, maxTotal: 256 };

export class WatchLimits {
  private readonly byCaller = new Map<string, number>();
  private total = 0;
  private readonly closing = new AbortController();

  constructor(private readonly o: WatchLimitOptions = DEFAULT_WATCH_LIMITS) {}

  /**
   * Takes a slot for `caller`; the returned signal aborts when the stream
   * must end (the caller's own signal, or shutdown). Call release() once.
   */
  acquire(caller: string, callSignal: AbortSignal): { signal: AbortSignal; release: () => void } {
    if (this.closing.signal.aborted) throw new UnavailableError('the coordinator is shutting down; watch again on another instance');
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.o.maxPerCaller)
      throw new ResourceExhaustedError(
        `${caller} already has ${mine} WatchOperation streams open on this coordinator (operations.maxWatchesPerCaller is ${this.o.maxPerCaller}); close one first`,
      );
    if (this.total >= this.o.maxTotal)
      throw new ResourceExhaustedError(`this coordinator already serves ${this.total} WatchOperation streams (operations.maxWatches); try again later`);
    this.byCaller.set(caller, mine + 1);
    this.total++;
    let released = false;
    return {
      signal: AbortSignal.any([callSignal, this.closing.signal]),
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const n = (this.byCaller.get(caller) ?? 1) - 1;
        if (n <= 0) this.byCaller.delete(caller);
        else this.byCaller.set(caller, n);
      },
    };
  }

  /** Streams open now (tests, metrics). */
  open(): number {
    return this.total;
  }

  /**
   * Ends every stream and refuses new ones; resolves once the open streams
   * have let go (at most `waitMs`), so the server's shutdown that follows
   * finds them ended with their status sent rather than cut.
   */
  async close(waitMs = 1000): Promise<void> {
    this.closing.abort(new UnavailableError('the coordinator is shutting down'));
    const until = Date.now() + waitMs;
    while (this.total > 0 && Date.now() < until) await sleep(10);
    // The status is written after the slot is released and needs a few turns
    // of the event loop to reach the socket: with 10 ms the shutdown that
    // follows still cut some streams (CANCELLED instead of UNAVAILABLE).
    await sleep(100);
  }

  /** Aborted when close() ran. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }
}
