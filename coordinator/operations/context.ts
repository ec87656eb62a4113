// What the maintenance engine's workers share and are given: the stores and
// clients (EngineDeps), the leader's running migrations and reservations
// (EngineContext), the signals a worker runs under (WorkerSignals), and the
// two helpers every worker's loop uses (pause, zonePolicy). Its own module so
// workers and the engine depend on it, never on each other.
import type { Logger } from '../../common/logging.ts';
import type { AgentClient, AgentClientPool } from '../agent-client.ts';
import type { LeaderElection } from '../leader.ts';
import { resolvePolicy, type HostRecord, type InventorySnapshot, type ServerRecord, type ZonePolicy, type ZoneRecord } from '../model.ts';
import type { Repository, Versioned } from '../store/repository.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import type { Reservations, CpuCompatibleFn } from '../planner/index.ts';
import type { HostLiveness } from '../inventory/liveness.ts';
import type { ZoneSnapshot } from '../inventory/zone-snapshot.ts';
import type { ActiveMigration } from './decide.ts';
import type { OperationStore } from './op-store.ts';

/**
 * What the zone CPU work plugs into placement and returns. `compatible` must
 * be synchronous (the planner is pure), so `prepare` runs first and caches
 * whatever libvirt answers are needed (CompareCpu per target and CPU).
 */
export interface CpuPlacement {
  prepare(snapshot: InventorySnapshot, sourceHostId: string, signal?: AbortSignal): Promise<void>;
  compatible(): CpuCompatibleFn | undefined;
  /** A host returned from maintenance: recompute its zone's baseline. */
  onHostReturned(hostId: string, operationId: string): Promise<void>;
}

/** The stores, clients and settings the engine is built with. */
export interface EngineDeps {
  ops: OperationStore;
  zones: Repository<ZoneRecord>;
  hosts: Repository<HostRecord>;
  servers: Repository<ServerRecord>;
  inventory: {
    /** Every zone, host and server, with the servers revision it reflects: a return's placement pairs it with the capacity holds (placement-view.ts). */
    snapshotAt(signal?: AbortSignal): Promise<ZoneSnapshot>;
    /** Placement input for moves off one host: its zone's servers only, with the servers revision it reflects (inventory/zone-snapshot.ts). */
    zoneSnapshot(sourceHostId: string, signal?: AbortSignal): Promise<ZoneSnapshot>;
    hostLiveness(hostId: string, nowMs?: number): (HostLiveness & { online: boolean }) | null;
    /** The host's record as the read model holds it (not synced first): for its agent's endpoint. */
    hostRecord(hostId: string, signal?: AbortSignal): Promise<HostRecord | null>;
    /** A server's record as the read model holds it (not synced first), with its revision. */
    serverRecord(uuid: string): Versioned<ServerRecord> | undefined;
  };
  agents: AgentClientPool;
  leader: LeaderElection;
  logger: Logger;
  /** Counters of migration attempts (optional in unit set-ups). */
  metrics?: Pick<CoordinatorMetrics, 'migrationEnded'>;
  /** How often workers re-read their record while waiting (ms). */
  pollIntervalMs: number;
  /** How long a rebooted host may take to come back (ms). */
  rebootTimeoutMs: number;
  /** Overrides every zone's settle pause (seconds): for tests and the demo. */
  settlePauseOverrideS?: number;
  /** CPU compatibility for placement and the host-returned hook (zone CPU); default: not checked. */
  cpu?: CpuPlacement;
  clock?: () => number;
}

/** What workers share on the leader: running migrations and their reservations. */
export interface EngineContext extends EngineDeps {
  clock: () => number;
  active: Map<string, ActiveMigration & { operationId: string }>;
  reservations: Reservations;
  agentFor(hostId: string, signal?: AbortSignal): Promise<AgentClient>;
  kick(): void;
}

export interface WorkerSignals {
  leadership: AbortSignal;
  cancel: AbortSignal;
  log: Logger;
}

/**
 * The zone's effective policy, read from its one record: the loops ask for
 * it on every pass, and a whole inventory snapshot (every zone, host and
 * server) is only worth reading when a target has to be chosen.
 */
export async function zonePolicy(ctx: Pick<EngineContext, 'zones'>, zoneId: string, signal?: AbortSignal): Promise<ZonePolicy> {
  const zone = zoneId ? await ctx.zones.get(zoneId, signal) : null;
  return resolvePolicy(zone?.value.policy ?? {});
}

/** Sleep that ends early on leadership loss or cancel (never throws, leaves no listener). */
export async function pause(ms: number, signals: WorkerSignals): Promise<void> {
  if (signals.leadership.aborted || signals.cancel.aborted) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signals.leadership.removeEventListener('abort', done);
      signals.cancel.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signals.leadership.addEventListener('abort', done, { once: true });
    signals.cancel.addEventListener('abort', done, { once: true });
  });
}
