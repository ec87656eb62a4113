// Whether a disk (or a pool) is shared, decided once, here, by the
// hypervisor that read it (libvirt.ts from the pools, sim.ts from its own
// flags): the plan of a server's disks goes with the server to the
// migration manager, which follows it (which disks a move copies and
// removes on the source after, whether a live move needs --unsafe), and
// back down to migrateLive, which turns it into virsh flags without
// reading the domain again.
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import { UnsafeMigrationError } from './errors.ts';
import { dirPrefix, isUnder } from './disk-paths.ts';

/** How a disk reaches the other hosts of the cluster. */
export type DiskSharing = 'network' | 'declared' | 'local' | 'none';

/**
 * A pool is shared when its storage says so (a network pool type, or the
 * sim's flag) or its directory is on a path the config declares shared.
 */
export function poolShared(storageShared: boolean, dir: string, sharedPaths: readonly string[]): boolean {
  return storageShared || (dir !== '' && sharedPaths.some((s) => dirPrefix(dir).startsWith(dirPrefix(s))));
}

/**
 * One disk: 'network' when the storage itself is seen by every host (a
 * network disk, or `onSharedStorage`: in a pool of a shared type), else
 * 'none' without media, 'declared' on a path the config declares shared
 * (libvirt cannot tell: a live move needs --unsafe), else 'local' (only
 * this host has it: it moves with the server).
 */
export function diskSharing(disk: Pick<Disk, 'type' | 'path'>, onSharedStorage: boolean, sharedPaths: readonly string[]): DiskSharing {
  if (disk.type === 'network' || onSharedStorage) return 'network';
  if (!disk.path) return 'none';
  if (sharedPaths.some((s) => isUnder(disk.path, s))) return 'declared';
  return 'local';
}

export interface PlannedDisk {
  /** Device name in the guest (vda), what --migrate-disks names. */
  target: string;
  path: string;
  /** Bytes a copy moves (the hypervisor's estimate). */
  allocationBytes: number;
  readonly: boolean;
}

/** How a server's disks move with it. */
export interface DiskPlan {
  /** Disks only this host has: moved with the server, and removed here once it runs on the target. */
  local: PlannedDisk[];
  /** Some disk is on a declared shared path: a live move needs --unsafe. */
  declared: boolean;
}

/** The plan of a server's disks, from the sharing of each (`sharingOf`, by index in `disks`). */
export function planDisks(disks: readonly Disk[], sharingOf: (disk: Disk, index: number) => DiskSharing): DiskPlan {
  const plan: DiskPlan = { local: [], declared: false };
  disks.forEach((d, i) => {
    const sharing = sharingOf(d, i);
    if (sharing === 'declared') plan.declared = true;
    if (sharing === 'local') plan.local.push({ target: d.target, path: d.path, allocationBytes: d.allocation_bytes, readonly: d.readonly });
  });
  return plan;
}

/** The disks a live move copies: the local writable ones (libvirt does not copy a read-only medium, e.g. an ISO: the target must have it). */
export function liveCopies(plan: DiskPlan): PlannedDisk[] {
  return plan.local.filter((d) => !d.readonly);
}

/**
 * The migrate flags of a plan: the copied disks, and only they
 * (--migrate-disks, so a disk on a declared shared path is never copied
 * onto itself), and --unsafe for a disk on a declared shared path. The
 * caller's `allow` are permissions: a flag the plan needs but the caller
 * did not allow refuses the migration up front.
 */
export function liveDiskFlags(uuid: string, plan: DiskPlan, allow: { copyStorage: boolean; unsafe: boolean }): string[] {
  const copies = liveCopies(plan).map((d) => d.target);
  const flags: string[] = [];
  if (copies.length > 0) {
    if (!allow.copyStorage) {
      throw new UnsafeMigrationError(`server ${uuid} has local disks (${copies.join(', ')}) and copy-storage was not requested`, {
        details: { server: uuid, disks: copies.join(',') },
      });
    }
    flags.push('--copy-storage-all', '--migrate-disks', copies.join(','));
  }
  if (plan.declared) {
    if (!allow.unsafe) {
      throw new UnsafeMigrationError(`server ${uuid} has disks on declared shared paths and --unsafe was not allowed`, { details: { server: uuid } });
    }
    flags.push('--unsafe');
  }
  return flags;
}
