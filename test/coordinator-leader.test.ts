// Leader election on a real nats-server: exactly one leader; a graceful stop
// hands the lease over at once; a leader whose lease is taken (its renew
// CAS fails) stops its background work immediately; observers take an
// unrenewed lease only after the TTL.
import anyTest, { type TestFn } from 'ava';
import type { NatsConnection } from 'nats';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { silentLogger } from '../common/logging.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { LEASE_KEY, LeaderElection } from '../coordinator/leader.ts';
import { Repository } from '../coordinator/store/repository.ts';
import { tempDir, waitFor } from '../harness/coordinator-helpers.ts';

interface Ctx {
  dir: string;
  node: NatsNode;
  nc: NatsConnection;
  store: Store;
  elections: LeaderElection[];
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('leader');
  const tn = await startTestNats({ dir });
  const node = tn.node;
  const nc = await tn.connect();
  const store = await openStore(nc, { replicas: 1, timeoutMs: 2000 });
  t.context = { dir, node, nc, store, elections: [] };
});

test.after.always(async (t) => {
  await Promise.allSettled((t.context.elections ?? []).map((e) => e.stop()));
  await t.context.nc?.close();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test.afterEach.always(async (t) => {
  await Promise.allSettled(t.context.elections.map((e) => e.stop()));
  t.context.elections.length = 0;
  await t.context.store.kvs.leader.purge(LEASE_KEY).catch(() => undefined);
});

function election(t: { context: Ctx }, id: string, ttlMs = 2000): LeaderElection {
  const e = new LeaderElection(t.context.store.leader, { id, ttlMs, renewIntervalMs: 300, logger: silentLogger() });
  t.context.elections.push(e);
  e.start();
  return e;
}

test('exactly one of three leads; a graceful stop hands the lease over without waiting for the TTL', async (t) => {
  const es = ['a', 'b', 'c'].map((id) => election(t, id, 5000));
  const leader = await waitFor('a leader', () => es.find((e) => e.isLeader()), 5000, 20);
  await sleep(1000);
  t.is(es.filter((e) => e.isLeader()).length, 1);
  const t0 = Date.now();
  await leader.stop();
  const next = await waitFor('a new leader', () => es.find((e) => e !== leader && e.isLeader()), 5000, 20);
  t.true(Date.now() - t0 < 2000, `handover in ${Date.now() - t0} ms with a 5 s TTL`);
  t.true(next.currentTerm() > leader.currentTerm());
});

test('a leader whose lease is taken stops its background work at its next renew', async (t) => {
  const e = election(t, 'victim', 3000);
  await waitFor('leading', () => e.isLeader(), 5000, 20);
  const events: string[] = [];
  e.on('lost', (reason) => events.push(`lost: ${reason}`));
  let workSignal: AbortSignal | null = null;
  e.onLeadership((signal) => {
    workSignal = signal;
  });
  await waitFor('work started for the current leadership', () => workSignal !== null, 2000, 10);
  // Someone else writes the lease (CAS at the current revision, as a taker would).
  const repo = new Repository(t.context.store.kvs.leader, 'lease');
  const cur = (await repo.get(LEASE_KEY))!;
  await repo.updateAt(LEASE_KEY, { ...(cur.value as object), holder: 'usurper', term: 99 }, cur.revision);
  const t0 = Date.now();
  await waitFor('work aborted', () => workSignal!.aborted, 3000, 10);
  t.true(Date.now() - t0 < 1000, 'within a renew interval or so');
  t.false(e.isLeader());
  t.is(e.leadershipSignal(), null);
  t.regex(events[0] ?? '', /lost: (lease taken by usurper|renew lost)/);
  // It does not fight back: the usurper's lease stands until it expires.
  await sleep(1000);
  t.is(((await repo.get(LEASE_KEY))!.value as { holder: string }).holder, 'usurper');
});

test('an unrenewed lease is taken over only after the TTL (judged by revision age, not clocks)', async (t) => {
  // A lease written by a holder that then vanished.
  await t.context.store.leader.create(LEASE_KEY, { holder: 'ghost', term: 7, acquiredAtMs: 0, renewedAtMs: 0, ttlMs: 1500 });
  const t0 = Date.now();
  const e = election(t, 'heir', 1500);
  await waitFor('heir leads', () => e.isLeader(), 6000, 20);
  const took = Date.now() - t0;
  t.true(took >= 1500, `not before the TTL (${took} ms)`);
  t.true(took < 5000, `but soon after, not never (${took} ms)`);
  t.is(e.currentTerm(), 8);
});

test('two instances configured with the same id never both lead (the lease names the process, not just the id)', async (t) => {
  // The example config's id and the hostname default make a shared id easy:
  // two processes with it must still exclude each other.
  // The second starts once the first leads, half a renew interval out of
  // phase (a second process started later): each renews at its own times.
  const first = election(t, 'coord-01', 2000);
  await waitFor('the first leads', () => first.isLeader(), 5000, 20);
  await sleep(150);
  const twins = [first, election(t, 'coord-01', 2000)];
  let samples = 0;
  let both = 0;
  let changes = 0;
  let last = twins.findIndex((e) => e.isLeader());
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    const leading = twins.map((e) => e.isLeader());
    samples++;
    if (leading.every(Boolean)) both++;
    const now = leading.indexOf(true);
    if (now !== -1 && now !== last) {
      changes++;
      last = now;
    }
    await sleep(10);
  }
  t.log(`${samples} samples over 4 s: both leading in ${both}, leadership changed hands ${changes} times`);
  t.is(both, 0, 'never both leading');
  t.is(changes, 0, 'and no ping-pong: the first holder keeps the lease');
  const leader = twins.find((e) => e.isLeader())!;
  t.truthy(leader, 'one of them leads');
  const lease = (await t.context.store.leader.get(LEASE_KEY))!.value;
  t.is(lease.holder, 'coord-01');
  t.is(lease.instance, leader.instance, 'the lease records which process holds it');
  t.not(twins[0]!.instance, twins[1]!.instance);
});

test("a lease left by an earlier process with the same id is taken over only after the TTL, like anyone else's", async (t) => {
  // What a crashed (or still running but partitioned) process with this id leaves.
  await t.context.store.leader.create(LEASE_KEY, { holder: 'heir', instance: 'an-earlier-process', term: 3, acquiredAtMs: 0, renewedAtMs: 0, ttlMs: 1500 });
  const t0 = Date.now();
  const e = election(t, 'heir', 1500);
  await waitFor('heir leads', () => e.isLeader(), 6000, 20);
  const took = Date.now() - t0;
  t.true(took >= 1500, `not before the TTL (${took} ms)`);
  t.is(e.currentTerm(), 4);
  t.is((await t.context.store.leader.get(LEASE_KEY))!.value.instance, e.instance);
});
