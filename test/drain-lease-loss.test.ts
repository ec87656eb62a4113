// A leader that loses its lease again and again in the middle of a drain
// (sim hosts, real nats-server, real gRPC agents): every loss aborts the
// leadership signal with "leadership lost: ..." while steps are placing,
// recording and migrating. No promise may reject with that reason unawaited
// (an unhandled rejection exits the coordinator), the drain completes once
// the lease is back, every server moves once, and the limit holds both on
// the hypervisor and in the record.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { FencedWriteError } from '../coordinator/operations/op-store.ts';

const GiB = 1024 ** 3;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED', 'OPERATION_STATE_CANCELLED'];

/** Most intervals open at once. */
function peak(xs: { start: number; end: number }[]): number {
  const edges = xs.flatMap((x) => [[x.start, 1] as const, [x.end || Number.MAX_SAFE_INTEGER, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

test('a leader losing its lease repeatedly mid-drain: no unhandled rejection, the drain completes, the limit holds', async (t) => {
  const unhandled: string[] = [];
  const record = (reason: unknown) => unhandled.push(reason instanceof Error ? reason.message : String(reason));
  process.on('unhandledRejection', record);
  t.teardown(() => process.off('unhandledRejection', record));
  const servers = 60;
  const limit = 8;
  const w = await startWorld({
    hosts: 5,
    sim: { fabricOptions: { bandwidthBps: 4 * GiB, setupMs: 150, tickMs: 20 }, migration: { maxConcurrent: 8 } },
  });
  t.teardown(() => w.close());
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: { max_migrations_per_source: limit, max_migrations_per_zone: limit, max_incoming_per_target: limit },
  });
  for (let i = 1; i <= 5; i++) await w.call('UpdateHost', { host_id: `sim-${i}`, zone_id: 'z1' });
  const src = w.sims.byId('sim-1').sim;
  for (let k = 0; k < servers; k++) src.addServer({ name: `vs${k}`, memoryBytes: GiB / 4 });
  await waitFor('servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === servers, 60_000, 200);

  const leader = w.coordinator.leader;
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  // Lose the lease at staggered moments of the drain: each time it comes back after the TTL (2 s).
  let losses = 0;
  for (let k = 0; k < 4; k++) {
    await waitFor('leading again', async () => leader.isLeader(), 20_000, 20);
    await sleep(150 + 97 * k);
    if ((await w.call('GetOperation', { operation_id: op.id })).state !== 'OPERATION_STATE_RUNNING') break;
    leader.fencedOut(leader.currentTerm(), 'lease not renewed in time (test)');
    losses++;
  }
  const done = await waitForOperation(w, op.id, ENDED, 120_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.true(losses >= 2, `the lease was lost mid-drain ${losses} times`);
  t.deepEqual(unhandled, [], 'no promise rejected unawaited');
  const ms = w.sims.fabric.migrations;
  t.is(ms.filter((m) => m.result === 'completed').length, servers, 'every server moved once');
  t.true(peak(ms.map((m) => ({ start: m.startedAtMs, end: m.finishedAtMs }))) <= limit, 'hypervisor: never more than the limit');
  const steps = (done.steps as { started_at_ms: string; finished_at_ms: string }[]).map((s) => ({
    start: Number(s.started_at_ms),
    end: Number(s.finished_at_ms),
  }));
  t.true(peak(steps) <= limit, `record: never more than ${limit} steps in flight (peak ${peak(steps)})`);
});

/**
 * The cause of "12 steps in flight at limit 8" (three coordinators): a
 * deposed leader's start write landing on the record after the new leader
 * has written it. The leader resumes every step the record shows
 * mid-attempt, so such starts ran on top of its own. Here the deposed
 * leader's write is made directly, through the store as that leader's
 * workers write (fenced by its older term): it is refused, and the drain
 * never has more steps in flight than its limit.
 */
test("a deposed leader's start write after the new leader has written is refused; the drain stays within its limit", async (t) => {
  const servers = 8;
  const limit = 2;
  const w = await startWorld({
    hosts: 3,
    // ~1 s per migration: the drain is mid-way when the deposed write comes.
    sim: { fabricOptions: { bandwidthBps: GiB / 4, setupMs: 100, tickMs: 20 }, migration: { maxConcurrent: 8 } },
  });
  t.teardown(() => w.close());
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: { max_migrations_per_source: limit, max_migrations_per_zone: 8, max_incoming_per_target: 8 },
  });
  for (let i = 1; i <= 3; i++) await w.call('UpdateHost', { host_id: `sim-${i}`, zone_id: 'z1' });
  const src = w.sims.byId('sim-1').sim;
  for (let k = 0; k < servers; k++) src.addServer({ name: `vs${k}`, memoryBytes: GiB / 4 });
  await waitFor('servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === servers, 60_000, 200);

  // A second term, so that there is a deposed one: the first lease is lost and taken again.
  const leader = w.coordinator.leader;
  leader.fencedOut(leader.currentTerm(), 'test: a second term');
  await waitFor('leading in term 2', async () => leader.isLeader() && leader.currentTerm() >= 2, 20_000, 20);
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const ops = w.maintenance.ops();
  await waitFor('the leader has started steps', async () => (await ops.require(op.id)).value.steps.some((s) => s.phase === 'migrating'), 20_000, 20);
  const term = leader.currentTerm();
  t.is((await ops.require(op.id)).value.leaderTerm, term, 'the leader wrote its term');
  // The deposed leader (previous term) records two more starts, as its pass would.
  const deposed = ops.fenced(term - 1);
  const stray = deposed.update(op.id, (o) => {
    const pending = o.steps.flatMap((s, i) => (s.phase === 'pending' ? [i] : [])).slice(-2);
    for (const i of pending) {
      const s = o.steps[i]!;
      s.phase = 'migrating';
      s.attempt += 1;
      s.targetHostId = 'sim-2';
      s.migrationId = `${o.id}-deposed-${i}`;
      s.startedAtMs = Date.now();
    }
    return o;
  });
  await t.throwsAsync(stray, { instanceOf: FencedWriteError });

  const done = await waitForOperation(w, op.id, ENDED, 120_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  const ms = w.sims.fabric.migrations;
  t.is(ms.filter((m) => m.result === 'completed').length, servers, 'every server moved once');
  const steps = (done.steps as { started_at_ms: string; finished_at_ms: string }[]).map((s) => ({
    start: Number(s.started_at_ms),
    end: Number(s.finished_at_ms),
  }));
  t.true(peak(steps) <= limit, `record: never more than ${limit} steps in flight (peak ${peak(steps)})`);
  t.true(peak(ms.map((m) => ({ start: m.startedAtMs, end: m.finishedAtMs }))) <= limit, 'hypervisor: never more than the limit');
});
