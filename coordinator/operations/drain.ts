// ENABLE maintenance: drain a host, one pass at a time from the record.
// Every attempt's target and migration id are written before the agent is
// called; every outcome is written before the next step starts.
import { errorMessage } from '../../common/errors.ts';
import { resolvePolicy, type InventorySnapshot, type ServerRecord } from '../model.ts';
import { pickTarget, type PickedTarget } from '../planner/index.ts';
import { NoValidTargetError } from '../planner/index.ts';
import { decideAfterFailure, limitBlocking, migrationIdFor } from './decide.ts';
import { pause, zonePolicy, type EngineContext, type WorkerSignals } from './context.ts';
import { setState } from './op-store.ts';
import { runStep, type OutcomeRules } from './run-step.ts';
import { releaseHolds, skipStep, updateStep } from './steps.ts';
import { TERMINAL_STEP_PHASES, type OperationRecord } from './types.ts';
import type { Worker } from './worker.ts';

/** A drain's steps: a move is remembered for a later return; a failure retries elsewhere, degrades or pauses. */
const DRAIN_OUTCOMES: OutcomeRules = {
  recordsMovedAway: true,
  onFailure: async (ctx, opId, i, step, error, sig) => {
    const snapshot = await ctx.inventory.snapshot();
    const server = snapshot.servers.find((s) => s.uuid === step.serverUuid);
    await handleFailure(ctx, opId, i, error, server, sig, true, snapshot);
  },
};

/** ENABLE maintenance: attempts run concurrently up to the zone's per-source limit. */
export const drainWorker: Worker = (ctx, opId, sig) => {
  const inFlight = new Map<number, Promise<void>>();
  let waitingNote = '';
  // A step that throws (a store call still failing after its retries while a
  // NATS node is away) stays mid-attempt in the record: logged, held for a
  // back-off, then resumed by the next pass. Never a rejection nobody awaits
  // (that exits the process).
  const track = (i: number) =>
    inFlight.set(
      i,
      runStep(ctx, opId, i, sig, DRAIN_OUTCOMES)
        .catch(async (err: unknown) => {
          if (sig.leadership.aborted) return;
          sig.log.warn({ step: i, err: errorMessage(err) }, 'step interrupted; resuming it from the record');
          await pause(ctx.pollIntervalMs * 2, sig);
        })
        .finally(() => inFlight.delete(i)),
    );
  return {
    pass: async (op) => {
      if (op.state === 'pending') {
        await startDrain(ctx, op);
        return 'again';
      }
      // Resume steps left mid-attempt by a previous leader first.
      for (const [i, s] of op.steps.entries()) {
        if ((s.phase === 'migrating' || s.phase === 'stopping') && !inFlight.has(i)) track(i);
      }
      if (op.steps.every((s) => TERMINAL_STEP_PHASES.has(s.phase)) && inFlight.size === 0) {
        await completeDrain(ctx, op);
        return 'end';
      }
      const policy = await zonePolicy(ctx, op.zoneId, sig.leadership);
      const next = op.steps.findIndex((s, i) => s.phase === 'pending' && !inFlight.has(i));
      if (next >= 0 && inFlight.size < policy.maxMigrationsPerSource) {
        const started = await beginAttempt(ctx, op, next, await ctx.inventory.snapshot(sig.leadership), sig);
        if (started === 'started') {
          waitingNote = '';
          track(next);
          return 'again';
        }
        if (started === 'retry-now') return 'again';
        if (started !== waitingNote) {
          waitingNote = started;
          await ctx.ops.emit(op, { type: 'message', message: `waiting: ${started}` });
        }
      }
      // Something is running or must wait for room: re-queue with a delay, never spin.
      await Promise.race([pause(ctx.pollIntervalMs, sig), ...inFlight.values()]);
      return 'again';
    },
    cancel: async () => {
      // Running attempts see the cancel signal and abort their migration.
      await Promise.allSettled(inFlight.values());
      await finishCancel(ctx, opId);
    },
    settle: async () => {
      await Promise.allSettled(inFlight.values());
    },
  };
};

async function startDrain(ctx: EngineContext, op: OperationRecord): Promise<void> {
  await ctx.ops.update(
    op.id,
    (o) => (o.state === 'pending' ? setState(o, 'running', `draining ${o.hostId}: ${o.steps.length} server(s)`) : undefined),
    (o) => [{ type: 'state', message: o.reason }],
  );
}

async function completeDrain(ctx: EngineContext, op: OperationRecord): Promise<void> {
  await releaseHolds(ctx, op);
  await ctx.hosts.mutate(op.hostId, (h) => {
    if (h.maintenanceOpId !== op.id) return undefined;
    h.maintenance = 'in_maintenance';
    return h;
  });
  const moved = op.movedAway.length;
  const stopped = op.steps.filter((s) => s.action === 'stop' && s.phase === 'done').length;
  await ctx.ops.update(
    op.id,
    (o) => (o.state === 'running' ? setState(o, 'succeeded', `${o.hostId} is in maintenance: ${moved} moved, ${stopped} stopped`) : undefined),
    (o) => [{ type: 'state', message: o.reason }],
  );
}

async function finishCancel(ctx: EngineContext, opId: string): Promise<void> {
  await releaseHolds(ctx, (await ctx.ops.require(opId)).value);
  await ctx.ops.update(
    opId,
    (o) => {
      if (o.state === 'cancelled') return undefined;
      for (const s of o.steps) if (s.phase === 'pending') s.phase = 'cancelled';
      const done = o.steps.filter((s) => s.phase === 'done').length;
      return setState(
        o,
        'cancelled',
        `cancelled${o.cancelReason ? ` (${o.cancelReason})` : ''}: ${done} server(s) had moved; ${o.hostId} stays excluded (entering maintenance) until maintenance is enabled or disabled again`,
      );
    },
    (o) => [{ type: 'state', message: o.reason }],
  );
}

