// Live migration on the sim: one simulated job per outgoing move, advanced per
// fabric tick (setup time, bandwidth, the guest's dirty rate, injected
// fail/stall), the switch-over that moves the server to its target, and the
// job stats the agent polls. The migration log (fabric.migrations) is kept here too.
import type { JobStats, LiveMigrationSpec, Server } from '../../agent/hypervisor/hypervisor.ts';
import { LibvirtError, MigrationAbortedError, TargetUnreachableError } from '../../agent/hypervisor/errors.ts';
import type { SimMigrationFailure } from './faults.ts';
import type { SimMigrationRecord, SimServer, SimWorld } from './model.ts';

/** What a job needs of a sim host (SimHost, host.ts; an interface, so no import cycle). */
export interface SimJobHost {
  readonly hostId: string;
  readonly migrationUri: string;
  readonly unreachable: boolean;
  readonly fabric: SimWorld<SimJobHost>;
  readonly counters: { migrationsStarted: number; migrationsCompleted: number; migrationsFailed: number; migrationsAborted: number };
  /** Running outgoing live migrations by uuid. */
  readonly jobs: Map<string, SimJob>;
  readonly files: Map<string, number>;
  emit(event: string, name: string, detail: string): void;
  /** A server arrived here (the crashNextArrival fault). */
  arrived(p: SimServer): void;
}

export interface SimJob {
  uuid: string;
  target: SimJobHost;
  total: number;
  processed: number;
  remaining: number;
  memoryTotal: number;
  diskTotal: number;
  iteration: number;
  startedAt: number;
  postCopy: boolean;
  bandwidth: number;
  stallAtFraction: number | null;
  failAtFraction: number | null;
  failWith: Error | null;
  downtimeMs: number;
  lastBandwidth: number;
  aborted: boolean;
  settle: (err?: Error) => void;
  timer: NodeJS.Timeout;
  record: SimMigrationRecord;
}

/** What SimHost.migrateLive decided before the job starts. */
export interface SimLiveMove {
  spec: LiveMigrationSpec;
  target: SimJobHost;
  memoryTotal: number;
  diskTotal: number;
  bandwidth: number;
  record: SimMigrationRecord;
  fail: SimMigrationFailure | null;
  stall: { atFraction: number } | null;
}

/** Counts a migration as started and adds it to the fabric's log (tests read it). */
export function recordMigration(host: SimJobHost, server: Server, target: SimJobHost, mode: SimMigrationRecord['mode']): SimMigrationRecord {
  host.counters.migrationsStarted++;
  const record: SimMigrationRecord = {
    uuid: server.uuid,
    name: server.name,
    from: host.hostId,
    to: target.hostId,
    mode,
    startedAtMs: Date.now(),
    finishedAtMs: 0,
    result: 'running',
    bytes: 0,
  };
  host.fabric.migrations.push(record);
  return record;
}

/** Runs one live migration job of `p` from `host`: resolves when it completed, rejects when it failed or was aborted. */
export function runLiveJob(host: SimJobHost, p: SimServer, move: SimLiveMove): Promise<void> {
  const { spec, target, memoryTotal, diskTotal, bandwidth, record, fail, stall } = move;
  p.migrating = true;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const job: SimJob = {
      uuid: p.server.uuid,
      target,
      total: memoryTotal + diskTotal,
      processed: 0,
      remaining: memoryTotal + diskTotal,
      memoryTotal,
      diskTotal,
      iteration: 0,
      startedAt: Date.now(),
      postCopy: false,
      bandwidth,
      stallAtFraction: stall?.atFraction ?? null,
      failAtFraction: fail?.atFraction ?? null,
      failWith: fail?.error ?? null,
      downtimeMs: 0,
      lastBandwidth: 0,
      aborted: false,
      record,
      timer: setInterval(() => tick(host, job, p), host.fabric.tickMs),
      settle: (err) => {
        if (settled) return;
        settled = true;
        clearInterval(job.timer);
        host.jobs.delete(job.uuid);
        p.migrating = false;
        spec.signal.removeEventListener('abort', onAbort);
        record.finishedAtMs = Date.now();
        record.bytes = job.processed;
        if (err) {
          record.result = err instanceof MigrationAbortedError ? 'aborted' : 'failed';
          if (err instanceof MigrationAbortedError) host.counters.migrationsAborted++;
          else host.counters.migrationsFailed++;
          host.emit('job-completed', p.server.name, err instanceof MigrationAbortedError ? 'cancelled' : 'failed');
          reject(err);
        } else {
          record.result = 'completed';
          host.counters.migrationsCompleted++;
          resolve();
        }
      },
    };
    const onAbort = () => {
      if (job.postCopy) return; // never abort in post-copy
      job.aborted = true;
      job.settle(new MigrationAbortedError(`operation aborted: job 'migration out' canceled by client`));
    };
    spec.signal.addEventListener('abort', onAbort, { once: true });
    host.jobs.set(job.uuid, job);
    host.emit('migration-iteration', p.server.name, 'iteration 0');
  });
}

