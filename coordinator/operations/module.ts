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
import type { ActiveEntry, OperationHeader, StoredStep } from './op-layout.ts';
import type { OperationBuckets } from './op-store.ts';
import { archivePass, DEFAULT_ARCHIVE_AFTER_MS, migrateLegacy } from './op-retention.ts';
import { WatchLimits, type WatchLimitOptions } from './watch-limits.ts';
import { periodically } from '../store/housekeeping.ts';
import type { WorkerRegistry } from './worker.ts';

/** Which worker runs each kind of operation. */
const WORKERS: WorkerRegistry = {
  enable_maintenance: drainWorker,
  disable_maintenance: returnToServiceWorker,
  return_servers: returnServersWorker,
};

export interface MaintenanceModuleOptions {
  pollIntervalMs?: number;
  /** Finished operations are archived this long after they ended (default 30 days). */
  archiveAfterMs?: number;
  /** How often the leader looks for operations to archive (default 1 h). */
  archiveEveryMs?: number;
  /** WatchOperation streams at once, per caller and in total. */
  watchLimits?: WatchLimitOptions;
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
  /** WatchOperation streams open on this instance. */
  watches(): WatchLimits;
  /** The operation store (tests, tools). */
  ops(): OperationStore;
  endStreams(): Promise<void>;
  stop(): Promise<void>;
}

export function maintenanceModule(opts: MaintenanceModuleOptions = {}): MaintenanceModule {
  let engine: MaintenanceEngine | null = null;
  let service: MaintenanceService | null = null;
  let unhookRetention: (() => void) | null = null;
  let store: OperationStore | null = null;
  const watches = new WatchLimits(opts.watchLimits);
  return {
    beforeServe: async (deps) => {
      const replicas = (await deps.store.kvs.operations.status()).replicas || 1;
      const events = await OperationEventLog.open(deps.store.js, { replicas, retry: deps.store.retry });
      const buckets: OperationBuckets = {
        headers: new Repository<OperationHeader>(deps.store.kvs.operations, 'operation', deps.store.retry, deps.store.condition),
        steps: new Repository<StoredStep>(deps.store.kvs.operationSteps, 'operation step', deps.store.retry, deps.store.condition),
        active: new Repository<ActiveEntry>(deps.store.kvs.activeOperations, 'active operation', deps.store.retry, deps.store.condition),
      };
      const migrated = await migrateLegacy(buckets);
      if (migrated > 0) deps.logger.info({ operations: migrated }, 'operations of the older layout split into header and steps');
      const ops = new OperationStore(buckets, events, Date.now, (op) =>
        deps.metrics.operationEnded(op.kind, op.state, Math.max(0, (op.finishedAtMs - op.createdAtMs) / 1000)),
      );
      store = ops;
      const log = deps.logger.child({ component: 'operation-retention' });
      unhookRetention = deps.leader.onLeadership((signal) =>
        periodically(signal, opts.archiveEveryMs ?? 3_600_000, () => archivePass(ops, opts.archiveAfterMs ?? DEFAULT_ARCHIVE_AFTER_MS, log, signal)),
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
      return [maintenanceHandlers(service, watches)];
    },
    engine: () => {
      if (!engine) throw new Error('maintenance module not started');
      return engine;
    },
    service: () => {
      if (!service) throw new Error('maintenance module not started');
      return service;
    },
    watches: () => watches,
    ops: () => {
      if (!store) throw new Error('maintenance module not started');
      return store;
    },
    endStreams: () => watches.close(),
    stop: async () => {
      await watches.close(0);
      unhookRetention?.();
      await engine?.stop();
    },
  };
}
