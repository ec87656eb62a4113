// Leader election with a lease in the leader KV bucket. One key ("lease")
// holds {holder, instance, term}; every change is CAS on its revision.
//
// The holder is a process, not an id: coordinatorId defaults to the hostname
// and example configs carry one, so two processes may share an id. Each
// election draws a random instance nonce, and a lease counts as ours only
// with our id AND our nonce. A restarted process has a new nonce, so it
// waits for the TTL like anyone else: it cannot tell its own earlier lease
// from a live twin's, and taking a live twin's lease at once made both lead.
//
// Expiry is judged by revision age on the observer's own monotonic clock,
// never by comparing wall clocks across machines: an observer that sees the
// same revision for longer than the TTL takes the lease over (CAS at that
// revision, so only one observer wins). The holder renews every
// renewInterval and steps down by itself when it has not renewed
// successfully for TTL minus a margin, i.e. before any observer can take
// over. A hung leader therefore loses the lease, and a deposed leader
// (renew CAS fails) stops its background work at once.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import type { Repository } from './store/repository.ts';
import type { LeaseRecord } from './store/store.ts';
import { CasConflictError, NO_RETRY } from './store/retry.ts';

export const LEASE_KEY = 'lease';

export interface LeaderOptions {
  id: string;
  ttlMs: number;
  renewIntervalMs: number;
  logger: Logger;
}

export interface LeaderEvents {
  gained: [term: number];
  lost: [reason: string];
}

/** "id (instance nonce)": how logs name a lease holder. */
export function describeHolder(lease: Pick<LeaseRecord, 'holder' | 'instance'>): string {
  return `${lease.holder || '(released)'} (instance ${lease.instance || 'unknown'})`;
}

export class LeaderElection extends EventEmitter<LeaderEvents> {
  /** This process's nonce in the lease (see the top of the file). */
  readonly instance = randomUUID();
  private leading = false;
  private term = 0;
  private revision = 0;
  /** The lease as this instance last wrote it (holder). */
  private lease: LeaseRecord | null = null;
  /** performance.now() when the last renew write was sent (holder). */
  private renewSentAt = 0;
  /** Observer: the revision seen and when it was first seen. */
  private seen: { revision: number; at: number } | null = null;
  private leadership: AbortController | null = null;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly repo: Repository<LeaseRecord>;

  constructor(
    repo: Repository<LeaseRecord>,
    private readonly opts: LeaderOptions,
  ) {
    super();
    // Lease calls get no transient retries of their own: the next tick is the
    // retry, and a slow retry loop must not hide a lost lease.
    this.repo = repo.withRetry(NO_RETRY);
    this.log = opts.logger.child({ component: 'leader', instance: this.instance });
  }

  isLeader(): boolean {
    return this.leading;
  }

  currentTerm(): number {
    return this.term;
  }

  /**
   * An AbortSignal that aborts when this instance stops leading; null when
   * it does not lead now. Background work started on `gained` takes it.
   */
  leadershipSignal(): AbortSignal | null {
    return this.leadership?.signal ?? null;
  }

  /**
   * Runs `work(signal)` every time this instance gains the lease; the signal
   * aborts when the lease is lost or the election stops. Errors are logged.
   * Returns a function removing the hook.
   */
  onLeadership(work: (signal: AbortSignal, term: number) => Promise<void> | void): () => void {
    const handler = (term: number) => {
      const signal = this.leadership?.signal;
      if (!signal) return;
      Promise.resolve()
        .then(() => work(signal, term))
        .catch((err) => {
          if (!signal.aborted) this.log.error({ err: errorMessage(err) }, 'leader work failed');
        });
    };
    this.on('gained', handler);
    if (this.leading) handler(this.term);
    return () => this.off('gained', handler);
  }

  /**
   * A write fenced by lease term `term` was refused because a newer term has
   * written (coordinator/operations/op-store.ts): that lease is lost.
   */
  fencedOut(term: number, why: string): void {
    if (this.leading && this.term === term) this.stepDown(`a leader of a newer term has written: ${why}`);
  }

  start(): void {
    this.loop ??= Promise.all([this.run(this.stopper.signal), this.watchdog(this.stopper.signal)]).then(() => undefined);
  }

