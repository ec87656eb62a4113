// Per-peer budget of failed token attempts (a token bucket): a peer may get
// `burst` tokens wrong in a row, then one more every `refillMs`. An attempt
// takes its unit BEFORE the token is checked (so 64 concurrent guesses from
// one peer cannot all pass a check made before any of them failed) and
// gives it back when the token turns out valid. A peer out of budget is
// refused without hashing anything; other peers are not affected.
//
// The table is bounded: peers whose bucket has refilled are forgotten, and
// when it is still full the least recently seen tenth goes (they restart
// with a full bucket, which only errs towards letting a caller in; the hash
// queue still bounds the work).

export interface FailureLimiterOptions {
  /** Failed attempts a peer may make back to back. */
  burst: number;
  /** One more attempt is granted every refillMs. */
  refillMs: number;
  /** Peers remembered at most. Default 10,000. */
  maxPeers?: number;
  /** Clock (ms); tests pass their own. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxPeers: number;
  private readonly now: () => number;

  constructor(private readonly opts: FailureLimiterOptions) {
    if (!(opts.burst >= 1) || !(opts.refillMs > 0)) throw new RangeError('failure limiter: burst must be >= 1 and refillMs > 0');
    this.maxPeers = opts.maxPeers ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The bucket brought up to now (not stored). */
  private current(key: string, now: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.opts.burst, atMs: now };
    return { tokens: Math.min(this.opts.burst, b.tokens + (now - b.atMs) / this.opts.refillMs), atMs: now };
  }

  /** True when the peer has no failure left to pay back (its bucket is full). */
  isClean(key: string): boolean {
    return this.current(key, this.now()).tokens >= this.opts.burst;
  }

  /**
   * Takes one attempt from the peer's budget. Returns 0 when granted, else
   * the milliseconds until the next attempt is (the refusal says when to retry).
   */
  take(key: string): number {
    const now = this.now();
    const b = this.current(key, now);
    if (b.tokens < 1) return Math.ceil((1 - b.tokens) * this.opts.refillMs);
    b.tokens -= 1;
    this.store(key, b, now);
    return 0;
  }

  /** Gives back an attempt that was taken but was not a failure (valid token, or never checked). */
  refund(key: string): void {
    const now = this.now();
    const b = this.current(key, now);
    b.tokens = Math.min(this.opts.burst, b.tokens + 1);
    if (b.tokens >= this.opts.burst) this.buckets.delete(key);
    else this.store(key, b, now);
  }

  /** Peers currently remembered (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private store(key: string, b: Bucket, now: number): void {
    // Re-inserted at the end: Map order is then least recently seen first.
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxPeers) this.prune(now);
    this.buckets.set(key, b);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.atMs) / this.opts.refillMs >= this.opts.burst) this.buckets.delete(k);
    }
    // Evict a tenth at once, so a flood of new peers costs one scan per many inserts.
    const keep = Math.floor(this.maxPeers * 0.9);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(k);
    }
  }
}
