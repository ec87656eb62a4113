// The coordinator's KV store against a real nats-server: compare-and-swap
// semantics, bounded retries (conflicts and transient failures), replicas.
import anyTest, { type TestFn } from 'ava';
import type { KV, NatsConnection } from 'nats';
import { rmSync } from 'node:fs';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { AlreadyExistsError, NotFoundError, UnavailableError } from '../common/errors.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { Repository, sameValue } from '../coordinator/store/repository.ts';
import { CasConflictError, isCasConflict, isTransient } from '../coordinator/store/retry.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';
import { purgeOldDeletes } from '../coordinator/store/housekeeping.ts';

interface Ctx {
  dir: string;
  node: NatsNode;
  nc: NatsConnection;
  store: Store;
}
const test = anyTest as TestFn<Ctx>;

interface Doc {
  items: string[];
  n: number;
}

test.before(async (t) => {
  const dir = tempDir('store');
  const tn = await startTestNats({ dir });
  const node = tn.node;
  const nc = await tn.connect();
  const store = await openStore(nc, { replicas: 1, timeoutMs: 3000 });
  t.context = { dir, node, nc, store };
});

test.after.always(async (t) => {
  await t.context.nc?.close();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const repo = (t: { context: Ctx }) => new Repository<Doc>(t.context.store.kvs.operations, 'doc');

test('create writes a new key once; a second create is ALREADY_EXISTS', async (t) => {
  const r = repo(t);
  const a = await r.create('c1', { items: [], n: 0 });
  t.true(a.revision > 0);
  await t.throwsAsync(r.create('c1', { items: ['x'], n: 1 }), { instanceOf: AlreadyExistsError });
  t.deepEqual((await r.get('c1'))!.value, { items: [], n: 0 });
});

test('a stale revision loses: updateAt with an old revision is a CAS conflict and writes nothing', async (t) => {
  const r = repo(t);
  const v1 = await r.create('s1', { items: ['a'], n: 1 });
  const v2 = await r.updateAt('s1', { items: ['a', 'b'], n: 2 }, v1.revision);
  t.true(v2.revision > v1.revision);
  await t.throwsAsync(r.updateAt('s1', { items: ['stale'], n: 99 }, v1.revision), { instanceOf: CasConflictError });
  const now = await r.get('s1');
  t.deepEqual(now!.value, { items: ['a', 'b'], n: 2 });
  t.is(now!.revision, v2.revision);
  // deleteAt is CAS too.
  await t.throwsAsync(r.deleteAt('s1', v1.revision), { instanceOf: CasConflictError });
  t.truthy(await r.get('s1'));
});

/** A KV that runs `before()` ahead of the next `left` update calls: a writer slipping in between our read and our write. */
function interleavingKv(kv: KV, state: { left: number; before: () => Promise<unknown> }): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'update' && typeof v === 'function') {
        return async (...args: unknown[]) => {
          if (state.left > 0) {
            state.left--;
            await state.before();
          }
          return (v as Function).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('mutate after a lost CAS re-reads and applies the mutation exactly once on top of the winner', async (t) => {
  const other = repo(t);
  await other.create('m1', { items: [], n: 0 });
  const r = new Repository<Doc>(
    interleavingKv(t.context.store.kvs.operations, { left: 1, before: () => other.mutate('m1', (o) => ({ items: [...o.items, 'theirs'], n: o.n + 1 })) }),
    'doc',
  );
  let calls = 0;
  const res = await r.mutate('m1', (d) => {
    calls++;
    return { items: [...d.items, 'ours'], n: d.n + 1 };
  });
  t.is(calls, 2, 'the mutation ran again after the conflict');
  t.is(res.conflicts, 1);
  t.true(res.changed);
  t.deepEqual((await r.get('m1'))!.value, { items: ['theirs', 'ours'], n: 2 });
});

test('concurrent mutations all apply (no lost update)', async (t) => {
  const r = repo(t);
  await r.create('cc', { items: [], n: 0 });
  await Promise.all(Array.from({ length: 8 }, (_, i) => r.mutate('cc', (d) => ({ items: [...d.items, `w${i}`], n: d.n + 1 }))));
  const v = (await r.get('cc'))!.value;
  t.is(v.n, 8);
  t.is(new Set(v.items).size, 8);
});

test('mutateFrom a current copy writes with CAS at its revision without reading; from a stale copy it re-reads and loses no write', async (t) => {
  const r = repo(t);
  const created = await r.create('mf1', { items: [], n: 0 });
  let gets = 0;
  const kv = t.context.store.kvs.operations;
  const counting = new Repository<Doc>(
    new Proxy(kv, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target);
        if (prop === 'get') return (...a: unknown[]) => (gets++, (v as (...x: unknown[]) => unknown).apply(target, a));
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }),
    'doc',
  );
  const add = (x: string) => (d: Doc) => ({ items: [...d.items, x], n: d.n + 1 });
  const a = await counting.mutateFrom(created, 'mf1', add('a'));
  t.is(gets, 0, 'a current copy needs no read');
  t.true(a.changed);
  // Someone else writes: the copy `a` is now stale.
  await r.mutate('mf1', add('b'));
  const c = await counting.mutateFrom(a, 'mf1', add('c'));
  t.true(gets > 0, 'a stale copy is read again');
  t.deepEqual(c.value, { items: ['a', 'b', 'c'], n: 3 });
  t.deepEqual((await r.get('mf1'))!.value, { items: ['a', 'b', 'c'], n: 3 });
  // A change the stored value already has (the stale copy lacks it): found on the re-read, nothing written.
  const before = gets;
  const same = await counting.mutateFrom(a, 'mf1', (d) => (d.items.includes('c') ? undefined : add('c')(d)));
  t.true(gets > before);
  t.false(same.changed);
});

test('sameValue: the same once stored as JSON (key order, undefined members, NaN as null), different otherwise', (t) => {
  const same: [unknown, unknown][] = [
    [
      { a: 1, b: [1, { c: 'x', d: null }] },
      { b: [1, { d: null, c: 'x' }], a: 1 },
    ],
    [{ a: 1, u: undefined }, { a: 1 }],
    [
      [undefined, 2],
      [null, 2],
    ],
    [{ n: NaN }, { n: null }],
    [{ d: new Date(5) }, { d: new Date(5).toJSON() }],
    [[], []],
  ];
  const different: [unknown, unknown][] = [
    [{ a: 1 }, { a: 1, b: 0 }],
    [
      { a: 1, b: undefined },
      { a: 1, c: 2 },
    ],
    [{ a: [1, 2] }, { a: [2, 1] }],
    [{ a: [1] }, { a: { 0: 1 } }],
    [{ a: '1' }, { a: 1 }],
    [{ a: null }, { a: 0 }],
    [{ a: {} }, { a: [] }],
    [{ h: [{ s: 'x', at: 1 }] }, { h: [{ s: 'x', at: 2 }] }],
  ];
  for (const [a, b] of same) t.true(sameValue(a, b) && sameValue(b, a), JSON.stringify([a, b]));
  for (const [a, b] of different) t.false(sameValue(a, b) || sameValue(b, a), JSON.stringify([a, b]));
});

test('a mutation that changes nothing skips the write (revision unchanged)', async (t) => {
  const r = repo(t);
  const v1 = await r.create('nc', { items: ['a'], n: 1 });
  const same = await r.mutate('nc', (d) => ({ ...d }));
  t.false(same.changed);
  t.is(same.revision, v1.revision);
  const none = await r.mutate('nc', () => undefined);
  t.false(none.changed);
  t.is((await r.get('nc'))!.revision, v1.revision);
});

test('mutate on a missing key is NOT_FOUND; upsert creates it with kv.create', async (t) => {
  const r = repo(t);
  await t.throwsAsync(
    r.mutate('missing', (d) => d),
    { instanceOf: NotFoundError },
  );
  const u = await r.upsert('up1', (cur) => (cur ? { ...cur, n: cur.n + 1 } : { items: [], n: 1 }));
  t.true(u.changed);
  const u2 = await r.upsert('up1', (cur) => (cur ? { ...cur, n: cur.n + 1 } : { items: [], n: 1 }));
  t.is(u2.value.n, 2);
});

test('conflicts beyond the bound end in a CAS conflict (ABORTED), not a blind write', async (t) => {
  const other = repo(t);
  await other.create('hot', { items: [], n: 0 });
  // Another writer always slips in first.
  const kv = interleavingKv(t.context.store.kvs.operations, { left: 100, before: () => other.mutate('hot', (o) => ({ ...o, n: o.n + 100 })) });
  const r = new Repository<Doc>(kv, 'doc', { transientAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, conflictAttempts: 3 });
  let calls = 0;
  const err = await t.throwsAsync(
    r.mutate('hot', (d) => {
      calls++;
      return { ...d, items: [...d.items, 'mine'] };
    }),
    { instanceOf: CasConflictError },
  );
  t.is(err!.code, 10); // grpc ABORTED
  t.is(calls, 3);
  t.is((await r.get('hot'))!.value.n, 300);
  t.false((await r.get('hot'))!.value.items.includes('mine'));
});

/** A KV whose next `failures` update/create calls fail like a stream leader election does. */
function flakyKv(kv: KV, failures: { left: number; code: string }): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if ((prop === 'update' || prop === 'create') && typeof v === 'function') {
        return async (...args: unknown[]) => {
          if (failures.left > 0) {
            failures.left--;
            throw Object.assign(new Error('503'), { code: failures.code });
          }
          return (v as Function).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('transient 503/timeouts are retried with backoff, then succeed', async (t) => {
  const failures = { left: 2, code: '503' };
  const r = new Repository<Doc>(flakyKv(t.context.store.kvs.operations, failures), 'doc', {
    transientAttempts: 4,
    baseDelayMs: 10,
    maxDelayMs: 20,
    conflictAttempts: 3,
  });
  await r.create('tr', { items: [], n: 0 });
  t.is(failures.left, 0);
  failures.left = 1;
  failures.code = 'TIMEOUT';
  const res = await r.mutate('tr', (d) => ({ ...d, n: d.n + 1 }));
  t.true(res.changed);
  t.is((await r.get('tr'))!.value.n, 1);
});

test('transient failures beyond the bound become UNAVAILABLE', async (t) => {
  const failures = { left: 10, code: '503' };
  const r = new Repository<Doc>(flakyKv(t.context.store.kvs.operations, failures), 'doc', {
    transientAttempts: 3,
    baseDelayMs: 5,
    maxDelayMs: 5,
    conflictAttempts: 3,
  });
  await t.throwsAsync(r.create('tr2', { items: [], n: 0 }), { instanceOf: UnavailableError });
  t.is(failures.left, 7);
});

test('classification: a forming cluster (no suitable peers) and 503s are transient; bad requests and CAS conflicts are not', (t) => {
  t.true(isTransient({ code: '400', api_error: { code: 400, err_code: 10005, description: 'no suitable peers for placement' } }));
  t.true(isTransient({ code: '503' }));
  t.true(isTransient({ api_error: { code: 503, err_code: 10008 } }));
  t.false(isTransient({ code: '400', api_error: { code: 400, err_code: 10074, description: 'replicas > 1 not supported in non-clustered mode' } }));
  t.false(isTransient({ code: '400', api_error: { code: 400, err_code: 10071, description: 'wrong last sequence: 3' } }));
  t.true(isCasConflict({ api_error: { code: 400, err_code: 10071 } }));
  t.false(isTransient(new Error('boom')));
});

test('a deleteIf re-checks its condition at delete time (CAS)', async (t) => {
  const r = repo(t);
  await r.create('d1', { items: [], n: 1 });
  t.false(await r.deleteIf('d1', (d) => d.n === 2));
  t.true(await r.deleteIf('d1', (d) => d.n === 1));
  t.is(await r.get('d1'), null);
  // A deleted key can be created again.
  await r.create('d1', { items: [], n: 5 });
  t.is((await r.get('d1'))!.value.n, 5);
});

test('the audit stream appends entries in order', async (t) => {
  const before = await t.context.store.audit.lastSeq();
  for (const m of ['CreateZone', 'UpdateHost']) {
    await t.context.store.audit.record({
      atMs: Date.now(),
      coordinatorId: 'c',
      method: m,
      principal: 'u',
      via: 'token',
      peer: 'p',
      request: '{}',
      result: 'OK',
      code: 0,
      message: '',
    });
  }
  const list = await t.context.store.audit.list(before);
  t.deepEqual(
    list.map((e) => e.entry.method),
    ['CreateZone', 'UpdateHost'],
  );
});

test('buckets get the configured replicas (1 single node, 3 in a cluster), and opening is idempotent', async (t) => {
  const single = await t.context.store.kvs.zones.status();
  t.is(single.replicas, 1);
  const dir = tempDir('store-cluster');
  let nodes: NatsNode[] = [];
  let nc: NatsConnection | undefined;
  try {
    const tc = await startTestNats({ dir, cluster: 3 });
    nodes = tc.nodes;
    nc = await tc.connect();
    const s = await openStore(nc, { replicas: 3, timeoutMs: 5000 });
    for (const kv of Object.values(s.kvs)) t.is((await kv.status()).replicas, 3);
    await s.zones.create('z', { id: 'z' } as never);
    // A second instance opening the same store sees the same data.
    const again = await openStore(nc, { replicas: 3, timeoutMs: 5000 });
    t.is((await again.zones.get('z'))!.value.id, 'z');
  } finally {
    await nc?.close();
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('housekeeping purges old delete markers; newer ones and live records stay', async (t) => {
  const r = repo(t);
  await r.create('hk-live', { items: [], n: 1 });
  await r.create('hk-gone', { items: [], n: 1 });
  t.true(await r.deleteIf('hk-gone', () => true));
  t.true((await r.keys()).includes('hk-gone'), 'the marker is listed until purged');
  t.is(await purgeOldDeletes({ ops: t.context.store.kvs.operations }, 3_600_000), 0, 'a fresh marker is kept');
  t.true((await r.keys()).includes('hk-gone'));
  t.true((await purgeOldDeletes({ ops: t.context.store.kvs.operations }, 0, Date.now() + 1000)) >= 1);
  t.false((await r.keys()).includes('hk-gone'));
  t.is((await r.get('hk-live'))!.value.n, 1);
  await r.create('hk-gone', { items: [], n: 2 });
  t.is((await r.get('hk-gone'))!.value.n, 2);
});