  /**
   * Checks self-expiry on its own clock: a renew stuck in a slow JetStream
   * request (up to its timeout) must not keep a leader leading past its lease.
   */
  private async watchdog(signal: AbortSignal): Promise<void> {
    const every = Math.max(50, Math.min(250, this.opts.renewIntervalMs / 4));
    while (!signal.aborted) {
      this.checkSelfExpiry();
      await sleep(every, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Stops campaigning. A leader releases the lease (holder "" at its own
   * revision, so the term keeps counting) and another instance takes it
   * at its next tick instead of waiting for the TTL.
   */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop?.catch(() => undefined);
    if (this.leading && this.lease) {
      const rev = this.revision;
      const released: LeaseRecord = { ...this.lease, holder: '', instance: '', renewedAtMs: Date.now() };
      this.stepDown('stopped');
      await this.repo.updateAt(LEASE_KEY, released, rev).catch(() => undefined);
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.tick(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.log.warn({ err: errorMessage(err) }, 'lease tick failed');
      }
      this.checkSelfExpiry();
      await sleep(this.opts.renewIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** A holder that could not renew in time steps down before anyone may take over. */
  private checkSelfExpiry(): void {
    if (!this.leading) return;
    const margin = Math.min(this.opts.renewIntervalMs, this.opts.ttlMs / 4);
    if (performance.now() - this.renewSentAt > this.opts.ttlMs - margin) this.stepDown('lease not renewed in time');
  }

  private async tick(signal: AbortSignal): Promise<void> {
    const cur = await this.repo.get(LEASE_KEY, signal);
    const now = performance.now();
    if (this.leading) {
      if (!cur || cur.revision !== this.revision || !this.isOurs(cur.value)) {
        this.stepDown(cur ? `lease taken by ${describeHolder(cur.value)}` : 'lease deleted');
        return;
      }
      await this.write(cur.value, cur.revision, now, false);
      return;
    }
    if (!cur) {
      await this.write(null, 0, now, true);
      return;
    }
    if (cur.value.holder === '') {
      // Released by a holder that stopped: take it now.
      await this.write(cur.value, cur.revision, now, true);
      return;
    }
    if (!this.seen || this.seen.revision !== cur.revision) {
      this.seen = { revision: cur.revision, at: now };
      return;
    }
    if (now - this.seen.at >= this.opts.ttlMs) {
      this.log.info({ previous: describeHolder(cur.value), term: cur.value.term }, 'lease expired, taking over');
      await this.write(cur.value, cur.revision, now, true);
    }
  }

  private async write(prev: LeaseRecord | null, revision: number, sentAt: number, acquiring: boolean): Promise<void> {
    const nowMs = Date.now();
    const next: LeaseRecord = acquiring
      ? { holder: this.opts.id, instance: this.instance, term: (prev?.term ?? 0) + 1, acquiredAtMs: nowMs, renewedAtMs: nowMs, ttlMs: this.opts.ttlMs }
      : { ...prev!, renewedAtMs: nowMs };
    try {
      const written = prev === null ? await this.repo.createOrConflict(LEASE_KEY, next) : await this.repo.updateAt(LEASE_KEY, next, revision);
      this.revision = written.revision;
      this.lease = next;
      this.renewSentAt = sentAt;
      if (acquiring) {
        this.term = next.term;
        this.leading = true;
        this.seen = null;
        this.leadership = new AbortController();
        this.log.info({ term: next.term, holder: describeHolder(next) }, 'leadership gained');
        this.emit('gained', next.term);
      }
    } catch (err) {
      if (err instanceof CasConflictError) {
        if (this.leading) this.stepDown('renew lost a compare-and-swap: another instance holds the lease');
        return;
      }
      throw err;
    }
  }

  private isOurs(lease: LeaseRecord): boolean {
    return lease.holder === this.opts.id && lease.instance === this.instance;
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.revision = 0;
    this.lease = null;
    this.seen = null;
    this.leadership?.abort(new Error(`leadership lost: ${reason}`));
    this.leadership = null;
    this.log.warn({ reason, term: this.term }, 'leadership lost');
    this.emit('lost', reason);
  }
}
