// The inventory: hosts from agent facts, liveness from heartbeats, servers
// from agent reports. Every instance tracks heartbeats in memory (online/
// offline for its reads); only the leader writes what agents report, so N
// coordinators do not multiply KV writes. The leader also runs a periodic
// full reconcile against every online agent: NATS events can be missed (a KV
// watcher once stalled 12 s, docs/field-notes.md) and none may leave a lie.
import type { NatsConnection, Subscription } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import { hostOfSubject, subjects, type HeartbeatMessage, type HostEventMessage } from '../../common/subjects.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import type { Server as AgentServer } from '../../common/generated/drydock/agent/v1/Server.ts';
import type { AgentClientPool } from '../agent-client.ts';
import type { LeaderElection } from '../leader.ts';
import type { HostRecord, InventorySnapshot, ServerRecord } from '../model.ts';
import type { Store } from '../store/store.ts';
import type { ReadModel } from '../reads/read-model.ts';
import type { Versioned } from '../store/repository.ts';
import { CasConflictError } from '../store/retry.ts';
import { InFlight, KeyedCoalescer, Limiter, mapSettled } from '../concurrency.ts';
import { isValidId } from '../ids.ts';
import type { HostAdmission } from '../admission.ts';
import { Liveness, type HostLiveness } from './liveness.ts';
import { applyFacts, factsProblem, isFactsMessage, type FactsMessage } from './registration.ts';
import { HostMessageRejections } from './rejections.ts';
import { grpcEndpointProblem } from '../../common/uri.ts';
import { buildZoneSnapshot, type ZoneSnapshot } from './zone-snapshot.ts';
import { isUuid } from '../../common/names.ts';
import { mayChangeServerReport } from '../../common/host-events.ts';
import { mergeReport, syncAllHosts, syncOneHost, wellFormedReport, type ServerChange } from './reconcile.ts';
import { addReported, movesHeardFromBothSides, ReconcileTargets, recordsDigest, recordsOfHosts } from './reconcile-targets.ts';

export interface InventoryOptions {
  nc: NatsConnection;
  store: Store;
  /**
   * Zones, hosts and servers in memory, synced with KV on use: a reconcile
   * pass and a snapshot read them here instead of every record from KV
   * (a 100,000-server bucket took 10+ s of gets per pass).
   */
  reads: ReadModel;
  leader: LeaderElection;
  agents: AgentClientPool;
  /** Which hosts' messages count (coordinator/admission.ts); the others are dropped unread. */
  admission: HostAdmission;
  logger: Logger;
  offlineAfterMs: number;
  reconcileIntervalMs: number;
  /** Every online host is asked for its servers at least this often, whatever its digest (reconcile-targets.ts). */
  fullReconcileIntervalMs: number;
  reconcileConcurrency: number;
  /** Deadline of one agent call during reconcile (ms). */
  agentCallTimeoutMs: number;
}

export interface ReconcileReport {
  hostsAsked: number;
  hostsAnswered: number;
  created: number;
  updated: number;
  deleted: number;
  registered: number;
  failures: { hostId: string; error: string }[];
}

const dec = new TextDecoder();

/** How long a host's events are gathered before its servers are synced (ms). */
const EVENT_BATCH_MS = 20;

/**
 * Host messages (facts, events, a heartbeat of a host not registered) that
 * call their agent, at once. Unbounded, 2,500 agents starting together
 * opened thousands of channels at once; the event loop fell behind (name
 * resolution of an IP literal took 8 s) and thousands of calls ran past
 * their deadline, leaving the reconcile passes minutes of work
 * (bench/telemetry.ts). The others wait their turn.
 */
const HOST_MESSAGE_CALLS = 16;

/**
 * How long a heartbeat of a host without a current record waits for the
 * host's facts before its agent is asked for them (ms). An agent publishes
 * its facts as it connects; gathering them takes a moment (virsh, the OS).
 */
const FACTS_GRACE_MS = 5000;

