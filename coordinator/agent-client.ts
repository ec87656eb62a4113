// The coordinator's client of one agent's gRPC API: typed promises with a
// deadline on every call, cancellation by AbortSignal, errors rebuilt as
// typed DrydockErrors (fromGrpcError), and the MigrateServer progress stream
// as an async iterable. Channels are mTLS with the coordinator's client
// certificate, and a client is made for one host: the agent's certificate
// must name that host id (common/identity.mjs), whatever endpoint the host
// advertises, so an endpoint pointed at another host's agent fails the
// handshake and no call reaches it.
import * as grpc from '@grpc/grpc-js';
import { clientCredentials, type ClientTlsFiles } from '../common/grpc-server.ts';
import { fromGrpcError } from '../common/grpc-status.ts';
import { CancelledError, UnavailableError } from '../common/errors.ts';
import { hostCertificateCheck } from '../common/peer-identity.ts';
import { isLoopbackAddress } from '../common/loopback.ts';
import { assertGrpcEndpoint } from '../common/uri.ts';
import { loadAgentProto } from '../common/proto.ts';
import type { AgentClient as GeneratedAgentClient } from '../common/generated/drydock/agent/v1/Agent.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';
import type { ListServersResponse } from '../common/generated/drydock/agent/v1/ListServersResponse.ts';
import type { MigrateServerRequest__Input } from '../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { MigrationEvent } from '../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { Migration } from '../common/generated/drydock/agent/v1/Migration.ts';
import type { StopServerRequest__Input } from '../common/generated/drydock/agent/v1/StopServerRequest.ts';
import type { ServerActionResponse } from '../common/generated/drydock/agent/v1/ServerActionResponse.ts';
import type { CompareCpuResponse } from '../common/generated/drydock/agent/v1/CompareCpuResponse.ts';
import type { BaselineCpuRequest__Input } from '../common/generated/drydock/agent/v1/BaselineCpuRequest.ts';
import type { BaselineCpuResponse } from '../common/generated/drydock/agent/v1/BaselineCpuResponse.ts';
import type { RebootHostRequest__Input } from '../common/generated/drydock/agent/v1/RebootHostRequest.ts';
import type { RebootHostResponse } from '../common/generated/drydock/agent/v1/RebootHostResponse.ts';

/** Phases after which the agent ends a MigrateServer call. */
const TERMINAL_PHASES = new Set(['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED']);
/** How long a finished MigrateServer stream is given to end by itself before it is cancelled. */
const STREAM_END_GRACE_MS = 1000;

export interface CallOptions {
  /** Deadline of this call (ms); default: the client's callTimeoutMs. */
  timeoutMs?: number;
  /** Aborting cancels the call (the agent sees CANCELLED). */
  signal?: AbortSignal;
}

export interface AgentClientOptions {
  /** CA of the agents' certificates and the coordinator's client certificate; serverName is not used (the host id is checked). */
  tls: ClientTlsFiles;
  /** Call agents at non-loopback endpoints in plaintext (no tls.caFile). Off: such calls fail UNAVAILABLE. */
  insecure?: boolean;
  /** Default deadline of unary calls (ms). */
  callTimeoutMs: number;
}

/** The generated client class, made once: loadPackageDefinition builds new classes on every call. */
let agentCtor: ReturnType<typeof loadAgentProto>['drydock']['agent']['v1']['Agent'] | null = null;
const agentConstructor = () => (agentCtor ??= loadAgentProto().drydock.agent.v1.Agent);

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
type PickMethod<Req, Res> = (c: GeneratedAgentClient) => UnaryFn<Req, Res>;

/**
 * One host's agent. The gRPC channel behind it (a TCP and TLS connection, an
 * HTTP/2 session with its buffers: 650 channels held open were ~140 MB of a
 * 264 MB coordinator at 1,000 agents, bench/telemetry.ts) is opened by the first call and
 * closed by closeIfIdle() once no call is in flight and none ran for a while,
 * then opened again by the next call: holding a client costs nothing, only
 * talking to the agent does.
 */
export class AgentClient {
  private client: GeneratedAgentClient | null = null;
  /** Set when this client must not call at all (plaintext to a remote endpoint). */
  private readonly refusal: UnavailableError | null;
  private inFlight = 0;
  /** When the last call started or ended (or the client was made). */
  private lastUsedMs = Date.now();
  /** briefly() uses running now, and whether the channel was closed when the first of them began. */
  private brief = { users: 0, opened: false };

  constructor(
    /** The host this client calls: its agent's certificate must name it. */
    readonly hostId: string,
    /** host:port of the agent. */
    readonly endpoint: string,
    private readonly opts: AgentClientOptions,
    /** Told when this client opens (true) or closes (false) its channel: the pool watches the open ones for idleness. */
    private readonly onChannel: (c: AgentClient, open: boolean) => void = () => undefined,
  ) {
    const plaintext = !opts.tls.caFile;
    this.refusal =
      plaintext && !opts.insecure && !isLoopbackAddress(endpoint)
        ? new UnavailableError(
            `host ${hostId}: agents.tls is not configured, and ${endpoint} is not a loopback address (set agents.tls, or agents.insecure: true)`,
          )
        : null;
  }

