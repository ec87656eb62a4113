// What admin handlers get: the coordinator's parts (deps) and, per call, the
// caller and a signal that aborts when the client cancels or the deadline passes.
import type { Logger } from '../../common/logging.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { LeaderElection } from '../leader.ts';
import type { Store } from '../store/store.ts';
import type { AgentClientPool } from '../agent-client.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import type { ReadModel } from '../reads/read-model.ts';

export interface AdminDeps {
  coordinatorId: string;
  store: Store;
  /** Zones, hosts and servers in memory for the admin reads (call its sync() first). */
  reads: ReadModel;
  inventory: Inventory;
  leader: LeaderElection;
  agents: AgentClientPool;
  logger: Logger;
  /** Prometheus metrics of this instance (modules feed their counters). */
  metrics: CoordinatorMetrics;
}

export interface CallContext {
  principal: Principal;
  /** Aborts when the call is cancelled by the client or its deadline passes. */
  signal: AbortSignal;
  logger: Logger;
  method: string;
}

/** A unary admin method: request in, response out, typed errors thrown. */
export type UnaryHandler<Req = any, Res = any> = (req: Req, ctx: CallContext) => Promise<Res>;

/** A server-streaming admin method: `send` each message; resolve to end the stream. */
export type StreamHandler<Req = any, Res = any> = (req: Req, ctx: CallContext, send: (msg: Res) => void) => Promise<void>;

/**
 * One group of admin methods (zones, hosts, maintenance, ...). A later
 * module drops in by providing handlers for method names; the service
 * takes the last group that defines a method.
 */
export interface HandlerGroup {
  unary?: Record<string, UnaryHandler>;
  stream?: Record<string, StreamHandler>;
}
