// The audit stream: one message per mutating admin call and per rejected
// call (unauthenticated, permission denied), on drydock.v1.audit.<Method>.
// It is a JetStream stream, so it survives restarts and replicates like the
// KV buckets; it is append-only (no CAS needed).
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
  /** The request, JSON, truncated (requests carry no secrets; tokens travel in metadata). */
  request: string;
  /** gRPC status code name: "OK", "PERMISSION_DENIED", ... */
  result: string;
  code: number;
  message: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AuditLog {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly retry: RetryPolicy,
  ) {}

  static async open(nc: NatsConnection, opts: { replicas: number; retry: RetryPolicy; timeoutMs: number }): Promise<AuditLog> {
    const jsm = await nc.jetstreamManager({ timeout: opts.timeoutMs });
    await ensureStream(
      jsm,
      {
        name: streams.audit.name,
        subjects: streams.audit.subjects,
        replicas: opts.replicas,
        // A year of calls; the operator's compliance window, not ours, decides more.
        maxAgeS: 365 * 24 * 3600,
        // Bounded even under a flood of refused calls (oldest go first).
        maxMsgs: 10_000_000,
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
