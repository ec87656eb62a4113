// The live flow: start libvirt's job (migrateLive, with the disk plan read
// before the start), follow it with the
// monitor loop (job stats every poll interval, folded by the pure decisions
// of ./monitor.ts: progress, post-copy switch, stall and deadline aborts),
// verify the guest runs on the target, and remove the source disk copies.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logging.ts';
import { errorMessage } from '../../common/errors.ts';
import type { MigrationPhase } from '../../common/generated/drydock/agent/v1/MigrationPhase.ts';
import type { GuestWatch, JobStats, MigrationSource, PreparedState } from '../hypervisor/hypervisor.ts';
import { migrationDeadline } from '../../common/migration-deadline.ts';
import { initialMonitorState, observe, shouldAbort, shouldSwitchToPostCopy, type MonitorState } from './monitor.ts';
import { MigrationOutcomeUnknownError, MigrationStalledError, MigrationTimedOutError } from './errors.ts';
import { verifyMoved } from './verify.ts';
import { mib, type FlowContext, type Running } from './flow.ts';
import { removeSourceCopies } from './disk-copies.ts';
import { checkMovedGuest } from './guest-health.ts';

interface Limits {
  deadlineMs: number;
  stallTimeoutMs: number;
  allowPostCopy: boolean;
}

export async function runLive(ctx: FlowContext, r: Running, { server, disks }: MigrationSource, log: Logger): Promise<void> {
  const req = r.stored.request;
  const s = ctx.settings;
  ctx.update(r, { phase: 'MIGRATION_PHASE_PREPARING' }, 'preparing');
  const local = disks.local;
  // A disk on a path the config declares shared needs --unsafe (libvirt trusts only network/cluster storage).
  const unsafe = disks.declared;
  const copyStorage = local.length > 0;
  const bytes = server.memory_bytes + local.reduce((sum, d) => sum + d.allocationBytes, 0);
  const deadlineMs = migrationDeadline(bytes, { perGiB: s.deadlinePerGiBMs, min: s.minDeadlineMs, requested: req.deadline_ms });
  const stallTimeoutMs = req.stall_timeout_ms > 0 ? req.stall_timeout_ms : s.stallTimeoutMs;
  // Persisted with the TRANSFERRING update below: a restarted agent follows the job until then.
  r.stored.deadlineAtMs = Date.now() + deadlineMs;
  ctx.update(
    r,
    { phase: 'MIGRATION_PHASE_TRANSFERRING', bytes_total: bytes, bytes_remaining: bytes, copied_storage: copyStorage },
    `transferring ${mib(bytes)} MiB${copyStorage ? ` (copying ${local.length} local disk(s))` : ''}${unsafe ? ' (--unsafe: declared shared storage)' : ''}`,
    true,
  );
  log.info({ copyStorage, unsafe, deadlineMs, stallTimeoutMs }, 'live migration running');

  let settled = false;
  // How long the hypervisor's job took as the agent waited for it (on
  // libvirt: the one `virsh migrate`, from the command sent to its exit,
  // after the copy targets' check when disks are copied), logged when it
  // succeeds: the migration's time less this is what the
  // agent itself added (bench/migration-wall.ts reads it from the log).
  const jobStart = performance.now();
  let jobMs = 0;
  const job = ctx.hv
    .migrateLive({
      uuid: server.uuid,
      targetUri: req.target_uri,
      disks,
      copyStorage,
      unsafe,
      postCopy: req.allow_post_copy,
      autoConverge: req.allow_auto_converge,
      bandwidthMiBps: req.max_bandwidth_mibps,
      signal: r.job.signal,
      prepared: r.prepared,
    })
    .finally(() => {
      settled = true;
      jobMs = performance.now() - jobStart;
    });
  job.catch(() => undefined);

  // The check after the move, prepared now: its connection to the target
  // is made while the guest moves, not after (virsh-prepared.ts); this
  // host's side asks on connections already open (virsh-sessions.ts).
  const probe = ctx.hv.prepareStateOn?.(req.target_uri, server.uuid);
  const here = ctx.hv.prepareStateHere?.(server.uuid);
  // And the next move's: its checks and its migration then start on
  // connections made now, while this guest moves, not after its request.
  ctx.hv.armStandby?.(req.target_uri);
  // What the target said at arrival, state and reason in the one call that
  // verifies the move: the guest's verdict without a call of its own.
  let arrival: GuestWatch | undefined;
  const askPrepared = async (p: PreparedState) => {
    const state = await p.state();
    const reason = p.reason();
    if (reason !== null) arrival = { events: [], state, reason };
    return state;
  };
  const poller = new AbortController();
  const monitor = monitorLive(ctx, r, server.uuid, { deadlineMs, stallTimeoutMs, allowPostCopy: req.allow_post_copy }, poller.signal, log);
  try {
    try {
      await job;
    } finally {
      poller.abort();
      await monitor;
    }
    if (!settled) throw new MigrationOutcomeUnknownError('migration job did not settle');
    log.info({ jobMs: Math.round(jobMs * 10) / 10 }, 'live migration job ended');
    // Trust but verify: the guest must now run on the target, and not here.
    await verifyMoved(ctx, r, { target: probe ? () => askPrepared(probe) : undefined, source: here ? () => here.state() : undefined });
  } finally {
    probe?.cancel();
    here?.cancel();
  }
  r.pointOfNoReturn = true;
  await removeSourceCopies(ctx, r, log);
  await checkMovedGuest(ctx, r, log, arrival);
}

