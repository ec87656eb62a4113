// The planner's cost must not be servers × hosts full check chains: a
// 200-server host in a 1,000-host zone is planned many times faster than by
// the pre-optimisation planner (harness/planner-reference/), with the
// same plan. A ratio of CPU times in one process, with a generous bound,
// so a busy machine slows both alike (14× measured on a busy machine; 1.0× with the old planner).
import test from 'ava';
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { planMaintenance, crowdHost, drainableHost, randomSnapshot } from '../coordinator/planner/index.ts';
import { planMaintenance as referencePlan } from '../harness/planner-reference/index.ts';

const MIN_SPEED_UP = 5;

// A full collection before each measurement, so neither planner pays for the other's garbage.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** Median CPU ms of `runs` calls (after `warmUp` untimed ones), and the last answer. */
function measure<T>(fn: () => T, runs: number, warmUp: number): { ms: number; last: T } {
  collect();
  let last = fn();
  for (let i = 1; i < warmUp; i++) last = fn();
  const xs = Array.from({ length: runs }, () => cpuMs(() => (last = fn()))).sort((a, b) => a - b);
  return { ms: xs[Math.floor(runs / 2)]!, last };
}

test(`a 200-server host in a 1,000-host / 20,000-server zone plans at least ${MIN_SPEED_UP}× faster than the full chain on every host, with the same plan`, (t) => {
  const base = randomSnapshot(1000, { hosts: 1000, serversPerHost: 20, chaos: true });
  const source = drainableHost(base)!;
  const snapshot = crowdHost(base, source.id, 200);
  const request = { hostId: source.id, stopUnmigratable: true };
  const now = measure(() => planMaintenance(snapshot, request), 5, 2);
  const reference = measure(() => referencePlan(snapshot, request), 3, 1);
  t.true(isDeepStrictEqual(now.last, reference.last), 'same plan');
  const ref = reference.ms;
  const nowMs = now.ms;
  t.log(`CPU ms, median: reference ${ref.toFixed(0)}, now ${nowMs.toFixed(1)} (${(ref / nowMs).toFixed(1)}×)`);
  t.true(ref / nowMs >= MIN_SPEED_UP, `reference ${ref.toFixed(0)} ms, now ${nowMs.toFixed(1)} ms`);
});