  /** The channel, opened if closed. */
  private channel(): GeneratedAgentClient {
    if (this.client) return this.client;
    const Ctor = agentConstructor();
    const plaintext = !this.opts.tls.caFile;
    const credentials = plaintext
      ? grpc.credentials.createInsecure()
      : clientCredentials(this.opts.tls, { checkServerIdentity: hostCertificateCheck(this.hostId) });
    this.client = new Ctor(this.endpoint, credentials, {
      // Each client its own check function: grpc-js shares a connection
      // between clients only when their credentials are equal, so a
      // connection checked for one host never serves another.
      // SNI carries the host id, not the endpoint's IP address (RFC 6066
      // forbids IPs there; the agent does not look at it).
      ...(plaintext ? {} : { 'grpc.ssl_target_name_override': this.hostId }),
      // Agents come and go (reboots): fail calls fast instead of queueing them.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
      // Closing a channel walks its subchannel pool; in grpc-js's global pool
      // that is every target ever dialled (5,000 agents: a quarter of the
      // coordinator's CPU went to closing channels, bench/telemetry.ts). Each
      // channel its own pool: nothing is shared anyway (one channel per host,
      // credentials per host).
      'grpc.use_local_subchannel_pool': 1,
      // channelz keeps a registry entry and a trace per channel and subchannel; nothing here reads it.
      'grpc.enable_channelz': 0,
    });
    this.onChannel(this, true);
    return this.client;
  }

  private begin(): GeneratedAgentClient {
    this.inFlight++;
    this.lastUsedMs = Date.now();
    return this.channel();
  }

  private end(): void {
    this.inFlight--;
    this.lastUsedMs = Date.now();
  }

