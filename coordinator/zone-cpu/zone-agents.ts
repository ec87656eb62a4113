// libvirt's CPU algorithms as the zone CPU work reaches them: CompareCpu on
// one host's agent (through the cache), BaselineCpu on a healthy agent of
// the zone (the first that answers, a bounded number tried), and the full
// flag list of one CPU (a baseline of that CPU alone, expanded), cached by
// XML hash because it depends only on the description.
import { InvalidArgumentError, UnavailableError, errorMessage, isDrydockError } from '../../common/errors.ts';
import { status } from '@grpc/grpc-js';
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';
import type { BaselineCpuRequest__Input } from '../../common/generated/drydock/agent/v1/BaselineCpuRequest.ts';
import type { HostRecord } from '../model.ts';
import type { CompareCache } from './compare-cache.ts';
import { cpuHash } from './tracking.ts';

export type BaselineFn = (host: HostRecord, req: BaselineCpuRequest__Input, signal?: AbortSignal) => Promise<CpuDescription>;

/**
 * Errors that say "this agent cannot answer now": try another. Anything
 * else is libvirt's answer about the CPUs, which another agent would repeat
 * (libvirt 9's "CPU vendors do not match" arrives as INTERNAL).
 */
function agentDown(err: unknown): boolean {
  if (!isDrydockError(err)) return true;
  return err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED;
}

export class ZoneCpuAgents {
  private readonly expanded = new Map<string, string[]>();

  constructor(
    readonly cache: CompareCache,
    private readonly baselineFn: BaselineFn,
    private readonly opts: { maxAgentsTried?: number } = {},
  ) {}

  /**
   * BaselineCpu on the first healthy helper that answers. UNAVAILABLE when
   * none can; libvirt refusing the input (INVALID_ARGUMENT, e.g. CPUs of two
   * vendors) is returned as is, since another agent would say the same.
   */
  async baseline(
    zoneId: string,
    helpers: readonly HostRecord[],
    cpuXmls: string[],
    opts: { migratable: boolean; expand: boolean },
    signal?: AbortSignal,
  ): Promise<CpuDescription> {
    const tried: string[] = [];
    for (const h of helpers.slice(0, this.opts.maxAgentsTried ?? 3)) {
      try {
        return await this.baselineFn(h, { cpu_xmls: cpuXmls, migratable: opts.migratable, expand_features: opts.expand }, signal);
      } catch (err) {
        signal?.throwIfAborted();
        if (!agentDown(err)) throw err;
        tried.push(`${h.id}: ${errorMessage(err)}`);
      }
    }
    throw new UnavailableError(
      `zone ${zoneId}: no healthy agent to compute the CPU baseline${tried.length ? ` (tried ${tried.join('; ')})` : ' (no online host in service)'}`,
    );
  }

  /** Every flag of one CPU description, sorted. */
  async allFeatures(zoneId: string, helpers: readonly HostRecord[], xml: string, signal?: AbortSignal): Promise<string[]> {
    const key = cpuHash(xml);
    const hit = this.expanded.get(key);
    if (hit) return hit;
    const cpu = await this.baseline(zoneId, helpers, [xml], { migratable: false, expand: true }, signal);
    const out = [...new Set(cpu.features)].sort();
    this.expanded.set(key, out);
    if (this.expanded.size > 1000) this.expanded.delete(this.expanded.keys().next().value!);
    return out;
  }
}

/** libvirt refused a baseline of these CPUs (e.g. two vendors): the input, not the agent. */
export function isNoCommonCpu(err: unknown): boolean {
  return err instanceof InvalidArgumentError || (isDrydockError(err) && !agentDown(err) && err.code !== status.CANCELLED);
}
