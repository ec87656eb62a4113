// DISABLE maintenance: reboot the host through its agent, wait for it to
// come back as a new incarnation and healthy, return it to service. Hosts of
// one storage cluster return strictly one at a time, each followed by the
// settle pause and a check that it stayed up (docs/design.md invariant 6): an operation
// waits, visibly, until every earlier return of its cluster has finished.
import { errorMessage, UnavailableError } from '../../common/errors.ts';
import { pause, zonePolicy, type EngineContext, type WorkerSignals } from './context.ts';
import { setState } from './op-store.ts';
import { settleRemainingMs } from './decide.ts';
import { isTerminal, type OperationRecord } from './types.ts';
import type { OperationHeader } from './op-layout.ts';
import type { Worker } from './worker.ts';

/** How long an unreachable agent's reboot call is retried before the return pauses. */
const REBOOT_CALL_RETRY_MS = 30_000;

/** DISABLE maintenance: one stage per pass; the stage is in the record. */
export const returnToServiceWorker: Worker = (ctx, _opId, sig) => ({
  pass: async (op) => {
    const stage = op.stage || 'queued';
    switch (stage) {
      case 'queued':
        await stepQueued(ctx, op, sig);
        break;
      case 'rebooting':
        await stepReboot(ctx, op, sig);
        break;
      case 'waiting-for-host':
        await stepWaitForHost(ctx, op, sig);
        break;
      case 'health-check':
        await stepHealthCheck(ctx, op, sig);
        break;
      case 'settling':
        await stepSettle(ctx, op, sig);
        break;
      default:
        await move(ctx, op, 'failed', stage, `unknown stage ${stage}`);
    }
    return 'again';
  },
  cancel: (op) => cancelReturn(ctx, op),
});

async function move(ctx: EngineContext, op: OperationRecord, state: OperationRecord['state'], stage: string, reason: string): Promise<void> {
  await ctx.ops.update(
    op.id,
    (o) => (o.state === state && o.stage === stage && o.reason === reason ? undefined : setState(o, state, reason, stage)),
    (o) => [{ type: 'state', message: o.reason }],
  );
}

/** Earlier unfinished returns of the same storage cluster, oldest first. */
async function returnsAhead(ctx: EngineContext, op: OperationRecord): Promise<OperationHeader[]> {
  if (!op.storageCluster) return [];
  // Unfinished ones only: the active index, not every operation ever stored.
  const all = await ctx.ops.listActive();
  return all
    .filter(
      (o) =>
        o.kind === 'disable_maintenance' &&
        o.id !== op.id &&
        o.storageCluster === op.storageCluster &&
        !isTerminal(o) &&
        (o.createdAtMs < op.createdAtMs || (o.createdAtMs === op.createdAtMs && o.id < op.id)),
    )
    .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
}

async function stepQueued(ctx: EngineContext, op: OperationRecord, sig: WorkerSignals): Promise<void> {
  const ahead = await returnsAhead(ctx, op);
  if (ahead.length > 0) {
    const first = ahead[0]!;
    await move(
      ctx,
      op,
      'waiting',
      'queued',
      `waiting for ${first.hostId} to return and settle (storage cluster ${op.storageCluster}: one host at a time; ${ahead.length} ahead)`,
    );
    await pause(ctx.pollIntervalMs, sig);
    return;
  }
  const host = (await ctx.hosts.require(op.hostId)).value;
  // A drain that never finished (cancelled, paused) took nothing out of
  // service: its servers are still running there, so no reboot. A host left
  // returning by an earlier attempt that paused is rebooted again (unless
  // the operator says it already was: skip_reboot).
  const reboot = !op.skipReboot && (host.maintenance === 'in_maintenance' || host.maintenance === 'returning');
  await ctx.hosts.mutate(op.hostId, (h) => {
    if (h.maintenance === 'returning' && h.maintenanceOpId === op.id) return undefined;
    h.maintenance = 'returning';
    h.maintenanceOpId = op.id;
    return h;
  });
  if (reboot) await move(ctx, op, 'running', 'rebooting', `rebooting ${op.hostId}`);
  else await move(ctx, op, 'running', 'health-check', `returning ${op.hostId} without a reboot (${op.skipReboot ? 'skip requested' : 'it was never drained'})`);
}