export class Inventory {
  readonly liveness: Liveness;
  /** Which hosts each reconcile pass asks. */
  readonly targets: ReconcileTargets;
  /** Host messages refused (counted, logged rate-limited). */
  readonly rejections: HostMessageRejections;
  private readonly subs: Subscription[] = [];
  /** Keys "facts:<id>", "sync:<id>", "refresh:<id>": each kind coalesces on its own. */
  private readonly perHost = new KeyedCoalescer();
  private readonly stopper = new AbortController();
  private readonly log: Logger;
  private lastReconcile: ReconcileReport | null = null;
  private unhook: (() => void) | null = null;
  private unhookAdmission: (() => void) | null = null;
  /** Host id → servers named by its events since the last sync started ('all': one event named none). */
  private readonly eventBatches = new Map<string, Set<string> | 'all'>();
  /** The agent calls that host messages start (HOST_MESSAGE_CALLS). */
  private readonly messageCalls = new Limiter(HOST_MESSAGE_CALLS);
  /** Hosts with a sync of their servers on its way (from their facts, heartbeat or events), until it ends: reconcile passes leave them to it. */
  readonly syncing = new InFlight();
  /** Messages dropped because their host is not admitted, since the last warning (bounded: a counter, not a set). */
  private refused = { count: 0, lastLogMs: 0 };

  constructor(private readonly o: InventoryOptions) {
    this.liveness = new Liveness(o.offlineAfterMs);
    this.targets = new ReconcileTargets(o.fullReconcileIntervalMs);
    // One signal is shared by every in-flight agent call of a pass (up to
    // reconcileConcurrency plus per-host syncs): many listeners, no leak.
    setMaxListeners(0, this.stopper.signal);
    this.log = o.logger.child({ component: 'inventory' });
    this.rejections = new HostMessageRejections(this.log);
  }

  start(): void {
    this.subscribe(subjects.allHeartbeats, (data, subject) => this.fromItsHost(subject, data) && this.onHeartbeat(data as HeartbeatMessage));
    this.subscribe(subjects.allFacts, (data, subject) => this.fromItsHost(subject, data) && this.onFacts(data));
    this.subscribe(subjects.allHostEvents, (data, subject) => this.fromItsHost(subject, data) && this.onHostEvent(data as HostEventMessage));
    this.unhook = this.o.leader.onLeadership((signal) => this.reconcileLoop(signal));
    // A revoked host is forgotten at once: offline, and out of the reconcile passes.
    this.unhookAdmission = this.o.admission.onChange((_hosts, removed) => removed.forEach((id) => this.liveness.forget(id)));
  }

  async stop(): Promise<void> {
    this.unhook?.();
    this.unhookAdmission?.();
    this.stopper.abort();
    for (const s of this.subs) s.unsubscribe();
    await this.perHost.idle().catch(() => undefined);
  }

  /** Last full reconcile's outcome (null before the first). */
  lastReconcileReport(): ReconcileReport | null {
    return this.lastReconcile;
  }

