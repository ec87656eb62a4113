// The server edge and the client edge of the typed errors: DrydockError →
// gRPC status (with the error kind in metadata) and back.
import * as grpc from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  DrydockError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from './errors.ts';

export const ERROR_KIND_METADATA = 'drydock-error-kind';

/**
 * ASCII metadata values only: grpc-js throws on anything else (a server
 * name with "é", an arrow in a message), which would turn a clear error
 * into an INTERNAL one. The full text still travels in `details`.
 */
export function metadataValue(v: string): string {
  return v.replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);
}

/**
 * A status message travels in the HTTP/2 trailers: one echoing a huge
 * request field (a 300 KiB host id in "... must match ...") made the
 * trailers too big to send, the call hung until its deadline and the
 * client's connection stopped answering. Capped here, for every error.
 */
export const MAX_STATUS_DETAILS = 4096;

export function statusDetails(message: string): string {
  return message.length <= MAX_STATUS_DETAILS
    ? message
    : `${message.slice(0, MAX_STATUS_DETAILS)}… (${message.length - MAX_STATUS_DETAILS} more characters cut)`;
}

/** The one place that turns anything thrown into a gRPC status object. */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const metadata = new grpc.Metadata();
  if (err instanceof DrydockError) {
    metadata.set(ERROR_KIND_METADATA, metadataValue(err.kind));
    for (const [k, v] of Object.entries(err.details)) metadata.set(`drydock-${k.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`, metadataValue(String(v)));
    return { code: err.code, details: statusDetails(err.message), metadata };
  }
  const maybe = err as { code?: unknown; details?: unknown } | undefined;
  // Already a gRPC error from a downstream call: keep its code.
  if (maybe && typeof maybe.code === 'number' && typeof maybe.details === 'string' && maybe.code in grpc.status) {
    return { code: maybe.code as grpc.status, details: statusDetails(maybe.details), metadata };
  }
  metadata.set(ERROR_KIND_METADATA, 'InternalError');
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: statusDetails(`internal error: ${message}`), metadata };
}

/** Rebuilds a typed error from a failed client call (kind kept in `remoteKind`). */
export function fromGrpcError(err: unknown): DrydockError {
  const e = err as Partial<grpc.ServiceError>;
  const details = e.details ?? (err instanceof Error ? err.message : String(err));
  const remoteKind = e.metadata?.get(ERROR_KIND_METADATA)?.[0]?.toString() ?? '';
  let out: DrydockError;
  switch (e.code) {
    case grpc.status.INVALID_ARGUMENT:
      out = new InvalidArgumentError(e.metadata?.get('drydock-field')?.[0]?.toString() ?? 'request', details);
      out.message = details;
      break;
    case grpc.status.NOT_FOUND:
      out = new NotFoundError('resource', '?');
      out.message = details;
      break;
    case grpc.status.ALREADY_EXISTS:
      out = new AlreadyExistsError('resource', '?');
      out.message = details;
      break;
    case grpc.status.FAILED_PRECONDITION:
      out = new FailedPreconditionError(details);
      break;
    case grpc.status.UNAUTHENTICATED:
      out = new UnauthenticatedError(details);
      break;
    case grpc.status.PERMISSION_DENIED:
      out = new PermissionDeniedError('?', '?');
      out.message = details;
      break;
    case grpc.status.UNAVAILABLE:
      out = new UnavailableError(details);
      break;
    case grpc.status.DEADLINE_EXCEEDED:
      out = new DeadlineExceededError(details);
      break;
    case grpc.status.ABORTED:
      out = new AbortedError(details);
      break;
    case grpc.status.CANCELLED:
      out = new CancelledError(details);
      break;
    case grpc.status.RESOURCE_EXHAUSTED:
      out = new ResourceExhaustedError(details);
      break;
    default:
      out = new InternalError(details);
  }
  (out as { remoteKind?: string }).remoteKind = remoteKind;
  return out;
}

/** Kind of a remote error as the peer named it ("" if unknown). */
export function remoteKind(err: unknown): string {
  return (err as { remoteKind?: string }).remoteKind ?? '';
}
