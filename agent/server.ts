// The agent's gRPC API (drydock.agent.v1.Agent): input validation, calls
// into the migration manager and the hypervisor, and errors mapped to gRPC
// status by toGrpcStatus only. With mTLS, an interceptor admits only the
// coordinator's certificate identity.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Logger } from '../common/logging.ts';
import { toGrpcStatus } from '../common/grpc-status.ts';
import { startGrpcServer, serverCredentials, unary, type ServingServer, type TlsFiles } from '../common/grpc-server.ts';
import { agentPackageDefinition, loadAgentProto } from '../common/proto.ts';
import { certificateIdentities, pemUriSans } from '../common/peer-identity.ts';
import { hostIdentity } from '../common/identity.mjs';
import { ConfigError } from '../common/config.ts';
import { assertId, assertServerRef, assertUuid } from '../common/names.ts';
import { assertLibvirtUri } from '../common/uri.ts';
import { DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '../common/errors.ts';
import type { Hypervisor, Server } from './hypervisor/hypervisor.ts';
import type { MigrationManager } from './migrations/manager.ts';
import { isTerminal } from './migrations/flow.ts';
import { stopServer } from './migrations/power.ts';
import { listedServers } from './server-listing.ts';
import type { FactsSource } from './facts.ts';
import type { AgentHandlers } from '../common/generated/drydock/agent/v1/Agent.ts';
import type { MigrateServerRequest } from '../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { MigrationEvent } from '../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { MigrationPhase } from '../common/generated/drydock/agent/v1/MigrationPhase.ts';

export const AGENT_SERVICE = 'drydock.agent.v1.Agent';

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
const MAX_CPU_XML = 64 * 1024;

export interface AgentServiceDeps {
  hostId: string;
  hypervisor: Hypervisor;
  migrations: MigrationManager;
  facts: FactsSource;
  /** Default graceful shutdown window of StopServer. */
  shutdownTimeoutMs: number;
  /** Called after RebootHost has answered (runs the reboot command). */
  reboot: (reason: string) => void;
  log: Logger;
}

// ------------------------------------------------------------------ validation

function timeout(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT_MS) throw new InvalidArgumentError(field, `must be 0..${MAX_TIMEOUT_MS} ms`);
  return v;
}

function text(field: string, v: string, max: number): string {
  if (v.length > max) throw new InvalidArgumentError(field, `longer than ${max} characters`);
  return v;
}

function cpuXml(field: string, v: string): string {
  if (!v.trim()) throw new InvalidArgumentError(field, 'is empty');
  if (v.length > MAX_CPU_XML) throw new InvalidArgumentError(field, `longer than ${MAX_CPU_XML} bytes`);
  if (!/^\s*<cpu[\s>/]/.test(v)) throw new InvalidArgumentError(field, 'must be a <cpu> element');
  return v;
}

/** Every field of a MigrateServer request checked; returns the normalised request. */
export function validateMigrateRequest(req: MigrateServerRequest): MigrateServerRequest {
  if (req.mode !== 'MIGRATION_MODE_LIVE' && req.mode !== 'MIGRATION_MODE_COLD')
    throw new InvalidArgumentError('mode', 'must be MIGRATION_MODE_LIVE or MIGRATION_MODE_COLD');
  if (!Number.isInteger(req.max_bandwidth_mibps) || req.max_bandwidth_mibps < 0 || req.max_bandwidth_mibps > 1_000_000) {
    throw new InvalidArgumentError('max_bandwidth_mibps', 'must be 0..1000000');
  }
  return {
    ...req,
    migration_id: assertId('migration_id', req.migration_id),
    server_uuid: assertUuid('server_uuid', req.server_uuid),
    target_host_id: assertId('target_host_id', req.target_host_id),
    target_uri: assertLibvirtUri('target_uri', req.target_uri),
    stall_timeout_ms: timeout('stall_timeout_ms', req.stall_timeout_ms),
    deadline_ms: timeout('deadline_ms', req.deadline_ms),
    shutdown_timeout_ms: timeout('shutdown_timeout_ms', req.shutdown_timeout_ms),
  };
}

const isOff = (s: Server) => s.state === 'SERVER_STATE_SHUTOFF' || s.state === 'SERVER_STATE_CRASHED';

// ------------------------------------------------------------------ handlers

type Unary = <Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

const u: Unary = (fn) => unary(toGrpcStatus, fn);

/** A cancelled unary call aborts the hypervisor work it started. */
function callSignal(call: grpc.ServerUnaryCall<unknown, unknown>): AbortSignal {
  const ac = new AbortController();
  call.once('cancelled', () => ac.abort());
  return ac.signal;
}

