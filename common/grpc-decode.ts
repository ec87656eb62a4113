// Requests whose bytes do not decode as the method's request type. grpc-js
// answers a request its deserializer throws on with INTERNAL ("Error
// deserializing request"), as if the server had failed; the fault is the
// caller's, so it gets INVALID_ARGUMENT, and no handler runs (nothing
// changes). Applied to every service startGrpcServer serves (the admin API,
// the agent API), in front of everything else the handlers do.
import type * as grpc from '@grpc/grpc-js';
import { errorMessage, InvalidArgumentError } from './errors.ts';
import { toGrpcStatus } from './grpc-status.ts';

const UNDECODABLE = Symbol('undecodable request');

/** What the deserializer hands on instead of throwing: why the bytes did not decode. */
interface Undecodable {
  [UNDECODABLE]: string;
}

function undecodable(request: unknown): string | null {
  return typeof request === 'object' && request !== null && UNDECODABLE in request ? (request as Undecodable)[UNDECODABLE] : null;
}

function refusal(def: grpc.MethodDefinition<unknown, unknown>, why: string): grpc.ServerErrorResponse {
  return toGrpcStatus(new InvalidArgumentError('request', `does not decode as the request of ${def.path}: ${why}`)) as grpc.ServerErrorResponse;
}

/**
 * The service with deserializers that never throw, and the implementation
 * with every handler refusing an undecodable request before it runs.
 * Methods with a request stream are left as they are (none of ours has one:
 * each message there would need the check).
 */
export function guardDecoding(
  service: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
): { service: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const guardedService: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  const guarded: grpc.UntypedServiceImplementation = { ...implementation };
  for (const [name, def] of Object.entries(service) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const handler = implementation[name];
    if (def.requestStream || !handler) continue;
    const decode = def.requestDeserialize;
    guardedService[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [UNDECODABLE]: errorMessage(err) } satisfies Undecodable;
        }
      },
    };
    if (def.responseStream) {
      const h = handler as grpc.handleServerStreamingCall<unknown, unknown>;
      guarded[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        const why = undecodable(call.request);
        if (why === null) return h(call);
        call.emit('error', refusal(def, why));
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
    } else {
      const h = handler as grpc.handleUnaryCall<unknown, unknown>;
      guarded[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const why = undecodable(call.request);
        if (why === null) return h(call, callback);
        callback(refusal(def, why));
      }) as grpc.handleUnaryCall<unknown, unknown>;
    }
  }
  return { service: guardedService as grpc.ServiceDefinition, implementation: guarded };
}