function tick(host: SimJobHost, job: SimJob, p: SimServer): void {
  const now = Date.now();
  const elapsed = now - job.startedAt;
  if (elapsed < host.fabric.setupMs) return;
  if (job.target.unreachable && !job.postCopy) {
    job.settle(new TargetUnreachableError(job.target.migrationUri, 'connection reset by peer'));
    return;
  }
  const fraction = job.total === 0 ? 1 : job.processed / job.total;
  if (job.failAtFraction !== null && fraction >= job.failAtFraction) {
    job.settle(job.failWith ?? new LibvirtError('internal error: qemu unexpectedly closed the monitor (simulated)'));
    return;
  }
  if (job.stallAtFraction !== null && fraction >= job.stallAtFraction && !job.postCopy) {
    job.lastBandwidth = 0;
    return;
  }
  const dt = host.fabric.tickMs / 1000;
  const moved = job.bandwidth * dt;
  const dirtied = job.postCopy ? 0 : p.dirtyRateBps * dt;
  const before = job.processed;
  job.processed += Math.min(moved, job.remaining + dirtied);
  job.remaining = Math.max(0, job.remaining - moved + dirtied);
  job.lastBandwidth = job.bandwidth;
  // One iteration per pass over the guest's memory.
  if (job.memoryTotal > 0 && Math.floor(job.processed / job.memoryTotal) > Math.floor(before / job.memoryTotal)) {
    job.iteration++;
    host.emit('migration-iteration', p.server.name, `iteration ${job.iteration}`);
  }
  // Converged when what is left fits in the ~50 ms downtime window.
  if (job.remaining <= job.bandwidth * 0.05 || job.remaining === 0) {
    job.downtimeMs = Math.max(1, Math.round((job.remaining / job.bandwidth) * 1000) + 20);
    job.processed += job.remaining;
    job.remaining = 0;
    finishLive(host, job, p);
  }
}

function finishLive(host: SimJobHost, job: SimJob, p: SimServer): void {
  // The switch-over: from here on the guest lives on the target only.
  const entry = host.fabric.placement.get(job.uuid);
  if (!entry || entry.host !== host) {
    job.settle(new LibvirtError('domain vanished during migration'));
    return;
  }
  host.emit('lifecycle', p.server.name, 'Suspended Migrated');
  entry.host = job.target;
  for (const d of p.server.disks) if (!d.shared && host.files.has(d.path) && job.diskTotal > 0) job.target.files.set(d.path, host.files.get(d.path)!);
  host.emit('lifecycle', p.server.name, 'Stopped Migrated');
  host.emit('lifecycle', p.server.name, 'Undefined Removed');
  job.target.emit('lifecycle', p.server.name, 'Defined Added');
  job.target.emit('lifecycle', p.server.name, 'Started Migrated');
  job.target.emit('lifecycle', p.server.name, 'Resumed Migrated');
  p.reason = 'migrated';
  job.target.arrived(p);
  host.emit('job-completed', p.server.name, 'completed');
  job.settle();
}

/** libvirt's job stats for a running job; `dirtyRate` is the guest's. */
export function liveJobStats(job: SimJob, dirtyRate: number): JobStats {
  const memProcessed = Math.min(job.processed, job.memoryTotal * Math.max(1, job.iteration + 1));
  const diskShare = job.total > 0 ? job.diskTotal / job.total : 0;
  return {
    type: 'unbounded',
    postCopy: job.postCopy,
    timeElapsedMs: Date.now() - job.startedAt,
    dataProcessed: Math.round(job.processed),
    dataRemaining: Math.round(job.remaining),
    dataTotal: Math.round(job.processed + job.remaining),
    memoryProcessed: Math.round(memProcessed * (1 - diskShare)),
    memoryRemaining: Math.round(job.remaining * (1 - diskShare)),
    memoryTotal: job.memoryTotal,
    diskProcessed: Math.round(job.processed * diskShare),
    diskRemaining: Math.round(job.remaining * diskShare),
    diskTotal: job.diskTotal,
    memoryBandwidth: Math.round(job.lastBandwidth),
    diskBandwidth: job.diskTotal > 0 ? Math.round(job.lastBandwidth) : 0,
    iteration: job.iteration,
    downtimeMs: job.downtimeMs,
    dirtyRate,
  };
}