export function agentHandlers(deps: AgentServiceDeps): AgentHandlers {
  const { hypervisor: hv, migrations, log } = deps;
  return {
    GetHostFacts: u(async (_req, call) => deps.facts.gather(callSignal(call))),

    ListServers: u(async (req, call) => {
      const wanted = new Set(req.uuids.map((x, i) => assertUuid(`uuids[${i}]`, x)));
      return { servers: await listedServers(hv, wanted, callSignal(call)), host_id: deps.hostId, listed_at_ms: Date.now() };
    }),

    MigrateServer: (call) => {
      void serveMigration(call, migrations, log);
    },

    GetMigration: u(async (req) => migrations.get(assertId('migration_id', req.migration_id))),

    AbortMigration: u(async (req) => {
      const id = assertId('migration_id', req.migration_id);
      const reason = text('reason', req.reason, 1024);
      log.info({ migrationId: id, reason }, 'abort requested');
      return migrations.abort(id, reason);
    }),

    ...powerHandlers(deps),

    CompareCpu: u(async (req, call) => {
      const r = await hv.compareCpu(cpuXml('cpu_xml', req.cpu_xml), callSignal(call));
      return { result: r.result, missing_features: r.missingFeatures, message: r.message };
    }),

    BaselineCpu: u(async (req, call) => {
      if (req.cpu_xmls.length === 0) throw new InvalidArgumentError('cpu_xmls', 'at least one <cpu> element is needed');
      if (req.cpu_xmls.length > 1024) throw new InvalidArgumentError('cpu_xmls', 'at most 1024 elements');
      const xmls = req.cpu_xmls.map((x, i) => cpuXml(`cpu_xmls[${i}]`, x));
      const cpu = await hv.baselineCpu(xmls, { migratable: req.migratable, expandFeatures: req.expand_features }, callSignal(call));
      return { cpu };
    }),

    RebootHost: rebootHandler(deps),
  };
}

/** StopServer and StartServer: refused while the server migrates; "changed" false when it already was in that state. */
function powerHandlers(deps: AgentServiceDeps): Pick<AgentHandlers, 'StopServer' | 'StartServer'> {
  const { hypervisor: hv, migrations } = deps;
  return {
    StopServer: u(async (req, call) => {
      const ref = assertServerRef('server_uuid', req.server_uuid);
      const timeoutMs = timeout('timeout_ms', req.timeout_ms) || deps.shutdownTimeoutMs;
      const signal = callSignal(call);
      const before = await hv.getServer(ref, signal);
      if (migrations.isMigrating(before.uuid)) throw new FailedPreconditionError(`server ${before.uuid} is migrating`);
      if (isOff(before)) return { server: before, changed: false };
      try {
        await stopServer(hv, before.uuid, { timeoutMs, force: req.force, signal });
      } catch (err) {
        if (err instanceof DeadlineExceededError)
          throw new DeadlineExceededError(`server ${before.uuid} did not shut down within ${timeoutMs} ms (retry with force to power it off)`);
        throw err;
      }
      return { server: await hv.getServer(before.uuid, signal), changed: true };
    }),

    StartServer: u(async (req, call) => {
      const ref = assertServerRef('server_uuid', req.server_uuid);
      const signal = callSignal(call);
      const before = await hv.getServer(ref, signal);
      if (migrations.isMigrating(before.uuid)) throw new FailedPreconditionError(`server ${before.uuid} is migrating`);
      if (!isOff(before)) return { server: before, changed: false };
      await hv.start(before.uuid, signal);
      return { server: await hv.getServer(before.uuid, signal), changed: true };
    }),
  };
}

/** RebootHost: answers first, then runs the reboot command. */
function rebootHandler(deps: AgentServiceDeps): AgentHandlers['RebootHost'] {
  const { hypervisor: hv, migrations, log } = deps;
  return (call, callback) => {
    const run = async () => {
      const reason = text('reason', call.request.reason, 1024);
      const meant = assertId('host_id', call.request.host_id);
      if (meant !== deps.hostId) throw new FailedPreconditionError(`this agent is host ${deps.hostId}, not ${meant}: reboot refused`);
      if (migrations.runningCount() > 0) throw new FailedPreconditionError(`${migrations.runningCount()} migration(s) running on this host`);
      const servers = await hv.listServers();
      const running = servers.filter((s) => !isOff(s));
      if (running.length && !call.request.allow_running_servers) {
        throw new FailedPreconditionError(
          `${running.length} server(s) still running here: ${running
            .slice(0, 10)
            .map((s) => s.name)
            .join(', ')}`,
        );
      }
      const facts = await deps.facts.gather();
      return { reason, res: { previous_incarnation: facts.incarnation, previous_boot_id: facts.boot_id, accepted: true } };
    };
    run().then(
      ({ reason, res }) => {
        log.warn({ reason }, 'reboot requested: rebooting after the answer');
        callback(null, res);
        // The answer must leave before the host goes down.
        setTimeout(() => deps.reboot(reason), 200);
      },
      (err) => callback(toGrpcStatus(err) as grpc.ServerErrorResponse),
    );
  };
}

/**
 * Streams one migration's events. Starting is idempotent by id; a call that
 * is cancelled only detaches its listener: the migration goes on (use
 * AbortMigration to stop it).
 */
