// RETURN servers: move the servers a maintenance moved away back to their
// host, on request (never automatically). Same checks and executor as a
// drain, with one fixed target: a server that no longer fits there is
// skipped with the checks that refused it.
import { resolvePolicy, type InventorySnapshot, type ServerRecord } from '../model.ts';
import { evaluateCandidates, indexSnapshot, moveMode, reservationFor, type MoveMode, type Reservations } from '../planner/index.ts';
import { limitBlocking, migrationIdFor } from './decide.ts';
import { pause, type EngineContext, type WorkerSignals } from './context.ts';
import { runStep, type OutcomeRules } from './run-step.ts';
import { placeOnView } from './placement-view.ts';
import { releaseHolds, skipStep, updateStep } from './steps.ts';
import { setState } from './op-store.ts';
import { movedNotAlive, notAliveSummary } from './guest-health.ts';
import { TERMINAL_STEP_PHASES, type OperationRecord } from './types.ts';
import type { Worker } from './worker.ts';

/**
 * A return's steps: nothing is remembered as moved away, and since a return
 * has one possible target, a failure ends that server's step.
 */
const RETURN_OUTCOMES: OutcomeRules = {
  onFailure: (ctx, opId, i, _step, error) =>
    updateStep(
      ctx,
      opId,
      i,
      (s) => {
        s.phase = 'failed';
        s.error = error;
        s.reason = `could not move back: ${error}`;
        s.finishedAtMs = ctx.clock();
      },
      'step',
    ),
};

/** RETURN servers: one server at a time, each to the operation's host. */
export const returnServersWorker: Worker = (ctx, opId, sig) => ({
  pass: async (op) => {
    if (op.state === 'pending') {
      await ctx.ops.update(
        opId,
        (o) => setState(o, 'running', `returning ${o.steps.length} server(s) to ${o.hostId}`),
        (o) => [{ type: 'state', message: o.reason }],
      );
      return 'again';
    }
    const resume = op.steps.findIndex((s) => s.phase === 'migrating');
    if (resume >= 0) {
      await runStep(ctx, opId, resume, sig, RETURN_OUTCOMES);
      return 'again';
    }
    const i = op.steps.findIndex((s) => s.phase === 'pending');
    if (i < 0) {
      await completeReturn(ctx, op);
      return 'end';
    }
    if (!op.steps.every((s) => TERMINAL_STEP_PHASES.has(s.phase) || s.phase === 'pending')) return 'again';
    if (await beginReturn(ctx, op, i, sig)) await runStep(ctx, opId, i, sig, RETURN_OUTCOMES);
    return 'again';
  },
  cancel: async (op) => {
    const running = op.steps.findIndex((s) => s.phase === 'migrating');
    if (running >= 0) await runStep(ctx, opId, running, sig, RETURN_OUTCOMES);
    await releaseHolds(ctx, op);
    await ctx.ops.update(
      opId,
      (o) => {
        for (const s of o.steps) if (s.phase === 'pending') s.phase = 'cancelled';
        return setState(o, 'cancelled', `cancelled${o.cancelReason ? ` (${o.cancelReason})` : ''}`);
      },
      (o) => [{ type: 'state', message: o.reason }],
    );
  },
});

async function completeReturn(ctx: EngineContext, op: OperationRecord): Promise<void> {
  await releaseHolds(ctx, op);
  const back = op.steps.filter((s) => s.phase === 'done' && !movedNotAlive(s)).length;
  const notBack = op.steps.filter((s) => s.phase !== 'done');
  await ctx.ops.update(
    op.id,
    (o) =>
      setState(
        o,
        'succeeded',
        `${back} of ${o.steps.length} server(s) back on ${o.hostId}${notAliveSummary(o.steps)}${notBack.length ? `; not returned: ${notBack.map((s) => `${s.serverName} (${s.reason || s.phase})`).join('; ')}` : ''}`,
      ),
    (o) => [{ type: 'state', message: o.reason }],
  );
}

/** What a return step does now: skipped with a reason, waits for the zone's limits, or starts (its hold taken). */
type ReturnChoice = { kind: 'skip'; reason: string } | { kind: 'wait' } | { kind: 'start'; server: ServerRecord; mode: MoveMode };

