// The Admin service (drydock.admin.v1.Admin): every method of the proto is
// registered, each behind the same gate — authenticate, authorize (the
// method's permission), run, map errors with toGrpcStatus — and audited:
// every mutating call with its result, and every rejected call (including
// reads) as UNAUTHENTICATED / PERMISSION_DENIED (or RESOURCE_EXHAUSTED /
// UNAVAILABLE from the token limits, see auth/authenticate.ts). A rejected
// call reaches no handler, so it changes nothing. Refusals before anyone is
// authenticated go through admin/refusals.ts: no request body, repeats
// summarized per peer.
//
// Handlers come in groups (zones, hosts, servers, maintenance, operations,
// zone CPU); a later group replaces an earlier one's methods, which is how
// the maintenance engine drops its real handlers in over the stubs.
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { toGrpcStatus } from '../../common/grpc-status.ts';
import { adminPackageDefinition, loadAdminProto } from '../../common/proto.ts';
import { CancelledError, errorMessage } from '../../common/errors.ts';
import type { Authenticator, Principal } from '../auth/authenticate.ts';
import { METHOD_PERMISSIONS, MUTATING_METHODS } from '../auth/permissions.ts';
import type { AuditEntry } from '../store/audit.ts';
import { RefusalAudit } from './refusals.ts';
import type { AdminDeps, CallContext, HandlerGroup, StreamHandler, UnaryHandler } from './context.ts';
import { hostHandlers } from './hosts.ts';
import { serverHandlers } from './servers.ts';
import { zoneHandlers } from './zones.ts';
import { moduleStubs } from './stubs.ts';

/** What every server call offers (grpc-js does not export the type from its index). */
type SurfaceCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

export const ADMIN_SERVICE_NAME = 'drydock.admin.v1.Admin';

/** The groups this issue implements, in registration order. */
export function defaultHandlerGroups(d: AdminDeps): HandlerGroup[] {
  return [zoneHandlers(d), hostHandlers(d), serverHandlers(d), ...moduleStubs()];
}

function summarize(req: unknown): string {
  const s = JSON.stringify(req ?? {});
  return s.length > 1000 ? `${s.slice(0, 1000)}…` : s;
}

const CODE_NAMES = Object.fromEntries(
  Object.entries(status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
) as Record<number, string>;

export interface AdminServiceParts {
  service: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  packageDefinition: ReturnType<typeof adminPackageDefinition>;
  /** Writes the refusal summaries still open; call after the server stopped serving. */
  stop(): Promise<void>;
}

export interface AdminServiceOptions {
  /** Unauthenticated refusals from one peer: this many per window audited one by one, the rest summarized (audit.refusalWindow, audit.refusalEntries). */
  refusalWindowMs: number;
  refusalEntries: number;
}

/** An authenticated caller's call, audited with its result. */
type Audit = (method: string, call: SurfaceCall & { request?: unknown }, principal: Principal, code: number, message: string) => Promise<void>;
/** Authenticates and authorizes; on refusal audits it and returns the status to send. */
type Gate = (method: string, call: SurfaceCall & { request?: unknown }) => Promise<{ principal: Principal } | { refusal: ReturnType<typeof toGrpcStatus> }>;
type Log = AdminDeps['logger'];

export function buildAdminService(d: AdminDeps, auth: Authenticator, groups: HandlerGroup[], opts: AdminServiceOptions): AdminServiceParts {
  const service = loadAdminProto().drydock.admin.v1.Admin.service as unknown as grpc.ServiceDefinition;
  const { unary, stream } = collectHandlers(groups);
  const log = d.logger.child({ component: 'admin' });
  const refusals = new RefusalAudit({
    coordinatorId: d.coordinatorId,
    windowMs: opts.refusalWindowMs,
    entriesPerWindow: opts.refusalEntries,
    write: (e) => d.store.audit.record(e),
    logger: log,
  });
  refusals.start();
  const audit = auditor(d, log);
  const gate = gatekeeper(d, auth, log, refusals, audit);

  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, def] of Object.entries(service)) {
    // Checked at start-up: a proto method without a permission or a handler is a build error, not a call-time surprise.
    if (!METHOD_PERMISSIONS[method]) throw new Error(`admin method ${method} has no permission in auth/permissions.ts`);
    if (def.responseStream) {
      const h = stream.get(method);
      if (!h) throw new Error(`admin streaming method ${method} has no handler`);
      implementation[method] = streamingMethod(method, h, gate, log);
      continue;
    }
    const h = unary.get(method);
    if (!h) throw new Error(`admin method ${method} has no handler`);
    implementation[method] = unaryMethod(method, h, MUTATING_METHODS.has(method), gate, audit, log);
  }
  return { service, implementation, packageDefinition: adminPackageDefinition(), stop: () => refusals.stop() };
}

