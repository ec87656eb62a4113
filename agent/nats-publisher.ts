// Publishes this host's truth on NATS: facts (on start, when they change,
// and after every reconnect so a coordinator that missed them catches up),
// a heartbeat every 2 s, and server lifecycle events from the hypervisor.
// The connection is retried forever with a capped backoff; the agent's gRPC
// API never waits for NATS.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { natsAuthOptions, type NatsAuth } from '../common/nats-auth.ts';
import type { Logger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import { redactText, redactUrl } from '../common/redact.ts';
import { assertDomainName, isUuid } from '../common/names.ts';
import { subjects, type HeartbeatMessage, type HostEventMessage } from '../common/subjects.ts';
import type { Hypervisor } from './hypervisor/hypervisor.ts';
import { factsFingerprint, type FactsSource } from './facts.ts';
import { serversDigest } from '../common/servers-digest.ts';
import { mayChangeServerReport } from '../common/host-events.ts';

export type { NatsAuth };

export interface NatsPublisherOptions {
  servers: string[];
  /** This host's credentials (its NATS identity may publish on this host's subjects only). */
  auth?: NatsAuth & { insecureNoAuth?: boolean };
  hostId: string;
  hypervisor: Hypervisor;
  facts: FactsSource;
  grpcEndpoint: () => string;
  heartbeatIntervalMs: number;
  factsIntervalMs: number;
  log: Logger;
  /** Upper bound of the reconnect backoff (default 5 s). */
  maxBackoffMs?: number;
}

const encoder = new TextEncoder();
/** Longest the heartbeat's server counts go without a fresh listing. */
const LISTING_MAX_AGE_MS = 30_000;

/** Reconnect delay: doubling from 250 ms to the cap, with ±20% jitter. */
export function backoffMs(attempt: number, capMs: number): number {
  const base = Math.min(capMs, 250 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class NatsPublisher {
  private nc: NatsConnection | null = null;
  private readonly stopper = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private lastFingerprint = '';
  private attempt = 0;
  /** name → uuid, refreshed by the heartbeat's listing (virsh event prints names). */
  private readonly names = new Map<string, string>();
  private listing: { atMs: number; total: number; running: number; digest: string } | null = null;
  private listingDirty = true;
  private readonly log: Logger;
  /** Built once: a seed or creds file that cannot be read fails the agent's start, not every reconnect. */
  private readonly authOptions: Partial<ConnectionOptions>;
  /** Counters for tests and metrics. */
  readonly stats = { factsPublished: 0, heartbeatsPublished: 0, eventsPublished: 0, connects: 0 };

  constructor(private readonly opts: NatsPublisherOptions) {
    this.log = opts.log.child({ component: 'nats' });
    this.authOptions = natsAuthOptions(opts.auth ?? {});
    // Loudly, at every start (docs/design.md, invariant 9).
    if (opts.auth?.insecureNoAuth) this.log.error({ servers: opts.servers }, 'INSECURE: connecting to NATS without credentials (nats.insecureNoAuth)');
  }

  get connected(): boolean {
    return this.nc !== null && !this.nc.isClosed();
  }

  start(): void {
    this.tasks.push(this.connectLoop());
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    const nc = this.nc;
    this.nc = null;
    if (nc) await nc.close().catch(() => undefined);
    await Promise.allSettled(this.tasks);
  }

  /** Re-gathers facts and publishes them if they changed (or if `force`). */
  async publishFacts(force = false): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    const facts = await this.opts.facts.gather(this.stopper.signal);
    const fp = factsFingerprint(facts);
    if (!force && fp === this.lastFingerprint) return;
    nc.publish(subjects.hostFacts(this.opts.hostId), encoder.encode(JSON.stringify(facts)));
    this.lastFingerprint = fp;
    this.stats.factsPublished++;
  }

  // ---------------------------------------------------------------- loops

  private connectOptions(): ConnectionOptions {
    const cap = this.opts.maxBackoffMs ?? 5000;
    const o: ConnectionOptions = {
      servers: this.opts.servers,
      name: `drydock-agent ${this.opts.hostId}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => backoffMs(this.attempt++, cap),
      pingInterval: 10_000,
      timeout: 5000,
    };
    return { ...o, ...this.authOptions };
  }

  /**
   * First connection: retried here (cancellable by stop()) rather than with
   * waitOnFirstConnect, whose pending connect() could not be cancelled.
   * After it, nats.js reconnects forever on its own.
   */
  private async connectLoop(): Promise<void> {
    const signal = this.stopper.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const nc = await connect(this.connectOptions());
        if (signal.aborted) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.stats.connects++;
        this.log.info({ server: redactUrl(nc.getServer()) }, 'connected to NATS');
        this.tasks.push(this.watchStatus(nc), this.heartbeatLoop(), this.factsLoop(), this.eventsLoop());
        await this.publishFacts(true).catch((err) => this.log.warn({ err: errorMessage(err) }, 'facts not published'));
        const closed = await nc.closed();
        if (signal.aborted) return;
        this.log.warn({ err: closed ? redactText(errorMessage(closed)) : undefined }, 'NATS connection closed; connecting again');
        this.nc = null;
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err: redactText(errorMessage(err)), attempt }, 'NATS not reachable; retrying');
      }
      try {
        await sleep(backoffMs(attempt++, this.opts.maxBackoffMs ?? 5000), undefined, { signal });
      } catch {
        return;
      }
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    // The status iterator does not always end when the connection closes
    // (seen after a reconnect): stop it ourselves on stop() and on close.
    // The runtime object is a QueuedIterator (it has stop()); the type says AsyncIterable.
    const it = nc.status() as AsyncIterable<{ type: string; data: unknown }> & { stop?: () => void };
    const end = () => it.stop?.();
    this.stopper.signal.addEventListener('abort', end, { once: true });
    void nc.closed().then(end, end);
    try {
      await this.consumeStatus(it);
    } finally {
      this.stopper.signal.removeEventListener('abort', end);
    }
  }

  private async consumeStatus(it: AsyncIterable<{ type: string; data: unknown }>): Promise<void> {
    for await (const s of it) {
      if (s.type === 'disconnect') this.log.warn('NATS disconnected');
      if (s.type === 'reconnect') {
        this.attempt = 0;
        this.stats.connects++;
        this.log.info({ server: redactUrl(String(s.data)) }, 'NATS reconnected');
        // A coordinator may have missed facts while we were away.
        this.publishFacts(true).catch((err) => this.log.warn({ err: errorMessage(err) }, 'facts not published'));
      }
    }
  }

  private async heartbeatLoop(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      try {
        await this.heartbeat();
      } catch (err) {
        if (!signal.aborted) this.log.warn({ err: errorMessage(err) }, 'heartbeat not sent');
      }
      try {
        await sleep(this.opts.heartbeatIntervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /**
   * The server listing behind the heartbeat's counts. Listing is not cheap
   * with libvirt (a dumpxml per domain), so it is refreshed when a lifecycle
   * event says something changed, and at least every LISTING_MAX_AGE_MS.
   */
  private async counts(signal: AbortSignal): Promise<{ total: number; running: number; digest: string }> {
    const now = Date.now();
    if (this.listing && !this.listingDirty && now - this.listing.atMs < LISTING_MAX_AGE_MS) return this.listing;
    this.listingDirty = false;
    const servers = await this.opts.hypervisor.listServers(signal);
    this.names.clear();
    for (const s of servers) this.names.set(s.name, s.uuid);
    this.listing = {
      atMs: now,
      total: servers.length,
      running: servers.filter((s) => s.state === 'SERVER_STATE_RUNNING').length,
      digest: serversDigest(servers),
    };
    return this.listing;
  }

  private async heartbeat(): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    const signal = this.stopper.signal;
    const facts = this.opts.facts;
    const [counts, memoryFree, bootId] = await Promise.all([this.counts(signal), facts.memoryFreeBytes(signal), facts.bootId()]);
    const msg: HeartbeatMessage = {
      host_id: this.opts.hostId,
      incarnation: facts.incarnation,
      boot_id: bootId,
      memory_free_bytes: memoryFree,
      server_count: counts.total,
      running_count: counts.running,
      servers_digest: counts.digest,
      sent_at_ms: Date.now(),
      grpc_endpoint: this.opts.grpcEndpoint(),
    };
    if (signal.aborted || nc.isClosed()) return;
    nc.publish(subjects.hostHeartbeat(this.opts.hostId), encoder.encode(JSON.stringify(msg)));
    this.stats.heartbeatsPublished++;
  }

  private async factsLoop(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      try {
        await sleep(this.opts.factsIntervalMs, undefined, { signal });
      } catch {
        return;
      }
      await this.publishFacts().catch((err) => this.log.warn({ err: errorMessage(err) }, 'facts not published'));
    }
  }

  /** Lifecycle events; the hypervisor restarts its own source, we restart the loop if it still ends. */
  private async eventsLoop(): Promise<void> {
    const signal = this.stopper.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        for await (const ev of this.opts.hypervisor.events(signal)) {
          attempt = 0;
          if (ev.event === 'lifecycle') this.listingDirty = true;
          if (mayChangeServerReport(ev.event)) await this.publishEvent(ev.event, ev.name, ev.detail, ev.atMs);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err: errorMessage(err) }, 'event stream ended; restarting');
      }
      try {
        await sleep(backoffMs(attempt++, 5000), undefined, { signal });
      } catch {
        return;
      }
    }
  }

  private async publishEvent(event: string, name: string, detail: string, atMs: number): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    let uuid = isUuid(name) ? name.toLowerCase() : (this.names.get(name) ?? '');
    if (!uuid) {
      try {
        uuid = (await this.opts.hypervisor.getServer(assertDomainName('name', name), this.stopper.signal)).uuid;
        this.names.set(name, uuid);
      } catch {
        // Gone already (undefined, migrated away): publish with the name only.
      }
    }
    const facts = this.opts.facts;
    const msg: HostEventMessage = {
      host_id: this.opts.hostId,
      incarnation: facts.incarnation,
      event,
      server_uuid: uuid,
      server_name: name,
      detail,
      at_ms: atMs,
    };
    if (nc.isClosed()) return;
    nc.publish(subjects.hostEvents(this.opts.hostId), encoder.encode(JSON.stringify(msg)));
    this.stats.eventsPublished++;
  }
}
