// Operations as stored against a real nats-server: a header and one KV key
// per step (a step's progress writes that step alone), CAS across two
// coordinator instances, the active index, records of the older layout, and
// retention (finished operations archived, their events kept).
import anyTest, { type TestFn } from 'ava';
import type { KV, NatsConnection } from 'nats';
import { rmSync } from 'node:fs';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';
import { FailedPreconditionError, NotFoundError } from '../common/errors.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { Repository } from '../coordinator/store/repository.ts';
import { OperationEventLog } from '../coordinator/operations/events.ts';
import { OperationStore, type OperationBuckets } from '../coordinator/operations/op-store.ts';
import { stepKey, type ActiveEntry, type OperationHeader, type StoredStep } from '../coordinator/operations/op-layout.ts';
import { archiveFinished, migrateLegacy } from '../coordinator/operations/op-retention.ts';
import type { OperationRecord, StepRecord } from '../coordinator/operations/types.ts';
import { DEFAULT_RETRY } from '../coordinator/store/retry.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';
import { MaintenanceEngine } from '../coordinator/operations/engine.ts';
import type { LeaderElection } from '../coordinator/leader.ts';
import type { WorkerRegistry } from '../coordinator/operations/worker.ts';
import { silentLogger } from '../common/logging.ts';
import { setTimeout as sleep } from 'node:timers/promises';

interface Ctx {
  dir: string;
  tn: TestNats;
  nc: NatsConnection;
  store: Store;
  events: OperationEventLog;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('opstore');
  const tn = await startTestNats({ dir });
  const nc = await tn.connect();
  const store = await openStore(nc, { replicas: 1, timeoutMs: 3000 });
  const events = await OperationEventLog.open(nc, { replicas: 1, retry: DEFAULT_RETRY });
  t.context = { dir, tn, nc, store, events };
});