/**
 * Chooses the target of the next attempt and records it. Returns 'started',
 * 'retry-now' when the step changed without starting (skipped, degraded),
 * or why it has to wait.
 */
async function beginAttempt(ctx: EngineContext, op: OperationRecord, i: number, snapshot: InventorySnapshot, sig: WorkerSignals): Promise<string> {
  const step = op.steps[i]!;
  const server = snapshot.servers.find((s) => s.uuid === step.serverUuid);
  if (!server || server.hostId !== op.hostId) {
    await skipStep(ctx, op.id, i, server ? `now on ${server.hostId}, no longer on ${op.hostId}` : 'no longer exists');
    return 'retry-now';
  }
  // Still moving under another operation (the paused drain this one
  // superseded): that attempt keeps its capacity hold until it ends, and a
  // second attempt would be refused ("already migrating"). Afterwards the
  // server is on its target (skipped above) or back here to be moved.
  const moving = ctx.active.get(step.serverUuid);
  if (moving && moving.operationId !== op.id) return `${step.serverName} is still migrating under ${moving.operationId}`;
  if (step.action === 'none') {
    await skipStep(ctx, op.id, i, step.reason);
    return 'retry-now';
  }
  if (step.action === 'stop') {
    await updateStep(
      ctx,
      op.id,
      i,
      (s) => {
        s.phase = 'stopping';
        s.attempt += 1;
        s.startedAtMs ||= ctx.clock();
      },
      'step',
    );
    return 'started';
  }
  const zone = snapshot.zones.find((z) => z.id === op.zoneId);
  const policy = resolvePolicy(zone?.policy ?? {});
  let picked: PickedTarget;
  await ctx.cpu?.prepare(snapshot, op.hostId, sig.leadership);
  try {
    picked = pickTarget(snapshot, server, op.hostId, step.triedTargets, ctx.reservations, {
      operationId: op.id,
      cpuCompatible: ctx.cpu?.compatible(),
    });
  } catch (err) {
    if (!(err instanceof NoValidTargetError)) throw err;
    await handleFailure(ctx, op.id, i, errorMessage(err), server, sig, false);
    return 'retry-now';
  }
  const blocked = limitBlocking({ sourceHostId: op.hostId, targetHostId: picked.hostId, zoneId: op.zoneId }, [...ctx.active.values()], policy);
  if (blocked) return blocked;
  ctx.reservations.reserve(picked.reservation);
  ctx.active.set(step.serverUuid, { sourceHostId: op.hostId, targetHostId: picked.hostId, zoneId: op.zoneId, operationId: op.id });
  try {
    await updateStep(
      ctx,
      op.id,
      i,
      (s) => {
        s.attempt += 1;
        s.phase = 'migrating';
        s.targetHostId = picked.hostId;
        s.migrationId = migrationIdFor(op.id, i, s.attempt + (s.action === 'cold' ? 100 : 0));
        s.triedTargets = [...s.triedTargets, picked.hostId];
        // A step degraded to cold stays cold even if the server could go live.
        if (s.action === 'live' && picked.action === 'COLD_MIGRATE') s.action = 'cold';
        s.reason = picked.reason;
        s.percent = 0;
        s.bytesProcessed = 0;
        s.error = '';
        s.startedAtMs ||= ctx.clock();
      },
      'step',
    );
  } catch (err) {
    ctx.reservations.release(step.serverUuid);
    ctx.active.delete(step.serverUuid);
    throw err;
  }
  await ctx.servers.mutate(step.serverUuid, (s) => (s.operationId === op.id ? undefined : { ...s, operationId: op.id })).catch(() => undefined);
  return 'started';
}

/** Failure of attempt `step.attempt`: retry elsewhere, degrade, or pause. */
async function handleFailure(
  ctx: EngineContext,
  opId: string,
  i: number,
  error: string,
  server: ServerRecord | undefined,
  _sig: WorkerSignals,
  attempted: boolean,
  snapshot?: InventorySnapshot,
): Promise<void> {
  const op = (await ctx.ops.require(opId)).value;
  const step = op.steps[i]!;
  const snap = snapshot ?? (await ctx.inventory.snapshot());
  const zone = snap.zones.find((z) => z.id === op.zoneId);
  const policy = resolvePolicy(zone?.policy ?? {});
  let another = false;
  if (server && attempted) {
    try {
      pickTarget(snap, server, op.hostId, step.triedTargets, ctx.reservations, { cpuCompatible: ctx.cpu?.compatible() });
      another = true;
    } catch {
      another = false;
    }
  }
  const d = decideAfterFailure(step, policy, op.stopUnmigratable, another, error);
  await ctx.ops.update(
    opId,
    (o) => {
      const s = o.steps[i]!;
      s.error = error;
      s.reason = d.reason;
      s.phase = 'pending';
      s.percent = 0;
      if (d.kind === 'degrade') {
        s.action = d.to;
        s.triedTargets = [];
        s.attempt = 0;
        s.targetHostId = '';
      }
      if (d.kind === 'pause') setState(o, 'paused', d.reason);
      return o;
    },
    (o) => [
      { type: 'step', step: o.steps[i]!, message: `${step.serverName}: ${d.reason}` },
      ...(d.kind === 'pause' ? [{ type: 'state' as const, message: o.reason }] : []),
    ],
  );
}
