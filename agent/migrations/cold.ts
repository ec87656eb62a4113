// The cold flow: shut the server down (forced past its deadline), copy its
// local disks to the same paths on the target, move the definition
// (migrate --offline), start it there if it ran here, verify, and remove the
// source copies. Until the definition moves, a failure or an abort removes
// this attempt's copies on the target and restarts the server here.
import type { Logger } from '../../common/logging.ts';
import type { MigrationSource, Server } from '../hypervisor/hypervisor.ts';
import type { PlannedDisk } from '../hypervisor/disk-plan.ts';
import { verifyMoved } from './verify.ts';
import { abortCause, type FlowContext, type Running } from './flow.ts';
import { removeSourceCopies, removeTargetCopies } from './disk-copies.ts';
import { checkMovedGuest } from './guest-health.ts';
import { restoreRunningHere, stopServer } from './power.ts';

export async function runCold(ctx: FlowContext, r: Running, { server, disks }: MigrationSource, log: Logger): Promise<void> {
  const m = r.stored.migration;
  const local = disks.local;
  ctx.update(r, { phase: 'MIGRATION_PHASE_PREPARING' }, 'preparing');
  const total = local.reduce((sum, d) => sum + d.allocationBytes, 0);
  ctx.update(
    r,
    { bytes_total: total, bytes_remaining: total, copied_storage: local.length > 0 },
    `cold move of ${m.was_running ? 'a running' : 'a shut-off'} server`,
  );
  await moveDefinition(ctx, r, server, local, total, log);
  const req = r.stored.request;
  if (m.was_running) {
    ctx.update(r, { phase: 'MIGRATION_PHASE_STARTING' }, 'starting on target', true);
    await ctx.hv.startOn(req.target_uri, server.uuid);
  }
  await verifyMoved(ctx, r);
  await removeSourceCopies(ctx, r, log);
  await checkMovedGuest(ctx, r, log);
}

/** Shutdown, disk copies and the offline move; on failure before the move, rolls back (copies removed, server restarted here). */
async function moveDefinition(ctx: FlowContext, r: Running, server: Server, local: PlannedDisk[], total: number, log: Logger): Promise<void> {
  const req = r.stored.request;
  const signal = r.job.signal;
  const m = r.stored.migration;
  let shutdownAsked = false;
  // Disk copies made on the target in this attempt: removed again if the
  // move fails before the definition leaves (nothing there uses them).
  const copied: string[] = [];
  try {
    if (m.was_running) {
      ctx.update(r, { phase: 'MIGRATION_PHASE_SHUTTING_DOWN' }, 'shutting down', true);
      const timeoutMs = req.shutdown_timeout_ms > 0 ? req.shutdown_timeout_ms : ctx.settings.shutdownTimeoutMs;
      shutdownAsked = true;
      const how = await stopServer(ctx.hv, server.uuid, { timeoutMs, force: true, signal, pollMs: Math.min(500, ctx.settings.pollIntervalMs) });
      ctx.update(r, {}, how === 'destroyed' ? `no shutdown within ${Math.round(timeoutMs / 1000)} s: powered off` : 'shut down');
    }
    ctx.update(r, { phase: 'MIGRATION_PHASE_TRANSFERRING' }, 'moving', true);
    let done = 0;
    for (const d of local) {
      signal.throwIfAborted();
      // Counted once written: a refused copy (the file already exists
      // there) is not ours, and one cut off half-way is removed by copyDiskTo.
      await ctx.hv.copyDiskTo(d.path, req.target_uri, signal);
      copied.push(d.path);
      done += d.allocationBytes;
      ctx.update(r, { bytes_processed: done, bytes_remaining: total - done, percent: total ? Math.min(90, (done / total) * 90) : 0 }, `copied ${d.path}`);
    }
    signal.throwIfAborted();
    // From here abort is refused: the definition is on its way to the target.
    r.pointOfNoReturn = true;
    await ctx.hv.migrateOffline(server.uuid, req.target_uri);
    ctx.update(r, { percent: 95 }, 'definition moved');
  } catch (err) {
    if (!r.pointOfNoReturn) await removeTargetCopies(ctx, r, copied, log);
    if (shutdownAsked) await restoreRunningHere(ctx.hv, server.uuid, ctx.settings.shutdownTimeoutMs + 5000, log);
    throw abortCause(signal) ?? err;
  }
}
