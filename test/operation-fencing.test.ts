// Operation writes fenced by the lease term (coordinator/operations/op-store.ts):
// a deposed leader's write, a CAS retry of one included, never lands after a
// newer leader has written the operation. Real nats-server, real KV.
import anyTest, { type TestFn } from 'ava';
import type { KV, NatsConnection } from 'nats';
import { rmSync } from 'node:fs';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { Repository } from '../coordinator/store/repository.ts';
import { OperationEventLog } from '../coordinator/operations/events.ts';
import { FencedWriteError, OperationStore, type OperationBuckets } from '../coordinator/operations/op-store.ts';
import type { ActiveEntry, OperationHeader, StoredStep } from '../coordinator/operations/op-layout.ts';
import type { OperationRecord, StepRecord } from '../coordinator/operations/types.ts';
import { DEFAULT_RETRY } from '../coordinator/store/retry.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';

interface Ctx {
  dir: string;
  tn: TestNats;
  nc: NatsConnection;
  store: Store;
  events: OperationEventLog;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('opfence');
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

/** The KV whose next update (of either bucket) runs `hook.before` first, once: someone else's write landing while ours is in flight. */
function hooked(kv: KV, hook: { before: (() => Promise<void>) | null }): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'update')
        return async (...args: unknown[]) => {
          const before = hook.before;
          hook.before = null;
          await before?.();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function bucketsOf(s: Store, hook: { before: (() => Promise<void>) | null }): OperationBuckets {
  return {
    headers: new Repository<OperationHeader>(hooked(s.kvs.operations, hook), 'operation'),
    steps: new Repository<StoredStep>(hooked(s.kvs.operationSteps, hook), 'operation step'),
    active: new Repository<ActiveEntry>(s.kvs.activeOperations, 'active operation'),
  };
}

let seq = 0;
function operation(steps: number): OperationRecord {
  const id = `op-f${(seq++).toString(36)}-${Math.random().toString(16).slice(2, 10)}`;
  return drainRecord(
    id,
    Array.from({ length: steps }, (_, i) => step(i)),
  );
}

function step(i: number): StepRecord {
  return stepRecord(i, {}, '33333333');
}

/** A drain's start of step i by the leader of `term` (what drain.ts records). */
const start = (i: number, by: string) => (o: OperationRecord) => {
  const s = o.steps[i]!;
  s.phase = 'migrating';
  s.attempt += 1;
  s.migrationId = `${by}-${i}`;
  s.targetHostId = by;
  return o;
};

test("a deposed leader's write after the new leader has written is refused with FencedWriteError; the record keeps the new leader's", async (t) => {
  const hook = { before: null as (() => Promise<void>) | null };
  const ops = new OperationStore(bucketsOf(t.context.store, hook), t.context.events);
  const op = operation(4);
  await ops.create(op, 'created');
  const old = ops.fenced(5);
  const next = ops.fenced(6);
  await old.update(op.id, start(0, 'old'));
  t.is((await ops.require(op.id)).value.leaderTerm, 5);
  await next.update(op.id, start(1, 'new'));
  t.is((await ops.require(op.id)).value.leaderTerm, 6);
  const err = await t.throwsAsync(old.update(op.id, start(2, 'old')), { instanceOf: FencedWriteError });
  t.like(err, { operationId: op.id, term: 5, storedTerm: 6 });
  const after = (await ops.require(op.id)).value;
  t.is(after.steps[2]!.phase, 'pending', 'the deposed write changed nothing');
  t.is(after.steps[1]!.migrationId, 'new-1');
  // The admin API's writes (not fenced) keep the stored term.
  await ops.update(op.id, (o) => ({ ...o, cancelReason: 'x' }));
  t.is((await ops.require(op.id)).value.leaderTerm, 6);
});

/**
 * The cause of "12 steps migrating at limit 8": a deposed leader's start
 * write, in flight when the new leader wrote, conflicts, re-reads and is
 * applied again on top of the new leader's record. Fenced, the retry is
 * refused; unfenced (as every write was before), it lands.
 */
for (const fenced of [true, false]) {
  test(`a deposed leader's write in flight when the new leader writes: ${fenced ? 'its CAS retry is refused (fenced)' : 'it lands over the new one (unfenced: what the fence prevents)'}`, async (t) => {
    const hook = { before: null as (() => Promise<void>) | null };
    const ops = new OperationStore(bucketsOf(t.context.store, hook), t.context.events);
    const op = operation(4);
    await ops.create(op, 'created');
    // Two leaders are two processes: each writes through a store of its own
    // (one store writes one round per operation at a time, op-store.ts).
    const other = new OperationStore(bucketsOf(t.context.store, { before: null }), t.context.events);
    const old = fenced ? ops.fenced(5) : ops;
    const next = fenced ? other.fenced(6) : other;
    if (fenced) await old.update(op.id, (o) => ({ ...o, reason: 'term 5 leading' }));
    // The new leader's write lands while the old leader's header write is in flight.
    hook.before = async () => {
      await next.update(op.id, start(0, 'new'));
    };
    const write = old.update(op.id, start(1, 'old'));
    if (fenced) await t.throwsAsync(write, { instanceOf: FencedWriteError });
    else await write;
    const after = (await ops.require(op.id)).value;
    t.is(after.steps[0]!.migrationId, 'new-0');
    t.is(after.steps[1]!.phase, fenced ? 'pending' : 'migrating');
  });
}
