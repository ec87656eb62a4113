// Disk files as libvirt volumes: copying a local disk to the same path on
// another host (vol-create-as + vol-upload), removing such a copy there, and
// removing a local disk file once its domain left. Never overwrites, never
// deletes a file a domain still uses, always names the exact path.
import { unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { FailedPreconditionError } from '../../common/errors.ts';
import { assertUuid } from '../../common/names.ts';
import { assertLibvirtUri } from '../../common/uri.ts';
import type { Server } from './hypervisor.ts';
import { StorageNotFoundError } from './errors.ts';
import { parseVolXml } from './parse-storage.ts';
import type { VirshCallOptions } from './virsh.ts';
import { assertHostPath, diskUsesPath, planLocalDiskRemoval, poolContaining, poolHolding } from './disk-paths.ts';
import type { LibvirtPools, PoolInfo, RunVirsh } from './libvirt-pools.ts';

export interface LibvirtVolumesOptions {
  /** Path prefixes declared shared: never removed as local disks. */
  sharedPaths: readonly string[];
  /** Directories under which local disks may be removed (default: this host's non-shared pools). */
  localDiskDirs: readonly string[] | undefined;
  /** Rate assumed for vol-upload when sizing its deadline. */
  copyBytesPerSecond: number;
  /** This host's servers (a file one of them uses is never removed). */
  listServers: (signal?: AbortSignal) => Promise<Server[]>;
}

export class LibvirtVolumes {
  constructor(
    private readonly run: RunVirsh,
    private readonly pools: LibvirtPools,
    private readonly opts: LibvirtVolumesOptions,
  ) {}

  async copyDiskTo(path: string, targetUri: string, signal?: AbortSignal): Promise<void> {
    const p = assertHostPath('path', path);
    const target = assertLibvirtUri('target_uri', targetUri);
    const local = poolContaining(p, await this.pools.local(signal, true));
    if (!local) throw new FailedPreconditionError(`${p} is in no storage pool of this host`, { details: { path: p } });
    await this.run(['pool-refresh', '--pool', local.name], { signal });
    const vol = parseVolXml((await this.run(['vol-dumpxml', '--vol', p], { signal, context: { domain: p } })).stdout);

    const remote = await this.poolOnFor(target, p, signal);
    if (!remote) throw new FailedPreconditionError(`no active storage pool on ${target} covers ${dirname(p)}`, { details: { path: p, targetUri: target } });
    const on: VirshCallOptions = { signal, uri: target, context: { targetUri: target, domain: p } };
    await this.run(['pool-refresh', '--pool', remote.name], on);
    const name = basename(p);
    if (await this.exists(remote.name, name, on)) {
      // Another server's disk, or a copy an earlier move left: overwriting
      // either could destroy data, so the move goes elsewhere or waits.
      throw new FailedPreconditionError(
        `${p} already exists on ${target} (pool ${remote.name}): refusing to overwrite it; remove it there if nothing uses it`,
        {
          details: { path: p, targetUri: target },
        },
      );
    }
    const create = ['vol-create-as', '--pool', remote.name, '--name', name, '--capacity', `${vol.capacityBytes}b`];
    if (vol.format) create.push('--format', vol.format);
    await this.run(create, on);
    // vol-upload streams the local file's bytes (including a qcow2 header) over
    // the target's libvirt connection; --sparse keeps holes holes.
    const timeoutMs = 60_000 + Math.ceil((Math.max(vol.allocationBytes, vol.capacityBytes) / this.opts.copyBytesPerSecond) * 1000);
    try {
      await this.run(['vol-upload', '--pool', remote.name, '--vol', name, '--file', p, '--sparse'], { ...on, timeoutMs });
    } catch (err) {
      // A half-written copy we created must not pass for the disk later.
      await this.run(['vol-delete', '--pool', remote.name, '--vol', name], { uri: target, context: { targetUri: target } }).catch(() => undefined);
      throw err;
    }
  }

  /** The active pool on another host whose directory holds `path` (disk copies keep their path). */
  async poolOnFor(uri: string, path: string, signal?: AbortSignal): Promise<PoolInfo | undefined> {
    return poolHolding(
      path,
      (await this.pools.load(uri, signal)).filter((rp) => rp.active),
    );
  }

  /** True when the pool has a volume of that name (on the daemon `on` names). */
  async exists(pool: string, name: string, on: VirshCallOptions): Promise<boolean> {
    try {
      await this.run(['vol-info', '--pool', pool, '--vol', name], on);
      return true;
    } catch (err) {
      if (err instanceof StorageNotFoundError) return false;
      throw err;
    }
  }

  async removeDiskCopyOn(targetUri: string, path: string, signal?: AbortSignal): Promise<void> {
    const p = assertHostPath('path', path);
    const target = assertLibvirtUri('target_uri', targetUri);
    const on: VirshCallOptions = { signal, uri: target, context: { targetUri: target, domain: p } };
    const remote = await this.poolOnFor(target, p, signal);
    if (!remote) return; // no pool covers it there: nothing of ours to remove
    // Every domain defined on the target, running or not: none may use the file.
    const uuids = (await this.run(['list', '--all', '--uuid'], on)).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const u of uuids) {
      const blk = (await this.run(['domblklist', '--domain', assertUuid('domain', u), '--details'], on)).stdout;
      // Columns: Type Device Target Source; host paths carry no spaces (assertHostPath).
      if (blk.split('\n').some((l) => diskUsesPath(l.trim().split(/\s+/).at(-1) ?? '', p))) {
        throw new FailedPreconditionError(`${p} on ${target} is a disk of domain ${u}: not removed`, { details: { path: p, targetUri: target } });
      }
    }
    if (!(await this.exists(remote.name, basename(p), on))) return;
    await this.run(['vol-delete', '--pool', remote.name, '--vol', basename(p)], on);
  }

  async removeLocalDisk(path: string, signal?: AbortSignal): Promise<void> {
    const p = assertHostPath('path', path);
    const pools = await this.pools.local(signal, true);
    const plan = planLocalDiskRemoval(p, { pools, sharedPaths: this.opts.sharedPaths, allowedDirs: this.opts.localDiskDirs });
    const users = (await this.opts.listServers(signal)).filter((s) => s.disks.some((d) => diskUsesPath(d.path, p)));
    if (users.length > 0) {
      throw new FailedPreconditionError(`${p} is still a disk of ${users.map((s) => s.name).join(', ')} on this host`, { details: { path: p } });
    }
    if (plan.kind === 'volume') {
      await this.run(['pool-refresh', '--pool', plan.pool], { signal });
      try {
        // --vol by path: virsh looks the volume up by that path (and checks
        // it is in the pool), so only that exact file can go.
        await this.run(['vol-delete', '--pool', plan.pool, '--vol', plan.path], { signal, context: { domain: p } });
      } catch (err) {
        if (!(err instanceof StorageNotFoundError)) throw err; // already gone: done
      }
      return;
    }
    try {
      await unlink(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
