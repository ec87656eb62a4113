// Plugs the maintenance engine into a coordinator instance: the admin
// handler groups (replacing the stubs) and the engine, started before the
// admin server serves. Every instance answers reads; only the leader's
// engine runs operations.
import type { AdminDeps, HandlerGroup } from '../admin/context.ts';
import { Repository } from '../store/repository.ts';
import type { CpuPlacement } from './context.ts';
import { OperationEventLog } from './events.ts';
import { OperationStore } from './op-store.ts';
import { MaintenanceEngine } from './engine.ts';
import { MaintenanceService } from './service.ts';
import { maintenanceHandlers } from './admin-handlers.ts';
import { drainWorker } from './drain.ts';
import { returnToServiceWorker } from './return-to-service.ts';
import { returnServersWorker } from './return-servers.ts';
import type { OperationRecord } from './types.ts';
import type { WorkerRegistry } from './worker.ts';

/** Which worker runs each kind of operation. */
const WORKERS: WorkerRegistry = {
  enable_maintenance: drainWorker,
  disable_maintenance: returnToServiceWorker,
  return_servers: returnServersWorker,
};

export interface MaintenanceModuleOptions {
  pollIntervalMs?: number;
  rebootTimeoutMs?: number;
  settlePauseOverrideS?: number;
  /** Zone CPU placement and the host-returned hook (built once the deps exist). */
  cpu?: (deps: AdminDeps) => CpuPlacement;
}

export interface MaintenanceModule {
  handlerGroups: (deps: AdminDeps) => HandlerGroup[];
  beforeServe: (deps: AdminDeps) => Promise<void>;
  /** Available after beforeServe. */
  engine(): MaintenanceEngine;
  service(): MaintenanceService;
  stop(): Promise<void>;
}

export function maintenanceModule(opts: MaintenanceModuleOptions = {}): MaintenanceModule {
  let engine: MaintenanceEngine | null = null;
  let service: MaintenanceService | null = null;
  return {
    beforeServe: async (deps) => {
      const replicas = (await deps.store.kvs.operations.status()).replicas || 1;
      const events = await OperationEventLog.open(deps.store.js, { replicas, retry: deps.store.retry });
      const ops = new OperationStore(
        new Repository<OperationRecord>(deps.store.kvs.operations, 'operation', deps.store.retry, deps.store.condition),
        events,
        Date.now,
        (op) => deps.metrics.operationEnded(op.kind, op.state, Math.max(0, (op.finishedAtMs - op.createdAtMs) / 1000)),
      );
      const cpu = opts.cpu?.(deps);
      engine = new MaintenanceEngine({
        workers: WORKERS,
        ops,
        zones: deps.store.zones,
        hosts: deps.store.hosts,
        servers: deps.store.servers,
        inventory: deps.inventory,
        agents: deps.agents,
        leader: deps.leader,
        logger: deps.logger,
        metrics: deps.metrics,
        pollIntervalMs: opts.pollIntervalMs ?? 1000,
        rebootTimeoutMs: opts.rebootTimeoutMs ?? 15 * 60_000,
        ...(opts.settlePauseOverrideS !== undefined ? { settlePauseOverrideS: opts.settlePauseOverrideS } : {}),
        ...(cpu ? { cpu } : {}),
      });
      const e = engine;
      service = new MaintenanceService({
        ops,
        hosts: deps.store.hosts,
        servers: deps.store.servers,
        snapshot: (signal) => deps.inventory.snapshot(signal),
        reservations: () => e.reservations(),
        storePauseReason: () => deps.store.condition.pauseReason(),
        ...(cpu ? { cpu } : {}),
        kick: () => e.kick(),
      });
      engine.start();
    },
    handlerGroups: () => {
      if (!service) throw new Error('maintenance module: beforeServe must run first');
      return [maintenanceHandlers(service)];
    },
    engine: () => {
      if (!engine) throw new Error('maintenance module not started');
      return engine;
    },
    service: () => {
      if (!service) throw new Error('maintenance module not started');
      return service;
    },
    stop: async () => {
      await engine?.stop();
    },
  };
}
