// The coordinator's Prometheus metrics. Counters and histograms are fed by
// the maintenance engine as things happen; gauges (operations by state,
// hosts by status, heartbeat age) are computed at scrape time from the KV
// state and this instance's liveness view, so they never drift.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.ts';
import type { Inventory } from './inventory/inventory.ts';

/** Migration durations: seconds, from a small guest on a LAN to a large one over a slow link. */
const MIGRATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];
/** Operation durations: whole drains and returns (reboots included). */
const OPERATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly migrations: Counter<'mode' | 'result'>;
  readonly migrationSeconds: Histogram<'mode'>;
  readonly bytesMoved: Counter<'mode'>;
  readonly operationSeconds: Histogram<'kind' | 'state'>;
  readonly refusedCalls: Counter<'result'>;
  readonly tokenHashes: Counter;
  private source: { store: Store; inventory: Inventory } | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'drydock_coordinator_' });
    this.migrations = new Counter({
      name: 'drydock_migrations_total',
      help: 'Migration attempts the coordinator ran, by mode (live, cold) and result (completed, failed, aborted) — stops count as mode "stop".',
      labelNames: ['mode', 'result'],
      registers: [this.registry],
    });
    this.migrationSeconds = new Histogram({
      name: 'drydock_migration_duration_seconds',
      help: 'Wall time of completed migration attempts, by mode.',
      labelNames: ['mode'],
      buckets: MIGRATION_BUCKETS,
      registers: [this.registry],
    });
    this.bytesMoved = new Counter({
      name: 'drydock_migrated_bytes_total',
      help: 'Bytes moved by completed migrations (memory and disk), by mode.',
      labelNames: ['mode'],
      registers: [this.registry],
    });
    this.operationSeconds = new Histogram({
      name: 'drydock_operation_duration_seconds',
      help: 'Duration of finished operations (drains, returns to service, server returns), by kind and final state.',
      labelNames: ['kind', 'state'],
      buckets: OPERATION_BUCKETS,
      registers: [this.registry],
    });
    this.refusedCalls = new Counter({
      name: 'drydock_admin_refused_calls_total',
      help: 'Admin calls refused before reaching a handler, by status: UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED (the peer is out of failed token attempts), UNAVAILABLE (token hashing saturated).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.tokenHashes = new Counter({
      name: 'drydock_admin_token_hashes_total',
      help: 'scrypt hashes computed to verify admin bearer tokens (each token checked once per scrypt user until verified).',
      registers: [this.registry],
    });
    this.registerStateGauges();
  }

  /**
   * The gauges computed at scrape time from the store and this instance's
   * liveness view (see the file comment); they report nothing until bind().
   */
  private registerStateGauges(): void {
    // Inside collect() `this` is the gauge, so the source is reached through a closure.
    const source = () => this.source;
    new Gauge({
      name: 'drydock_operations',
      help: 'Operations in the store, by kind and state.',
      labelNames: ['kind', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const src = source();
        if (!src) return;
        for (const e of await src.store.operations.list()) {
          const op = e.value as { kind?: string; state?: string };
          this.inc({ kind: op.kind ?? 'unknown', state: op.state ?? 'unknown' });
        }
      },
    });
    new Gauge({
      name: 'drydock_hosts',
      help: 'Hosts by status: online, offline, enabled, disabled, and maintenance state (none, entering, in_maintenance, returning).',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const src = source();
        if (!src) return;
        const now = Date.now();
        for (const s of ['online', 'offline', 'enabled', 'disabled', 'none', 'entering', 'in_maintenance', 'returning']) this.set({ status: s }, 0);
        for (const { value: h } of await src.store.hosts.list()) {
          this.inc({ status: src.inventory.hostLiveness(h.id, now)?.online ? 'online' : 'offline' });
          this.inc({ status: h.enabled ? 'enabled' : 'disabled' });
          this.inc({ status: h.maintenance });
        }
      },
    });
    new Gauge({
      name: 'drydock_host_heartbeat_age_seconds',
      help: 'Seconds since the last heartbeat of each host this instance has heard from.',
      labelNames: ['host'],
      registers: [this.registry],
      collect() {
        this.reset();
        const src = source();
        if (!src) return;
        const now = Date.now();
        for (const [host, l] of src.inventory.liveness.view(now)) this.set({ host }, Math.max(0, (now - l.lastHeartbeatMs) / 1000));
      },
    });
  }

  /** Where the scrape-time gauges read from. */
  bind(store: Store, inventory: Inventory): void {
    this.source = { store, inventory };
  }

  migrationEnded(mode: string, result: 'completed' | 'failed' | 'aborted', seconds: number, bytes: number): void {
    this.migrations.inc({ mode, result });
    if (result === 'completed') {
      this.migrationSeconds.observe({ mode }, seconds);
      if (bytes > 0) this.bytesMoved.inc({ mode }, bytes);
    }
  }

  operationEnded(kind: string, state: string, seconds: number): void {
    this.operationSeconds.observe({ kind, state }, seconds);
  }
}
