// Messages from hosts the inventory refuses (a host speaking for another
// host, facts or heartbeats naming an unacceptable URI or endpoint): each is
// counted, and logged at most once per interval per (reason, subject host)
// with the number suppressed since, so a misbehaving or compromised host
// cannot flood the log. The logged detail is the validator's reason, never
// the offending value itself (it could be huge or crafted for the log).
import type { Logger } from '../../common/logging.ts';

export type RejectReason = 'subject-mismatch' | 'bad-facts' | 'bad-heartbeat' | 'unproven-move';

export class HostMessageRejections {
  private readonly totals = new Map<RejectReason, number>();
  /** key "<reason>:<host>" → when it was last logged and how many were not logged since. */
  private readonly lastLogged = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one refused message and logs it unless this key was logged within the interval. */
  reject(reason: RejectReason, subjectHost: string, fields: Record<string, unknown>, msg: string): void {
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1);
    const key = `${reason}:${subjectHost}`;
    const now = this.now();
    const last = this.lastLogged.get(key);
    if (last && now - last.atMs < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.lastLogged.set(key, { atMs: now, suppressed: 0 });
    // Bounded: one entry per (reason, subject host); subject tokens are ids.
    if (this.lastLogged.size > 10_000) this.lastLogged.clear();
    this.log.warn({ reason, subjectHost: subjectHost.slice(0, 128), suppressedSinceLastLog: last?.suppressed ?? 0, ...fields }, msg);
  }

  /** Refused messages since start, by reason. */
  counts(): Record<RejectReason, number> {
    return {
      'subject-mismatch': this.totals.get('subject-mismatch') ?? 0,
      'bad-facts': this.totals.get('bad-facts') ?? 0,
      'bad-heartbeat': this.totals.get('bad-heartbeat') ?? 0,
      'unproven-move': this.totals.get('unproven-move') ?? 0,
    };
  }
}
