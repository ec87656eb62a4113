// CompareCpu answers, cached per (host id + incarnation, CPU XML hash). A
// host's CPU cannot change without a new agent incarnation (a reboot or a
// restart re-reads it), so an answer stays true until then; a new
// incarnation simply misses. Concurrent asks for one key share one call;
// failures are remembered briefly (for the plan's reason) but never cached
// as answers.
import { errorMessage } from '../../common/errors.ts';
import type { CompareCpuResponse } from '../../common/generated/drydock/agent/v1/CompareCpuResponse.ts';
import { cpuHash, type CompareVerdict } from './tracking.ts';

export interface CompareAnswer {
  verdict: Exclude<CompareVerdict, 'UNKNOWN'>;
  /** Features of the compared CPU the host lacks (INCOMPATIBLE). */
  missing: string[];
  message: string;
}

/** The host fields a compare needs: who, which incarnation, where. */
export interface CompareHost {
  id: string;
  incarnation: string;
  grpcEndpoint: string;
}

export type CompareFn = (host: CompareHost, xml: string, signal?: AbortSignal) => Promise<CompareCpuResponse>;

export function answerOf(res: CompareCpuResponse): CompareAnswer {
  const verdict = res.result === 'CPU_COMPARE_RESULT_IDENTICAL' ? 'IDENTICAL' : res.result === 'CPU_COMPARE_RESULT_SUPERSET' ? 'SUPERSET' : 'INCOMPATIBLE';
  return { verdict, missing: [...res.missing_features].sort(), message: res.message };
}

export const runs = (a: CompareAnswer): boolean => a.verdict === 'IDENTICAL' || a.verdict === 'SUPERSET';

export class CompareCache {
  private readonly answers = new Map<string, CompareAnswer>();
  private readonly failures = new Map<string, { error: string; atMs: number }>();
  private readonly inflight = new Map<string, Promise<CompareAnswer>>();
  /** Agent calls made (tests assert the cache saves them). */
  calls = 0;

  constructor(
    private readonly compare: CompareFn,
    private readonly opts: { maxEntries?: number; failureMemoryMs?: number } = {},
  ) {}

  static key(host: Pick<CompareHost, 'id' | 'incarnation'>, xml: string): string {
    return `${host.id}/${host.incarnation}/${cpuHash(xml)}`;
  }

  get(host: Pick<CompareHost, 'id' | 'incarnation'>, xml: string): CompareAnswer | undefined {
    return this.answers.get(CompareCache.key(host, xml));
  }

  /** Why the last ask for this key failed, if it did recently. */
  failure(host: Pick<CompareHost, 'id' | 'incarnation'>, xml: string, nowMs = Date.now()): string | undefined {
    const f = this.failures.get(CompareCache.key(host, xml));
    return f && nowMs - f.atMs < (this.opts.failureMemoryMs ?? 60_000) ? f.error : undefined;
  }

  /** The cached answer, or one from the host's agent. Throws the agent's typed error. */
  ensure(host: CompareHost, xml: string, signal?: AbortSignal): Promise<CompareAnswer> {
    const key = CompareCache.key(host, xml);
    const hit = this.answers.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(key);
    if (!p) {
      this.calls++;
      p = this.compare(host, xml, signal)
        .then((res) => {
          const a = answerOf(res);
          this.remember(key, a);
          this.failures.delete(key);
          return a;
        })
        .catch((err: unknown) => {
          this.failures.set(key, { error: errorMessage(err), atMs: Date.now() });
          throw err;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private remember(key: string, a: CompareAnswer): void {
    // Map order is insertion order: drop the oldest beyond the bound.
    this.answers.delete(key);
    this.answers.set(key, a);
    const max = this.opts.maxEntries ?? 20_000;
    while (this.answers.size > max) this.answers.delete(this.answers.keys().next().value!);
  }
}
