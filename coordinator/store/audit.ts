// The audit stream: one message per mutating admin call and per rejected
// call (unauthenticated, permission denied), on drydock.v1.audit.<Method>;
// repeated unauthenticated refusals are summarized (admin/refusals.ts).
// It is a JetStream stream, so it survives restarts and replicates like the
// KV buckets; it is append-only (no CAS needed).
//
// It is bounded in bytes as well as in count and age, oldest entries going
// first: refused calls can be made by anyone who reaches the port, and a
// full JetStream store would stop every KV write, lease renewals included.
import { type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { streams, subjects } from '../../common/subjects.ts';
import { retryTransient, type RetryPolicy } from './retry.ts';
import { ensureStream } from './streams.ts';

export interface AuditEntry {
  atMs: number;
  /** Coordinator instance that handled the call. */
  coordinatorId: string;
  method: string;
  /** User name, or "" when the caller could not be authenticated. */
  principal: string;
  /** How the caller authenticated: "token", "certificate", or "none". */
  via: 'token' | 'certificate' | 'none';
  /** Peer address as gRPC saw it. */
  peer: string;
  /**
   * The request, JSON, truncated (requests carry no secrets; tokens travel
   * in metadata). Empty when the caller was not authenticated.
   */
  request: string;
  /** gRPC status code name: "OK", "PERMISSION_DENIED", ... */
  result: string;
  code: number;
  message: string;
  /** Summaries only (method "RefusedCalls"): how many refused calls this entry stands for. */
  count?: number;
  /** Summaries only: when the last of them came (atMs: the first). */
  untilMs?: number;
  /** Summaries only: refused calls per method. */
  methods?: Record<string, number>;
}

/** How much the stream keeps; the oldest entries go past any of these. */
export interface AuditLimits {
  maxBytes: number;
  maxAgeMs: number;
  maxMessages: number;
}

/** 256 MiB, a year (the operator's compliance window, not ours, decides more), 10 million entries. */
export const DEFAULT_AUDIT_LIMITS: AuditLimits = { maxBytes: 256 * 1024 ** 2, maxAgeMs: 365 * 24 * 3_600_000, maxMessages: 10_000_000 };

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AuditLog {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly retry: RetryPolicy,
  ) {}

  static async open(nc: NatsConnection, opts: { replicas: number; retry: RetryPolicy; timeoutMs: number; limits?: AuditLimits }): Promise<AuditLog> {
    const jsm = await nc.jetstreamManager({ timeout: opts.timeoutMs });
    const limits = opts.limits ?? DEFAULT_AUDIT_LIMITS;
    await ensureStream(
      jsm,
      {
        name: streams.audit.name,
        subjects: streams.audit.subjects,
        replicas: opts.replicas,
        maxAgeS: Math.ceil(limits.maxAgeMs / 1000),
        maxMsgs: limits.maxMessages,
        maxBytes: limits.maxBytes,
      },
      opts.retry,
    );
    return new AuditLog(nc.jetstream({ timeout: opts.timeoutMs }), jsm, opts.retry);
  }

  /** Appends one entry (retried on transient failure; JetStream acks it durably). */
  async record(entry: AuditEntry): Promise<void> {
    await retryTransient(`audit ${entry.method}`, () => this.js.publish(subjects.audit(entry.method), enc.encode(JSON.stringify(entry))), this.retry);
  }

  /** Entries with stream sequence > afterSeq, oldest first (for tests and tools). */
  async list(afterSeq = 0, limit = 10_000): Promise<{ seq: number; entry: AuditEntry }[]> {
    const info = await this.jsm.streams.info(streams.audit.name);
    const out: { seq: number; entry: AuditEntry }[] = [];
    for (let seq = Math.max(afterSeq + 1, info.state.first_seq); seq <= info.state.last_seq && out.length < limit; seq++) {
      try {
        const m = await this.jsm.streams.getMessage(streams.audit.name, { seq });
        out.push({ seq, entry: JSON.parse(dec.decode(m.data)) as AuditEntry });
      } catch {
        // A deleted (aged-out) message leaves a gap: skip it.
      }
    }
    return out;
  }

  /** Sequence of the newest entry (0 when empty). */
  async lastSeq(): Promise<number> {
    return (await this.jsm.streams.info(streams.audit.name)).state.last_seq;
  }
}
