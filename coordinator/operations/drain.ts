// ENABLE maintenance: drain a host, one pass at a time from the record.
// Every attempt's target and migration id are written before the agent is
// called; every outcome is written before the next step starts.
import { setMaxListeners } from 'node:events';
import { errorMessage } from '../../common/errors.ts';
import { resolvePolicy, type InventorySnapshot, type ServerRecord } from '../model.ts';
import { NoValidTargetError, pickTarget, type PickedTarget, type Reservations } from '../planner/index.ts';
import { decideAfterFailure, limitBlocking, migrationIdFor } from './decide.ts';
import { pause, zonePolicy, type EngineContext, type WorkerSignals } from './context.ts';
import { FencedWriteError, setState } from './op-store.ts';
import { movedNotAlive, notAliveSummary } from './guest-health.ts';
import { runStep, type KnownAttempt, type OutcomeRules } from './run-step.ts';
import { releaseHolds, skipStep, updateSteps } from './steps.ts';
import { targetOnceMovesEnd } from './settling-targets.ts';
import { placeOnView } from './placement-view.ts';
import type { ZoneSnapshot } from '../inventory/zone-snapshot.ts';
import { TERMINAL_STEP_PHASES, type OperationRecord } from './types.ts';
import type { Worker } from './worker.ts';

/** A drain's steps: a move is remembered for a later return; a failure retries elsewhere, degrades or pauses. */
const DRAIN_OUTCOMES: OutcomeRules = {
  onFailure: (ctx, opId, i, _step, error, sig) => handleFailure(ctx, opId, i, error, sig, true),
};

/**
 * ENABLE maintenance: attempts run concurrently up to the zone's per-source
 * limit. Each pass starts as many as there is room for, placed one after
 * the other against one snapshot and the reservations (so no two are
 * promised the same capacity) and recorded in one write: serial starts
 * kept a limit of 8 at 1 when a start took longer than a migration.
 */
