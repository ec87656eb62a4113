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
 * runs, further requests for it collapse into one follow-up run.
 */
export class KeyedCoalescer {
  private readonly running = new Map<string, { again: boolean; done: Promise<void> }>();

  run(key: string, work: () => Promise<void>): Promise<void> {
    const cur = this.running.get(key);
    if (cur) {
      cur.again = true;
      return cur.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await work();
        } while (state.again);
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, state);
    return state.done;
  }

  /** Resolves when nothing is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((s) => s.done));
  }
}