/**
 * Checks that step i's server still fits on the operation's host and that
 * the zone's limits allow a migration now; if so, reserves the room and
 * records the attempt (true: run it). Otherwise the step is skipped with
 * the checks that refused it, or the pass waits for room (false). Counted
 * as the drain's placement counts (placement-view.ts): a snapshot no older
 * than any move whose hold was released, paired with the holds beside it.
 */
async function beginReturn(ctx: EngineContext, op: OperationRecord, i: number, sig: WorkerSignals): Promise<boolean> {
  const opId = op.id;
  const step = op.steps[i]!;
  const choice = await placeOnView(
    ctx,
    async () => {
      const read = await ctx.inventory.snapshotAt(sig.leadership);
      const server = read.snapshot.servers.find((s) => s.uuid === step.serverUuid);
      if (server) await ctx.cpu?.prepare(read.snapshot, server.hostId, sig.leadership);
      return read;
    },
    (snapshot, holds) => chooseReturn(ctx, op, step.serverUuid, snapshot, holds),
  );
  if (choice.kind === 'skip') {
    await skipStep(ctx, opId, i, choice.reason);
    return false;
  }
  if (choice.kind === 'wait') {
    await pause(ctx.pollIntervalMs, sig);
    return false;
  }
  const { server, mode } = choice;
  await ctx.servers.mutate(server.uuid, (r) => (r.operationId === opId ? undefined : { ...r, operationId: opId })).catch(() => undefined);
  await updateStep(
    ctx,
    opId,
    i,
    (s) => {
      s.attempt += 1;
      s.phase = 'migrating';
      s.sourceHostId = server.hostId;
      s.targetHostId = op.hostId;
      s.action = mode.action === 'LIVE_MIGRATE' ? 'live' : 'cold';
      s.wasRunning = mode.wasRunning;
      s.migrationId = migrationIdFor(opId, i, s.attempt);
      s.triedTargets = [op.hostId];
      s.reason = `${mode.why} back to ${op.hostId}`;
      s.startedAtMs = ctx.clock();
    },
    'step',
  );
  return true;
}

/** Synchronous, in the section placeOnView gives it: the verdict and the hold it takes see the same holds. */
function chooseReturn(ctx: EngineContext, op: OperationRecord, serverUuid: string, snapshot: InventorySnapshot, holds: Reservations): ReturnChoice {
  const server = snapshot.servers.find((s) => s.uuid === serverUuid);
  if (!server) return { kind: 'skip', reason: 'no longer exists' };
  if (server.hostId === op.hostId) return { kind: 'skip', reason: `already on ${op.hostId}` };
  const index = indexSnapshot(snapshot);
  const source = index.hostsById.get(server.hostId);
  const zone = source ? index.zonesById.get(source.zoneId) : undefined;
  if (!source || !zone) return { kind: 'skip', reason: `its host ${server.hostId} is not in a known zone` };
  const policy = resolvePolicy(zone.policy);
  const verdicts = evaluateCandidates({ index, server, source, zone, policy, reservations: holds, cpuCompatible: ctx.cpu?.compatible() });
  const mine = verdicts.find((v) => v.hostId === op.hostId);
  if (!mine || !mine.eligible) {
    const why = mine
      ? mine.checks
          .filter((c) => c.verdict === 'skip' || c.verdict === 'block')
          .map((c) => `${c.check}: ${c.reason}`)
          .join('; ')
      : `${op.hostId} is not in zone ${zone.id}`;
    return { kind: 'skip', reason: `no longer fits on ${op.hostId}: ${why}` };
  }
  if (limitBlocking({ sourceHostId: server.hostId, targetHostId: op.hostId, zoneId: zone.id }, [...ctx.active.values()], policy)) return { kind: 'wait' };
  const target = index.hostsById.get(op.hostId)!;
  ctx.reservations.reserve(reservationFor(server, target, op.id));
  ctx.active.set(server.uuid, { sourceHostId: server.hostId, targetHostId: op.hostId, zoneId: zone.id, operationId: op.id });
  return { kind: 'start', server, mode: moveMode(server) };
}
