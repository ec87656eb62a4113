// The disk copies a move leaves behind: on the target when a cold move
// failed before its definition left (nobody's copies, which would block the
// next attempt there: copies never overwrite), and on the source once the
// server runs on the target. Best effort both: what cannot be removed is
// said in the migration's events and the log, never fatal.
import type { Logger } from '../../common/logging.ts';
import { errorMessage } from '../../common/errors.ts';
import type { FlowContext, Running } from './flow.ts';

/** Removes the copies of `paths` this attempt made on the target. */
export async function removeTargetCopies(ctx: FlowContext, r: Running, paths: string[], log: Logger): Promise<void> {
  const target = r.stored.request.target_uri;
  for (const path of paths) {
    try {
      await ctx.hv.removeDiskCopyOn(target, path);
      ctx.update(r, {}, `removed the copy of ${path} on ${r.stored.request.target_host_id}`);
    } catch (err) {
      // Refused when a domain on the target uses the file, or the target is unreachable.
      log.warn({ path, err: errorMessage(err) }, 'disk copy on the target not removed');
      ctx.update(r, {}, `copy of ${path} on ${r.stored.request.target_host_id} not removed: ${errorMessage(err)}`);
    }
  }
}

/** Removes the source copies of local disks after the server left. */
export async function removeSourceCopies(ctx: FlowContext, r: Running, log: Logger): Promise<void> {
  const paths = r.stored.localDisks;
  if (!paths.length) return;
  ctx.update(r, { phase: 'MIGRATION_PHASE_CLEANING_UP' }, `removing ${paths.length} source disk copy(ies)`, true);
  for (const p of paths) {
    try {
      await ctx.hv.removeLocalDisk(p);
    } catch (err) {
      log.warn({ path: p, err: errorMessage(err) }, 'could not remove the source copy of a local disk');
      ctx.update(r, {}, `left behind ${p}: ${errorMessage(err)}`);
    }
  }
}
