// Leader-only upkeep of the KV buckets: delete markers of removed records
// (servers gone, leases released) stay in the streams and in every key
// listing until purged.
//
// Not kv.purgeDeletes(): it purges old markers with keep=0 by subject, so a
// key re-created between its scan and its purge would lose its new value.
// Here each purge stops below the marker's own sequence + 1 — a value written
// after the marker is never touched.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamManager, KV } from 'nats';
import type { Logger } from '../../common/logging.ts';
import { errorMessage } from '../../common/errors.ts';

interface BucketInternals {
  jsm: JetStreamManager;
  stream: string;
  bucket: string;
}

/** Purges delete markers older than `olderThanMs`; returns how many keys it cleaned. */
export async function purgeOldDeletes(kvs: Record<string, KV>, olderThanMs: number, nowMs = Date.now()): Promise<number> {
  let cleaned = 0;
  for (const kv of Object.values(kvs)) {
    const b = kv as Partial<BucketInternals>;
    if (!b.jsm || !b.stream || !b.bucket) continue;
    const prefix = `$KV.${b.bucket}.`;
    const info = await b.jsm.streams.info(b.stream, { subjects_filter: `${prefix}>` });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const e = await kv.get(subject.slice(prefix.length));
      if (!e || (e.operation !== 'DEL' && e.operation !== 'PURGE')) continue;
      if (nowMs - e.created.getTime() < olderThanMs) continue;
      // seq: purge messages of this subject *below* seq, i.e. up to and including the marker.
      await b.jsm.streams.purge(b.stream, { filter: subject, seq: e.revision + 1 });
      cleaned++;
    }
  }
  return cleaned;
}

/** Runs `pass` every `everyMs` until the signal aborts (leadership lost); the pass handles its own errors. */
export async function periodically(signal: AbortSignal, everyMs: number, pass: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    await pass();
  }
}

/** Runs purgeOldDeletes every `everyMs` until the signal aborts (leadership lost). */
export async function housekeepingLoop(
  kvs: Record<string, KV>,
  logger: Logger,
  signal: AbortSignal,
  everyMs = 3_600_000,
  olderThanMs = 3_600_000,
): Promise<void> {
  await periodically(signal, everyMs, async () => {
    try {
      const n = await purgeOldDeletes(kvs, olderThanMs);
      if (n > 0) logger.info({ keys: n }, 'purged old KV delete markers');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'KV housekeeping failed');
    }
  });
}
