// Bounded parallelism for fan-out over hosts (reconcile passes): never more
// than `limit` agent calls in flight, whatever the number of hosts.

/** Runs fn over items with at most `limit` at once; settles every item. */
export async function mapSettled<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * Serialises async work per key and coalesces bursts: while work for a key
 * runs, further requests collapse into one follow-up run of the *latest*
 * work given (it carries the freshest input). Use one key per kind of work:
 * different kinds under one key would replace each other.
 */
export class KeyedCoalescer {
  private readonly running = new Map<string, { pending: (() => Promise<void>) | null; done: Promise<void> }>();

  run(key: string, work: () => Promise<void>): Promise<void> {
    const cur = this.running.get(key);
    if (cur) {
      cur.pending = work;
      return cur.done;
    }
    const state: { pending: (() => Promise<void>) | null; done: Promise<void> } = { pending: null, done: Promise.resolve() };
    state.done = (async () => {
      let failure: unknown = null;
      try {
        for (let w: (() => Promise<void>) | null = work; w; w = state.pending) {
          state.pending = null;
          try {
            await w();
            failure = null;
          } catch (err) {
            // A later run may still succeed; report only if the last one failed.
            failure = err;
          }
        }
      } finally {
        this.running.delete(key);
      }
      if (failure) throw failure;
    })();
    this.running.set(key, state);
    return state.done;
  }

  /** Resolves when nothing is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((s) => s.done));
  }
}

/** At most `limit` of the functions given to run() at once; the others wait their turn, first come first served. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // The slot passes to the next in line (active unchanged), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Functions running, and waiting. */
  get size(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}

/** Keys with work in flight, counted (several pieces of work may overlap on one key). */
export class InFlight {
  private readonly count = new Map<string, number>();

  /** `key` counts as busy until `work` settles; returns `work`. */
  track<T>(key: string, work: Promise<T>): Promise<T> {
    this.count.set(key, (this.count.get(key) ?? 0) + 1);
    const done = () => {
      const left = this.count.get(key)! - 1;
      if (left > 0) this.count.set(key, left);
      else this.count.delete(key);
    };
    work.then(done, done);
    return work;
  }

  has(key: string): boolean {
    return this.count.has(key);
  }

  get size(): number {
    return this.count.size;
  }
}