test.after.always(async (t) => {
  await t.context.nc?.close();
  await t.context.tn?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** The KV with every written value's size recorded per key. */
function counting(kv: KV, writes: { key: string; bytes: number }[]): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'update' || prop === 'create' || prop === 'put')
        return (key: string, data: Uint8Array, ...rest: unknown[]) => {
          writes.push({ key, bytes: data.length });
          return (v as (...a: unknown[]) => unknown).call(target, key, data, ...rest);
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function bucketsOf(s: Store, writes: { key: string; bytes: number }[] = []): OperationBuckets {
  return {
    headers: new Repository<OperationHeader>(counting(s.kvs.operations, writes), 'operation'),
    steps: new Repository<StoredStep>(counting(s.kvs.operationSteps, writes), 'operation step'),
    active: new Repository<ActiveEntry>(counting(s.kvs.activeOperations, writes), 'active operation'),
  };
}

let seq = 0;
function operation(steps: number, over: Partial<OperationRecord> = {}): OperationRecord {
  const id = `op-t${(seq++).toString(36)}-${Math.random().toString(16).slice(2, 10)}`;
  return drainRecord(
    id,
    Array.from({ length: steps }, (_, i) => step(i)),
    over,
  );
}

function step(i: number): StepRecord {
  return stepRecord(i);
}

test("one step's progress writes that step's key alone, and a step that ends adds only the header", async (t) => {
  const writes: { key: string; bytes: number }[] = [];
  const ops = new OperationStore(bucketsOf(t.context.store, writes), t.context.events);
  const op = operation(500);
  await ops.create(op, 'created');
  writes.length = 0;
  await ops.update(op.id, (o) => {
    o.steps[7]!.percent = 42;
    o.steps[7]!.phase = 'migrating';
    return o;
  });
  t.deepEqual(
    writes.map((w) => w.key),
    [stepKey(op.id, 7)],
    'a progress write touches one key',
  );
  t.true(writes[0]!.bytes < 2048, `${writes[0]!.bytes} bytes for one step of 500`);
  writes.length = 0;
  await ops.update(op.id, (o) => {
    o.steps[7]!.phase = 'done';
    return o;
  });
  t.deepEqual(writes.map((w) => w.key).sort(), [op.id, stepKey(op.id, 7)].sort(), 'the step and the header (its counts)');
  const back = (await ops.require(op.id)).value;
  t.is(back.steps.length, 500);
  t.is(back.steps[7]!.phase, 'done');
  t.is(back.steps[7]!.percent, 42);
  t.deepEqual(back.steps[8], op.steps[8]);
  const header = (await ops.header(op.id))!.value;
  t.is(header.doneCount, 1);
  t.is(header.stepCount, 500);
  // A change that changes nothing writes nothing.
  writes.length = 0;
  await ops.update(op.id, (o) => o);
  t.deepEqual(writes, []);
});

test('a change naming its steps gets copies of those alone (the rest frozen as stored), writes what a whole-record change writes, and cannot touch another step', async (t) => {
  const writes: { key: string; bytes: number }[] = [];
  const ops = new OperationStore(bucketsOf(t.context.store, writes), t.context.events);
  const named = operation(300);
  const whole = operation(300);
  for (const op of [named, whole]) await ops.create(op, 'created');
  const change = (o: OperationRecord) => {
    o.steps[3]!.phase = 'done';
    o.steps[3]!.triedTargets.push('sim-9');
    o.steps[5]!.percent = 50;
    o.reason = 'two steps on';
    return o;
  };
  let frozen: boolean[] = [];
  writes.length = 0;
  await ops.update(named.id, (o) => ((frozen = o.steps.map((s) => Object.isFrozen(s))), change(o)), undefined, undefined, [3, 5]);
  t.deepEqual(
    frozen.flatMap((f, i) => (f ? [] : [i])),
    [3, 5],
    'copies of the named steps, every other one as stored and frozen',
  );
  t.deepEqual(writes.map((w) => w.key).sort(), [named.id, stepKey(named.id, 3), stepKey(named.id, 5)].sort());
  await ops.update(whole.id, change);
  const a = (await ops.require(named.id)).value;
  const b = (await ops.require(whole.id)).value;
  // Times aside (each operation was made and written at its own moment).
  const { id: _a, createdAtMs: _ca, updatedAtMs: _ua, stageSinceMs: _sa, ...restA } = a;
  const { id: _b, createdAtMs: _cb, updatedAtMs: _ub, stageSinceMs: _sb, ...restB } = b;
  t.deepEqual(
    { ...restA, steps: restA.steps.map(({ finishedAtMs: _f, ...s }) => s) },
    { ...restB, steps: restB.steps.map(({ finishedAtMs: _f, ...s }) => s) },
    'the same record as the whole-record change',
  );
  t.deepEqual((await ops.header(named.id))!.value.doneCount, 1);

  // A step it did not name: refused, nothing written.
  writes.length = 0;
  await t.throwsAsync(
    ops.update(
      named.id,
      (o) => {
        o.steps[3]!.percent = 1;
        o.steps[4]!.percent = 99;
        return o;
      },
      undefined,
      undefined,
      [3],
    ),
    { instanceOf: TypeError },
  );
  await t.throwsAsync(
    ops.update(named.id, (o) => ((o.steps[6] = { ...o.steps[6]!, percent: 99 }), o), undefined, undefined, [3]),
    { message: /replaced step 6/ },
  );
  t.deepEqual(writes, [], 'nothing written');
  const after = (await ops.require(named.id)).value;
  t.is(after.steps[4]!.percent, 0);
  t.is(after.steps[3]!.percent, a.steps[3]!.percent);
});

test("a leader's concurrent step outcomes on one operation: written in at most two rounds (the first, then the rest together), none in a CAS race", async (t) => {
  const writes: { key: string; bytes: number }[] = [];
  const ops = new OperationStore(bucketsOf(t.context.store, writes), t.context.events).fenced(3);
  const op = operation(16);
  await ops.create(op, 'created');
  writes.length = 0;
  const n = 8;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      ops.update(
        op.id,
        (o) => {
          o.steps[i]!.phase = 'done';
          return o;
        },
        (o) => [{ type: 'step', step: o.steps[i]!, message: `step ${i} done` }],
      ),
    ),
  );
  // Every caller got a record holding its own change.
  for (const [i, r] of results.entries()) t.is(r.steps[i]!.phase, 'done');
  const headerWrites = writes.filter((w) => w.key === op.id).length;
  // Before: one header write (and its CAS losers' retries) per outcome, 8 or more.
  t.true(headerWrites <= 2, `${headerWrites} header writes for ${n} concurrent outcomes`);
  t.is(writes.filter((w) => w.key !== op.id).length, n, 'each step key written once');
  const back = (await ops.require(op.id)).value;
  t.is(back.steps.filter((s) => s.phase === 'done').length, n);
  t.is(back.leaderTerm, 3);
  // A change that throws fails its caller alone; one refused by the fence fails every caller of its round.
  const [bad, good] = await Promise.allSettled([
    ops.update(op.id, () => {
      throw new Error('broken change');
    }),
    ops.update(op.id, (o) => {
      o.steps[9]!.phase = 'done';
      return o;
    }),
  ]);
  t.is(bad.status, 'rejected');
  t.is(good.status, 'fulfilled');
  t.is((await ops.require(op.id)).value.steps[9]!.phase, 'done');
  await new OperationStore(bucketsOf(t.context.store), t.context.events).fenced(4).update(op.id, (o) => ({ ...o, reason: 'term 4' }));
  const fencedOut = await Promise.allSettled([0, 1].map((k) => ops.update(op.id, (o) => ({ ...o, reason: `term 3 again ${k}` }))));
  t.deepEqual(
    fencedOut.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

test('two instances writing one operation: CAS per key, nothing lost, each sees the other', async (t) => {
  const a = new OperationStore(bucketsOf(t.context.store), t.context.events);
  const b = new OperationStore(bucketsOf(t.context.store), t.context.events);
  const op = operation(20);
  await a.create(op, 'created');
  // Both read (and cache) it first.
  await a.require(op.id);
  await b.require(op.id);
  const bump = (s: OperationStore, i: number) =>
    s.update(op.id, (o) => {
      o.steps[i]!.attempt += 1;
      return o;
    });
  // The same step from both sides (conflicts), and other steps meanwhile.
  await Promise.all([...Array.from({ length: 10 }, () => bump(a, 3)), ...Array.from({ length: 10 }, () => bump(b, 3)), bump(a, 4), bump(b, 5)]);
  for (const s of [a, b]) {
    const v = (await s.require(op.id)).value;
    t.is(v.steps[3]!.attempt, 20, 'no increment lost');
    t.is(v.steps[4]!.attempt, 1);
    t.is(v.steps[5]!.attempt, 1);
  }
  // A header change from one side and a step change from the other.
  await Promise.all([
    a.update(op.id, (o) => ({ ...o, cancelRequested: true })),
    b.update(op.id, (o) => {
      o.steps[9]!.phase = 'skipped';
      return o;
    }),
  ]);
  const v = (await a.require(op.id)).value;
  t.true(v.cancelRequested);
  t.is(v.steps[9]!.phase, 'skipped');
  await t.throwsAsync(
    a.update('op-missing', (o) => o),
    { instanceOf: NotFoundError },
  );
});

test('the active index lists unfinished operations only; ending one removes it', async (t) => {
  const reads: string[] = [];
  const b = bucketsOf(t.context.store);
  const headers = b.headers;
  const origGet = headers.get.bind(headers);
  headers.get = (key, signal) => {
    reads.push(key);
    return origGet(key, signal);
  };
  const ops = new OperationStore(b, t.context.events);
  const finished: OperationRecord[] = [];
  for (let i = 0; i < 30; i++) finished.push(await ops.create(operation(1, { state: 'succeeded', finishedAtMs: Date.now() }), 'done'));
  const live = await ops.create(operation(2), 'running');
  reads.length = 0;
  // Other tests of this file write operations meanwhile: this test's only.
  const mine = new Set([live.id, ...finished.map((f) => f.id)]);
  const active = (await ops.listActive()).map((h) => h.id).filter((id) => mine.has(id));
  t.deepEqual(active, [live.id]);
  t.false(
    reads.some((k) => finished.some((f) => f.id === k)),
    'no finished operation read',
  );
  await ops.update(live.id, (o) => ({ ...o, state: 'succeeded' }));
  t.false((await ops.activeIds()).includes(live.id), 'ended: out of the index');
  t.true((await ops.header(live.id))!.value.finishedAtMs > 0);
});

test('a record of the older layout is refused with a clear error, then migrated at start', async (t) => {
  const b = bucketsOf(t.context.store);
  const ops = new OperationStore(b, t.context.events);
  const old = operation(3, { state: 'paused' });
  old.steps[1]!.phase = 'done';
  await t.context.store.kvs.operations.create(old.id, new TextEncoder().encode(JSON.stringify(old)));
  const err = await t.throwsAsync(ops.get(old.id), { instanceOf: FailedPreconditionError });
  t.regex(err!.message, /older coordinator.*migrates/);
  t.true((await migrateLegacy(b)) >= 1);
  const back = (await ops.require(old.id)).value;
  t.deepEqual(back.steps, old.steps);
  t.is(back.state, 'paused');
  t.true((await ops.activeIds()).includes(old.id), 'an unfinished old record joins the active index');
  t.is(await migrateLegacy(b), 0, 'idempotent');
});

test("a drain's moved-away list: derived from its steps, out of the header while it runs (the header does not grow per move), in it once it ends and after archiving; a header of the previous layout still reads", async (t) => {
  const writes: { key: string; bytes: number }[] = [];
  const ops = new OperationStore(bucketsOf(t.context.store, writes), t.context.events);
  const op = await ops.create(operation(40), 'created');
  const move = (i: number) =>
    ops.update(op.id, (o) => {
      Object.assign(o.steps[i]!, { phase: 'done', targetHostId: `t${i}`, finishedAtMs: 1000 + i, reason: `moved ${i} with a reason long enough to count` });
      return o;
    });
  const headerBytes: number[] = [];
  for (let i = 0; i < 30; i++) {
    writes.length = 0;
    await move(i);
    headerBytes.push(writes.find((w) => w.key === op.id)!.bytes);
  }
  // Before: every move appended to the header's list (~150 bytes each).
  t.true(headerBytes.at(-1)! - headerBytes[0]! < 150, `header grew from ${headerBytes[0]} to ${headerBytes.at(-1)} bytes over 30 moves`);
  t.deepEqual((await ops.header(op.id))!.value.movedAway, []);
  const running = (await ops.require(op.id)).value;
  t.deepEqual(
    running.movedAway.map((m) => [m.serverName, m.toHostId]),
    Array.from({ length: 30 }, (_, i) => [`vm-${i}`, `t${i}`]),
  );
  // A stop is not a move.
  await ops.update(op.id, (o) => {
    Object.assign(o.steps[30]!, { phase: 'done', action: 'stop', finishedAtMs: 2000 });
    return o;
  });
  t.is((await ops.require(op.id)).value.movedAway.length, 30);
  await ops.update(op.id, (o) => ({ ...o, state: 'succeeded' }));
  t.is((await ops.header(op.id))!.value.movedAway.length, 30, 'an ended drain keeps its list in its header');
  // Archived as op-retention.ts does it (archiveFinished itself would archive the other tests' operations too).
  await ops.buckets.steps.purgeKeys(`${op.id}.>`);
  ops.forget(op.id);
  const ended = (await ops.header(op.id))!;
  await ops.buckets.headers.updateAt(op.id, { ...ended.value, archivedAtMs: Date.now() }, ended.revision);
  t.deepEqual((await ops.require(op.id)).value.steps, []);
  t.is((await ops.require(op.id)).value.movedAway.length, 30, 'and keeps it once archived (steps gone)');

  // A running drain's header as the previous layout wrote it: its list kept up to date in the header.
  const prev = await ops.create(operation(3), 'created');
  await ops.update(prev.id, (o) => {
    Object.assign(o.steps[1]!, { phase: 'done', targetHostId: 'x', finishedAtMs: 5 });
    return o;
  });
  const h = (await ops.header(prev.id))!;
  await ops.buckets.headers.updateAt(
    prev.id,
    { ...h.value, movedAway: [{ serverUuid: prev.steps[1]!.serverUuid, serverName: 'vm-1', toHostId: 'x', wasRunning: true }] },
    h.revision,
  );
  const fresh = new OperationStore(bucketsOf(t.context.store), t.context.events);
  t.deepEqual((await fresh.require(prev.id)).value.movedAway, [{ serverUuid: prev.steps[1]!.serverUuid, serverName: 'vm-1', toHostId: 'x', wasRunning: true }]);
  await fresh.update(prev.id, (o) => {
    Object.assign(o.steps[2]!, { phase: 'done', targetHostId: 'y', finishedAtMs: 6 });
    return o;
  });
  t.deepEqual(
    (await fresh.require(prev.id)).value.movedAway.map((m) => m.toHostId),
    ['x', 'y'],
  );
});

test('retention archives operations finished long enough ago: steps gone, summary and events kept', async (t) => {
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  const ops = new OperationStore(bucketsOf(t.context.store), t.context.events);
  // An operation that ran and ended 31 days ago (its store's clock then).
  const then = new OperationStore(bucketsOf(t.context.store), t.context.events, () => now - 31 * day);
  const old = await then.create(operation(5), 'old: started');
  await then.update(
    old.id,
    (o) => {
      o.steps[0]!.phase = 'done';
      return o;
    },
    () => [{ type: 'step', message: 'vm-0 moved' }],
  );
  await then.update(
    old.id,
    (o) => ({ ...o, state: 'succeeded' }),
    () => [{ type: 'state', message: 'old: succeeded' }],
  );
  const recent = await ops.create(operation(5, { state: 'failed', finishedAtMs: now - 2 * day }), 'recent');
  const running = await ops.create(operation(5), 'running');
  const archived = await archiveFinished(ops, 30 * day, now);
  t.true(archived.includes(old.id));
  t.false(archived.includes(recent.id));
  t.false(archived.includes(running.id));
  const keys = await ops.buckets.steps.keys();
  t.false(
    keys.some((k) => k.startsWith(`${old.id}.`)),
    'its steps are purged',
  );
  t.true(keys.some((k) => k.startsWith(`${recent.id}.`)));
  const h = (await ops.header(old.id))!.value;
  t.is(h.archivedAtMs, now);
  t.is(h.doneCount, 1);
  t.is(h.stepCount, 5);
  t.is(h.state, 'succeeded');
  t.deepEqual((await ops.require(old.id)).value.steps, [], 'read as its summary');
  // Its events are still there to replay (the watch ends at the terminal one).
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const seen: string[] = [];
  for await (const ev of t.context.events.watch(old.id, 0, ac.signal)) seen.push(ev.message);
  t.deepEqual(seen, ['old: started', 'vm-0 moved', 'old: succeeded']);
  t.deepEqual(await archiveFinished(ops, 30 * day, now), [], 'nothing twice');
});

test('the engine works from the active index: finished operations are never read, however many', async (t) => {
  const reads: string[] = [];
  const b = bucketsOf(t.context.store);
  const origGet = b.headers.get.bind(b.headers);
  b.headers.get = (key, signal) => {
    reads.push(key);
    return origGet(key, signal);
  };
  const ops = new OperationStore(b, t.context.events);
  const finished: OperationRecord[] = [];
  for (let i = 0; i < 40; i++) finished.push(await ops.create(operation(1, { state: 'succeeded', finishedAtMs: Date.now() }), 'done'));
  const live = await ops.create(operation(1), 'running');
  // A leader that leads at once, and a worker that only records which operations it was given.
  const lease = new AbortController();
  const leader = { onLeadership: (work: (s: AbortSignal) => Promise<void>) => (void work(lease.signal), () => undefined) } as unknown as LeaderElection;
  const ran: string[] = [];
  const worker = (_ctx: unknown, opId: string) => ({
    pass: async () => 'end' as const,
    cancel: async () => undefined,
    settle: async () => void ran.push(opId),
  });
  const workers = { enable_maintenance: worker, disable_maintenance: worker, return_servers: worker } as unknown as WorkerRegistry;
  reads.length = 0;
  const engine = new MaintenanceEngine({
    workers,
    ops,
    leader,
    logger: silentLogger(),
    pollIntervalMs: 50,
    rebootTimeoutMs: 1000,
  } as unknown as ConstructorParameters<typeof MaintenanceEngine>[0]);
  engine.start();
  t.teardown(async () => {
    lease.abort();
    await engine.stop();
  });
  await sleep(600);
  t.true(ran.includes(live.id), 'the active operation got a worker');
  const finishedIds = new Set(finished.map((f) => f.id));
  t.deepEqual(
    reads.filter((k) => finishedIds.has(k)),
    [],
    'no finished operation was read by ~10 polls',
  );
});
