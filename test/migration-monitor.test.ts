// The live-migration monitor's decisions, with plain numbers for time.
import test from 'ava';
import { initialMonitorState, observe, rawPercent, shouldAbort, shouldSwitchToPostCopy, type JobSample } from '../agent/migrations/monitor.ts';
import { migrationDeadline } from '../common/migration-deadline.ts';
import { migrationDeadlines } from '../coordinator/operations/decide.ts';

const GiB = 1024 ** 3;
const sample = (processed: number, remaining: number, iteration = 0, postCopy = false): JobSample => ({
  dataProcessed: processed,
  dataRemaining: remaining,
  dataTotal: processed + remaining,
  iteration,
  postCopy,
});
const limits = { stallTimeoutMs: 150_000, deadlineMs: 600_000 };

test('progress resets the stall clock; no progress for the stall timeout aborts', (t) => {
  let s = initialMonitorState(0);
  s = observe(s, sample(100, 900), 1_000);
  t.is(s.lastProgressAtMs, 1_000);
  t.deepEqual(shouldAbort(s, 150_000, limits), { abort: false });
  // remaining does not reach a new low: no progress, whatever the bytes sent
  s = observe(s, sample(5_000, 950), 100_000);
  t.is(s.lastProgressAtMs, 1_000);
  const d = shouldAbort(s, 151_001, limits);
  t.true(d.abort);
  t.is(d.abort && d.reason, 'stalled');
});

test('a new low of remaining data is progress', (t) => {
  let s = observe(initialMonitorState(0), sample(100, 900), 1_000);
  s = observe(s, sample(200, 800), 140_000);
  t.deepEqual(shouldAbort(s, 200_000, limits), { abort: false });
});

test('the total deadline aborts even while progressing', (t) => {
  let s = initialMonitorState(0);
  for (let now = 1000, rem = 10_000; now <= 600_000; now += 1000, rem -= 10) s = observe(s, sample(now, rem), now);
  t.deepEqual(shouldAbort(s, 600_000, limits), { abort: false });
  s = observe(s, sample(601_000, 3_000), 601_000);
  const d = shouldAbort(s, 601_000, limits);
  t.true(d.abort);
  t.is(d.abort && d.reason, 'deadline');
});

test('never abort in post-copy, stalled or late', (t) => {
  let s = observe(initialMonitorState(0), sample(100, 900, 3, true), 1_000);
  t.true(s.postCopy);
  t.deepEqual(shouldAbort(s, 10_000_000, limits), { abort: false });
  // post-copy is sticky even if a later sample forgets to say so
  s = observe(s, sample(100, 900, 3, false), 2_000);
  t.true(s.postCopy);
});

test('zero limits disable the corresponding abort', (t) => {
  const s = observe(initialMonitorState(0), sample(1, 1), 1);
  t.deepEqual(shouldAbort(s, 1e12, { stallTimeoutMs: 0, deadlineMs: 0 }), { abort: false });
});

test('percent never decreases and stays below 100 until completion', (t) => {
  let s = initialMonitorState(0);
  const seen: number[] = [];
  // a second memory pass re-sends dirty pages: the raw ratio falls back
  for (const [p, r] of [
    [10, 90],
    [50, 50],
    [90, 10],
    [95, 60],
    [99, 1],
    [100, 0],
  ] as const) {
    s = observe(s, sample(p, r), 0);
    seen.push(s.percent);
  }
  for (let i = 1; i < seen.length; i++) t.true(seen[i]! >= seen[i - 1]!, `percent went back at ${i}: ${seen}`);
  t.is(seen.at(-1), 99);
  t.is(rawPercent(sample(0, 0)), 0);
  t.is(rawPercent(sample(50, 50)), 50);
});

test('first sample with nothing moved is not progress', (t) => {
  const s = observe(initialMonitorState(0), sample(0, 1000), 5_000);
  t.is(s.lastProgressAtMs, 0);
  t.is(s.lowestRemaining, 1000);
});

