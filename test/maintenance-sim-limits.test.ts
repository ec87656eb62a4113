// Maintenance over sim hosts: the zone's concurrency limits, the stall
// timeout, returns that no longer fit, and estimates from measured bandwidth.
import test from 'ava';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function zoneWith(w: World, zoneId: string, hostIds: string[], policy: object = {}) {
  await w.call('CreateZone', { zone_id: zoneId, name: zoneId, cpu_mode: 'CPU_MODE_DEFAULT', policy });
  for (const h of hostIds) await w.call('UpdateHost', { host_id: h, zone_id: zoneId });
}

/** Most migrations in flight at once among `ms` (by start/finish times). */
function peak(ms: { startedAtMs: number; finishedAtMs: number }[]): number {
  const edges = ms
    .flatMap(
      (m) =>
        [
          [m.startedAtMs, 1],
          [m.finishedAtMs || Number.MAX_SAFE_INTEGER, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

test('three hosts drained at once: one migration per source, at most 2 in the zone, 1 incoming per target', async (t) => {
  const w = await startWorld({ hosts: 7, sim: { fabricOptions: { bandwidthBps: 512 * MiB } } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4', 'sim-5', 'sim-6', 'sim-7']);
  for (const src of ['sim-1', 'sim-2', 'sim-3']) for (let k = 0; k < 3; k++) w.sims.byId(src).sim.addServer({ name: `${src}-vs${k}`, memoryBytes: GiB });
  await waitFor('9 servers', async () => (await w.call('ListServers', {})).servers.length === 9, 20_000, 200);
  const ops = [];
  for (const src of ['sim-1', 'sim-2', 'sim-3']) ops.push(await w.call('EnableMaintenance', { host_id: src, stop_unmigratable: false, confirm: true }));
  for (const op of ops)
    t.is(
      (await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 90_000)).state,
      'OPERATION_STATE_SUCCEEDED',
    );
  const ms = w.sims.fabric.migrations;
  t.is(ms.length, 9);
  t.true(
    ms.every((m) => ['sim-4', 'sim-5', 'sim-6', 'sim-7'].includes(m.to)),
    'hosts entering maintenance are never targets',
  );
  for (const src of ['sim-1', 'sim-2', 'sim-3']) t.is(peak(ms.filter((m) => m.from === src)), 1, `one at a time from ${src}`);
  t.true(peak(ms) <= 2, `zone limit 2 (peak ${peak(ms)})`);
  t.true(peak(ms) === 2, 'two sources did run in parallel');
  for (const dst of ['sim-4', 'sim-5', 'sim-6', 'sim-7']) t.true(peak(ms.filter((m) => m.to === dst)) <= 1, `one incoming at a time on ${dst}`);
});

test('a stalled migration is aborted after the zone stall timeout and retried elsewhere; the estimate learns the bandwidth', async (t) => {
  const w = await startWorld({ hosts: 3, sim: { fabricOptions: { bandwidthBps: 256 * MiB } } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3'], { stall_timeout_s: 2 });
  const src = w.sims.byId('sim-1').sim;
  const vs = src.addServer({ name: 'stalls-once', memoryBytes: GiB });
  src.addServer({ name: 'other', memoryBytes: 512 * MiB });
  await waitFor('2 servers', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);
  const before = await w.call('PlanMaintenance', { host_id: 'sim-1' });
  t.is(Number(before.assumed_bandwidth_bps), 100 * MiB, 'no measurement yet: the documented default');
  src.faults.stallNextMigration({ atFraction: 0.3 });
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 60_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  const step = done.steps.find((s: any) => s.server_name === 'stalls-once');
  t.is(step.attempt, 2);
  t.deepEqual(
    w.sims.fabric.migrationsOf(vs.uuid).map((m) => m.result),
    ['aborted', 'completed'],
  );
  const events = await w.admin.stream('WatchOperation', { operation_id: op.id }, { token: 'test-admin-token-0123456789' });
  t.true(
    events.some((e: any) => /stall|progress/i.test(e.message) || /stall/i.test(e.step?.error ?? '')),
    'the stall is named',
  );
  // Another host's plan now assumes the bandwidth measured on these migrations.
  w.sims.byId('sim-2').sim.addServer({ name: 'later', memoryBytes: GiB });
  await waitFor('3 servers', async () => (await w.call('ListServers', {})).servers.length === 3, 20_000, 200);
  const after = await w.call('PlanMaintenance', { host_id: 'sim-2' });
  t.not(Number(after.assumed_bandwidth_bps), 100 * MiB, 'measured, not assumed');
  t.true(Number(after.assumed_bandwidth_bps) > 0);
});

test('ReturnServers skips servers that no longer fit on the host, with the reason', async (t) => {
  const w = await startWorld({ hosts: 3, sim: { hostOptions: () => ({ memoryTotalBytes: 16 * GiB }) } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3']);
  const h1 = w.sims.byId('sim-1').sim;
  const a = h1.addServer({ name: 'returns', memoryBytes: 2 * GiB });
  const b = h1.addServer({ name: 'too-big-now', memoryBytes: 6 * GiB });
  await waitFor('2 servers', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);
  const on = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  t.is(
    (await waitForOperation(w, on.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'])).state,
    'OPERATION_STATE_SUCCEEDED',
  );
  const off = await w.call('DisableMaintenance', { host_id: 'sim-1' });
  t.is(
    (await waitForOperation(w, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'])).state,
    'OPERATION_STATE_SUCCEEDED',
  );
  // Meanwhile someone installed a server on h1: the 6 GiB one no longer fits.
  h1.addServer({ name: 'newcomer', memoryBytes: 10 * GiB });
  await waitFor('newcomer known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === 1, 20_000, 200);
  const ret = await w.call('ReturnServers', { host_id: 'sim-1' });
  const done = await waitForOperation(w, ret.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED'], 60_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  const byName = Object.fromEntries(done.steps.map((s: any) => [s.server_name, s]));
  t.is(byName['returns'].phase, 'STEP_PHASE_DONE');
  t.is(byName['too-big-now'].phase, 'STEP_PHASE_SKIPPED');
  t.regex(byName['too-big-now'].reason, /no longer fits on sim-1: .*memory/);
  t.regex(done.reason, /1 of 2/);
  t.is(w.sims.fabric.whereIs(a.uuid)!.hostId, 'sim-1');
  t.not(w.sims.fabric.whereIs(b.uuid)!.hostId, 'sim-1');
  // Bad input changes nothing.
  const bad = await w.call('ReturnServers', { host_id: 'sim-1', server_uuids: ['not-a-uuid'] }).then(
    () => null,
    (e) => e,
  );
  t.is(bad?.code, 3);
  const unknown = await w.call('ReturnServers', { host_id: 'nope' }).then(
    () => null,
    (e) => e,
  );
  t.is(unknown?.code, 5);
});

test('a return that pauses (agent unreachable for the reboot) is retried by disabling again; the host never sticks in returning', async (t) => {
  const w = await startWorld({ hosts: 3 });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3']);
  const on = await w.call('EnableMaintenance', { host_id: 'sim-2', stop_unmigratable: false, confirm: true });
  t.is((await waitForOperation(w, on.id, ['OPERATION_STATE_SUCCEEDED'])).state, 'OPERATION_STATE_SUCCEEDED');
  await w.sims.byId('sim-2').stop();
  const off = await w.call('DisableMaintenance', { host_id: 'sim-2' });
  const paused = await waitForOperation(w, off.id, ['OPERATION_STATE_PAUSED', 'OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED'], 60_000);
  t.is(paused.state, 'OPERATION_STATE_PAUSED');
  t.regex(paused.reason, /reboot of sim-2 failed/);
  t.is((await w.call('GetHost', { host_id: 'sim-2' })).maintenance, 'MAINTENANCE_STATE_RETURNING');
  // The operator fixes the host, then disables maintenance again.
  await w.sims.byId('sim-2').start();
  await waitFor('sim-2 online', async () => (await w.call('GetHost', { host_id: 'sim-2' })).online, 20_000, 200);
  const retry = await w.call('DisableMaintenance', { host_id: 'sim-2' });
  t.not(retry.id, off.id);
  const twice = await w.call('DisableMaintenance', { host_id: 'sim-2' }).then(
    () => null,
    (e) => e,
  );
  t.is(twice?.code, 9, 'a running return is not doubled');
  t.regex(twice.details, /already returning/);
  const done = await waitForOperation(w, retry.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 60_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is((await w.call('GetOperation', { operation_id: off.id })).state, 'OPERATION_STATE_CANCELLED');
  t.is((await w.call('GetHost', { host_id: 'sim-2' })).maintenance, 'MAINTENANCE_STATE_NONE');
});
