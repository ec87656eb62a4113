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

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

export class AgentClient {
  private readonly client: GeneratedAgentClient;
  /** Set when this client must not call at all (plaintext to a remote endpoint). */
  private readonly refusal: UnavailableError | null;

  constructor(
    /** The host this client calls: its agent's certificate must name it. */
    readonly hostId: string,
    /** host:port of the agent. */
    readonly endpoint: string,
    private readonly opts: AgentClientOptions,
  ) {
    const Ctor = loadAgentProto().drydock.agent.v1.Agent;
    const plaintext = !opts.tls.caFile;
    this.refusal =
      plaintext && !opts.insecure && !isLoopbackAddress(endpoint)
        ? new UnavailableError(
            `host ${hostId}: agents.tls is not configured, and ${endpoint} is not a loopback address (set agents.tls, or agents.insecure: true)`,
          )
        : null;
    const credentials = plaintext ? grpc.credentials.createInsecure() : clientCredentials(opts.tls, { checkServerIdentity: hostCertificateCheck(hostId) });
    this.client = new Ctor(endpoint, credentials, {
      // Each client its own check function: grpc-js shares a connection
      // between clients only when their credentials are equal, so a
      // connection checked for one host never serves another.
      // SNI carries the host id, not the endpoint's IP address (RFC 6066
      // forbids IPs there; the agent does not look at it).
      ...(plaintext ? {} : { 'grpc.ssl_target_name_override': hostId }),
      // Agents come and go (reboots): fail calls fast instead of queueing them.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
  }

  private unary<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, o: CallOptions = {}): Promise<Res> {
    o.signal?.throwIfAborted();
    if (this.refusal) return Promise.reject(this.refusal);
    return new Promise<Res>((resolve, reject) => {
      const deadline = new Date(Date.now() + (o.timeoutMs ?? this.opts.callTimeoutMs));
      const onAbort = () => call.cancel();
      const call = fn.call(this.client, req, new grpc.Metadata(), { deadline }, (err, res) => {
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(o.signal?.aborted ? new CancelledError('agent call cancelled', { cause: err }) : fromGrpcError(err));
        else resolve(res!);
      });
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  getHostFacts(o?: CallOptions): Promise<HostFacts> {
    return this.unary(this.client.GetHostFacts, {}, o);
  }

  listServers(uuids: string[] = [], o?: CallOptions): Promise<ListServersResponse> {
    return this.unary(this.client.ListServers, { uuids }, o);
  }

  getMigration(migrationId: string, o?: CallOptions): Promise<Migration> {
    return this.unary(this.client.GetMigration, { migration_id: migrationId }, o);
  }

  abortMigration(migrationId: string, reason: string, o?: CallOptions): Promise<Migration> {
    return this.unary(this.client.AbortMigration, { migration_id: migrationId, reason }, o);
  }

  stopServer(req: StopServerRequest__Input, o?: CallOptions): Promise<ServerActionResponse> {
    return this.unary(this.client.StopServer, req, o);
  }

  startServer(serverUuid: string, o?: CallOptions): Promise<ServerActionResponse> {
    return this.unary(this.client.StartServer, { server_uuid: serverUuid }, o);
  }

  compareCpu(cpuXml: string, o?: CallOptions): Promise<CompareCpuResponse> {
    return this.unary(this.client.CompareCpu, { cpu_xml: cpuXml }, o);
  }

  baselineCpu(req: BaselineCpuRequest__Input, o?: CallOptions): Promise<BaselineCpuResponse> {
    return this.unary(this.client.BaselineCpu, req, o);
  }

  rebootHost(req: RebootHostRequest__Input, o?: CallOptions): Promise<RebootHostResponse> {
    return this.unary(this.client.RebootHost, req, o);
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
    const stream = this.client.MigrateServer(req, new grpc.Metadata(), { deadline: new Date(Date.now() + o.timeoutMs) });
    const onAbort = () => stream.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const ev of stream as AsyncIterable<MigrationEvent>) yield ev;
    } catch (err) {
      if (o.signal?.aborted) throw new CancelledError('migration stream cancelled', { cause: err });
      throw fromGrpcError(err);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}

/**
 * One client per (host, endpoint), reused; a changed endpoint gets a new one.
 * Keyed by both: the same endpoint asked for as two hosts must be two
 * clients, each checking its own host id.
 */
export class AgentClientPool {
  private readonly clients = new Map<string, AgentClient>();

  constructor(private readonly opts: AgentClientOptions) {}

  forHost(hostId: string, endpoint: string): AgentClient {
    // Endpoints come from hosts (facts, heartbeats): nothing but host:port is dialled.
    assertGrpcEndpoint('grpc_endpoint', endpoint);
    const key = `${hostId} ${endpoint}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new AgentClient(hostId, endpoint, this.opts);
      this.clients.set(key, c);
    }
    return c;
  }

  closeAll(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
