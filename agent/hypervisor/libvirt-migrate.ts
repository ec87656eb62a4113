// One live migration through virsh: `migrate --live --p2p` with the disk
// flags of the caller's plan (disk-plan.ts; the domain is not read again),
// the copy targets checked first (copy-storage never writes into an
// existing file), aborts and a backstop deadline turned into domjobabort,
// and the copies libvirt created removed when the move fails. The virsh
// that runs it may have been started and connected ahead (PreparedMigration,
// virsh-prepared.ts), while the agent checked and recorded the move.
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, FailedPreconditionError, InvalidArgumentError } from '../../common/errors.ts';
import { assertUuid } from '../../common/names.ts';
import { assertLibvirtUri } from '../../common/uri.ts';
import { MigrationTimedOutError, PostCopyAbortRefusedError } from './errors.ts';
import type { LiveMigrationSpec, Server } from './hypervisor.ts';
import { liveCopies, liveDiskFlags, type PlannedDisk } from './disk-plan.ts';
import { poolHolding } from './disk-paths.ts';
import type { Virsh, VirshCallOptions } from './virsh.ts';
import { PreparedVirshCall } from './virsh-prepared.ts';
import type { LibvirtPools, RunVirsh } from './libvirt-pools.ts';
import type { LibvirtVolumes } from './libvirt-volumes.ts';

export interface LiveMigrationDeps {
  run: RunVirsh;
  pools: LibvirtPools;
  volumes: LibvirtVolumes;
  /** Backstop deadline of one `virsh migrate`. */
  migrateTimeoutMs: number;
  abortJob: (uuid: string) => Promise<void>;
  serverOn: (uri: string, uuid: string) => Promise<Server | null>;
}

type Volume = { pool: string; name: string };

export async function migrateLive(deps: LiveMigrationDeps, spec: LiveMigrationSpec): Promise<void> {
  const uuid = assertUuid('server_uuid', spec.uuid);
  const target = assertLibvirtUri('target_uri', spec.targetUri);
  if (spec.signal.aborted) throw new CancelledError(`migration of ${uuid} cancelled before it started`, { cause: spec.signal.reason });
  if (!Number.isInteger(spec.bandwidthMiBps) || spec.bandwidthMiBps < 0) {
    throw new InvalidArgumentError('max_bandwidth_mibps', `${spec.bandwidthMiBps} is not a non-negative integer`);
  }
  const args = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource'];
  const diskFlags = liveDiskFlags(uuid, spec.disks, { copyStorage: spec.copyStorage, unsafe: spec.unsafe });
  args.push(...diskFlags);
  const precreated = diskFlags.includes('--copy-storage-all') ? await checkCopyTargets(deps, liveCopies(spec.disks), target, spec.signal) : [];
  if (spec.postCopy) args.push('--postcopy');
  if (spec.autoConverge) args.push('--auto-converge');
  if (spec.bandwidthMiBps > 0) {
    args.push('--bandwidth', String(spec.bandwidthMiBps));
    // The cap holds for the whole move: post-copy has its own limit in libvirt.
    if (spec.postCopy) args.push('--postcopy-bandwidth', String(spec.bandwidthMiBps));
  }
  args.push('--domain', uuid, '--desturi', target);

  // The virsh client gets no signal: on abort, domjobabort cancels the job
  // in libvirtd and virsh then exits with "operation aborted".
  const call = { timeoutMs: deps.migrateTimeoutMs + 60_000, context: { domain: uuid, targetUri: target } };
  const prepared = spec.prepared instanceof PreparedMigration ? spec.prepared.take(args) : null;
  const migrate = prepared ? prepared.run(args, call) : deps.run(args, call);
  let finished = false;
  let timedOut = false;
  const aborter = async () => {
    // The job may not exist yet when the abort comes: retry until virsh exits.
    while (!finished) {
      try {
        await deps.abortJob(uuid);
        return;
      } catch (err) {
        if (err instanceof PostCopyAbortRefusedError) return; // never abort in post-copy: let it finish
        await sleep(200);
      }
    }
  };
  const onAbort = () => void aborter();
  spec.signal.addEventListener('abort', onAbort, { once: true });
  const backstop = setTimeout(() => {
    timedOut = true;
    void aborter();
  }, deps.migrateTimeoutMs);
  try {
    await migrate;
  } catch (err) {
    await removeFailedCopies(deps, uuid, target, precreated);
    if (timedOut && !spec.signal.aborted) {
      throw new MigrationTimedOutError(`migration of ${uuid} exceeded its ${deps.migrateTimeoutMs} ms backstop`, { cause: err });
    }
    throw err;
  } finally {
    finished = true;
    clearTimeout(backstop);
    spec.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The virsh of a live migration, started and connected to this host's
 * libvirt before the command is known (Hypervisor.prepareLiveMigration).
 * Taken once by migrateLive; from then on cancel() leaves it alone, so a
 * migration running on it is never killed by its owner's clean-up.
 */
export class PreparedMigration {
  private readonly call: PreparedVirshCall;
  private taken = false;

  /** `call`: a shell already started and connected to this host (virsh-standby.ts); else one is started now. */
  constructor(virsh: Virsh, call?: PreparedVirshCall) {
    this.call = call ?? new PreparedVirshCall(virsh, virsh.uri);
  }

  /** The prepared virsh to run `args` on, or null (gone, or args it cannot send): then they run afresh. */
  take(args: readonly string[]): PreparedVirshCall | null {
    if (this.taken || !this.call.usable(args)) {
      this.cancel();
      return null;
    }
    this.taken = true;
    return this.call;
  }

  cancel(): void {
    if (!this.taken) this.call.cancel();
  }
}

/**
 * Before copy-storage: libvirt creates each copied disk in the target pool
 * covering its path, but writes into a file that already exists there
 * (seen on 9.0) — which could be another server's disk. Refuse that, and
 * return the volumes libvirt will create, to remove them if the migration
 * fails (an aborted copy leaves them behind).
 */
async function checkCopyTargets(deps: LiveMigrationDeps, copies: PlannedDisk[], target: string, signal: AbortSignal): Promise<Volume[]> {
  if (copies.length === 0) return [];
  const pools = await deps.pools.load(target, signal);
  const on: VirshCallOptions = { signal, uri: target, context: { targetUri: target } };
  const out: Volume[] = [];
  for (const d of copies) {
    const pool = poolHolding(
      d.path,
      pools.filter((p) => p.active),
    );
    if (!pool) {
      throw new FailedPreconditionError(`no active storage pool on ${target} covers ${dirname(d.path)} for the copy of ${d.target}`, {
        details: { path: d.path, targetUri: target },
      });
    }
    await deps.run(['pool-refresh', '--pool', pool.name], on);
    const name = basename(d.path);
    if (await deps.volumes.exists(pool.name, name, on)) {
      throw new FailedPreconditionError(`${target} already has a file at ${d.path}; copy-storage would write into it`, {
        details: { path: d.path, targetUri: target },
      });
    }
    out.push({ pool: pool.name, name });
  }
  return out;
}

/** After a failed copy-storage migration: delete the target copies, unless the guest got there after all. */
async function removeFailedCopies(deps: LiveMigrationDeps, uuid: string, target: string, vols: Volume[]): Promise<void> {
  if (vols.length === 0) return;
  const there = await deps.serverOn(target, uuid).catch(() => undefined);
  if (there !== null) return; // there, or unknown: leave the files alone
  for (const v of vols) {
    await deps.run(['vol-delete', '--pool', v.pool, '--vol', v.name], { uri: target, context: { targetUri: target } }).catch(() => undefined);
  }
}
