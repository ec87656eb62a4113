// Exit codes and the one-line error report. Every failure the CLI prints is
// `drydock: <reason> — <what to do>` on stderr, and the exit code says which
// kind of failure it was so scripts can branch without parsing text.
import * as grpc from '@grpc/grpc-js';
import { fromGrpcError } from '../common/grpc-status.ts';
import { DrydockError } from '../common/errors.ts';

export const EXIT = {
  OK: 0,
  /** The coordinator failed the call (internal error, conflict, ...). */
  SERVER_ERROR: 1,
  /** Bad command line or a request the coordinator rejected as malformed. */
  USAGE: 2,
  /** Refused: the state forbids it (FAILED_PRECONDITION, ALREADY_EXISTS) or the CLI refused locally (no --confirm). */
  REFUSED: 3,
  NOT_FOUND: 4,
  /** UNAUTHENTICATED or PERMISSION_DENIED. */
  AUTH: 5,
  /** Coordinator unreachable, or it did not answer within the deadline. */
  UNAVAILABLE: 6,
  /** A followed operation ended FAILED or CANCELLED. */
  OPERATION_FAILED: 7,
  /** Ctrl-C: the CLI detached; the operation goes on. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI itself decided on, with the advice to print. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string, hint: string): CliError {
  return new CliError(message, hint, EXIT.USAGE);
}

/** Context that sharpens the generic advice for one command. */
export interface ErrorContext {
  /** The coordinator address, for the "is it running?" advice. */
  address: string;
  /** Deadline of unary calls in ms, for the DEADLINE_EXCEEDED advice. */
  timeoutMs: number;
  /** True when the CLI spoke TLS (--ca given). */
  tls?: boolean;
  /** What to run to list valid ids, e.g. "drydock hosts". */
  listHint?: string;
  /** Advice specific to a FAILED_PRECONDITION of this command. */
  preconditionHint?: string;
}

export interface Report {
  line: string;
  exitCode: ExitCode;
}

/** Server messages can hold newlines (refusals listing servers): keep one line. */
function oneLine(s: string): string {
  return s
    .replace(/\s*\n\s*/g, '; ')
    .replace(/\s+/g, ' ')
    .trim();
}

function isGrpcError(err: unknown): err is grpc.ServiceError {
  const e = err as Partial<grpc.ServiceError> | undefined;
  return !!e && typeof e.code === 'number' && e.code in grpc.status && 'metadata' in e;
}

/** Anything thrown by a command → the line to print and the exit code. */
export function describeError(err: unknown, ctx: ErrorContext): Report {
  if (err instanceof CliError) return { line: `drydock: ${oneLine(err.message)} — ${err.hint}`, exitCode: err.exitCode };
  if (isGrpcError(err)) {
    const typed = fromGrpcError(err);
    let reason = oneLine(typed.message || grpc.status[err.code] || 'error');
    if (err.code === grpc.status.UNAVAILABLE) {
      const tls = /ERR_TLS_\w+\]?:?\s*(.*?)(?:\. Resolution note:.*)?$|(?:SSL|certificate|handshake)\S*\s*(.*?)(?:\. Resolution note:.*)?$/i.exec(reason);
      if (tls) {
        const cause = (tls[1] ?? tls[2] ?? '').replace(/:\s*\.?$/, '').trim();
        return {
          line: `drydock: TLS handshake with the coordinator at ${ctx.address} failed${cause ? `: ${cause}` : ''} — check --ca (the CA that signed its certificate) and --server-name (a name its certificate carries)`,
          exitCode: EXIT.UNAVAILABLE,
        };
      }
      if (/No connection established|ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|ETIMEDOUT|Failed to connect/.test(reason)) {
        const errno = /\b(E[A-Z]{3,})\b/.exec(reason)?.[1];
        reason = `cannot reach the coordinator at ${ctx.address}${errno ? ` (${errno})` : ''}`;
      }
    }
    const [hint, exitCode] = adviceFor(err.code, reason, ctx);
    return { line: `drydock: ${reason} — ${hint}`, exitCode };
  }
  if (err instanceof DrydockError) return { line: `drydock: ${oneLine(err.message)} — check the value named above and retry`, exitCode: EXIT.USAGE };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.path === 'string') {
    return { line: `drydock: ${oneLine(e.message)} — check the path and its permissions`, exitCode: EXIT.USAGE };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { line: `drydock: ${oneLine(message)} — this is a bug in the CLI; please report it with the command line`, exitCode: EXIT.SERVER_ERROR };
}

function adviceFor(code: grpc.status, reason: string, ctx: ErrorContext): [string, ExitCode] {
  switch (code) {
    case grpc.status.NOT_FOUND:
      return [ctx.listHint ? `check the id; '${ctx.listHint}' lists them` : 'check the id', EXIT.NOT_FOUND];
    case grpc.status.INVALID_ARGUMENT:
      return ['fix the argument named above; see --help', EXIT.USAGE];
    case grpc.status.OUT_OF_RANGE:
      return ['fix the value named above; see --help', EXIT.USAGE];
    case grpc.status.FAILED_PRECONDITION:
      return [ctx.preconditionHint ?? 'the current state forbids this; resolve the condition above and retry', EXIT.REFUSED];
    case grpc.status.ALREADY_EXISTS:
      return ['choose another id, or change the existing one with the matching update command', EXIT.REFUSED];
    case grpc.status.UNAUTHENTICATED:
      return ['pass a valid token (--token, --token-file or DRYDOCK_TOKEN) or a client certificate (--cert/--key with --ca)', EXIT.AUTH];
    case grpc.status.PERMISSION_DENIED:
      return ['use credentials that hold the permission named above, or ask an administrator to grant it', EXIT.AUTH];
    case grpc.status.UNAVAILABLE:
      return [
        /cannot reach|connect|DNS|resolve/i.test(reason)
          ? `is the coordinator running and listening at ${ctx.address}${ctx.tls ? '' : ' without TLS (else pass --ca)'}? Set --address or DRYDOCK_ADDRESS`
          : 'the coordinator (or a service behind it) is unavailable; retry shortly',
        EXIT.UNAVAILABLE,
      ];
    case grpc.status.DEADLINE_EXCEEDED:
      return [`no answer from ${ctx.address} within ${Math.round(ctx.timeoutMs / 1000)}s; retry, or raise --timeout`, EXIT.UNAVAILABLE];
    case grpc.status.ABORTED:
      return ['a concurrent change got there first; check the current state and retry', EXIT.SERVER_ERROR];
    case grpc.status.RESOURCE_EXHAUSTED:
      return ['the coordinator is at a limit; retry later', EXIT.SERVER_ERROR];
    case grpc.status.UNIMPLEMENTED:
      return ['this coordinator does not implement the call; upgrade it to match the CLI', EXIT.SERVER_ERROR];
    case grpc.status.CANCELLED:
      return ['the call was cancelled; retry', EXIT.SERVER_ERROR];
    default:
      return ["see the coordinator's log for details", EXIT.SERVER_ERROR];
  }
}
