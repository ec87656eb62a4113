// Maintenance end to end over sim hosts: real nats-server, real coordinator
// with its engine, real gRPC agents (sim hypervisor).
import test from 'ava';
import { startWorld, waitForOperation, type World } from './helpers/maintenance-world.ts';
import { waitFor } from './helpers/coordinator.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function zoneWith(w: World, zoneId: string, hostIds: string[], policy: object = {}) {
  await w.call('CreateZone', { zone_id: zoneId, name: zoneId, cpu_mode: 'CPU_MODE_DEFAULT', policy });
  for (const h of hostIds) await w.call('UpdateHost', { host_id: h, zone_id: zoneId });
}

async function serversKnown(w: World, n: number) {
  await waitFor(`${n} servers in the inventory`, async () => (await w.call('ListServers', {})).servers.length >= n, 20_000, 200);
}

test('enable drains every server in its power state; disable reboots and returns; servers come back on request', async (t) => {
  const w = await startWorld({ hosts: 4 });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const h1 = w.sims.byId('sim-1').sim;
  const live1 = h1.addServer({ name: 'live-1', memoryBytes: 2 * GiB, hotMigration: true });
  const live2 = h1.addServer({ name: 'live-2', memoryBytes: 1 * GiB, hotMigration: true });
  const cold = h1.addServer({ name: 'cold-only', memoryBytes: 512 * MiB, hotMigration: false });
  const smartOff = h1.addServer({ name: 'smart-off', memoryBytes: 256 * MiB, smart: true, running: false });
  await serversKnown(w, 4);

  const plan = await w.call('PlanMaintenance', { host_id: 'sim-1' });
  t.is(plan.servers.length, 4);
  t.deepEqual(plan.blockers, []);
  t.deepEqual(
    Object.fromEntries(plan.servers.map((s: any) => [s.server_name, s.action])),
    { 'live-1': 'SERVER_ACTION_LIVE_MIGRATE', 'live-2': 'SERVER_ACTION_LIVE_MIGRATE', 'cold-only': 'SERVER_ACTION_COLD_MIGRATE', 'smart-off': 'SERVER_ACTION_COLD_MIGRATE' },
  );

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  t.is(op.kind, 'OPERATION_KIND_ENABLE_MAINTENANCE');
  const host = await w.call('GetHost', { host_id: 'sim-1' });
  t.is(host.maintenance, 'MAINTENANCE_STATE_ENTERING', 'entering at once');

  const done = await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(done.done, 4);
  for (const s of [live1, live2, cold, smartOff]) {
    const where = w.sims.fabric.whereIs(s.uuid);
    t.truthy(where);
    t.not(where!.hostId, 'sim-1', `${s.name} left sim-1`);
    const now = where!.servers().find((x) => x.uuid === s.uuid)!;
    t.is(now.state, s.state, `${s.name} kept its power state`);
  }
  t.is(h1.servers().length, 0);
  // Live servers moved live, the others cold (offline), each exactly once.
  for (const s of [live1, live2]) t.deepEqual(w.sims.fabric.migrationsOf(s.uuid).map((m) => [m.mode, m.result]), [['live', 'completed']]);
  for (const s of [cold, smartOff]) t.deepEqual(w.sims.fabric.migrationsOf(s.uuid).map((m) => [m.mode, m.result]), [['offline', 'completed']]);
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');

  // Every event is kept; progress never goes backwards per step.
  const events = await w.admin.stream('WatchOperation', { operation_id: op.id }, { token: 'test-admin-token-0123456789', timeoutMs: 10_000 });
  t.true(events.length >= 6);
  t.is(events.at(-1).state, 'OPERATION_STATE_SUCCEEDED');
  const last = new Map<string, number>();
  for (const e of events) {
    if (!e.step) continue;
    const k = `${e.step.server_uuid}/${e.step.attempt}`;
    if (e.step.phase === 'STEP_PHASE_MIGRATING') {
      t.true(e.step.percent >= (last.get(k) ?? 0), 'percent never goes backwards');
      last.set(k, e.step.percent);
    }
  }

  const off = await w.call('DisableMaintenance', { host_id: 'sim-1' });
  const incarnationBefore = w.sims.byId('sim-1').incarnation;
  const back = await waitForOperation(w, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(back.state, 'OPERATION_STATE_SUCCEEDED', back.reason);
  t.not(w.sims.byId('sim-1').incarnation, incarnationBefore, 'the host rebooted');
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_NONE');
  t.is(h1.servers().length, 0, 'servers are not moved back by themselves');

  const ret = await w.call('ReturnServers', { host_id: 'sim-1' });
  const returned = await waitForOperation(w, ret.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED']);
  t.is(returned.state, 'OPERATION_STATE_SUCCEEDED', returned.reason);
  t.deepEqual(h1.servers().map((s) => s.name).sort(), ['cold-only', 'live-1', 'live-2', 'smart-off']);
  for (const s of h1.servers()) t.is(s.state, [live1, live2, cold, smartOff].find((x) => x.uuid === s.uuid)!.state);
});
