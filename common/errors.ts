// One typed error hierarchy for all of drydock. Each class fixes the gRPC
// status it maps to, so the mapping lives here and in grpc-status.ts only.
// Domain errors (libvirt, planning, maintenance) extend these bases in their
// own modules; nothing else decides a status code.
import { status } from '@grpc/grpc-js';

export interface DrydockErrorOptions {
  cause?: unknown;
  /** Extra machine-readable detail carried to the client in metadata. */
  details?: Record<string, string>;
}

export class DrydockError extends Error {
  /** gRPC status this error maps to at the server edge. */
  readonly code: status = status.INTERNAL;
  readonly details: Record<string, string>;

  constructor(message: string, options: DrydockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }

  /** Stable identifier for programs (the class name). */
  get kind(): string {
    return this.name;
  }
}

/** Malformed input. `field` names the offending request field. */
export class InvalidArgumentError extends DrydockError {
  override readonly code = status.INVALID_ARGUMENT;
  constructor(
    readonly field: string,
    message: string,
    options: DrydockErrorOptions = {},
  ) {
    super(`${field}: ${message}`, { ...options, details: { field, ...options.details } });
  }
}

export class NotFoundError extends DrydockError {
  override readonly code = status.NOT_FOUND;
  constructor(
    readonly what: string,
    readonly id: string,
    options: DrydockErrorOptions = {},
  ) {
    super(`${what} ${JSON.stringify(id)} not found`, { ...options, details: { what, id, ...options.details } });
  }
}

export class AlreadyExistsError extends DrydockError {
  override readonly code = status.ALREADY_EXISTS;
  constructor(
    readonly what: string,
    readonly id: string,
    options: DrydockErrorOptions = {},
  ) {
    super(`${what} ${JSON.stringify(id)} already exists`, { ...options, details: { what, id, ...options.details } });
  }
}

/** The system's state forbids the call (not the input's shape). */
export class FailedPreconditionError extends DrydockError {
  override readonly code = status.FAILED_PRECONDITION;
}

export class UnauthenticatedError extends DrydockError {
  override readonly code = status.UNAUTHENTICATED;
}

export class PermissionDeniedError extends DrydockError {
  override readonly code = status.PERMISSION_DENIED;
  constructor(
    readonly permission: string,
    readonly principal: string,
    options: DrydockErrorOptions = {},
  ) {
    super(`${principal} lacks the permission "${permission}"`, {
      ...options,
      details: { permission, principal, ...options.details },
    });
  }
}

/** A dependency (peer, daemon, NATS) cannot be reached right now; retryable. */
export class UnavailableError extends DrydockError {
  override readonly code = status.UNAVAILABLE;
}

export class DeadlineExceededError extends DrydockError {
  override readonly code = status.DEADLINE_EXCEEDED;
}

/** Work stopped on purpose (operator cancel, abort). */
export class AbortedError extends DrydockError {
  override readonly code = status.ABORTED;
}

export class CancelledError extends DrydockError {
  override readonly code = status.CANCELLED;
}

/** A conflicting concurrent write (CAS lost more often than retries allow). */
export class ConflictError extends DrydockError {
  override readonly code = status.ABORTED;
}

export class ResourceExhaustedError extends DrydockError {
  override readonly code = status.RESOURCE_EXHAUSTED;
}

export class InternalError extends DrydockError {
  override readonly code = status.INTERNAL;
}

export function isDrydockError(err: unknown): err is DrydockError {
  return err instanceof DrydockError;
}

/** Message of anything thrown, for logs and records. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
