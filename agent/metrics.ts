// The agent's Prometheus metrics: migrations it ran (by mode and result),
// their durations and bytes, and its servers by state. The servers come from
// a listing at most `serversMaxAgeMs` old: on libvirt a listing is a full
// `virsh list` plus a query per server, too much to run for every scrape of
// every Prometheus (and concurrent scrapes share one listing in flight).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Hypervisor, Server } from './hypervisor/hypervisor.ts';

const MIGRATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly migrations: Counter<'mode' | 'result'>;
  private readonly seconds: Histogram<'mode'>;
  private readonly bytes: Counter<'mode'>;

  private listing: { atMs: number; servers: Promise<Server[]> } | null = null;

  constructor(
    hostId: string,
    private readonly hypervisor: Hypervisor,
    private readonly serversMaxAgeMs = 15_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.registry.setDefaultLabels({ host: hostId });
    collectDefaultMetrics({ register: this.registry, prefix: 'drydock_agent_' });
    this.migrations = new Counter({
      name: 'drydock_agent_migrations_total',
      help: 'Migrations this agent ran as the source, by mode (live, cold) and result (completed, failed, aborted).',
      labelNames: ['mode', 'result'],
      registers: [this.registry],
    });
    this.seconds = new Histogram({
      name: 'drydock_agent_migration_duration_seconds',
      help: 'Wall time of completed migrations, by mode.',
      labelNames: ['mode'],
      buckets: MIGRATION_BUCKETS,
      registers: [this.registry],
    });
    this.bytes = new Counter({
      name: 'drydock_agent_migrated_bytes_total',
      help: 'Bytes moved by completed migrations (memory and disk), by mode.',
      labelNames: ['mode'],
      registers: [this.registry],
    });
    const servers = () => this.servers();
    new Gauge({
      name: 'drydock_agent_servers',
      help: 'Servers libvirt knows on this host, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of await servers()) this.inc({ state: s.state.replace('SERVER_STATE_', '').toLowerCase() });
      },
    });
  }

  /** The hypervisor's servers, listed at most every serversMaxAgeMs; a failed listing is not kept. */
  private servers(): Promise<Server[]> {
    const now = this.clock();
    if (this.listing && now - this.listing.atMs < this.serversMaxAgeMs) return this.listing.servers;
    const listing = { atMs: now, servers: this.hypervisor.listServers() };
    this.listing = listing;
    listing.servers.catch(() => {
      if (this.listing === listing) this.listing = null;
    });
    return listing.servers;
  }

  migrationEnded(mode: string, result: 'completed' | 'failed' | 'aborted', seconds: number, bytes: number): void {
    this.migrations.inc({ mode, result });
    if (result === 'completed') {
      this.seconds.observe({ mode }, seconds);
      if (bytes > 0) this.bytes.inc({ mode }, bytes);
    }
  }
}