async function serveMigration(call: grpc.ServerWritableStream<MigrateServerRequest, MigrationEvent>, migrations: MigrationManager, log: Logger): Promise<void> {
  let detach: () => void = () => undefined;
  const seen: { lastPhase: MigrationPhase | '' } = { lastPhase: '' };
  const write = (ev: MigrationEvent) => {
    if (call.cancelled || call.writableEnded) return;
    seen.lastPhase = ev.migration?.phase ?? seen.lastPhase;
    call.write(ev);
  };
  let onCancel: () => void = () => undefined;
  const cancelled = new Promise<void>((resolve) => {
    onCancel = () => {
      detach();
      resolve();
    };
    call.once('cancelled', onCancel);
  });
  try {
    const req = validateMigrateRequest(call.request);
    const { migration, running } = await migrations.start(req);
    if (call.cancelled) return;
    if (!running) {
      write({ migration, message: isTerminal(migration) ? 'already finished; not run again' : 'recorded' });
      call.end();
      return;
    }
    let terminal!: () => void;
    const sawTerminal = new Promise<void>((resolve) => (terminal = resolve));
    detach = migrations.subscribe(req.migration_id, (ev) => {
      write(ev);
      if (ev.migration && isTerminal(ev.migration)) terminal();
    });
    write({ migration: migrations.get(req.migration_id), message: 'attached' });
    await Promise.race([sawTerminal, migrations.wait(req.migration_id), cancelled]);
    detach();
    if (call.cancelled) return;
    const final = migrations.get(req.migration_id);
    if (isTerminal(final) && seen.lastPhase !== final.phase) write({ migration: final, message: 'final' });
    call.end();
  } catch (err) {
    detach();
    if (!call.cancelled) {
      log.debug({ err: (err as Error).message }, 'MigrateServer refused');
      let st;
      try {
        st = toGrpcStatus(err);
      } catch (mapErr) {
        // Never leave the call hanging because a detail could not be encoded.
        st = { code: grpc.status.INTERNAL, details: `${(err as Error).message} (${(mapErr as Error).message})` };
      }
      call.emit('error', st);
    }
  } finally {
    call.removeListener('cancelled', onCancel);
  }
}

// ------------------------------------------------------------------ mTLS identity

/** Decides a caller: no verified certificate → UNAUTHENTICATED; an identity not allowed → PERMISSION_DENIED. */
export function authorizePeer(
  auth: { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate } | undefined,
  allowed: readonly string[],
): null | UnauthenticatedError | PermissionDeniedError {
  const cert = auth?.sslPeerCertificate;
  if (auth?.transportSecurityType !== 'ssl' || !cert) return new UnauthenticatedError('a client certificate signed by the configured CA is required');
  const ids = certificateIdentities(cert);
  if (ids.some((id) => allowed.includes(id))) return null;
  return new PermissionDeniedError('call the agent (coordinator identity)', ids[0] ?? 'unknown client');
}

/** Server interceptor that applies authorizePeer to every Agent method. */
export function agentAuthInterceptor(allowed: readonly string[]): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        if (!method.path.startsWith(`/${AGENT_SERVICE}/`)) return next();
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const refusal = authorizePeer(call.getAuthContext(), allowed);
            if (refusal) call.sendStatus(toGrpcStatus(refusal));
            else mdNext(metadata);
          },
        });
      },
    });
}

// ------------------------------------------------------------------ server

export interface AgentGrpcOptions {
  address: string;
  tls: TlsFiles & { allowedClientIdentities: string[] };
}

/**
 * The agent's own certificate must name its host id: the coordinator checks
 * exactly that (coordinator/agent-client.ts), so a certificate for another
 * host would be refused on every call. Said here, at start, instead.
 */
export function assertCertificateNamesHost(certFile: string, hostId: string): void {
  let uris: string[];
  try {
    uris = pemUriSans(readFileSync(certFile));
  } catch (err) {
    throw new ConfigError('tls.certFile', `cannot read a certificate from ${certFile}: ${(err as Error).message}`);
  }
  const want = hostIdentity(hostId);
  if (!uris.includes(want)) {
    throw new ConfigError(
      'tls.certFile',
      `${certFile} does not name this host: it needs the URI SAN ${want} (has ${uris.join(', ') || 'no URI SAN'}); see docs/production.md`,
    );
  }
}

export async function startAgentGrpcServer(deps: AgentServiceDeps, opts: AgentGrpcOptions): Promise<ServingServer> {
  if (opts.tls.certFile) assertCertificateNamesHost(opts.tls.certFile, deps.hostId);
  const proto = loadAgentProto();
  const interceptors = opts.tls.clientCaFile ? [agentAuthInterceptor(opts.tls.allowedClientIdentities)] : [];
  return startGrpcServer({
    address: opts.address,
    credentials: serverCredentials(opts.tls),
    packageDefinition: agentPackageDefinition(),
    serviceName: AGENT_SERVICE,
    service: proto.drydock.agent.v1.Agent.service,
    implementation: agentHandlers(deps),
    options: { interceptors },
  });
}
