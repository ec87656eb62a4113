// Opens the coordinator's state in JetStream: the KV buckets of
// common/subjects.ts with the configured replicas, and typed repositories
// over them. Opening is idempotent: every coordinator instance runs it at
// start and gets the same buckets.
import type { JetStreamClient, KV, NatsConnection } from 'nats';
import { buckets } from '../../common/subjects.ts';
import type { AdmittedHostRecord, HostRecord, ServerRecord, ZoneRecord } from '../model.ts';
import { Repository } from './repository.ts';
import { DEFAULT_RETRY, retryTransient, type RetryPolicy } from './retry.ts';
import { AuditLog, type AuditLimits } from './audit.ts';
import { StoreCondition } from './condition.ts';

/** The leader lease as stored (one key, "lease", in the leader bucket). */
export interface LeaseRecord {
  /** The holder's coordinatorId ("" once released). */
  holder: string;
  /**
   * The holding process: a random nonce each LeaderElection draws at start.
   * Two processes configured with one id differ here, and only the process
   * that wrote it renews a lease (absent in leases of older versions).
   */
  instance?: string;
  /** Increases by one every time the lease changes hands. */
  term: number;
  acquiredAtMs: number;
  renewedAtMs: number;
  /** Informational: holders and observers judge expiry by revision age, not by clocks. */
  ttlMs: number;
}

export interface StoreOptions {
  /** 1 for the embedded single node, 3 in a cluster. */
  replicas: number;
  /** One JetStream API request (ms). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** The audit stream's limits (default DEFAULT_AUDIT_LIMITS). */
  auditLimits?: AuditLimits;
}

export interface Store {
  js: JetStreamClient;
  kvs: Record<keyof typeof buckets, KV>;
  zones: Repository<ZoneRecord>;
  hosts: Repository<HostRecord>;
  servers: Repository<ServerRecord>;
  /** Operation headers: the maintenance engine gives them their type (and reads their steps from kvs.operationSteps). */
  operations: Repository<unknown>;
  leader: Repository<LeaseRecord>;
  /** Hosts whose messages the inventory takes (coordinator/admission.ts). */
  admittedHosts: Repository<AdmittedHostRecord>;
  audit: AuditLog;
  retry: RetryPolicy;
  /** Whether the last write landed or met a full JetStream store (every repository reports here). */
  condition: StoreCondition;
}

/**
 * Buckets that keep only the latest value: an operation's steps (500 per
 * drain, each rewritten on every progress report) and the active index.
 */
const LATEST_ONLY: ReadonlySet<string> = new Set([buckets.operationSteps, buckets.activeOperations]);

async function openBucket(js: JetStreamClient, name: string, opts: StoreOptions, retry: RetryPolicy): Promise<KV> {
  // history 5: the last few versions help an operator see what changed;
  // CAS needs only the latest (and the buckets of LATEST_ONLY keep only it).
  // allow_direct false: every get goes to the stream leader. A direct get may
  // be answered by any replica, a lagging one too (NATS does not promise
  // read-your-writes for them): in a 3-node cluster 15 of 300 reads right
  // after a write returned the revision before it, and a drain step that
  // read its record just after starting its attempt saw no attempt
  // (test/nats-faults.test.ts, docs/field-notes.md).
  const history = LATEST_ONLY.has(name) ? 1 : 5;
  return retryTransient(
    `open bucket ${name}`,
    () => js.views.kv(name, { replicas: opts.replicas, history, allow_direct: false, timeout: opts.timeoutMs ?? 5000 }),
    retry,
  );
}

export async function openStore(nc: NatsConnection, opts: StoreOptions): Promise<Store> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const js = nc.jetstream({ timeout: opts.timeoutMs ?? 5000 });
  const entries = await Promise.all(
    (Object.entries(buckets) as [keyof typeof buckets, string][]).map(async ([k, name]) => [k, await openBucket(js, name, opts, retry)] as const),
  );
  const kvs = Object.fromEntries(entries) as Record<keyof typeof buckets, KV>;
  const audit = await AuditLog.open(nc, {
    replicas: opts.replicas,
    retry,
    timeoutMs: opts.timeoutMs ?? 5000,
    ...(opts.auditLimits ? { limits: opts.auditLimits } : {}),
  });
  const condition = new StoreCondition();
  return {
    js,
    kvs,
    zones: new Repository<ZoneRecord>(kvs.zones, 'zone', retry, condition),
    hosts: new Repository<HostRecord>(kvs.hosts, 'host', retry, condition),
    servers: new Repository<ServerRecord>(kvs.servers, 'server', retry, condition),
    operations: new Repository<unknown>(kvs.operations, 'operation', retry, condition),
    leader: new Repository<LeaseRecord>(kvs.leader, 'leader lease', retry, condition),
    admittedHosts: new Repository<AdmittedHostRecord>(kvs.admittedHosts, 'admitted host', retry, condition),
    audit,
    retry,
    condition,
  };
}
