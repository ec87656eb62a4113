// The queue in front of token hashing (scrypt): at most `concurrency` hashes
// at once (they run on libuv's threadpool, which also serves fs and dns, so
// keep it below UV_THREADPOOL_SIZE), at most `maxQueued` waiting. A full
// queue refuses at once with UNAVAILABLE (the server is busy; nothing this
// caller did, retry shortly) — the per-peer limit, which is the caller's own
// doing, answers RESOURCE_EXHAUSTED instead (auth/authenticate.ts).
//
// Waiting jobs are served round-robin by peer, so one peer's pile does not
// sit in front of another's single job, and in two lanes: jobs of peers
// with no recent failure ("clean") go before those of peers that have been
// getting tokens wrong. A clean job that finds the queue full takes the
// place of the newest job of the peer with the most waiting in the slow lane.
import { UnavailableError } from '../../common/errors.ts';

export class HashQueueFullError extends UnavailableError {
  constructor() {
    super('token verification is busy (too many unverified tokens waiting): retry shortly');
  }
}

export interface HashQueueOptions {
  concurrency: number;
  maxQueued: number;
}

interface Job {
  start: () => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

/** Per-peer FIFOs; Map order is the round-robin order. */
type Lane = Map<string, Job[]>;

export class HashQueue {
  private readonly clean: Lane = new Map();
  private readonly suspect: Lane = new Map();
  private queued = 0;
  private running = 0;

  constructor(private readonly opts: HashQueueOptions) {
    if (!(opts.concurrency >= 1) || !(opts.maxQueued >= 0)) throw new RangeError('hash queue: concurrency must be >= 1 and maxQueued >= 0');
  }

  /** Jobs waiting (not running). */
  get waiting(): number {
    return this.queued;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /**
   * Runs `job` when a slot is free. Rejects with HashQueueFullError when the
   * queue is full, with the signal's reason when it aborts while waiting
   * (a running job finishes: a hash on the threadpool cannot be stopped).
   */
  run<T>(peer: string, clean: boolean, job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.opts.concurrency && this.queued === 0) return this.execute(job);
    if (this.queued >= this.opts.maxQueued && !(clean && this.evictSuspect())) return Promise.reject(new HashQueueFullError());
    return new Promise<T>((resolve, reject) => {
      const lane = clean ? this.clean : this.suspect;
      const onAbort = () => {
        if (this.remove(lane, peer, entry)) reject(signal!.reason);
      };
      const entry: Job = {
        start: () => this.execute(job).then(resolve, reject),
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = lane.get(peer);
      if (list) list.push(entry);
      else lane.set(peer, [entry]);
      this.queued++;
      this.next();
    });
  }

  private async execute<T>(job: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.next();
    }
  }

  private next(): void {
    while (this.running < this.opts.concurrency) {
      const lane = this.clean.size > 0 ? this.clean : this.suspect.size > 0 ? this.suspect : null;
      if (!lane) return;
      const [peer, list] = lane.entries().next().value!;
      const job = list.shift()!;
      lane.delete(peer);
      // The peer goes to the back of the round if it has more waiting.
      if (list.length > 0) lane.set(peer, list);
      this.queued--;
      job.cleanup();
      job.start();
    }
  }

  private remove(lane: Lane, peer: string, job: Job): boolean {
    const list = lane.get(peer);
    const i = list?.indexOf(job) ?? -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) lane.delete(peer);
    this.queued--;
    job.cleanup();
    return true;
  }

  /** Refuses the newest waiting job of the peer with the most waiting in the slow lane. */
  private evictSuspect(): boolean {
    let worst: [string, Job[]] | null = null;
    for (const e of this.suspect) if (!worst || e[1].length > worst[1].length) worst = e;
    if (!worst) return false;
    const job = worst[1].at(-1)!;
    this.remove(this.suspect, worst[0], job);
    job.reject(new HashQueueFullError());
    return true;
  }
}
