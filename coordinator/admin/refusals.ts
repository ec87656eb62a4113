// Auditing (and logging) calls refused before anyone was authenticated:
// anyone who can reach the port can make these, as fast as they like, so
// what they cost in audit space and log lines is bounded per peer.
//
// Per peer (auth/peer.ts) and per window (audit.refusalWindow): the first
// audit.refusalEntries refusals are audited and logged one by one, as they
// happen (a caller getting a token wrong now and then leaves a full trail);
// past that they are counted, and when the window ends the peer gets one
// summary entry per status code — method "RefusedCalls", `count`,
// `methods`, `atMs`..`untilMs`. Unauthenticated entries carry no request
// body: the caller is unknown, and the body is theirs to fill.
import type { Logger } from '../../common/logging.ts';
import { errorMessage } from '../../common/errors.ts';
import { peerKey } from '../auth/peer.ts';
import type { AuditEntry } from '../store/audit.ts';

/** The method name of summary entries (not an admin method; subject drydock.v1.audit.RefusedCalls). */
export const REFUSAL_SUMMARY_METHOD = 'RefusedCalls';

/** Peer key that stands for every peer beyond the table's size. */
const OTHER_PEERS = '(other peers)';

export interface RefusalAuditOptions {
  coordinatorId: string;
  /** How long one peer's repeats are gathered into one summary. */
  windowMs: number;
  /** Appends an audit entry (the audit stream). */
  write: (entry: AuditEntry) => Promise<void>;
  logger: Logger;
  /** Refusals audited one by one per peer and window; more are summarized. */
  entriesPerWindow: number;
  /** Peers tracked at once; refusals from more share one summary. Default 4096. */
  maxPeers?: number;
  now?: () => number;
}

export interface Refusal {
  method: string;
  /** call.getPeer() */
  peer: string;
  code: number;
  /** gRPC status code name. */
  result: string;
  message: string;
}

interface Summary {
  count: number;
  firstAtMs: number;
  lastAtMs: number;
  result: string;
  methods: Record<string, number>;
  /** The last refusal's reason. */
  message: string;
}

interface PeerWindow {
  startMs: number;
  /** Refusals audited one by one so far. */
  entries: number;
  /** By status code. */
  summaries: Map<number, Summary>;
}

export class RefusalAudit {
  private readonly peers = new Map<string, PeerWindow>();
  private readonly maxPeers: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: RefusalAuditOptions) {
    this.maxPeers = opts.maxPeers ?? 4096;
    this.now = opts.now ?? Date.now;
  }

  /** Writes ended windows' summaries from now on (every quarter window, at most every second). */
  start(): void {
    this.timer ??= setInterval(() => void this.track(this.flush(false)), Math.max(100, Math.min(1000, this.opts.windowMs / 4)));
    this.timer.unref();
  }

  /** Stops the timer and writes every summary still open. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.pending]);
    await this.flush(true);
  }

  /**
   * One refused call. Resolves once its entry is written when it is audited
   * on its own (the caller answers after that, as for every audited call);
   * at once when it was counted into a summary.
   */
  async refused(r: Refusal): Promise<void> {
    const now = this.now();
    let key = peerKey(r.peer);
    let w = this.peers.get(key);
    if (w && now - w.startMs >= this.opts.windowMs) {
      this.track(this.writeSummaries(key, w));
      this.peers.delete(key);
      w = undefined;
    }
    if (!w && this.peers.size >= this.maxPeers) {
      key = OTHER_PEERS;
      w = this.peers.get(key);
    }
    if (!w) {
      w = { startMs: now, entries: 0, summaries: new Map() };
      this.peers.set(key, w);
    }
    if (w.entries < this.opts.entriesPerWindow) {
      w.entries++;
      this.opts.logger.warn({ method: r.method, peer: r.peer, code: r.result, reason: r.message }, 'admin call refused');
      await this.write({
        atMs: now,
        coordinatorId: this.opts.coordinatorId,
        method: r.method,
        principal: '',
        via: 'none',
        peer: r.peer,
        request: '',
        result: r.result,
        code: r.code,
        message: r.message,
      });
      return;
    }
    const s = w.summaries.get(r.code) ?? { count: 0, firstAtMs: now, lastAtMs: now, result: r.result, methods: {}, message: '' };
    s.count++;
    s.lastAtMs = now;
    s.methods[r.method] = (s.methods[r.method] ?? 0) + 1;
    s.message = r.message;
    w.summaries.set(r.code, s);
  }

  /** Writes (and forgets) the windows that ended, or all of them. */
  async flush(all: boolean): Promise<void> {
    const now = this.now();
    const writes: Promise<void>[] = [];
    for (const [key, w] of this.peers) {
      if (!all && now - w.startMs < this.opts.windowMs) continue;
      this.peers.delete(key);
      writes.push(this.writeSummaries(key, w));
    }
    await Promise.all(writes);
  }

  private async writeSummaries(peer: string, w: PeerWindow): Promise<void> {
    for (const [code, s] of w.summaries) {
      const message = `${s.count} more refused call(s) from ${peer} (${s.result}); last reason: ${s.message}`;
      this.opts.logger.warn({ peer, code: s.result, count: s.count, methods: s.methods, reason: s.message }, 'admin calls refused (summary)');
      await this.write({
        atMs: s.firstAtMs,
        untilMs: s.lastAtMs,
        coordinatorId: this.opts.coordinatorId,
        method: REFUSAL_SUMMARY_METHOD,
        principal: '',
        via: 'none',
        peer,
        request: '',
        result: s.result,
        code,
        message,
        count: s.count,
        methods: s.methods,
      });
    }
  }

  private async write(entry: AuditEntry): Promise<void> {
    try {
      await this.opts.write(entry);
    } catch (err) {
      // The call's outcome stands; losing its audit line is logged loudly.
      this.opts.logger.error({ audit: entry, err: errorMessage(err) }, 'audit write failed');
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
