// The leader's executor of maintenance operations. On gaining the lease it
// reads the active index (the unfinished operations, op-layout.ts) and runs
// one worker per operation; each
// worker reads its record, does at most one step per pass, and writes the
// result with CAS before the next (KubeVirt's migration controller). On
// losing the lease every worker detaches at once: agents keep migrating,
// and the next leader re-attaches by migration id. A leadership's workers
// write through a store fenced by its lease term (op-store.ts): a write
// refused there means a newer leader exists, and this one steps down.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, NotFoundError, UnavailableError } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import type { AgentClient } from '../agent-client.ts';
import { Reservations } from '../planner/index.ts';
import type { EngineContext, EngineDeps } from './context.ts';
import { isTerminal } from './types.ts';
import type { OperationHeader } from './op-layout.ts';
import { FencedWriteError } from './op-store.ts';
import { runWorker, type WorkerRegistry } from './worker.ts';

export interface EngineOptions extends EngineDeps {
  /** The worker of each kind of operation (the engine imports none of them). */
  workers: WorkerRegistry;
}

/** A worker running on this instance. */
interface Running {
  done: Promise<void>;
  cancel: AbortController;
}

export class MaintenanceEngine {
  private readonly runs = new Map<string, Running>();
  private readonly kinds: WorkerRegistry;
  private readonly ctx: EngineContext;
  private readonly log: Logger;
  private wake: (() => void) | null = null;
  private unhook: (() => void) | null = null;
  /** Stopping the engine detaches its workers as losing the lease does. */
  private readonly stopper = new AbortController();

  constructor(opts: EngineOptions) {
    const { workers, ...deps } = opts;
    this.kinds = workers;
    this.log = deps.logger.child({ component: 'maintenance-engine' });
    this.ctx = {
      ...deps,
      clock: deps.clock ?? Date.now,
      active: new Map(),
      reservations: new Reservations(),
      agentFor: (hostId, signal) => this.agentFor(hostId, signal),
      kick: () => this.kick(),
    };
  }

  start(): void {
    this.unhook = this.ctx.leader.onLeadership((signal, term) => this.lead(signal, term));
  }

  async stop(): Promise<void> {
    this.unhook?.();
    this.stopper.abort(new Error('maintenance engine stopped'));
    this.kick();
    await Promise.allSettled([...this.runs.values()].map((w) => w.done));
  }

  /** Look at the records now (a new operation, a cancel request). */
  kick(): void {
    this.wake?.();
  }

  /** Reservations of running migrations (for plans made on this instance). */
  reservations(): Reservations {
    return this.ctx.reservations;
  }

  /** Operation ids with a worker on this instance (tests, metrics). */
  running(): string[] {
    return [...this.runs.keys()];
  }

  private async agentFor(hostId: string, signal?: AbortSignal): Promise<AgentClient> {
    const host = await this.ctx.inventory.hostRecord(hostId, signal);
    if (!host) throw new NotFoundError('host', hostId);
    const endpoint = this.ctx.inventory.hostLiveness(hostId)?.grpcEndpoint || host.grpcEndpoint;
    if (!endpoint) throw new UnavailableError(`host ${hostId} has no agent endpoint`);
    return this.ctx.agents.forHost(hostId, endpoint);
  }

  private async lead(lease: AbortSignal, term: number): Promise<void> {
    if (this.stopper.signal.aborted) return;
    const leadership = AbortSignal.any([lease, this.stopper.signal]);
    // This leadership's workers write with its term as their fencing token.
    const ctx: EngineContext = { ...this.ctx, ops: this.ctx.ops.fenced(term) };
    this.log.info('leading: resuming unfinished operations');
    const onLost = () => this.wake?.();
    leadership.addEventListener('abort', onLost, { once: true });
    while (!leadership.aborted) {
      try {
        // The active index: finished operations are never read again.
        for (const op of await this.ctx.ops.listActive(leadership)) {
          if (isTerminal(op)) continue;
          const w = this.runs.get(op.id);
          if (w) {
            if (op.cancelRequested && !w.cancel.signal.aborted) w.cancel.abort();
            continue;
          }
          this.spawn(ctx, op, leadership);
        }
      } catch (err) {
        if (!leadership.aborted) this.log.warn({ err: errorMessage(err) }, 'listing operations failed');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.ctx.pollIntervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    await Promise.allSettled([...this.runs.values()].map((w) => w.done));
    this.log.info('no longer leading: workers detached');
  }

  private spawn(ctx: EngineContext, op: OperationHeader, leadership: AbortSignal): void {
    const cancel = new AbortController();
    if (op.cancelRequested) cancel.abort();
    const log = this.log.child({ opId: op.id, hostId: op.hostId, kind: op.kind });
    const worker = Object.hasOwn(this.kinds, op.kind) ? this.kinds[op.kind] : undefined;
    const run = async () => {
      for (;;) {
        try {
          if (!worker) throw new Error(`no worker for operation kind ${op.kind}`);
          await runWorker(ctx, op.id, { leadership, cancel: cancel.signal, log }, worker);
          return;
        } catch (err) {
          if (leadership.aborted) return;
          if (err instanceof FencedWriteError) {
            // A newer leader wrote the operation: this lease is gone, whatever its own renew says.
            this.ctx.leader.fencedOut(err.term, err.message);
            return;
          }
          // A worker never dies silently: log, back off, and resume from the record.
          log.error({ err: errorMessage(err) }, 'worker failed; resuming from the record');
          await sleep(this.ctx.pollIntervalMs * 2, undefined, { signal: leadership }).catch(() => undefined);
        }
      }
    };
    const done = run().finally(() => {
      this.runs.delete(op.id);
      this.ctx.reservations.releaseOperation(op.id);
      for (const [k, a] of this.ctx.active) if (a.operationId === op.id) this.ctx.active.delete(k);
    });
    this.runs.set(op.id, { done, cancel });
  }
}
