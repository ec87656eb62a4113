import test from 'ava';
import {
  decideAfterFailure,
  limitBlocking,
  migrationDeadlines,
  monotonicPercent,
  etaSeconds,
  migrationIdFor,
  settleRemainingMs,
} from '../coordinator/operations/decide.ts';

const policy = { maxAttemptsPerServer: 3 };

test('a failed attempt retries on another target while the cap allows', (t) => {
  const d = decideAfterFailure({ action: 'live', attempt: 1, serverName: 'vs1' }, policy, false, true, 'boom');
  t.is(d.kind, 'retry');
});

test('after the cap a live server goes cold only with stop_unmigratable', (t) => {
  const step = { action: 'live' as const, attempt: 3, serverName: 'vs1' };
  const allowed = decideAfterFailure(step, policy, true, true, 'boom');
  t.deepEqual([allowed.kind, allowed.kind === 'degrade' ? allowed.to : ''], ['degrade', 'cold']);
  const refused = decideAfterFailure(step, policy, false, true, 'boom');
  t.is(refused.kind, 'pause');
  t.regex(refused.reason, /vs1.*3 attempts failed.*boom/);
});

test('no other target ends retries at once', (t) => {
  const d = decideAfterFailure({ action: 'live', attempt: 1, serverName: 'vs1' }, policy, false, false, 'x');
  t.is(d.kind, 'pause');
  t.regex(d.reason, /no other valid target/);
});

test('a cold move that keeps failing is stopped only with stop_unmigratable', (t) => {
  const step = { action: 'cold' as const, attempt: 3, serverName: 'vs2' };
  const d = decideAfterFailure(step, policy, true, true, 'x');
  t.deepEqual([d.kind, d.kind === 'degrade' ? d.to : ''], ['degrade', 'stop']);
  t.is(decideAfterFailure(step, policy, false, true, 'x').kind, 'pause');
});

test('a failed stop pauses the operation', (t) => {
  t.is(decideAfterFailure({ action: 'stop', attempt: 1, serverName: 'vs' }, policy, true, true, 'x').kind, 'pause');
});

test('limits per source, per zone and per target', (t) => {
  const p = { maxMigrationsPerSource: 1, maxMigrationsPerZone: 2, maxIncomingPerTarget: 1 };
  const a = { sourceHostId: 'h1', targetHostId: 'h2', zoneId: 'z' };
  t.is(limitBlocking(a, [], p), null);
  t.regex(limitBlocking({ ...a, targetHostId: 'h3' }, [a], p) ?? '', /source h1/);
  t.regex(limitBlocking({ sourceHostId: 'h4', targetHostId: 'h2', zoneId: 'z' }, [a], p) ?? '', /target h2/);
  const b = { sourceHostId: 'h5', targetHostId: 'h6', zoneId: 'z' };
  t.regex(limitBlocking({ sourceHostId: 'h7', targetHostId: 'h8', zoneId: 'z' }, [a, b], p) ?? '', /zone z/);
  t.is(limitBlocking({ sourceHostId: 'h7', targetHostId: 'h8', zoneId: 'other' }, [a, b], p), null);
});

test('deadlines scale per GiB with a minimum', (t) => {
  const p = { stallTimeoutS: 150, timeoutPerGibS: 150, minTimeoutS: 120 };
  t.deepEqual(migrationDeadlines(64 * 1024 ** 2, p), { stallTimeoutMs: 150_000, deadlineMs: 120_000 });
  t.is(migrationDeadlines(4 * 1024 ** 3, p).deadlineMs, 600_000);
});

test('percent never goes backwards and stays in range', (t) => {
  t.is(monotonicPercent(40, 30), 40);
  t.is(monotonicPercent(40, 55), 55);
  t.is(monotonicPercent(99, 140), 100);
  t.is(monotonicPercent(10, Number.NaN), 10);
});

test('eta, ids and settle pause', (t) => {
  t.is(etaSeconds(100, 30), 4);
  t.is(etaSeconds(0, 30), 0);
  t.is(etaSeconds(100, 0), 0);
  t.is(migrationIdFor('op1', 2, 1), 'op1-s2-a1');
  t.is(settleRemainingMs(1000, 5, 3000), 3000);
  t.is(settleRemainingMs(1000, 5, 9000), 0);
});
