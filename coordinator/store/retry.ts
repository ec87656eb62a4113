// Which KV failures are worth retrying, and the bounded retry loop. NATS
// errors are classified here and nowhere else: a CAS conflict (JetStream
// err_code 10071 "wrong last sequence"), and transient unavailability
// (503 / timeouts: docs/field-notes.md: one put failed with 503 right after a
// cluster node died; "no suitable peers" while a cluster forms).
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, DeadlineExceededError, UnavailableError, errorMessage } from '../../common/errors.ts';

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

export function isCasConflict(err: unknown): boolean {
  if (err instanceof CasConflictError) return true;
  return (err as NatsLikeError | undefined)?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}

export function isTransient(err: unknown): boolean {
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return true;
  const e = err as NatsLikeError | undefined;
  if (!e) return false;
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