async function stepReboot(ctx: EngineContext, op: OperationRecord, sig: WorkerSignals): Promise<void> {
  try {
    const agent = await ctx.agentFor(op.hostId, sig.leadership);
    const res = await agent.rebootHost(
      { reason: `drydock: disable maintenance (${op.id})`, allow_running_servers: false },
      { timeoutMs: 30_000, signal: sig.leadership },
    );
    await ctx.ops.update(
      op.id,
      (o) => {
        o.previousIncarnation = res.previous_incarnation;
        o.previousBootId = res.previous_boot_id;
        return setState(o, 'running', `${o.hostId} is rebooting; waiting for it to come back`, 'waiting-for-host');
      },
      (o) => [{ type: 'state', message: o.reason }],
    );
  } catch (err) {
    if (sig.leadership.aborted) return;
    // Unreachable for a moment (agent restarting, channel backing off): try
    // again within a bounded window before asking the operator.
    if (err instanceof UnavailableError && ctx.clock() - op.stageSinceMs < REBOOT_CALL_RETRY_MS) {
      await pause(ctx.pollIntervalMs * 5, sig);
      return;
    }
    // The reboot call may have gone through before the answer was lost: if the
    // host is already a new incarnation, waiting-for-host will see it.
    await move(ctx, op, 'paused', 'rebooting', `reboot of ${op.hostId} failed: ${errorMessage(err)} — fix the host and disable maintenance again, or cancel`);
  }
}

async function stepWaitForHost(ctx: EngineContext, op: OperationRecord, sig: WorkerSignals): Promise<void> {
  const l = ctx.inventory.hostLiveness(op.hostId, ctx.clock());
  if (l?.online && l.incarnation && l.incarnation !== op.previousIncarnation) {
    await move(ctx, op, 'running', 'health-check', `${op.hostId} is back (incarnation ${l.incarnation})`);
    return;
  }
  if (ctx.clock() - op.stageSinceMs > ctx.rebootTimeoutMs) {
    await move(
      ctx,
      op,
      'paused',
      'waiting-for-host',
      `${op.hostId} did not come back within ${Math.round(ctx.rebootTimeoutMs / 1000)} s — check the host; cancel or disable maintenance again`,
    );
    return;
  }
  await pause(ctx.pollIntervalMs, sig);
}

async function stepHealthCheck(ctx: EngineContext, op: OperationRecord, sig: WorkerSignals): Promise<void> {
  try {
    const agent = await ctx.agentFor(op.hostId, sig.leadership);
    const facts = await agent.getHostFacts({ timeoutMs: 15_000, signal: sig.leadership });
    const l = ctx.inventory.hostLiveness(op.hostId, ctx.clock());
    if (!l?.online) throw new Error('no recent heartbeat');
    await ctx.hosts.mutate(op.hostId, (h) => {
      if (h.maintenanceOpId !== op.id) return undefined;
      h.maintenance = 'none';
      h.maintenanceOpId = '';
      return h;
    });
    await ctx.cpu?.onHostReturned(op.hostId, op.id).catch((err) => sig.log.warn({ err: errorMessage(err) }, 'host-returned hook failed'));
    if (op.storageCluster) {
      await ctx.ops.update(
        op.id,
        (o) => {
          o.previousIncarnation = facts.incarnation;
          return setState(o, 'waiting', `${o.hostId} returned to service; settling before the next host of storage cluster ${o.storageCluster}`, 'settling');
        },
        (o) => [{ type: 'state', message: o.reason }],
      );
    } else {
      await move(ctx, op, 'succeeded', 'returned', `${op.hostId} returned to service`);
    }
  } catch (err) {
    if (sig.leadership.aborted) return;
    if (ctx.clock() - op.stageSinceMs > ctx.rebootTimeoutMs) {
      await move(ctx, op, 'paused', 'health-check', `${op.hostId} is not healthy: ${errorMessage(err)}`);
      return;
    }
    await pause(ctx.pollIntervalMs, sig);
  }
}

async function stepSettle(ctx: EngineContext, op: OperationRecord, sig: WorkerSignals): Promise<void> {
  const settleS = ctx.settlePauseOverrideS ?? (await zonePolicy(ctx, op.zoneId)).settlePauseS;
  const left = settleRemainingMs(op.stageSinceMs, settleS, ctx.clock());
  if (left > 0) {
    await pause(Math.min(left, ctx.pollIntervalMs * 5), sig);
    return;
  }
  // The health check of the settle: still up, and not rebooted again meanwhile.
  const l = ctx.inventory.hostLiveness(op.hostId, ctx.clock());
  if (l?.online && l.incarnation === op.previousIncarnation) {
    await move(ctx, op, 'succeeded', 'returned', `${op.hostId} returned and stayed up for ${settleS} s`);
  } else {
    await move(
      ctx,
      op,
      'failed',
      'settling',
      `${op.hostId} did not stay up during the ${settleS} s settle pause (${l?.online ? 'restarted' : 'offline'}) — check the storage cluster before returning the next host`,
    );
  }
}

async function cancelReturn(ctx: EngineContext, op: OperationRecord): Promise<void> {
  // A reboot cannot be undone; the host keeps its maintenance state so it
  // receives nothing until the operator decides.
  await move(
    ctx,
    op,
    'cancelled',
    op.stage,
    `cancelled at stage ${op.stage || 'queued'}${op.cancelReason ? ` (${op.cancelReason})` : ''}; ${op.hostId} stays out of service`,
  );
}
