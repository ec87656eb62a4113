// Per-peer budget of failed token attempts (a token bucket): a peer may get
// `burst` tokens wrong in a row, then one more every `refillMs`. An attempt
// takes its unit BEFORE the token is checked (so 64 concurrent guesses from
// one peer cannot all pass a check made before any of them failed) and
// gets it back when the token turns out valid or was never checked. A peer
// out of budget is refused without hashing anything; other peers are not
// affected.
//
// It also tells the hash queue which peers are "clean": none of their
// attempts went wrong (failed, refused, left unchecked) for as long as a
// whole budget takes to refill. Those go first (auth/hash-queue.ts).
//
// The table is bounded: clean peers with a full budget are forgotten, and
// when it is still full the least recently seen tenth goes (they restart
// clean with a full budget, which only errs towards letting a caller in;
// the hash queue still bounds the work).

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

/** How a taken attempt ended. */
export type AttemptOutcome = 'valid' | 'wrong' | 'unchecked';

interface Bucket {
  tokens: number;
  atMs: number;
  /** When an attempt of this peer last went wrong (failed, refused, unchecked); -Infinity = never. */
  troubleMs: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxPeers: number;
  private readonly now: () => number;
  /** Quiet time after which a peer is clean again: a whole budget's refill. */
  private readonly quietMs: number;

  constructor(private readonly opts: FailureLimiterOptions) {
    if (!(opts.burst >= 1) || !(opts.refillMs > 0)) throw new RangeError('failure limiter: burst must be >= 1 and refillMs > 0');
    this.maxPeers = opts.maxPeers ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.quietMs = opts.burst * opts.refillMs;
  }

  /** The peer's bucket brought up to now (not stored). */
  private current(key: string, now: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.opts.burst, atMs: now, troubleMs: -Infinity };
    return { tokens: Math.min(this.opts.burst, b.tokens + (now - b.atMs) / this.opts.refillMs), atMs: now, troubleMs: b.troubleMs };
  }

  private forgettable(b: Bucket, now: number): boolean {
    return b.tokens + (now - b.atMs) / this.opts.refillMs >= this.opts.burst && now - b.troubleMs >= this.quietMs;
  }

  /** True when nothing this peer tried went wrong lately (see the top of the file). */
  isClean(key: string): boolean {
    const b = this.buckets.get(key);
    return !b || this.forgettable(b, this.now());
  }

  /**
   * Takes one attempt from the peer's budget. Returns 0 when granted, else
   * the milliseconds until the next attempt is (the refusal says when to retry).
   */
  take(key: string): number {
    const now = this.now();
    const b = this.current(key, now);
    if (b.tokens < 1) {
      b.troubleMs = now;
      this.store(key, b, now);
      return Math.ceil((1 - b.tokens) * this.opts.refillMs);
    }
    b.tokens -= 1;
    this.store(key, b, now);
    return 0;
  }

  /** Ends a taken attempt: a wrong token keeps it spent; a valid or unchecked one gives it back. */
  settle(key: string, outcome: AttemptOutcome): void {
    const now = this.now();
    const b = this.current(key, now);
    if (outcome !== 'wrong') b.tokens = Math.min(this.opts.burst, b.tokens + 1);
    if (outcome !== 'valid') b.troubleMs = now;
    if (this.forgettable(b, now)) this.buckets.delete(key);
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
    for (const [k, b] of this.buckets) if (this.forgettable(b, now)) this.buckets.delete(k);
    // Evict a tenth at once, so a flood of new peers costs one scan per many inserts.
    const keep = Math.floor(this.maxPeers * 0.9);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(k);
    }
  }
}
