// The admin API as the CLI uses it: one channel, the bearer token on every
// call as `authorization: Bearer <token>` metadata (it works on TLS and on a
// loopback plaintext channel alike, where grpc-js refuses call credentials),
// a deadline on every unary call, and promises instead of callbacks.
import * as grpc from '@grpc/grpc-js';
import { loadAdminProto } from '../common/proto.ts';
import { clientChannelOptions, clientCredentials } from '../common/grpc-server.ts';
import type { AdminClient } from '../common/generated/drydock/admin/v1/Admin.ts';
import type { ConnectionSettings } from './settings.ts';
import { session } from './session.ts';
import { CliError, EXIT } from './exit.ts';
import { decideTransport } from './transport.ts';
import type { OperationEvent } from '../common/generated/drydock/admin/v1/OperationEvent.ts';
import type { WatchOperationRequest__Input } from '../common/generated/drydock/admin/v1/WatchOperationRequest.ts';
// Calls that change something: interrupting one leaves its outcome unknown (the coordinator's own list).
import { MUTATING_METHODS } from '../coordinator/auth/permissions.ts';

type UnaryMethod<Req, Res> = (argument: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** Request and response types of AdminClient's unary method `M`. */
type Req<M extends keyof AdminClient> = AdminClient[M] extends UnaryMethod<infer Q, unknown> ? Q : never;
// Inferred from the last overload, `(argument, callback)`.
type Res<M extends keyof AdminClient> = AdminClient[M] extends (argument: never, callback: grpc.requestCallback<infer R>) => unknown ? R : never;

export type UnaryName =
  | 'ListZones'
  | 'GetZone'
  | 'CreateZone'
  | 'UpdateZone'
  | 'ListHosts'
  | 'GetHost'
  | 'UpdateHost'
  | 'ListServers'
  | 'UpdateServer'
  | 'PlanMaintenance'
  | 'EnableMaintenance'
  | 'DisableMaintenance'
  | 'ReturnServers'
  | 'GetOperation'
  | 'ListOperations'
  | 'CancelOperation'
  | 'GetZoneCpu'
  | 'RecomputeZoneCpu';

export class AdminApi {
  readonly #client: AdminClient;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(readonly settings: ConnectionSettings) {
    // Before any channel exists: a refused run sends nothing.
    if (!decideTransport(settings).allowed) {
      throw new CliError(
        `refusing to send the bearer token without TLS to ${settings.address}, which is not a loopback address`,
        'pass --ca (the CA of the coordinator certificate) to use TLS, or --insecure to send the token in clear anyway',
        EXIT.REFUSED,
      );
    }
    const proto = loadAdminProto();
    const tls = { caFile: settings.caFile, certFile: settings.certFile, keyFile: settings.keyFile, serverName: settings.serverName || undefined };
    this.#client = new proto.drydock.admin.v1.Admin(settings.address, clientCredentials(tls), {
      ...clientChannelOptions(tls),
      // Fail fast on a wrong address instead of retrying DNS/connects forever.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    this.#token = settings.token;
    this.#timeoutMs = settings.timeoutMs;
  }

  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.#token) md.set('authorization', `Bearer ${this.#token}`);
    return md;
  }

  /** A unary call with the CLI's deadline; rejects with the grpc ServiceError. */
  call<M extends UnaryName>(method: M, request: Req<M>): Promise<Res<M>> {
    const fn = this.#client[method] as unknown as UnaryMethod<Req<M>, Res<M>>;
    if (MUTATING_METHODS.has(method)) session.changeInFlight = method;
    return new Promise((resolve, reject) => {
      fn.call(this.#client, request, this.#metadata(), { deadline: Date.now() + this.#timeoutMs }, (err, res) => {
        if (MUTATING_METHODS.has(method)) session.changeInFlight = '';
        if (err) reject(err);
        else resolve(res as Res<M>);
      });
    });
  }

  /** The event stream of an operation (no deadline: it lasts as long as the operation). */
  watch(request: WatchOperationRequest__Input): grpc.ClientReadableStream<OperationEvent> {
    return this.#client.WatchOperation(request, this.#metadata());
  }

  close(): void {
    this.#client.close();
  }
}
