// Host disk paths against storage pools: pure rules shared by the libvirt
// hypervisor (libvirt.ts) and the sim (harness/sim/host.ts), so both decide alike.
//
// Two questions, two rules. Which storage a file is ON: the deepest pool
// (or declared shared path) whose directory contains it at any depth, since
// a file anywhere below an NFS mount is shared (poolContaining, isUnder).
// Which pool VOLUME a file IS: the pool whose directory is the file's own
// directory, since directory pools do not recurse (poolHolding). Deleting
// must follow the second and name the exact path: deleting "pool + base
// name" from the containing pool removed images/disk.qcow2 when asked to
// remove images/tenant-a/disk.qcow2.
import { dirname, isAbsolute, normalize, posix } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors.ts';

/** What these rules need of a pool (libvirt's PoolInfo and the sim's StoragePool both fit). */
export interface PoolPlace {
  name: string;
  /** Target directory ("" for pools without one, e.g. rbd). */
  path: string;
  shared: boolean;
}

/** A host path safe to name on a command line and to delete: absolute, normalized, no "..". */
export function assertHostPath(field: string, p: string): string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096 || !isAbsolute(p) || p.includes('\0') || /[\n\r]/.test(p)) {
    throw new InvalidArgumentError(field, `${JSON.stringify(p)} is not an absolute path`);
  }
  if (p.split('/').includes('..') || normalize(p) !== p || p.endsWith('/')) {
    throw new InvalidArgumentError(field, `${JSON.stringify(p)} is not a normalized file path`);
  }
  return p;
}

/** `/a/b` → `/a/b/`: prefix tests that don't confuse /data with /data2. */
export function dirPrefix(p: string): string {
  const n = posix.normalize(p);
  return n.endsWith('/') ? n : `${n}/`;
}

/** True when `path` is a file anywhere below `dir` (subdirectories included). */
export function isUnder(path: string, dir: string): boolean {
  return dir !== '' && dirPrefix(dirname(path)).startsWith(dirPrefix(dir));
}

/** The pool whose target directory holds `path`, at any depth (deepest match). */
export function poolContaining<P extends PoolPlace>(path: string, pools: readonly P[]): P | undefined {
  let best: P | undefined;
  for (const p of pools) {
    if (p.path && isUnder(path, p.path) && (!best || p.path.length > best.path.length)) best = p;
  }
  return best;
}

/** The pool of which `path` is a volume: its target directory is `path`'s own directory. */
export function poolHolding<P extends Pick<PoolPlace, 'path'>>(path: string, pools: readonly P[]): P | undefined {
  return pools.find((p) => p.path !== '' && dirPrefix(p.path) === dirPrefix(dirname(path)));
}

/**
 * How a local disk file is removed: as a volume of the pool holding it
 * (virsh vol-delete, looked up by its path) or as a plain file (unlink).
 * Either way by exactly `path`, never by a base name.
 */
export type LocalDiskRemoval = { kind: 'volume'; pool: string; path: string } | { kind: 'file'; path: string };

/** True when a domain disk's source names the file `path` (a domain XML path need not be normalized). */
export function diskUsesPath(diskPath: string, path: string): boolean {
  return diskPath !== '' && posix.normalize(diskPath) === posix.normalize(path);
}

/**
 * Decides how removeLocalDisk removes `path`, or refuses: outside the
 * directories local disks may be removed from (InvalidArgument), or on
 * shared storage (FailedPrecondition). Whether a domain still uses the file
 * is the caller's check (it needs the hypervisor).
 */
export function planLocalDiskRemoval(
  path: string,
  where: { pools: readonly PoolPlace[]; sharedPaths: readonly string[]; allowedDirs?: readonly string[] },
): LocalDiskRemoval {
  const p = assertHostPath('path', path);
  const allowed = where.allowedDirs ?? where.pools.filter((pl) => !pl.shared && pl.path !== '').map((pl) => pl.path);
  if (!allowed.some((d) => isUnder(p, d))) {
    throw new InvalidArgumentError('path', `${p} is not under a local disk directory (${allowed.join(', ') || 'none'})`);
  }
  const pool = poolContaining(p, where.pools);
  if (where.sharedPaths.some((s) => isUnder(p, s)) || pool?.shared) {
    throw new FailedPreconditionError(`${p} is on shared storage; it belongs to the server wherever it runs`, { details: { path: p } });
  }
  const holding = poolHolding(p, where.pools);
  return holding ? { kind: 'volume', pool: holding.name, path: p } : { kind: 'file', path: p };
}
