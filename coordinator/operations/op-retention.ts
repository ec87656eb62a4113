// Keeping the operation buckets bounded, and bringing records of an older
// layout into this one.
//
// Retention: an operation that finished longer ago than the configured age
// is archived: its steps are purged from drydock_operation_steps and its
// header stays as a summary (state, reason, counts, history, moved-away
// list) with archivedAtMs set. Its events stay in the DRYDOCK_OP_EVENTS
// stream until that stream's own age limit (coordinator/operations/events.ts),
// so WatchOperation still replays them. The pass runs on the leader only,
// about once an hour (module.ts).
//
// Migration: records written before steps were stored apart (one record
// with every step inside) are split at start, by every instance
// (idempotent: step keys are created or left equal, the header is written
// with CAS at the revision read).
import { AlreadyExistsError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import { CasConflictError } from '../store/retry.ts';
import type { OperationBuckets, OperationStore } from './op-store.ts';
import { headerOf, isLegacyRecord, stepKey } from './op-layout.ts';
import { isTerminal } from './types.ts';

/** Default age after which a finished operation is archived. */
export const DEFAULT_ARCHIVE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** Archives the operations that finished at least `olderThanMs` ago; returns their ids. */
export async function archiveFinished(store: OperationStore, olderThanMs: number, nowMs: number, signal?: AbortSignal): Promise<string[]> {
  const archived: string[] = [];
  for (const h of await store.list(signal)) {
    if (!isTerminal(h) || h.archivedAtMs || !h.finishedAtMs || nowMs - h.finishedAtMs < olderThanMs) continue;
    // Steps first: a header marked archived is never read for steps again.
    await store.buckets.steps.purgeKeys(`${h.id}.>`, signal);
    store.forget(h.id);
    const cur = await store.header(h.id, signal);
    if (!cur || cur.value.archivedAtMs) continue;
    try {
      await store.buckets.headers.updateAt(h.id, { ...cur.value, archivedAtMs: nowMs }, cur.revision, signal);
      archived.push(h.id);
    } catch (err) {
      // Changed meanwhile (another leader archived it): the next pass looks again.
      if (!(err instanceof CasConflictError)) throw err;
    }
  }
  return archived;
}

/** Splits records of the older layout; returns how many it migrated. */
export async function migrateLegacy(buckets: OperationBuckets, signal?: AbortSignal): Promise<number> {
  let migrated = 0;
  for (const v of await buckets.headers.list(signal)) {
    const rec: unknown = v.value;
    if (!isLegacyRecord(rec)) continue;
    for (const [i, s] of rec.steps.entries()) {
      try {
        await buckets.steps.create(stepKey(rec.id, i), { ...s, updatedAtMs: rec.updatedAtMs }, signal);
      } catch (err) {
        // Written by an earlier, interrupted migration of the same record: the record still holds the truth.
        if (!(err instanceof AlreadyExistsError)) throw err;
        await buckets.steps.upsert(stepKey(rec.id, i), () => ({ ...s, updatedAtMs: rec.updatedAtMs }), signal);
      }
    }
    if (!isTerminal(rec)) await buckets.active.upsert(rec.id, () => ({ kind: rec.kind, hostId: rec.hostId, createdAtMs: rec.createdAtMs }), signal);
    try {
      await buckets.headers.updateAt(rec.id, headerOf(rec), v.revision, signal);
      migrated++;
    } catch (err) {
      if (!(err instanceof CasConflictError)) throw err;
    }
  }
  return migrated;
}

/** The archive pass as the housekeeping loop runs it: logs, never throws. */
export async function archivePass(store: OperationStore, olderThanMs: number, logger: Logger, signal?: AbortSignal): Promise<void> {
  try {
    const ids = await archiveFinished(store, olderThanMs, Date.now(), signal);
    if (ids.length > 0) logger.info({ operations: ids.length }, 'archived finished operations (steps removed, summary and events kept)');
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'archiving finished operations failed');
  }
}
