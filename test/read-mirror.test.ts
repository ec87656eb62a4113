// The read model's KV mirror (coordinator/reads/mirror.ts) against a real
// nats-server: it loads a bucket and follows it; a dead watcher is noticed
// and restarted, and a read meanwhile reads the changes it missed itself;
// a full resync repairs what the watcher missed (creates,
// changes, deletes); a bucket whose last message was purged (housekeeping
// removes old delete markers) neither hangs the start nor a read.
import anyTest, { type TestFn } from 'ava';
import { rmSync } from 'node:fs';
import type { NatsConnection } from 'nats';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { tempDir, waitFor } from '../harness/coordinator-helpers.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { purgeOldDeletes } from '../coordinator/store/housekeeping.ts';
import { BucketMirror } from '../coordinator/reads/mirror.ts';
import { createLogger } from '../common/logging.ts';

interface Ctx {
  dir: string;
  tn: TestNats;
  nc: NatsConnection;
  store: Store;
}
const test = anyTest.serial as TestFn<Ctx>;
type Rec = { n: number };
const logger = createLogger('read-mirror-test', 'silent' as never);

test.before(async (t) => {
  const dir = tempDir('mirror');
  t.context = { dir } as Ctx;
  t.context.tn = await startTestNats({ dir });
  t.context.nc = await t.context.tn.connect();
  t.context.store = await openStore(t.context.nc, { replicas: 1 });
});

test.after.always(async (t) => {
  await t.context.nc?.close();
  await t.context.tn?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** The mirror's watcher ended, as if its consumer stalled or died. */
function killWatcher(m: BucketMirror<Rec>): void {
  (m as unknown as { watcher: { stop(): void } }).watcher.stop();
}
const repo = (t: { context: Ctx }) => t.context.store.operations as unknown as import('../coordinator/store/repository.ts').Repository<Rec>;

async function clear(t: { context: Ctx }): Promise<void> {
  for (const v of await repo(t).list()) await repo(t).deleteAt(v.key, v.revision);
}

test('loads the bucket, follows writes; a dead watcher is restarted by the health check', async (t) => {
  await clear(t);
  const r = repo(t);
  for (let i = 0; i < 30; i++) await r.create(`k${i}`, { n: i });
  const m = new BucketMirror<Rec>(r, { logger, healthMs: 150, catchUpMs: 200, resyncMs: 3_600_000 });
  t.teardown(() => m.stop());
  await m.start();
  t.is(m.size, 30);
  t.deepEqual(
    m.page('', 100).map((v) => v.key),
    Array.from({ length: 30 }, (_, i) => `k${i}`).sort(),
  );
  await r.mutate('k1', () => ({ n: 100 }));
  await m.sync();
  t.is(m.get('k1')?.value.n, 100, 'sync() waits for the acknowledged write');
  killWatcher(m);
  await r.create('late', { n: 1 });
  const del = await r.require('k2');
  await r.deleteAt('k2', del.revision);
  // A read with a dead watcher still reflects the writes: after catchUpMs it reads them itself.
  const t0 = Date.now();
  await m.sync();
  t.true(Date.now() - t0 < 5_000);
  t.truthy(m.get('late'));
  t.falsy(m.get('k2'));
  await waitFor('the watcher restarted', () => m.stats.watcherRestarts >= 1, 10_000, 50);
  await r.create('after-restart', { n: 2 });
  await m.sync();
  t.truthy(m.get('after-restart'), 'the new watcher follows');
});

test('the key order is built when the bucket loads, and new keys are merged in without sorting the bucket again', async (t) => {
  await clear(t);
  const r = repo(t);
  for (let i = 0; i < 600; i++) await r.create(`o${String(i).padStart(4, '0')}`, { n: i });
  const m = new BucketMirror<Rec>(r, { logger, resyncMs: 3_600_000 });
  t.teardown(() => m.stop());
  await m.start();
  // Sorted by start(): the first paged read after start-up finds it done.
  t.is(m.order.stats.keysSorted, 600);
  t.deepEqual(
    m.page('', 3).map((v) => v.key),
    ['o0000', 'o0001', 'o0002'],
  );
  t.is(m.order.stats.keysSorted, 600, 'the first page sorted nothing');
  // More new keys than the old rebuild threshold (512): only they are sorted.
  for (let i = 0; i < 520; i++) await r.create(`n${String(i).padStart(4, '0')}`, { n: i });
  await m.sync();
  const keys = m.page('', 2000).map((v) => v.key);
  t.is(keys.length, 1120);
  t.deepEqual(keys, [...keys].sort());
  t.is(m.order.stats.keysSorted, 600 + 520);
});

test('a full resync repairs creates, changes and deletes the watcher missed; nothing older wins', async (t) => {
  await clear(t);
  const r = repo(t);
  for (let i = 0; i < 10; i++) await r.create(`r${i}`, { n: i });
  // No health check in this test: only the resync may repair.
  const m = new BucketMirror<Rec>(r, { logger, healthMs: 3_600_000, catchUpMs: 100, resyncMs: 3_600_000 });
  t.teardown(() => m.stop());
  await m.start();
  killWatcher(m);
  await r.create('new', { n: 1 });
  await r.mutate('r3', () => ({ n: 33 }));
  const gone = await r.require('r4');
  await r.deleteAt('r4', gone.revision);
  t.falsy(m.get('new'));
  t.is(m.get('r3')?.value.n, 3);
  t.truthy(m.get('r4'));
  await m.resync();
  t.is(m.get('new')?.value.n, 1);
  t.is(m.get('r3')?.value.n, 33);
  t.falsy(m.get('r4'));
  t.deepEqual(
    m.page('', 100).map((v) => v.key),
    (await r.list()).map((v) => v.key),
  );
  t.true(m.stats.repaired >= 3);
  // A second resync finds nothing to repair.
  const repaired = m.stats.repaired;
  await m.resync();
  t.is(m.stats.repaired, repaired);
});

test('a bucket whose last message was purged: start and reads do not wait for it', async (t) => {
  await clear(t);
  const r = repo(t);
  await r.create('keep', { n: 1 });
  const v = await r.create('drop', { n: 2 });
  await r.deleteAt('drop', v.revision);
  // Housekeeping purges the delete marker: the stream's last sequence now names a message that is gone.
  t.true((await purgeOldDeletes({ operations: t.context.store.kvs.operations }, 0)) >= 1);
  const last = await r.lastRevision();
  t.is(await r.changeFrom(last), null, 'the last revision holds no message');
  const m = new BucketMirror<Rec>(r, { logger, healthMs: 3_600_000, catchUpMs: 10_000, resyncMs: 3_600_000 });
  t.teardown(() => m.stop());
  const t0 = Date.now();
  await m.start();
  await m.sync();
  t.true(Date.now() - t0 < 3_000, `start + sync took ${Date.now() - t0} ms`);
  t.deepEqual(
    m.page('', 10).map((x) => x.key),
    ['keep'],
  );
  t.true(m.revision >= last);
});