  /**
   * A callback subscription, not an async iterator: at 5,000 hosts 2,500
   * heartbeats a second arrive, and the iterator cost promises and queue
   * work per message (bench/telemetry.ts). Handlers are synchronous.
   */
  private subscribe(subject: string, handle: (data: unknown, subject: string) => void): void {
    const sub = this.o.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) {
          this.log.warn({ subject, err: errorMessage(err) }, 'subscription error');
          return;
        }
        let data: unknown;
        try {
          data = JSON.parse(dec.decode(m.data));
        } catch {
          this.log.warn({ subject: m.subject }, 'dropping a message that is not JSON');
          return;
        }
        try {
          handle(data, m.subject);
        } catch (err) {
          this.log.warn({ subject: m.subject, err: errorMessage(err) }, 'message handling failed');
        }
      },
    });
    this.subs.push(sub);
  }

  /**
   * A host speaks only for itself: a message on hosts.<id>.* whose body
   * names another host is dropped (counted, logged rate-limited). With NATS
   * permissions confining each host to its own subjects, no host can then
   * write, refresh or redirect another host's record.
   */
  private fromItsHost(subject: string, data: unknown): boolean {
    const subjectHost = hostOfSubject(subject) ?? '';
    const bodyHost = (data as { host_id?: unknown } | null)?.host_id;
    if (subjectHost !== '' && bodyHost === subjectHost) return true;
    this.rejections.reject(
      'subject-mismatch',
      subjectHost,
      { subject: subject.slice(0, 200), bodyHost: typeof bodyHost === 'string' ? bodyHost.slice(0, 128) : typeof bodyHost },
      'message about another host than its subject dropped',
    );
    return false;
  }

  /**
   * The admission gate, before a message touches any state (liveness,
   * records, agent calls): invented or revoked host ids cost a Set lookup.
   * Dropped messages are logged at most once a minute, with their count.
   */
  private admitted(hostId: string, kind: string): boolean {
    if (this.o.admission.isAdmitted(hostId)) return true;
    this.refused.count++;
    const now = Date.now();
    if (now - this.refused.lastLogMs >= 60_000) {
      this.log.warn(
        { hostId, kind, dropped: this.refused.count },
        'messages of hosts that are not admitted dropped (admit a host with drydock-coordinator issue-host-credentials)',
      );
      this.refused = { count: 0, lastLogMs: now };
    }
    return false;
  }

  private onHeartbeat(msg: HeartbeatMessage): void {
    if (!msg || typeof msg.host_id !== 'string' || !isValidId(msg.host_id)) return;
    if (!this.admitted(msg.host_id, 'heartbeat')) return;
    // The heartbeat's endpoint is dialled (refreshHost, reconcile, the engine): same rule as facts.
    const ep = grpcEndpointProblem(msg.grpc_endpoint);
    if (ep) {
      this.rejections.reject('bad-heartbeat', msg.host_id, { problem: `grpc_endpoint: ${ep}` }, 'heartbeat with an unacceptable endpoint dropped');
      return;
    }
    const what = this.liveness.beat(msg, Date.now());
    if (what === 'alive' || !this.o.leader.isLeader()) return;
    this.log.info({ hostId: msg.host_id, what }, 'host heartbeat transition');
    // Heard first (this instance just started) or back, with the incarnation
    // and endpoint its record holds: nothing to fetch; the reconcile pass
    // compares its servers digest. (A restart of the coordinator must not
    // call every agent at once.)
    const rec = this.o.reads.hosts.get(msg.host_id)?.value;
    if (what !== 'restarted' && rec?.incarnation === msg.incarnation && rec.grpcEndpoint === msg.grpc_endpoint) return;
    // A host this leader has not registered yet, or a new incarnation: make
    // sure its record and servers are current even if its facts were missed.
    // Its facts are on their way (an agent publishes them as it connects,
    // beside its first heartbeat): they get FACTS_GRACE_MS to make the record.
    const hostId = msg.host_id;
    const signal = this.stopper.signal;
    const refresh = sleep(FACTS_GRACE_MS, undefined, { signal, ref: false }).then(() => this.messageCalls.run(() => this.refreshIfFactsMissed(hostId)));
    void this.syncing.track(hostId, refresh).catch((err) => {
      if (!signal.aborted) this.log.warn({ hostId, err: errorMessage(err) }, 'host refresh failed');
    });
  }

  /**
   * The heartbeat's refresh, when it is still needed: the stored record does
   * not hold the incarnation and endpoint the host heartbeats with. Facts
   * that made the record had their own sync of the host's servers
   * (onFacts); asking the agent again for its facts and servers doubled
   * every registration (5,000 agents starting: ~10,000 needless calls, each
   * on a channel of its own, bench/telemetry.ts).
   */
  private async refreshIfFactsMissed(hostId: string): Promise<void> {
    const beat = this.liveness.get(hostId);
    if (!beat || !this.o.leader.isLeader()) return;
    const current = (rec: HostRecord | undefined) => rec?.incarnation === beat.incarnation && rec.grpcEndpoint === beat.grpcEndpoint;
    // The read model first (by now it has the facts' record, as a rule): a KV get only for the others.
    if (current(this.o.reads.hosts.get(hostId)?.value) || current((await this.o.store.hosts.get(hostId, this.stopper.signal))?.value)) return;
    await this.refreshHost(hostId, beat.grpcEndpoint);
  }

  private onFacts(data: unknown): void {
    if (!isFactsMessage(data)) return;
    if (!this.admitted(data.host_id, 'facts')) return;
    if (!this.o.leader.isLeader()) return;
    // Refused before the coalescer: unacceptable facts must neither replace
    // acceptable ones waiting behind a registration nor go uncounted.
    if (this.refusesFacts(data)) return;
    const registration = this.perHost.run(`facts:${data.host_id}`, async () => {
      const changed = await this.register(data);
      if (changed) await this.messageCalls.run(() => this.syncHostServers(data.host_id, this.stopper.signal));
    });
    void this.syncing.track(data.host_id, registration).catch((err) => this.log.warn({ hostId: data.host_id, err: errorMessage(err) }, 'registration failed'));
  }

  /**
   * An event names one server: only the servers named by a host's events
   * are asked about and their records read (a whole-host sync per event
   * cost 53-77 ms and ~500 KV gets on a 500-server host, several times per
   * migration). Events are batched per host for EVENT_BATCH_MS: one
   * migration raises three or four on each of its hosts. An event without a
   * usable uuid (the server already gone) makes the batch the whole host.
   */
  private onHostEvent(msg: HostEventMessage): void {
    if (!msg || typeof msg.host_id !== 'string' || !isValidId(msg.host_id)) return;
    if (!this.admitted(msg.host_id, 'event')) return;
    if (!this.o.leader.isLeader()) return;
    if (typeof msg.event === 'string' && !mayChangeServerReport(msg.event)) return;
    const hostId = msg.host_id;
    const uuid = typeof msg.server_uuid === 'string' && isUuid(msg.server_uuid) ? msg.server_uuid.toLowerCase() : '';
    const batch = this.eventBatches.get(hostId);
    if (batch === undefined) {
      this.eventBatches.set(hostId, uuid ? new Set([uuid]) : 'all');
      const sync = sleep(EVENT_BATCH_MS, undefined, { ref: false }).then(() => this.syncEventBatch(hostId));
      void this.syncing.track(hostId, sync);
    } else if (batch !== 'all') {
      if (uuid) batch.add(uuid);
      else this.eventBatches.set(hostId, 'all');
    }
  }

  /** Settles when the sync ends (failures logged here). */
  private syncEventBatch(hostId: string): Promise<void> {
    if (this.stopper.signal.aborted) return Promise.resolve();
    return this.perHost
      .run(`sync:${hostId}`, () =>
        this.messageCalls.run(async () => {
          // Taken when the sync starts: events that arrive meanwhile open the next batch.
          const batch = this.eventBatches.get(hostId);
          this.eventBatches.delete(hostId);
          if (batch !== undefined) await this.syncHostServers(hostId, this.stopper.signal, batch === 'all' ? [] : [...batch]);
        }),
      )
      .catch((err) => this.log.warn({ hostId, err: errorMessage(err) }, 'server sync after event failed'));
  }

  /** Writes the host record from facts (CAS); true if new or changed. Unacceptable facts change nothing. */
  async register(facts: FactsMessage): Promise<boolean> {
    if (this.refusesFacts(facts)) return false;
    const now = Date.now();
    const res = await this.o.store.hosts.upsert(facts.host_id, (cur) => applyFacts(cur, facts, now));
    if (res.changed) this.log.info({ hostId: facts.host_id, revision: res.revision }, 'host registered/updated from facts');
    return res.changed;
  }

  /** True (and counted, logged rate-limited) if these facts must not become a record. */
  private refusesFacts(facts: FactsMessage): boolean {
    const problem = factsProblem(facts);
    if (problem) this.rejections.reject('bad-facts', facts.host_id, { problem }, 'host facts refused: record not created or updated');
    return problem !== '';
  }

  /** Facts over gRPC (missed NATS facts, restarts), then the host's servers. Not for a host that is not admitted (revoked). */
  async refreshHost(hostId: string, endpointHint = ''): Promise<void> {
    if (!this.admitted(hostId, 'refresh')) return;
    await this.perHost.run(`refresh:${hostId}`, async () => {
      const rec = await this.o.store.hosts.get(hostId);
      const endpoint = endpointHint || rec?.value.grpcEndpoint || '';
      if (!endpoint) return;
      await this.o.agents.forHost(hostId, endpoint).briefly(async (client) => {
        const facts = await client.getHostFacts({ timeoutMs: this.o.agentCallTimeoutMs, signal: this.stopper.signal });
        if (facts.host_id !== hostId) {
          this.log.warn({ hostId, reported: facts.host_id, endpoint }, 'agent at endpoint reports another host id; ignored');
          return;
        }
        await this.register(facts);
        await this.syncHostServers(hostId, this.stopper.signal);
      });
    });
  }

  /**
   * One host's servers from its agent (or only `uuids` of them): creates and
   * updates, never deletes (see reconcile.ts).
   */
  async syncHostServers(hostId: string, signal: AbortSignal, uuids: string[] = []): Promise<void> {
    // Registered hosts only; the endpoint as the engine dials it (heartbeat first, then the record).
    const host = this.o.reads.hosts.get(hostId) ?? (await this.o.store.hosts.get(hostId, signal));
    const endpoint = host ? this.liveness.get(hostId)?.grpcEndpoint || host.value.grpcEndpoint : '';
    if (!endpoint) return;
    const client = this.o.agents.forHost(hostId, endpoint);
    const res = await client.briefly((c) => c.listServers(uuids, { timeoutMs: this.o.agentCallTimeoutMs, signal }));
    const wanted = new Set(uuids);
    // An agent that answers a narrowed question with more says nothing about those.
    const reported = wellFormedReport(res.servers).filter((s) => wanted.size === 0 || wanted.has(s.uuid));
    // Only the records of the servers this host reports: an event on one host
    // must not cost a read of the whole inventory (this sync never deletes).
    const records = new Map<string, { value: ServerRecord; revision: number }>();
    await mapSettled(reported, 16, async (s) => {
      const r = await this.o.store.servers.get(s.uuid, signal);
      if (r) records.set(s.uuid, { value: r.value, revision: r.revision });
    });
    const changes = syncOneHost(hostId, reported, this.plain(records), Date.now());
    await this.apply(await this.provenMoves(hostId, changes, records, signal), records, signal);
  }

  /**
   * A host speaks only for itself. Its report that it holds a server whose
   * record names another host is a claim about that other host too ("it is
   * no longer there"), and this path runs on the host's own say-so (its
   * events, its facts). So such a move is kept only when the recorded host,
   * asked now, answers as itself and does not list the server (or is no
   * longer in the inventory). Otherwise the record stays: the full
   * reconcile pass, which hears every online host, decides.
   */
  private async provenMoves(
    hostId: string,
    changes: ServerChange[],
    records: Map<string, { value: ServerRecord }>,
    signal: AbortSignal,
  ): Promise<ServerChange[]> {
    const claims = new Map<string, string[]>(); // recorded host → uuids this host claims from it
    for (const c of changes) {
      if (c.kind !== 'update') continue;
      const owner = records.get(c.uuid)?.value.hostId;
      if (owner !== undefined && owner !== hostId) claims.set(owner, [...(claims.get(owner) ?? []), c.uuid]);
    }
    if (claims.size === 0) return changes;
    const refused = new Map<string, string>(); // uuid → recorded host
    await mapSettled([...claims], 4, async ([owner, uuids]) => {
      let listed: Set<string> | null = null;
      try {
        const rec = await this.o.store.hosts.get(owner, signal);
        if (!rec) return; // the recorded host left the inventory: nobody to contradict the claim
        const client = this.o.agents.forHost(owner, rec.value.grpcEndpoint);
        const res = await client.briefly((c) => c.listServers(uuids, { timeoutMs: this.o.agentCallTimeoutMs, signal }));
        if (res.host_id === owner) listed = new Set(res.servers.map((x) => x.uuid.toLowerCase()));
      } catch {
        listed = null; // silence is not absence
      }
      for (const u of uuids) if (listed === null || listed.has(u)) refused.set(u, owner);
    });
    for (const [uuid, owner] of refused) {
      this.rejections.reject(
        'unproven-move',
        hostId,
        { uuid, recordedHost: owner },
        'host reports a server its recorded host still has (or did not deny): record not moved',
      );
    }
    return changes.filter((c) => !(c.kind === 'update' && refused.has(c.uuid)));
  }

  private plain(m: Map<string, { value: ServerRecord }>): Map<string, ServerRecord> {
    return new Map([...m].map(([k, v]) => [k, v.value]));
  }

  /** Applies changes with CAS; each re-checks its rule against the current record. */
  private async apply(changes: ServerChange[], seen: Map<string, { revision: number }>, signal: AbortSignal, report?: ReconcileReport): Promise<void> {
    const servers = this.o.store.servers;
    await mapSettled(changes, 8, async (c) => {
      try {
        if (c.kind === 'create') {
          const now = Date.now();
          // Someone may have created it since we looked: then it is a refresh by
          // the same host, or — on another host — a move no one has proven
          // yet, left to the next pass (a host speaks only for itself).
          const r = await servers.upsert(
            c.record.uuid,
            (cur) => (!cur ? c.record : cur.hostId !== c.record.hostId ? undefined : mergeReport(cur, c.record.hostId, reportOf(c.record), now)),
            signal,
          );
          if (r.changed && report) report.created++;
        } else if (c.kind === 'update') {
          const now = Date.now();
          const r = await servers.mutate(
            c.uuid,
            (cur) => (cur.operationId && cur.hostId !== c.hostId ? undefined : mergeReport(cur, c.hostId, c.report, now)),
            signal,
          );
          if (r.changed && report) report.updated++;
        } else {
          // CAS at the revision read before the agents were asked: anything
          // written since (an event sync) means the evidence is stale; the
          // next pass decides again.
          const rev = seen.get(c.uuid)?.revision;
          if (rev === undefined) return;
          await servers.deleteAt(c.uuid, rev, signal);
          this.log.info({ uuid: c.uuid, hostId: c.hostId }, 'server gone from its host: record removed');
          if (report) report.deleted++;
        }
      } catch (err) {
        if (err instanceof CasConflictError) return;
        this.log.warn({ change: c.kind, err: errorMessage(err) }, 'server record change failed');
      }
    });
  }

  /**
   * One pass (leader): the online hosts reconcile-targets.ts picks (their
   * digest differs, a move needs their word, or their turn came), their facts
   * if stale and their servers.
   */
  async reconcileAll(signal: AbortSignal = this.stopper.signal): Promise<ReconcileReport> {
    const report: ReconcileReport = { hostsAsked: 0, hostsAnswered: 0, created: 0, updated: 0, deleted: 0, registered: 0, failures: [] };
    const now = Date.now();
    await this.o.reads.sync(signal, 'hosts', 'servers');
    const live = this.liveness.view(now);
    const registered = (id: string, l: HostLiveness) => {
      const r = this.o.reads.hosts.get(id)?.value;
      return r !== undefined && r.incarnation === l.incarnation && r.grpcEndpoint === l.grpcEndpoint;
    };
    const online = [...live].filter(([, l]) => l.online).map(([hostId, l]) => ({ hostId, digest: l.serversDigest, unregistered: !registered(hostId, l) }));
    const ids = this.targets.pick(
      online,
      (id) => recordsDigest(this.o.reads, id),
      this.o.reconcileIntervalMs,
      (id) => this.syncing.has(id),
    );
    // Records first: a server created after this read is never deleted by this pass.
    const records = recordsOfHosts(this.o.reads, ids);
    const reports = new Map<string, AgentServer[]>();
    report.hostsAsked = ids.length;
    await mapSettled(ids, this.o.reconcileConcurrency, async (hostId) => {
      const l = live.get(hostId)!;
      let host = this.o.reads.hosts.get(hostId)?.value;
      const endpoint = l.grpcEndpoint || host?.grpcEndpoint || '';
      if (!endpoint) return;
      // A channel opened for this pass alone is closed after it: the next pass asks other hosts.
      await this.o.agents
        .forHost(hostId, endpoint)
        .briefly(async (client) => {
          if (!host || host.incarnation !== l.incarnation || host.grpcEndpoint !== endpoint) {
            const facts = await client.getHostFacts({ timeoutMs: this.o.agentCallTimeoutMs, signal });
            if (facts.host_id !== hostId) throw new Error(`endpoint ${endpoint} answers as ${facts.host_id}`);
            if (await this.register(facts)) report.registered++;
            host = (await this.o.store.hosts.get(hostId, signal))?.value;
          }
          const res = await client.listServers([], { timeoutMs: this.o.agentCallTimeoutMs, signal });
          reports.set(hostId, wellFormedReport(res.servers));
          report.hostsAnswered++;
        })
        .catch((err) => report.failures.push({ hostId, error: errorMessage(err) }));
    });
    signal.throwIfAborted();
    addReported(this.o.reads, records, reports);
    const changes = syncAllHosts(reports, this.plain(records), Date.now());
    const heard = movesHeardFromBothSides(changes, records, new Set(ids), (id) => this.liveness.isOnline(id, Date.now()), this.targets);
    await this.apply(heard, records, signal, report);
    this.targets.checked(reports.keys(), now);
    this.lastReconcile = report;
    if (report.created || report.updated || report.deleted || report.registered || report.failures.length) {
      this.log.info({ ...report, failures: report.failures.slice(0, 5) }, 'reconcile pass');
    }
    return report;
  }

  private async reconcileLoop(signal: AbortSignal): Promise<void> {
    // Heartbeats need a moment after a (re)start before "online" means anything.
    await sleep(Math.min(2500, this.o.reconcileIntervalMs), undefined, { signal }).catch(() => undefined);
    while (!signal.aborted && !this.stopper.signal.aborted) {
      const both = AbortSignal.any([signal, this.stopper.signal]);
      setMaxListeners(0, both);
      try {
        await this.reconcileAll(both);
      } catch (err) {
        if (!both.aborted) this.log.warn({ err: errorMessage(err) }, 'reconcile pass failed');
      }
      await sleep(this.o.reconcileIntervalMs, undefined, { signal: both }).catch(() => undefined);
    }
  }

  /** Liveness of one host as this instance sees it. */
  hostLiveness(hostId: string, nowMs = Date.now()): (HostLiveness & { online: boolean }) | null {
    const l = this.liveness.get(hostId);
    return l ? { ...l, online: this.liveness.isOnline(hostId, nowMs) } : null;
  }

  /**
   * A host's record as the read model holds it (from the store when the
   * model does not have it), without waiting for the model to sync: for
   * dialling its agent, which a record a moment old serves as well (the
   * engine asks twice per migration; a KV get each cost a round trip).
   */
  async hostRecord(hostId: string, signal?: AbortSignal): Promise<HostRecord | null> {
    return (this.o.reads.hosts.get(hostId) ?? (await this.o.store.hosts.get(hostId, signal)))?.value ?? null;
  }

  /** A server's record as the read model holds it now (not synced first), with its revision: a base for a CAS write. */
  serverRecord(uuid: string): Versioned<ServerRecord> | undefined {
    return this.o.reads.servers.get(uuid);
  }

  /**
   * The placement input for moving servers off one host: every zone and
   * host, and the servers of the hosts in its zone (zone-snapshot.ts), from
   * the read model synced first, as snapshot() is.
   */
  async zoneSnapshot(sourceHostId: string, signal?: AbortSignal): Promise<ZoneSnapshot> {
    const r = this.o.reads;
    await r.sync(signal, 'zones', 'hosts', 'servers');
    return buildZoneSnapshot(r, sourceHostId, (id, now) => this.hostLiveness(id, now), withLiveness, Date.now());
  }

  /**
   * The planner's input: zones, hosts (with liveness at takenAtMs) and
   * servers as stored now. Asynchronous on purpose: the maintenance engine
   * plans from the stored truth, not from a cache that may lag; the read
   * model is synced first, so it holds every write acknowledged before this
   * call. Copies, in key order: the snapshot is the caller's to keep.
   */
  async snapshot(signal?: AbortSignal): Promise<InventorySnapshot> {
    return (await this.snapshotAt(signal)).snapshot;
  }

  /** snapshot(), with the servers revision it reflects (as zoneSnapshot gives it): for a placement that pairs it with capacity holds. */
  async snapshotAt(signal?: AbortSignal): Promise<ZoneSnapshot> {
    const r = this.o.reads;
    await r.sync(signal, 'zones', 'hosts', 'servers');
    const all = <T>(m: { page(after: string, limit: number): { key: string; value: T }[] }) => m.page('', Number.MAX_SAFE_INTEGER);
    const [zones, hosts, servers] = structuredClone([all(r.zones), all(r.hosts), all(r.servers)] as const);
    const now = Date.now();
    return {
      snapshot: {
        takenAtMs: now,
        zones: zones.map((z) => z.value),
        hosts: hosts.map((h) => withLiveness(h.value, this.hostLiveness(h.key, now))),
        servers: servers.map((s) => s.value),
      },
      serversRevision: r.servers.revision,
    };
  }
}

/** A host record with this instance's liveness view folded in. */
export function withLiveness(h: HostRecord, l: (HostLiveness & { online: boolean }) | null): HostRecord & { online: boolean; lastHeartbeatMs: number } {
  return {
    ...h,
    online: l?.online ?? false,
    lastHeartbeatMs: l?.lastHeartbeatMs ?? 0,
    // Heartbeats are fresher than facts for free memory.
    memoryFreeBytes: l && l.memoryFreeBytes > 0 ? l.memoryFreeBytes : h.memoryFreeBytes,
  };
}

/** An agent-shaped report rebuilt from a fresh record (for the create-race merge). */
function reportOf(r: ServerRecord): AgentServer {
  return {
    uuid: r.uuid,
    name: r.name,
    state: `SERVER_STATE_${r.state.toUpperCase()}` as AgentServer['state'],
    vcpus: r.vcpus,
    memory_bytes: r.memoryBytes,
    disks: r.disks,
    cpu: r.cpu,
    hot_migration: r.hotMigration,
    smart: r.smart,
    persistent: true,
    domain_type: r.domainType,
  };
}