  private unary<Req, Res>(pick: PickMethod<Req, Res>, req: Req, o: CallOptions = {}): Promise<Res> {
    o.signal?.throwIfAborted();
    if (this.refusal) return Promise.reject(this.refusal);
    const c = this.begin();
    return new Promise<Res>((resolve, reject) => {
      const deadline = new Date(Date.now() + (o.timeoutMs ?? this.opts.callTimeoutMs));
      const onAbort = () => call.cancel();
      const call = pick(c).call(c, req, new grpc.Metadata(), { deadline }, (err, res) => {
        this.end();
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(o.signal?.aborted ? new CancelledError('agent call cancelled', { cause: err }) : fromGrpcError(err));
        else resolve(res!);
      });
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  getHostFacts(o?: CallOptions): Promise<HostFacts> {
    return this.unary((c) => c.GetHostFacts, {}, o);
  }

  listServers(uuids: string[] = [], o?: CallOptions): Promise<ListServersResponse> {
    return this.unary((c) => c.ListServers, { uuids }, o);
  }

  getMigration(migrationId: string, o?: CallOptions): Promise<Migration> {
    return this.unary((c) => c.GetMigration, { migration_id: migrationId }, o);
  }

  abortMigration(migrationId: string, reason: string, o?: CallOptions): Promise<Migration> {
    return this.unary((c) => c.AbortMigration, { migration_id: migrationId, reason }, o);
  }

  stopServer(req: StopServerRequest__Input, o?: CallOptions): Promise<ServerActionResponse> {
    return this.unary((c) => c.StopServer, req, o);
  }

  startServer(serverUuid: string, o?: CallOptions): Promise<ServerActionResponse> {
    return this.unary((c) => c.StartServer, { server_uuid: serverUuid }, o);
  }

  compareCpu(cpuXml: string, o?: CallOptions): Promise<CompareCpuResponse> {
    return this.unary((c) => c.CompareCpu, { cpu_xml: cpuXml }, o);
  }

  baselineCpu(req: BaselineCpuRequest__Input, o?: CallOptions): Promise<BaselineCpuResponse> {
    return this.unary((c) => c.BaselineCpu, req, o);
  }

  /** Names this client's host in the request: an agent that is another host refuses. */
  rebootHost(req: Omit<RebootHostRequest__Input, 'host_id'>, o?: CallOptions): Promise<RebootHostResponse> {
    return this.unary((c) => c.RebootHost, { ...req, host_id: this.hostId }, o);
  }

  /**
   * Starts (or, same migration_id, re-attaches to) a migration and yields its
   * progress events until the terminal one. `timeoutMs` is the whole-stream
   * deadline (required: a migration stream must not outlive its plan).
   * Breaking out of the loop or aborting the signal cancels the stream only:
   * the agent's migration goes on (use abortMigration to stop it).
   */
  async *migrateServer(req: MigrateServerRequest__Input, o: CallOptions & { timeoutMs: number }): AsyncGenerator<MigrationEvent> {
    o.signal?.throwIfAborted();
    if (this.refusal) throw this.refusal;
    const stream = this.begin().MigrateServer(req, new grpc.Metadata(), { deadline: new Date(Date.now() + o.timeoutMs) });
    const onAbort = () => stream.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const events = (stream as AsyncIterable<MigrationEvent>)[Symbol.asyncIterator]();
    let last: MigrationEvent | undefined;
    try {
      for (let r = await events.next(); !r.done; r = await events.next()) yield (last = r.value);
    } catch (err) {
      if (o.signal?.aborted) throw new CancelledError('migration stream cancelled', { cause: err });
      throw fromGrpcError(err);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      // The caller stops at the terminal event, and the agent ends the call
      // right after it: waiting (briefly) for that end spares a cancel, whose
      // error grpc-js builds with a formatted stack (~1.5 ms of CPU per
      // migration with source maps on; a cancel after the end costs nothing).
      if (TERMINAL_PHASES.has(last?.migration?.phase ?? '') && !o.signal?.aborted) {
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([events.next().catch(() => undefined), new Promise((resolve) => (grace = setTimeout(resolve, STREAM_END_GRACE_MS)))]);
        clearTimeout(grace);
      }
      stream.cancel();
      this.end();
    }
  }

  /**
   * Runs `fn` with this client, for callers that talk to an agent once and
   * then not for a while (registration, a reconcile pass, an event sync): a
   * channel that was closed when the first of the overlapping uses began is
   * closed when the last one ends, instead of staying open (~200 KB
   * resident each) until the idle sweep 60-90 s later: 5,000 agents
   * registering within minutes held thousands. A channel in use by others
   * stays.
   */
  async briefly<T>(fn: (c: AgentClient) => Promise<T>): Promise<T> {
    if (this.brief.users++ === 0) this.brief.opened = !this.isOpen;
    try {
      return await fn(this);
    } finally {
      if (--this.brief.users === 0 && this.brief.opened) this.closeIfIdle(Date.now(), 0);
    }
  }

  /** True while the channel is open. */
  get isOpen(): boolean {
    return this.client !== null;
  }

  /** Milliseconds since the last call started or ended, at `nowMs`. */
  idleFor(nowMs: number): number {
    return this.inFlight > 0 ? 0 : nowMs - this.lastUsedMs;
  }

  /** Closes the channel when no call is in flight and none for `idleMs`; true if it closed. The next call opens it again. */
  closeIfIdle(nowMs: number, idleMs: number): boolean {
    if (!this.client || this.idleFor(nowMs) < idleMs) return false;
    this.close();
    return true;
  }

  close(): void {
    if (!this.client) return;
    this.client.close();
    this.client = null;
    this.onChannel(this, false);
  }
}

/**
 * One client per (host, endpoint), reused; a changed endpoint gets a new one.
 * Keyed by both: the same endpoint asked for as two hosts must be two
 * clients, each checking its own host id.
 *
 * Bounded: a sweep every idleCloseMs/2 closes the channels idle for
 * idleCloseMs and forgets the clients without a channel idle as long (a
 * host gone, an endpoint changed), so the pool holds what the coordinator
 * talks to now, not every agent it ever called. A caller still holding a
 * forgotten client can use it: its next call opens a channel, which the
 * sweep then watches again.
 */
export class AgentClientPool {
  private readonly clients = new Map<string, AgentClient>();
  /** Clients with an open channel (in the map or not). */
  private readonly open = new Set<AgentClient>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly opts: AgentClientOptions,
    /** Close a channel after this long without a call (ms). */
    private readonly idleCloseMs = 60_000,
  ) {
    this.timer = setInterval(() => this.sweep(Date.now()), Math.max(1000, Math.floor(idleCloseMs / 2)));
    this.timer.unref();
  }

  forHost(hostId: string, endpoint: string): AgentClient {
    // Endpoints come from hosts (facts, heartbeats): nothing but host:port is dialled.
    assertGrpcEndpoint('grpc_endpoint', endpoint);
    const key = `${hostId} ${endpoint}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new AgentClient(hostId, endpoint, this.opts, (client, open) => (open ? this.open.add(client) : this.open.delete(client)));
      this.clients.set(key, c);
    }
    return c;
  }

  /** Closes idle channels and forgets idle clients; returns how many channels it closed. */
  sweep(nowMs: number): number {
    let closed = 0;
    // A client leaves `open` when its channel closes (here, or by its user: briefly()).
    for (const c of this.open) if (c.closeIfIdle(nowMs, this.idleCloseMs)) closed++;
    for (const [key, c] of this.clients) if (!c.isOpen && c.idleFor(nowMs) >= this.idleCloseMs) this.clients.delete(key);
    return closed;
  }

  /** Clients held, and channels open now. */
  get size(): { clients: number; open: number } {
    return { clients: this.clients.size, open: this.open.size };
  }

  closeAll(): void {
    clearInterval(this.timer);
    for (const c of this.open) c.close();
    for (const c of this.clients.values()) c.close();
    this.open.clear();
    this.clients.clear();
  }
}
