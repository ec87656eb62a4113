// A guest that crashes or reboots right after its move (issue 12, defect 7)
// is reported on the step and kept out of "moved", end to end: real
// nats-server, real coordinator, real gRPC sim agents whose target host
// makes the arriving guest fail (SimFaults.crashNextArrival).
import test from 'ava';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const GiB = 1024 ** 3;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'];

async function twoHostWorld(t: { teardown(f: () => Promise<void>): void }): Promise<World> {
  // A watch window long enough for the fault (50 ms after arrival) to land in it.
  const w = await startWorld({ hosts: 2, sim: { migration: { guestWatchMs: 400 } } });
  t.teardown(() => w.close());
  await w.call('CreateZone', { zone_id: 'z1', name: 'z1', cpu_mode: 'CPU_MODE_DEFAULT', policy: {} });
  for (const h of ['sim-1', 'sim-2']) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  return w;
}

async function serversKnown(w: World, n: number) {
  await waitFor(`${n} servers in the inventory`, async () => (await w.call('ListServers', {})).servers.length >= n, 20_000, 200);
}

test('a guest that crashes right after its live move: the step says crashed, the drain does not count it as moved alive', async (t) => {
  const w = await twoHostWorld(t);
  const src = w.sims.byId('sim-1').sim;
  const target = w.sims.byId('sim-2').sim;
  const victim = src.addServer({ name: 'crashes', memoryBytes: GiB, hotMigration: true });
  await serversKnown(w, 1);
  target.faults.crashNextArrival({ kind: 'crash', afterMs: 50 });

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ENDED);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  const step = done.steps[0];
  t.is(step.phase, 'STEP_PHASE_DONE', 'the server did move');
  t.is(step.guest_health, 'STEP_GUEST_HEALTH_CRASHED');
  t.regex(step.guest_health_detail, /crashed \(panicked\)|Crashed Panicked/);
  t.regex(done.reason, /0 moved, 1 moved but not alive after the move \(crashes: crashed\)/);
  t.is(w.sims.fabric.whereIs(victim.uuid)!.hostId, 'sim-2');
});

test('a guest that reboots right after its cold move is reported rebooted; an intact one alive', async (t) => {
  const w = await twoHostWorld(t);
  const src = w.sims.byId('sim-1').sim;
  const target = w.sims.byId('sim-2').sim;
  src.addServer({ name: 'reboots', memoryBytes: GiB, hotMigration: false });
  await serversKnown(w, 1);
  target.faults.crashNextArrival({ kind: 'reboot', afterMs: 50 });
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ENDED);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(done.steps[0].action, 'SERVER_ACTION_COLD_MIGRATE');
  t.is(done.steps[0].guest_health, 'STEP_GUEST_HEALTH_REBOOTED');
  t.regex(done.steps[0].guest_health_detail, /reboot event/);
  t.regex(done.reason, /0 moved, 1 moved but not alive/);

  // Back, with no fault: alive, counted as moved.
  const back = await w.call('DisableMaintenance', { host_id: 'sim-1' });
  await waitForOperation(w, back.id, ENDED);
  const ret = await w.call('ReturnServers', { host_id: 'sim-1' });
  const r = await waitForOperation(w, ret.id, ENDED);
  t.is(r.state, 'OPERATION_STATE_SUCCEEDED', r.reason);
  t.is(r.steps[0].guest_health, 'STEP_GUEST_HEALTH_ALIVE');
  t.regex(r.reason, /^1 of 1 server\(s\) back on sim-1$/);
});
