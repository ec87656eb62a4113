// Storage pools as libvirt reports them, this host's (reused for a few
// seconds: a list of many servers needs them once) or another host's (a
// migration target's, read fresh), each marked active and shared.
import type { StoragePool } from './hypervisor.ts';
import { StorageNotFoundError } from './errors.ts';
import { parseNameList } from './parse-domain.ts';
import { parsePoolXml, SHARED_POOL_TYPES, type PoolDefinition } from './parse-storage.ts';
import type { VirshCallOptions, VirshResult } from './virsh.ts';
import { poolShared } from './disk-plan.ts';
import { mapLimit } from './map-limit.ts';

export interface PoolInfo extends PoolDefinition {
  active: boolean;
  shared: boolean;
}

/** One virsh call (Virsh.run). */
export type RunVirsh = (args: string[], opts?: VirshCallOptions) => Promise<VirshResult>;

export interface LibvirtPoolsOptions {
  /** Path prefixes declared shared (validated, no trailing slash). */
  sharedPaths: readonly string[];
  /** Parallel pool-dumpxml calls. */
  listConcurrency: number;
  /** How long this host's pools are reused between calls. */
  poolCacheMs: number;
}

export class LibvirtPools {
  private cache: { at: number; pools: Promise<PoolInfo[]> } | undefined;

  constructor(
    private readonly run: RunVirsh,
    private readonly opts: LibvirtPoolsOptions,
  ) {}

  /** The pools of the daemon at `uri` (this host's when undefined), read now. */
  async load(uri: string | undefined, signal?: AbortSignal): Promise<PoolInfo[]> {
    const ctx: VirshCallOptions = { signal, uri, context: uri ? { targetUri: uri } : {} };
    const [all, active] = await Promise.all([
      this.run(['pool-list', '--all', '--name'], ctx).then((r) => parseNameList(r.stdout)),
      this.run(['pool-list', '--name'], ctx).then((r) => new Set(parseNameList(r.stdout))),
    ]);
    const defs = await mapLimit(all, this.opts.listConcurrency, async (name) => {
      try {
        return parsePoolXml((await this.run(['pool-dumpxml', '--pool', name], ctx)).stdout);
      } catch (err) {
        if (err instanceof StorageNotFoundError) return undefined; // undefined meanwhile
        throw err;
      }
    });
    return defs
      .filter((d): d is PoolDefinition => d !== undefined)
      .map((d) => ({
        ...d,
        active: active.has(d.name),
        shared: poolShared(SHARED_POOL_TYPES.has(d.type), d.path, this.opts.sharedPaths),
      }));
  }

  /** This host's pools, reused for poolCacheMs unless `fresh`. A failed read is not kept. */
  local(signal?: AbortSignal, fresh = false): Promise<PoolInfo[]> {
    const now = Date.now();
    if (fresh || !this.cache || now - this.cache.at > this.opts.poolCacheMs) {
      const pools = this.load(undefined, signal);
      pools.catch(() => {
        if (this.cache?.pools === pools) this.cache = undefined;
      });
      this.cache = { at: now, pools };
    }
    return this.cache.pools;
  }
}

export function toStoragePool(p: PoolInfo): StoragePool {
  return {
    name: p.name,
    type: p.type,
    path: p.path,
    shared: p.shared,
    active: p.active,
    capacity_bytes: p.capacityBytes,
    available_bytes: p.availableBytes,
  };
}
