// The pure parts of the admin API's protection against unauthenticated
// floods: the peer key, the per-peer budget of failed attempts, the hash
// queue (cap, round-robin, clean lane first, refusals), the refusal audit
// (one by one, then summaries), and the token verifier's hashing off the
// event loop. The coordinator-level behaviour is in coordinator-auth-flood.test.ts.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerKey } from '../coordinator/auth/peer.ts';
import { FailureLimiter } from '../coordinator/auth/failure-limiter.ts';
import { HashQueue, HashQueueFullError } from '../coordinator/auth/hash-queue.ts';
import { RefusalAudit, REFUSAL_SUMMARY_METHOD } from '../coordinator/admin/refusals.ts';
import { hashTokenScrypt, parseUsers, TokenVerifier } from '../coordinator/auth/tokens.ts';
import { DEFAULT_ROLES } from '../coordinator/auth/permissions.ts';
import { createLogger } from '../common/logging.ts';
import type { AuditEntry } from '../coordinator/store/audit.ts';

test('peerKey: IPv4 without the port, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, loopback ::1 as itself', (t) => {
  t.is(peerKey('127.0.0.1:52344'), '127.0.0.1');
  t.is(peerKey('10.1.2.3:1'), '10.1.2.3');
  t.is(peerKey('::ffff:192.0.2.7:4000'), '192.0.2.7');
  t.is(peerKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd:443'), '2001:db8:1:2::/64');
  t.is(peerKey('2001:db8:1:2::9:443'), '2001:db8:1:2::/64', 'same /64, same key');
  t.is(peerKey('[2001:db8::1]:443'), '2001:db8:0:0::/64');
  t.is(peerKey('::1:5555'), '::1');
  t.is(peerKey('/run/drydock.sock'), '/run/drydock.sock');
});

test('FailureLimiter: a burst, then one per interval; valid and unchecked attempts are given back; peers are separate', (t) => {
  let now = 0;
  const l = new FailureLimiter({ burst: 3, refillMs: 1000, now: () => now });
  t.true(l.isClean('a'));
  for (let i = 0; i < 3; i++) {
    t.is(l.take('a'), 0);
    l.settle('a', 'wrong');
  }
  t.false(l.isClean('a'));
  t.is(l.take('a'), 1000, 'out of budget: retry in a whole interval');
  t.is(l.take('b'), 0, 'another peer has its own budget');
  l.settle('b', 'valid');
  t.true(l.isClean('b'), 'a valid token leaves a peer clean');
  now = 500;
  t.is(l.take('a'), 500);
  now = 1000;
  t.is(l.take('a'), 0, 'one more after one interval');
  l.settle('a', 'unchecked');
  t.is(l.take('a'), 0, 'an unchecked attempt (queue full, caller gone) is given back');
  l.settle('a', 'valid');
  t.is(l.take('a'), 0);
  l.settle('a', 'wrong');
  t.not(l.take('a'), 0);
  // Clean again only after a whole budget's refill with nothing gone wrong.
  now = 1000 + 3000 - 1;
  t.false(l.isClean('a'));
  now = 1000 + 3000;
  t.true(l.isClean('a'));
});

test('FailureLimiter: concurrent attempts take before any is judged', (t) => {
  const l = new FailureLimiter({ burst: 2, refillMs: 60_000, now: () => 0 });
  t.deepEqual([l.take('p'), l.take('p'), l.take('p') > 0], [0, 0, true]);
});

test('FailureLimiter: the table stays bounded under many peers', (t) => {
  let now = 0;
  const l = new FailureLimiter({ burst: 2, refillMs: 1000, maxPeers: 100, now: () => now });
  for (let i = 0; i < 10_000; i++) {
    now++;
    l.take(`10.0.${i >> 8}.${i & 255}`);
    l.settle(`10.0.${i >> 8}.${i & 255}`, 'wrong');
  }
  t.true(l.size <= 100, `${l.size} peers remembered`);
});

/** A job that finishes when `release` is called. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, job: () => done };
}

test('HashQueue: at most `concurrency` at once; a full queue refuses at once with UNAVAILABLE', async (t) => {
  const q = new HashQueue({ concurrency: 1, maxQueued: 2 });
  const g = gate();
  const running = q.run('a', false, g.job);
  const w1 = q.run('a', false, async () => 'w1');
  const w2 = q.run('b', false, async () => 'w2');
  t.deepEqual([q.active, q.waiting], [1, 2]);
  const err = await t.throwsAsync(
    q.run('c', false, async () => 'never'),
    { instanceOf: HashQueueFullError },
  );
  t.is((err as HashQueueFullError).code, grpc.status.UNAVAILABLE);
  g.release();
  await running;
  t.deepEqual(await Promise.all([w1, w2]), ['w1', 'w2']);
  t.deepEqual([q.active, q.waiting], [0, 0]);
});

test("HashQueue: waiting jobs go round-robin by peer, clean peers first; a clean job takes a full queue's place from the busiest slow peer", async (t) => {
  const q = new HashQueue({ concurrency: 1, maxQueued: 5 });
  const order: string[] = [];
  const g = gate();
  const first = q.run('x', false, g.job);
  const job = (name: string) => async () => void order.push(name);
  const jobs = [
    q.run('flood', false, job('flood1')),
    q.run('flood', false, job('flood2')),
    q.run('flood', false, job('flood3')),
    q.run('other', false, job('other1')),
    q.run('fresh', true, job('fresh1')),
  ];
  // Full (5 waiting): a clean job evicts the newest of the peer with the most waiting.
  const evicted = jobs[2]!;
  const late = q.run('late', true, job('late1'));
  await t.throwsAsync(evicted, { instanceOf: HashQueueFullError });
  // A slow-lane job on a full queue is refused.
  await t.throwsAsync(q.run('flood', false, job('flood4')), { instanceOf: HashQueueFullError });
  g.release();
  await first;
  await Promise.all([jobs[0], jobs[1], jobs[3], jobs[4], late]);
  t.deepEqual(order, ['fresh1', 'late1', 'flood1', 'other1', 'flood2']);
});

test('HashQueue: a caller gone while waiting leaves the queue, unhashed', async (t) => {
  const q = new HashQueue({ concurrency: 1, maxQueued: 4 });
  const g = gate();
  const first = q.run('a', false, g.job);
  let ran = false;
  const ac = new AbortController();
  const waiting = q.run('b', false, async () => void (ran = true), ac.signal);
  ac.abort(new Error('gone'));
  await t.throwsAsync(waiting, { message: 'gone' });
  t.is(q.waiting, 0);
  g.release();
  await first;
  await sleep(10);
  t.false(ran);
});

function memoryAudit(entriesPerWindow: number, now: () => number) {
  const written: AuditEntry[] = [];
  const audit = new RefusalAudit({
    coordinatorId: 'c1',
    windowMs: 60_000,
    entriesPerWindow,
    write: async (e) => void written.push(e),
    logger: createLogger('test', 'silent'),
    now,
  });
  return { audit, written };
}

test('RefusalAudit: the first N refusals of a peer are entries without request body, the rest one summary per status when the window ends', async (t) => {
  let now = 1000;
  const { audit, written } = memoryAudit(3, () => now);
  for (let i = 0; i < 10; i++) {
    await audit.refused({
      method: i % 2 ? 'CreateZone' : 'ListZones',
      peer: `127.0.0.1:${4000 + i}`,
      code: 16,
      result: 'UNAUTHENTICATED',
      message: 'invalid token',
    });
  }
  await audit.refused({
    method: 'ListZones',
    peer: '127.0.0.1:5000',
    code: 8,
    result: 'RESOURCE_EXHAUSTED',
    message: 'too many failed token attempts from 127.0.0.1: retry in 3s',
  });
  await audit.refused({ method: 'ListZones', peer: '127.0.0.2:5000', code: 16, result: 'UNAUTHENTICATED', message: 'invalid token' });
  t.is(written.length, 4, '3 from 127.0.0.1, 1 from 127.0.0.2');
  t.true(written.every((e) => e.request === '' && e.principal === '' && e.via === 'none' && e.count === undefined));
  now += 59_999;
  await audit.flush(false);
  t.is(written.length, 4, 'the window has not ended');
  now += 1;
  await audit.flush(false);
  const summaries = written.slice(4);
  t.deepEqual(
    summaries.map((e) => [e.method, e.peer, e.result, e.count, e.methods, e.atMs, e.untilMs, e.request]),
    [
      [REFUSAL_SUMMARY_METHOD, '127.0.0.1', 'UNAUTHENTICATED', 7, { CreateZone: 4, ListZones: 3 }, 1000, 1000, ''],
      [REFUSAL_SUMMARY_METHOD, '127.0.0.1', 'RESOURCE_EXHAUSTED', 1, { ListZones: 1 }, 1000, 1000, ''],
    ],
  );
  // Every refusal is accounted for once.
  t.is(
    written.reduce((n, e) => n + (e.count ?? 1), 0),
    12,
  );
  // A new window starts afresh.
  await audit.refused({ method: 'ListZones', peer: '127.0.0.1:1', code: 16, result: 'UNAUTHENTICATED', message: 'invalid token' });
  t.is(written.at(-1)!.method, 'ListZones');
  await audit.stop();
});

test('RefusalAudit: stop() writes the summaries still open', async (t) => {
  const { audit, written } = memoryAudit(0, () => 5);
  await audit.refused({ method: 'ListZones', peer: '10.0.0.1:1', code: 16, result: 'UNAUTHENTICATED', message: 'x' });
  t.is(written.length, 0);
  await audit.stop();
  t.deepEqual(
    written.map((e) => [e.method, e.count]),
    [[REFUSAL_SUMMARY_METHOD, 1]],
  );
});

test('TokenVerifier: scrypt runs off the event loop (timers keep firing) and a verified token is cached until the file is replaced', async (t) => {
  const good = randomBytes(24).toString('hex');
  const file = parseUsers({ users: { s: { tokenScrypt: hashTokenScrypt(good, randomBytes(16)), roles: ['operator'] } } }, DEFAULT_ROLES);
  let hashes = 0;
  const v = new TokenVerifier(file, { hashConcurrency: 1, hashQueue: 16, onHash: () => hashes++ });
  t.is(v.quick(good), undefined, 'only a hash can tell');
  // Eight wrong tokens at production cost (N=16384): a few hundred ms of hashing.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 8 }, () => v.hashed(randomBytes(24).toString('hex'), 'p', false)));
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  t.deepEqual(results, new Array(8).fill(null));
  t.is(hashes, 8);
  // With scryptSync the loop would not tick at all while hashing.
  t.log(`8 hashes in ${elapsed.toFixed(0)} ms; the event loop ticked ${ticks} times (every 5 ms asked)`);
  // Synchronous hashing lets the loop tick at most between two hashes (8 at
  // most); 24 is well above that and far below what a loaded machine still
  // gave (161), so timers starved by other processes cannot fail it.
  t.true(ticks >= 24, `the event loop kept running (${ticks} ticks in ${elapsed.toFixed(0)} ms)`);
  t.is((await v.hashed(good, 'p', true))?.name, 's');
  t.is(v.quick(good)?.name, 's', 'cached');
  t.is(hashes, 9);
  v.replace(parseUsers({ users: {} }, DEFAULT_ROLES));
  t.is(v.quick(good), null, 'the cache went with the old file');
});

test('TokenVerifier: a users file replaced while a token is being hashed decides that token (a revoked token is not let in, nor cached)', async (t) => {
  const good = randomBytes(24).toString('hex');
  const v = new TokenVerifier(parseUsers({ users: { s: { tokenScrypt: hashTokenScrypt(good, randomBytes(16)), roles: ['operator'] } } }, DEFAULT_ROLES));
  const pending = v.hashed(good, 'p', true);
  // SIGHUP while the hash runs on the threadpool: the user is gone.
  v.replace(parseUsers({ users: { other: { tokenSha256: 'a'.repeat(64) } } }, DEFAULT_ROLES));
  t.is(await pending, null);
  t.is(v.quick(good), null);
});