test('deadline scales with GiB to copy, has a floor, and a requested deadline wins', (t) => {
  t.is(migrationDeadline(0.5 * GiB, { perGiB: 150_000, min: 120_000 }), 120_000);
  t.is(migrationDeadline(4 * GiB, { perGiB: 150_000, min: 120_000 }), 600_000);
  t.is(migrationDeadline(4 * GiB, { perGiB: 150_000, min: 120_000, requested: 30_000 }), 30_000);
});

test('the coordinator and the agent share the deadline rule; each rounds up to its own unit', (t) => {
  const policy = { stallTimeoutS: 150, timeoutPerGibS: 150, minTimeoutS: 120 };
  for (const bytes of [0, 0.5 * GiB, 4 * GiB, 4 * GiB + 1, 17.3 * GiB]) {
    // The policy in seconds, as the coordinator sends it: whole seconds.
    const coordinatorMs = migrationDeadlines(bytes, policy).deadlineMs;
    t.is(coordinatorMs, migrationDeadline(bytes, { perGiB: 150, min: 120 }) * 1000);
    t.is(coordinatorMs % 1000, 0);
    // The agent's settings in ms round to the ms, never later than the coordinator's.
    const agentMs = migrationDeadline(bytes, { perGiB: 150_000, min: 120_000 });
    t.true(agentMs <= coordinatorMs && coordinatorMs - agentMs < 1000, `${bytes}: ${agentMs} vs ${coordinatorMs}`);
  }
});

test('post-copy only when allowed and not converging', (t) => {
  const opts = { allowPostCopy: true, afterIterations: 3, deadlineMs: 600_000 };
  let s = observe(initialMonitorState(0), sample(100, 900, 0), 1_000);
  t.false(shouldSwitchToPostCopy(s, sample(100, 900, 0), 1_000, opts), 'never during the first pass');
  // iterations 1..3 without a new low of remaining data
  s = observe(s, sample(1000, 950, 1), 2_000);
  t.false(shouldSwitchToPostCopy(s, sample(1000, 950, 1), 2_000, opts));
  s = observe(s, sample(2000, 950, 3), 3_000);
  t.true(shouldSwitchToPostCopy(s, sample(2000, 950, 3), 3_000, opts));
  t.false(shouldSwitchToPostCopy(s, sample(2000, 950, 3), 3_000, { ...opts, allowPostCopy: false }), 'not allowed');
  const pc = { ...s, postCopy: true };
  t.false(shouldSwitchToPostCopy(pc, sample(2000, 950, 3), 3_000, opts), 'already in post-copy');
});

test('post-copy when half the deadline is gone with much left, even if slowly progressing', (t) => {
  const opts = { allowPostCopy: true, afterIterations: 100, deadlineMs: 600_000 };
  let s = observe(initialMonitorState(0), sample(100, 900, 1), 1_000);
  s = observe(s, sample(200, 800, 2), 299_000);
  t.false(shouldSwitchToPostCopy(s, sample(200, 800, 2), 299_000, opts));
  s = observe(s, sample(300, 700, 2), 301_000);
  t.true(shouldSwitchToPostCopy(s, sample(300, 700, 2), 301_000, opts));
  t.false(shouldSwitchToPostCopy(s, sample(950, 50, 2), 301_000, opts), 'under 10% left: let it finish');
});

test('samples without data figures (libvirt first second) neither count as progress nor hide later progress', (t) => {
  let s = initialMonitorState(0);
  s = observe(s, { dataProcessed: 0, dataRemaining: 0, dataTotal: 0, iteration: 0, postCopy: false }, 500);
  t.is(s.lowestRemaining, Infinity);
  t.is(s.percent, 0);
  s = observe(s, sample(100, 900), 1_500);
  t.is(s.lastProgressAtMs, 1_500);
  s = observe(s, sample(200, 800), 2_500);
  t.is(s.lastProgressAtMs, 2_500);
});