/** Polls job stats until `stop` aborts; applies the monitor's decisions. */
async function monitorLive(ctx: FlowContext, r: Running, uuid: string, limits: Limits, stop: AbortSignal, log: Logger): Promise<void> {
  let state: MonitorState = initialMonitorState(Date.now());
  const seen = { iteration: -1 };
  while (!stop.aborted) {
    try {
      await sleep(ctx.settings.pollIntervalMs, undefined, { signal: stop });
    } catch {
      return;
    }
    let stats;
    try {
      stats = await ctx.hv.jobStats(uuid, stop, { postCopyPossible: limits.allowPostCopy });
    } catch (err) {
      if (stop.aborted) return;
      log.debug({ err: errorMessage(err) }, 'job stats unavailable');
      continue;
    }
    if (stop.aborted) return;
    const now = Date.now();
    // libvirt's first samples carry only the elapsed time: nothing to show yet.
    const hasData = stats !== null && (stats.dataProcessed > 0 || stats.dataRemaining > 0 || stats.dataTotal > 0);
    if (stats && !hasData) state = observe(state, stats, now);
    if (stats && hasData) state = await applySample(ctx, r, uuid, observe(state, stats, now), stats, now, limits, seen, stop, log);
    const decision = shouldAbort(state, now, limits);
    if (decision.abort) {
      log.warn({ reason: decision.reason }, decision.message);
      const error =
        decision.reason === 'stalled'
          ? new MigrationStalledError(`migration stalled: ${decision.message}`)
          : new MigrationTimedOutError(`migration timed out: ${decision.message}`);
      ctx.cancel(r, 'monitor', error);
      return;
    }
  }
}

/** Records one sample with data (progress event) and switches to post-copy when the copy does not converge; returns the state after. */
async function applySample(
  ctx: FlowContext,
  r: Running,
  uuid: string,
  state: MonitorState,
  stats: JobStats,
  now: number,
  limits: Limits,
  seen: { iteration: number },
  stop: AbortSignal,
  log: Logger,
): Promise<MonitorState> {
  const m = r.stored.migration;
  const phase: MigrationPhase = state.postCopy ? 'MIGRATION_PHASE_POST_COPY' : 'MIGRATION_PHASE_TRANSFERRING';
  const total = Math.max(stats.dataTotal, stats.dataProcessed + stats.dataRemaining, m.bytes_total);
  const msg =
    phase !== m.phase
      ? 'switched to post-copy'
      : stats.iteration !== seen.iteration && stats.iteration > 0
        ? `memory iteration ${stats.iteration}`
        : `${state.percent.toFixed(1)}%`;
  seen.iteration = stats.iteration;
  ctx.update(
    r,
    {
      phase,
      bytes_processed: stats.dataProcessed,
      bytes_remaining: stats.dataRemaining,
      bytes_total: total,
      bandwidth_bps: stats.memoryBandwidth + stats.diskBandwidth,
      percent: state.percent,
      iteration: stats.iteration,
      downtime_ms: stats.downtimeMs || m.downtime_ms,
    },
    msg,
    phase !== m.phase,
  );
  if (
    !shouldSwitchToPostCopy(state, stats, now, {
      allowPostCopy: limits.allowPostCopy,
      afterIterations: ctx.settings.postCopyAfterIterations,
      deadlineMs: limits.deadlineMs,
    })
  ) {
    return state;
  }
  log.info({ iteration: stats.iteration }, 'not converging: switching to post-copy');
  try {
    await ctx.hv.startPostCopy(uuid, stop);
    return { ...state, postCopy: true };
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'switch to post-copy failed');
    return state;
  }
}