/** The handlers by method name; a later group replaces an earlier one's methods (the stubs go first). */
function collectHandlers(groups: HandlerGroup[]): { unary: Map<string, UnaryHandler>; stream: Map<string, StreamHandler> } {
  const unary = new Map<string, UnaryHandler>();
  const stream = new Map<string, StreamHandler>();
  for (const g of groups) {
    for (const [k, h] of Object.entries(g.unary ?? {})) unary.set(k, h);
    for (const [k, h] of Object.entries(g.stream ?? {})) stream.set(k, h);
  }
  return { unary, stream };
}

/** Audits an authenticated caller's call (refusals of unknown callers: RefusalAudit). */
function auditor(d: AdminDeps, log: Log): Audit {
  return async (method, call, principal, code, message) => {
    const entry: AuditEntry = {
      atMs: Date.now(),
      coordinatorId: d.coordinatorId,
      method,
      principal: principal.user,
      via: principal.via,
      peer: call.getPeer(),
      request: summarize(call.request),
      result: CODE_NAMES[code] ?? String(code),
      code,
      message,
    };
    try {
      await d.store.audit.record(entry);
    } catch (err) {
      // The call's outcome stands; losing its audit line is logged loudly.
      log.error({ audit: entry, err: errorMessage(err) }, 'audit write failed');
    }
  };
}

/** The gate every call passes before its handler: authenticate, authorize, audit a refusal. */
function gatekeeper(d: AdminDeps, auth: Authenticator, log: Log, refusals: RefusalAudit, audit: Audit): Gate {
  return async (method, call) => {
    let principal: Principal | null = null;
    // A caller that goes away while its token waits for a hash slot frees the slot.
    const gone = new AbortController();
    const onCancel = () => gone.abort(new CancelledError('call cancelled by the client'));
    call.on('cancelled', onCancel);
    try {
      principal = await auth.authenticate(call, gone.signal);
      auth.authorize(principal, method);
      return { principal };
    } catch (err) {
      const st = toGrpcStatus(err);
      const result = CODE_NAMES[st.code] ?? String(st.code);
      d.metrics.refusedCalls.inc({ result });
      if (principal) {
        log.warn({ method, principal: principal.user, code: result, reason: st.details }, 'admin call refused');
        await audit(method, call, principal, st.code, st.details);
      } else {
        await refusals.refused({ method, peer: call.getPeer(), code: st.code, result, message: st.details });
      }
      return { refusal: st };
    } finally {
      call.removeListener('cancelled', onCancel);
    }
  };
}

/** The handler's context: its signal aborts when the client cancels; call done() when the handler is over. */
function callContext(log: Log, method: string, principal: Principal, call: SurfaceCall): { ctx: CallContext; done: () => void } {
  const ac = new AbortController();
  const onCancel = () => ac.abort(new Error('call cancelled by the client'));
  call.on('cancelled', onCancel);
  return {
    ctx: { principal, signal: ac.signal, logger: log.child({ method, user: principal.user }), method },
    done: () => call.removeListener('cancelled', onCancel),
  };
}

/** A server-streaming method behind the gate (streams are reads: not audited unless refused). */
function streamingMethod(method: string, h: StreamHandler, gate: Gate, log: Log): grpc.handleServerStreamingCall<unknown, unknown> {
  return (async (call: grpc.ServerWritableStream<unknown, unknown>) => {
    const g = await gate(method, call);
    if ('refusal' in g) {
      call.emit('error', g.refusal);
      return;
    }
    const { ctx, done } = callContext(log, method, g.principal, call);
    try {
      await h(call.request, ctx, (msg) => call.write(msg));
      call.end();
    } catch (err) {
      if (!ctx.signal.aborted) call.emit('error', toGrpcStatus(err));
    } finally {
      done();
    }
  }) as grpc.handleServerStreamingCall<unknown, unknown>;
}

/** A unary method behind the gate; a mutating one is audited with its result, success or not. */
function unaryMethod(method: string, h: UnaryHandler, mutating: boolean, gate: Gate, audit: Audit, log: Log): grpc.handleUnaryCall<unknown, unknown> {
  return (async (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    const g = await gate(method, call);
    if ('refusal' in g) {
      callback(g.refusal as grpc.ServerErrorResponse);
      return;
    }
    const { ctx, done } = callContext(log, method, g.principal, call);
    try {
      const res = await h(call.request, ctx);
      if (mutating) await audit(method, call, g.principal, status.OK, '');
      callback(null, res);
    } catch (err) {
      const st = toGrpcStatus(err);
      if (st.code === status.INTERNAL) ctx.logger.error({ err: errorMessage(err) }, 'admin call failed');
      if (mutating) await audit(method, call, g.principal, st.code, st.details);
      callback(st as grpc.ServerErrorResponse);
    } finally {
      done();
    }
  }) as grpc.handleUnaryCall<unknown, unknown>;
}
