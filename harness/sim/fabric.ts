// The sim's shared world: several SimHosts on one SimFabric, which owns every
// server's location, so a server is on exactly one host at any time (the only
// exception is set up on purpose: SimHost.leaveDefinitionOf).
import { SimHost } from './host.ts';
import { GiB, type SimFabricOptions, type SimHostOptions, type SimMigrationRecord, type SimServer, type SimWorld } from './model.ts';

/** The shared world of several sim hosts: where every server is. */
export class SimFabric implements SimWorld<SimHost> {
  readonly bandwidthBps: number;
  readonly tickMs: number;
  readonly setupMs: number;
  readonly shutdownMs: number;
  readonly hosts = new Map<string, SimHost>();
  /** uuid → where it lives. The single source of truth for "exactly one host". */
  readonly placement = new Map<string, { host: SimHost; sim: SimServer }>();
  /** Every migration any host ran, in start order. */
  readonly migrations: SimMigrationRecord[] = [];

  constructor(opts: SimFabricOptions = {}) {
    this.bandwidthBps = opts.bandwidthBps ?? GiB;
    this.tickMs = opts.tickMs ?? 100;
    this.setupMs = opts.setupMs ?? 200;
    this.shutdownMs = opts.shutdownMs ?? 200;
  }

  addHost(opts: SimHostOptions): SimHost {
    const host = new SimHost(this, opts);
    if (this.hosts.has(host.migrationUri)) throw new Error(`sim host ${host.migrationUri} exists`);
    this.hosts.set(host.migrationUri, host);
    return host;
  }

  hostById(hostId: string): SimHost | undefined {
    for (const h of this.hosts.values()) if (h.hostId === hostId) return h;
    return undefined;
  }

  /** The host a server is on, or undefined. */
  whereIs(uuid: string): SimHost | undefined {
    return this.placement.get(uuid.toLowerCase())?.host;
  }

  /** Migrations of one server (all modes). */
  migrationsOf(uuid: string): SimMigrationRecord[] {
    return this.migrations.filter((m) => m.uuid === uuid.toLowerCase());
  }

  /** Stops every running simulated job (test teardown). */
  close(): void {
    for (const h of this.hosts.values()) h.close();
  }
}