export const drainWorker: Worker = (ctx, opId, sig) => {
  // Every running attempt listens on both signals (up to the source limit, 8 or more): not a leak.
  setMaxListeners(0, sig.leadership, sig.cancel);
  const inFlight = new Map<number, Promise<void>>();
  let waitingNote = '';
  /** A step's write was refused: a newer leader wrote the operation; the next pass throws it (the engine steps down). */
  let fenced: FencedWriteError | null = null;
  // A step that throws (a store call still failing after its retries while a
  // NATS node is away) stays mid-attempt in the record: logged, held for a
  // back-off, then resumed by the next pass. Never a rejection nobody awaits
  // (that exits the process).
  const track = (i: number, known?: KnownAttempt) =>
    inFlight.set(
      i,
      runStep(ctx, opId, i, sig, DRAIN_OUTCOMES, known)
        .catch(async (err: unknown) => {
          if (sig.leadership.aborted) return;
          if (err instanceof FencedWriteError) {
            fenced = err;
            return;
          }
          sig.log.warn({ step: i, err: errorMessage(err) }, 'step interrupted; resuming it from the record');
          await pause(ctx.pollIntervalMs * 2, sig);
        })
        .finally(() => inFlight.delete(i)),
    );
  return {
    pass: async (op) => {
      if (fenced) throw fenced;
      if (op.state === 'pending') {
        await startDrain(ctx, op);
        return 'again';
      }
      // Resume steps left mid-attempt (by a previous leader, or by a step
      // of this one that threw) first. Given the step as read, runStep holds
      // its target's capacity again before this pass places anything.
      for (const [i, s] of op.steps.entries()) {
        if ((s.phase === 'migrating' || s.phase === 'stopping') && !inFlight.has(i)) track(i, { step: s, zoneId: op.zoneId });
        // The hold (and the running mark) a step that threw kept (run-step.ts), its outcome written after all: nothing runs for it any more.
        else if (s.phase === 'pending' && !inFlight.has(i) && ctx.reservations.get(s.serverUuid)?.operationId === op.id) {
          ctx.reservations.release(s.serverUuid);
          ctx.active.delete(s.serverUuid);
        }
      }
      if (op.steps.every((s) => TERMINAL_STEP_PHASES.has(s.phase)) && inFlight.size === 0) {
        await completeDrain(ctx, op);
        return 'end';
      }
      const policy = await zonePolicy(ctx, op.zoneId, sig.leadership);
      const room = policy.maxMigrationsPerSource - inFlight.size;
      const next = op.steps.flatMap((s, i) => (s.phase === 'pending' && !inFlight.has(i) ? [i] : [])).slice(0, Math.max(0, room));
      if (next.length > 0) {
        const r = await startAttempts(ctx, op, next, new Set(inFlight.keys()), sig);
        for (const [i, known] of r.started) track(i, known);
        if (r.started.size > 0) waitingNote = '';
        if (r.again) return 'again';
        // Started as many as there was room for (or all): wait below for one to end.
        if (r.waiting && r.waiting !== waitingNote) {
          waitingNote = r.waiting;
          await ctx.ops.emit(op, { type: 'message', message: `waiting: ${r.waiting}` });
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
  // "moved" counts the servers moved alive; a guest that crashed or rebooted
  // right after its move is named apart (guest-health.ts).
  const notAlive = new Set(op.steps.filter(movedNotAlive).map((s) => s.serverUuid));
  const moved = op.movedAway.filter((m) => !notAlive.has(m.serverUuid)).length;
  const stopped = op.steps.filter((s) => s.action === 'stop' && s.phase === 'done').length;
  const summary = `${op.hostId} is in maintenance: ${moved} moved${notAliveSummary(op.steps)}, ${stopped} stopped`;
  await ctx.ops.update(
    op.id,
    (o) => (o.state === 'running' ? setState(o, 'succeeded', summary) : undefined),
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
 * A placement snapshot of the source's zone, zone CPU answers prepared
 * against it. placeOnView (placement-view.ts) reads another while it is
 * older than a move whose hold was released.
 */
async function placementSnapshot(ctx: EngineContext, sourceHostId: string, sig: WorkerSignals): Promise<ZoneSnapshot> {
  const read = await ctx.inventory.zoneSnapshot(sourceHostId, sig.leadership);
  await ctx.cpu?.prepare(read.snapshot, sourceHostId, sig.leadership);
  return read;
}

/** picked: the target (null for a stop). */
type Choice = { kind: 'start'; picked: PickedTarget | null } | { kind: 'write'; write: () => Promise<void> } | { kind: 'wait'; reason: string };

/**
 * Starts attempts for the given pending steps, in order, until one has to
 * wait. Returns the steps started, whether a step changed without starting
 * (skipped, degraded: look again now), and why the rest wait.
 */
async function startAttempts(
  ctx: EngineContext,
  op: OperationRecord,
  indices: number[],
  running: ReadonlySet<number>,
  sig: WorkerSignals,
): Promise<{ started: Map<number, KnownAttempt>; again: boolean; waiting: string }> {
  const started = new Map<number, PickedTarget | null>();
  const writes: (() => Promise<void>)[] = [];
  let waiting = '';
  // Synchronous from the copy of the holds to the last choice: each choice sees the holds of the ones before.
  const snapshot = await placeOnView(
    ctx,
    () => placementSnapshot(ctx, op.hostId, sig),
    (snapshot, promised) => {
      const servers = new Map(snapshot.servers.map((s) => [s.uuid, s]));
      for (const i of indices) {
        const c = chooseAttempt(ctx, op, i, servers.get(op.steps[i]!.serverUuid), snapshot, promised, sig);
        if (c.kind === 'start') started.set(i, c.picked);
        else if (c.kind === 'write') writes.push(c.write);
        else {
          waiting = c.reason;
          break;
        }
      }
      return snapshot;
    },
  );
  let written: OperationRecord | null;
  try {
    // Lost the lease while placing: the next leader starts these (a write already sent is fenced by the term, op-store.ts).
    sig.leadership.throwIfAborted();
    written = await recordStarts(ctx, op, started, running);
  } catch (err) {
    for (const i of started.keys()) {
      ctx.reservations.release(op.steps[i]!.serverUuid);
      ctx.active.delete(op.steps[i]!.serverUuid);
    }
    throw err;
  }
  for (const w of writes) await w();
  const policy = resolvePolicy(snapshot.zones.find((z) => z.id === op.zoneId)?.policy ?? {});
  const uris = new Map(snapshot.hosts.map((h) => [h.id, h.migrationUri]));
  const known = new Map<number, KnownAttempt>();
  for (const [i, picked] of started) {
    const step = written?.steps[i];
    if (step && (step.phase === 'migrating' || step.phase === 'stopping')) {
      known.set(i, { step, zoneId: op.zoneId, policy, targetUri: picked ? (uris.get(picked.hostId) ?? '') : '' });
    } else {
      // Not recorded as started (the record changed under us): nothing runs, nothing is held.
      ctx.reservations.release(op.steps[i]!.serverUuid);
      ctx.active.delete(op.steps[i]!.serverUuid);
    }
  }
  return { started: known, again: writes.length > 0, waiting };
}

/**
 * Chooses what becomes of pending step i now: an attempt (target reserved
 * and marked active, written by recordStarts), a write that changes it
 * without starting (skip, failure), or a wait.
 */
function chooseAttempt(
  ctx: EngineContext,
  op: OperationRecord,
  i: number,
  server: ServerRecord | undefined,
  snapshot: InventorySnapshot,
  promised: Reservations,
  sig: WorkerSignals,
): Choice {
  const step = op.steps[i]!;
  if (!server || server.hostId !== op.hostId) {
    return { kind: 'write', write: () => skipStep(ctx, op.id, i, server ? `now on ${server.hostId}, no longer on ${op.hostId}` : 'no longer exists') };
  }
  // Still moving under another operation (the paused drain this one
  // superseded): that attempt keeps its capacity hold until it ends, and a
  // second attempt would be refused ("already migrating"). Afterwards the
  // server is on its target (skipped above) or back here to be moved.
  const moving = ctx.active.get(step.serverUuid);
  if (moving && moving.operationId !== op.id) return { kind: 'wait', reason: `${step.serverName} is still migrating under ${moving.operationId}` };
  if (step.action === 'none') return { kind: 'write', write: () => skipStep(ctx, op.id, i, step.reason) };
  const zone = snapshot.zones.find((z) => z.id === op.zoneId);
  const policy = resolvePolicy(zone?.policy ?? {});
  let targetHostId = '';
  let picked: PickedTarget | null = null;
  if (step.action !== 'stop') {
    const options = { operationId: op.id, cpuCompatible: ctx.cpu?.compatible() };
    try {
      picked = pickTarget(snapshot, server, op.hostId, step.triedTargets, promised, options);
    } catch (err) {
      if (!(err instanceof NoValidTargetError)) throw err;
      // Not failed on a view that may count a move twice (settling-targets.ts).
      const incoming = new Set([...ctx.active.values()].map((a) => a.targetHostId));
      const later = targetOnceMovesEnd(snapshot, server, op.hostId, step.triedTargets, promised, options, incoming);
      if (later)
        return { kind: 'wait', reason: `${step.serverName} fits on ${later} by its records, not yet by its report: waiting for the moves into it to end` };
      return { kind: 'write', write: () => handleFailure(ctx, op.id, i, errorMessage(err), sig, false) };
    }
    targetHostId = picked.hostId;
  }
  const blocked = picked ? limitBlocking({ sourceHostId: op.hostId, targetHostId, zoneId: op.zoneId }, [...ctx.active.values()], policy) : null;
  if (blocked) return { kind: 'wait', reason: blocked };
  if (picked) {
    ctx.reservations.reserve(picked.reservation);
    promised.reserve(picked.reservation);
    ctx.active.set(step.serverUuid, { sourceHostId: op.hostId, targetHostId, zoneId: op.zoneId, operationId: op.id });
  }
  return { kind: 'start', picked };
}

/**
 * Records the chosen attempts in one write, then claims their servers. Only
 * onto the record the pass decided on (checked again in every CAS round):
 * the chosen steps still pending, and no attempt running that this worker
 * does not run (one recorded by another leader would be over the limit).
 */
async function recordStarts(
  ctx: EngineContext,
  op: OperationRecord,
  picks: Map<number, PickedTarget | null>,
  running: ReadonlySet<number>,
): Promise<OperationRecord | null> {
  const indices = [...picks.keys()];
  // Set by the last CAS round: false when the record was not as decided and nothing was written.
  let decided = false;
  const asDecided = (o: OperationRecord) =>
    (decided =
      indices.every((i) => o.steps[i]!.phase === 'pending') && o.steps.every((s, j) => (s.phase !== 'migrating' && s.phase !== 'stopping') || running.has(j)));
  const written = await updateSteps(
    ctx,
    op.id,
    indices,
    (s, i) => {
      const picked = picks.get(i);
      s.attempt += 1;
      s.startedAtMs ||= ctx.clock();
      if (!picked) {
        s.phase = 'stopping';
        return;
      }
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
    },
    asDecided,
  );
  if (!decided) return null;
  const moving = indices.filter((i) => picks.get(i));
  await Promise.all(
    moving.map((i) =>
      ctx.servers
        .mutateFrom(ctx.inventory.serverRecord(op.steps[i]!.serverUuid), op.steps[i]!.serverUuid, (s) =>
          s.operationId === op.id ? undefined : { ...s, operationId: op.id },
        )
        .catch(() => undefined),
    ),
  );
  return written;
}

/** Failure of attempt `step.attempt`: retry elsewhere, degrade, or pause. */
async function handleFailure(ctx: EngineContext, opId: string, i: number, error: string, sig: WorkerSignals, attempted: boolean): Promise<void> {
  const op = (await ctx.ops.require(opId)).value;
  const step = op.steps[i]!;
  // Counted as the drain's placement counts (placement-view.ts): a move counted twice paused where a retry elsewhere was possible.
  const [policy, another] = await placeOnView(
    ctx,
    () => ctx.inventory.zoneSnapshot(op.hostId, sig.leadership),
    (snap, holds) => {
      const server = snap.servers.find((s) => s.uuid === step.serverUuid);
      return [
        resolvePolicy(snap.zones.find((z) => z.id === op.zoneId)?.policy ?? {}),
        !!server && attempted && fitsSomewhere(snap, server, op.hostId, step.triedTargets, holds, ctx),
      ] as const;
    },
  );
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
    undefined,
    [i],
  );
}

/** Whether pickTarget finds a target for the server (the "another target?" of a failure). */
function fitsSomewhere(snap: InventorySnapshot, server: ServerRecord, sourceHostId: string, tried: string[], holds: Reservations, ctx: EngineContext): boolean {
  try {
    pickTarget(snap, server, sourceHostId, tried, holds, { cpuCompatible: ctx.cpu?.compatible() });
    return true;
  } catch {
    return false;
  }
}
