// Which KV failures are worth retrying, and the bounded retry loop. NATS
// errors are classified here and nowhere else: a CAS conflict (JetStream
// err_code 10071 "wrong last sequence"), and transient unavailability
// (503 / timeouts: docs/field-notes.md: one put failed with 503 right after a
// cluster node died; "no suitable peers" while a cluster forms).
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, DeadlineExceededError, ResourceExhaustedError, UnavailableError, errorMessage } from '../../common/errors.ts';

/** JetStream API error code of a failed expected-last-subject-sequence check. */
const JS_WRONG_LAST_SEQUENCE = 10071;
/**
 * "no suitable peers for placement": a replicated bucket asked of a cluster
 * whose peers have not all joined the meta group yet (just started, or one
 * node restarting). It clears by itself; retried like a 503.
 */
const JS_CLUSTER_NO_PEERS = 10005;

interface NatsLikeError {
  code?: unknown;
  api_error?: { code?: number; err_code?: number; description?: string };
}

/**
 * JetStream refusing a write for lack of storage (nats-server's
 * jetstream_errors.json): 10023 "insufficient resources" (the server's
 * max_file_store reached: what a KV put answered on nats-server 2.9.10 with
 * the store full), 10047 "insufficient storage resources available", 10028
 * (the memory store), 10002 "resource limits exceeded for account".
 */
const JS_STORAGE_FULL = new Set([10023, 10047, 10028, 10002]);

/** A write refused because the NATS store (server, account or stream) is full. */
export function isStorageFull(err: unknown): boolean {
  if (err instanceof StoreFullError) return true;
  const api = (err as NatsLikeError | undefined)?.api_error;
  if (!api) return false;
  return (
    (api.err_code !== undefined && JS_STORAGE_FULL.has(api.err_code)) || /insufficient (storage )?resources|maximum bytes exceeded/i.test(api.description ?? '')
  );
}

/**
 * The NATS JetStream store has no room for the write. Not retried here:
 * space comes back when an operator frees it, not in milliseconds. The
 * maintenance engine holds an operation that meets it (operations/storage-hold.ts).
 */
export class StoreFullError extends ResourceExhaustedError {
  /** What JetStream said, e.g. "insufficient resources, JetStream error 10023". */
  readonly said: string;
  constructor(what: string, options: { cause?: unknown } = {}) {
    const api = (options.cause as NatsLikeError | undefined)?.api_error;
    const said = `${api?.description ?? errorMessage(options.cause)}${api?.err_code ? `, JetStream error ${api.err_code}` : ''}`;
    super(`${what}: the NATS JetStream store is full (${said})`, options);
    this.said = said;
  }
}

export function isCasConflict(err: unknown): boolean {
  if (err instanceof CasConflictError) return true;
  return (err as NatsLikeError | undefined)?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}

export function isTransient(err: unknown): boolean {
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return true;
  const e = err as NatsLikeError | undefined;
  if (!e || isStorageFull(err)) return false;
  // "503" is both NoResponders and JetStreamNotEnabled in nats.js: during a
  // stream leader election the API has nobody to answer for a moment.
  if (e.code === '503' || e.code === 'TIMEOUT' || e.code === '408' || e.code === 'DISCONNECT' || e.code === 'CONNECTION_REFUSED') return true;
  const api = e.api_error;
  if (api && (api.code === 503 || api.code === 408 || api.code === 500 || api.err_code === JS_CLUSTER_NO_PEERS)) return true;
  return false;
}

/** A compare-and-swap write lost against a concurrent writer. */
export class CasConflictError extends ConflictError {
  constructor(
    readonly key: string,
    options: { cause?: unknown } = {},
  ) {
    super(`concurrent update of ${JSON.stringify(key)}`, options);
  }
}

export interface RetryPolicy {
  /** Attempts for transient failures (first try included). */
  transientAttempts: number;
  /** First backoff; doubles, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Re-read-and-re-apply rounds after CAS conflicts before giving up. */
  conflictAttempts: number;
}

/** One attempt, no conflict rounds: for callers whose own loop is the retry. */
export const NO_RETRY: RetryPolicy = { transientAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, conflictAttempts: 1 };

export const DEFAULT_RETRY: RetryPolicy = { transientAttempts: 6, baseDelayMs: 100, maxDelayMs: 1500, conflictAttempts: 12 };

/**
 * Runs `fn` again on transient failures, with exponential backoff plus
 * jitter, at most `policy.transientAttempts` times. Other errors pass through.
 */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, signal?: AbortSignal): Promise<T> {
  let delay = policy.baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (isStorageFull(err)) throw err instanceof StoreFullError ? err : new StoreFullError(what, { cause: err });
      if (!isTransient(err)) throw err;
      if (attempt >= policy.transientAttempts) {
        throw new UnavailableError(`${what}: still failing after ${attempt} attempts: ${errorMessage(err)}`, { cause: err });
      }
      await sleep(delay + Math.floor(Math.random() * delay * 0.3), undefined, signal ? { signal } : undefined);
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

/** Small random pause between CAS rounds so two losers don't collide again in lockstep. */
export function conflictBackoff(round: number, signal?: AbortSignal): Promise<void> {
  const ms = Math.min(5 * 2 ** round, 200) * Math.random();
  return sleep(ms, undefined, signal ? { signal } : undefined);
}
