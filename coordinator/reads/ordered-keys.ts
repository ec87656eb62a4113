// The keys of one read-model bucket in key order, for the paged lists
// (ListHosts, ListServers): kept up to date as keys come and go, so that no
// read sorts the bucket. The order is built once, when the mirror has
// loaded (coordinator/reads/mirror.ts); after that, new keys are merged in
// (a few by binary insertion, a batch by one linear merge) and deleted keys
// are dropped in one linear pass once they are many. Before, a read after
// more than 512 new keys sorted all 100,000 keys again, and the first page
// after start-up sorted them too: 0.1-1 s on the event loop, every other
// call waiting behind it.

/** Up to this many new keys are inserted one by one (each a binary search and an array shift); more are merged in one pass. */
const INSERT_AT_MOST = 32;

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first element of `sorted` greater than `key` (binary search). */
export function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class OrderedKeys {
  /** In order, without duplicates; may hold deleted keys (readers skip them) until they are dropped. */
  private sorted: string[] = [];
  /** Keys added since the last read of the order (may repeat, may be in `sorted` already). */
  private pending: string[] = [];
  /** Deletes since the deleted keys were last dropped. */
  private deletes = 0;
  /** Keys that went through a sort: the batches of new keys, never the whole order again. For tests. */
  readonly stats = { keysSorted: 0, compactions: 0 };

  /** A key that was not live became live. */
  added(key: string): void {
    this.pending.push(key);
  }

  /** A live key was deleted. */
  removed(): void {
    this.deletes++;
  }

  /**
   * Every key in order: the live ones and perhaps some deleted ones (the
   * caller checks each against its records). `live` tells which keys are live.
   */
  keys(live: (key: string) => boolean): readonly string[] {
    if (this.pending.length > 0) this.mergePending();
    if (this.deletes > Math.max(512, this.sorted.length / 8)) {
      this.sorted = this.sorted.filter(live);
      this.deletes = 0;
      this.stats.compactions++;
    }
    return this.sorted;
  }

  private mergePending(): void {
    const batch = this.pending.sort(compare);
    this.pending = [];
    this.stats.keysSorted += batch.length;
    const sorted = this.sorted;
    if (batch.length <= INSERT_AT_MOST) {
      for (const k of batch) {
        const i = upperBound(sorted, k);
        // A key deleted and written again may still be in place.
        if (i > 0 && sorted[i - 1] === k) continue;
        sorted.splice(i, 0, k);
      }
      return;
    }
    const out: string[] = new Array<string>(sorted.length + batch.length);
    let n = 0;
    let i = 0;
    let j = 0;
    while (i < sorted.length || j < batch.length) {
      const k = j >= batch.length || (i < sorted.length && sorted[i]! <= batch[j]!) ? sorted[i++]! : batch[j++]!;
      if (n === 0 || out[n - 1] !== k) out[n++] = k;
    }
    out.length = n;
    this.sorted = out;
  }
}
