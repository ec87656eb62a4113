// Plugs zone CPU into a coordinator instance: the CpuPlacement for the
// maintenance engine (maintenanceModule({ cpu: z.placement })), the
// GetZoneCpu/RecomputeZoneCpu handler group, and on the leader the member
// watch that recomputes a zone when a host joins or its mode changes.
// Every part shares one service and one CompareCpu cache.
import type { AdminDeps, HandlerGroup } from '../admin/context.ts';
import type { CpuPlacement } from '../operations/context.ts';
import { CompareCache } from './compare-cache.ts';
import { ZoneCpuAgents } from './zone-agents.ts';
import { ZoneCpuService } from './recompute.ts';
import { ZoneCpuPlacement } from './placement.ts';
import { zoneCpuHandlers } from './admin-handlers.ts';
import { watchZoneMembers } from './members-watch.ts';

export interface ZoneCpuModuleOptions {
  /** How often the leader looks for zones whose members or mode changed (ms). Default 3000. */
  watchIntervalMs?: number;
  /** Deadline of one CompareCpu/BaselineCpu call (ms). Default: the agent pool's call timeout. */
  agentCallTimeoutMs?: number;
}

export interface ZoneCpuModule {
  /** For maintenanceModule({ cpu }). */
  placement: (deps: AdminDeps) => CpuPlacement;
  beforeServe: (deps: AdminDeps) => Promise<void>;
  handlerGroups: (deps: AdminDeps) => HandlerGroup[];
  /** Available once any of the above ran. */
  service(): ZoneCpuService;
  cache(): CompareCache;
  stop(): Promise<void>;
}

interface Parts {
  cache: CompareCache;
  service: ZoneCpuService;
  placement: ZoneCpuPlacement;
}

export function zoneCpuModule(opts: ZoneCpuModuleOptions = {}): ZoneCpuModule {
  let parts: Parts | null = null;
  let unhook: (() => void) | null = null;
  const ensure = (deps: AdminDeps): Parts => {
    if (parts) return parts;
    const timeout = opts.agentCallTimeoutMs === undefined ? {} : { timeoutMs: opts.agentCallTimeoutMs };
    const cache = new CompareCache((host, xml, signal) =>
      deps.agents.forHost(host.id, host.grpcEndpoint).compareCpu(xml, { ...timeout, ...(signal ? { signal } : {}) }),
    );
    const agents = new ZoneCpuAgents(cache, async (host, req, signal) => {
      const res = await deps.agents.forHost(host.id, host.grpcEndpoint).baselineCpu(req, { ...timeout, ...(signal ? { signal } : {}) });
      if (!res.cpu) throw new Error(`BaselineCpu on ${host.id} returned no CPU`);
      return res.cpu;
    });
    const service = new ZoneCpuService({ store: deps.store, reads: deps.reads, inventory: deps.inventory, agents, logger: deps.logger });
    const placement = new ZoneCpuPlacement({
      cache,
      hostReturned: async (hostId, operationId) => {
        await service.hostReturned(hostId, operationId);
      },
    });
    parts = { cache, service, placement };
    return parts;
  };
  const need = () => {
    if (!parts) throw new Error('zone CPU module not started');
    return parts;
  };
  return {
    placement: (deps) => ensure(deps).placement,
    beforeServe: async (deps) => {
      const p = ensure(deps);
      unhook ??= deps.leader.onLeadership((signal) =>
        watchZoneMembers({ reads: deps.reads, service: p.service, logger: deps.logger, intervalMs: opts.watchIntervalMs ?? 3000 }, signal),
      );
    },
    handlerGroups: (deps) => [zoneCpuHandlers(deps.store, ensure(deps).service)],
    service: () => need().service,
    cache: () => need().cache,
    stop: async () => {
      unhook?.();
      unhook = null;
      await parts?.service.idle();
    },
  };
}
