// Writes about one step of an operation, and the holds an operation takes
// on servers and targets: shared by every worker and by the service, so
// each record change is written the same way (CAS through the store, with
// its event) wherever it happens.
import type { EngineContext } from './context.ts';
import type { OperationRecord, StepRecord } from './types.ts';

export async function updateStep(ctx: EngineContext, opId: string, i: number, change: (s: StepRecord) => void, type: 'step' | 'progress'): Promise<void> {
  await ctx.ops.update(
    opId,
    (o) => {
      const s = o.steps[i];
      if (!s) return undefined;
      change(s);
      return o;
    },
    (o) => [
      {
        type,
        step: o.steps[i]!,
        message:
          type === 'progress'
            ? `${o.steps[i]!.serverName} ${o.steps[i]!.percent.toFixed(0)}%`
            : `${o.steps[i]!.serverName}: ${o.steps[i]!.phase}${o.steps[i]!.targetHostId ? ` → ${o.steps[i]!.targetHostId}` : ''}`,
      },
    ],
    undefined,
    [i],
  );
}

/**
 * The same change to several steps in one write, with one event per step:
 * attempts started together are recorded together (one CAS write, not one
 * per step racing the others on the same record). Returns the record as
 * stored (null when no steps were given).
 */
export async function updateSteps(
  ctx: EngineContext,
  opId: string,
  indices: readonly number[],
  change: (s: StepRecord, i: number) => void,
  /** Checked on the record as read in every CAS round: false writes nothing (the record is not what the caller decided on). */
  precondition: (o: OperationRecord) => boolean = () => true,
): Promise<OperationRecord | null> {
  if (indices.length === 0) return null;
  return ctx.ops.update(
    opId,
    (o) => {
      if (indices.some((i) => !o.steps[i]) || !precondition(o)) return undefined;
      for (const i of indices) change(o.steps[i]!, i);
      return o;
    },
    (o) =>
      indices.map((i) => {
        const s = o.steps[i]!;
        return { type: 'step' as const, step: s, message: `${s.serverName}: ${s.phase}${s.targetHostId ? ` → ${s.targetHostId}` : ''}` };
      }),
    undefined,
    indices,
  );
}

/** Ends a step without moving its server, saying why. */
export function skipStep(ctx: EngineContext, opId: string, i: number, reason: string): Promise<void> {
  return updateStep(
    ctx,
    opId,
    i,
    (s) => {
      s.phase = 'skipped';
      s.reason = reason;
      s.finishedAtMs = ctx.clock();
    },
    'step',
  );
}

/**
 * Clears the operation's claim on its servers (ServerRecord.operationId),
 * which keeps the inventory's reconcile from moving a record while the
 * engine owns it. Done when the operation ends, however it ends.
 */
export async function releaseServerClaims(ctx: Pick<EngineContext, 'servers'>, op: Pick<OperationRecord, 'id' | 'steps'>): Promise<void> {
  for (const s of op.steps) {
    await ctx.servers.mutate(s.serverUuid, (r) => (r.operationId === op.id ? { ...r, operationId: '' } : undefined)).catch(() => undefined);
  }
}

/**
 * Everything an ending operation holds: its capacity reservations on
 * targets and its claims on servers. Released before the terminal state is
 * written, so whoever sees that state may act on those hosts and servers at
 * once (the engine releases the reservations again when the worker ends).
 */
export async function releaseHolds(ctx: Pick<EngineContext, 'servers' | 'reservations'>, op: Pick<OperationRecord, 'id' | 'steps'>): Promise<void> {
  ctx.reservations.releaseOperation(op.id);
  await releaseServerClaims(ctx, op);
}
