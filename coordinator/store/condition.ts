// Whether the NATS JetStream store took this process's last write. While the
// store is full no write lands: not the leader's lease renewal (so nobody
// leads and no drain moves), nor the "paused" state an operation would get.
// Every coordinator writes (the leader renews its lease, observers try to
// take an expired one), so each learns it here within a lease TTL, and its
// admin reads show unfinished operations paused with the reason until a
// write lands again; then the drain goes on by itself (docs/production.md,
// "When the NATS store fills up").
import type { StoreFullError } from './retry.ts';

/** The start of the reason shown while the store is full: the operation resumes by itself. */
export const STORE_FULL_REASON = 'paused while the NATS JetStream store is full';

export class StoreCondition {
  private fullSince: { atMs: number; said: string } | null = null;

  /** A write was refused for lack of storage. */
  noteFull(err: StoreFullError, nowMs = Date.now()): void {
    this.fullSince ??= { atMs: nowMs, said: err.said };
  }

  /** A write landed: the store has room. */
  noteWritten(): void {
    this.fullSince = null;
  }

  /** Since when writes are refused for lack of storage (null: the last write landed). */
  full(): { atMs: number; said: string } | null {
    return this.fullSince;
  }

  /** The reason an unfinished operation shows while the store is full (null: it is not). */
  pauseReason(nowMs = Date.now()): string | null {
    const f = this.fullSince;
    if (!f) return null;
    return `${STORE_FULL_REASON} (${f.said}) for ${Math.round((nowMs - f.atMs) / 1000)} s: nothing can be written, so no migration starts; once space is freed the drain resumes by itself`;
  }
}
