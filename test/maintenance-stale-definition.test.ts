// A stale shut-off definition of a server on the drain's target (issue 12,
// defect 1): the agent refuses ("already defined on the target"), and the
// coordinator must not take the target's mere listing for a completed move.
// Real nats-server, real coordinator and engine, real gRPC agents over the
// sim hypervisor, which can hold such a stale copy (SimHost.leaveDefinitionOf).
import test from 'ava';
import { startWorld, waitForOperation, ADMIN_TOKEN, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const GiB = 1024 ** 3;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'];

async function twoHostZone(): Promise<World> {
  const w = await startWorld({ hosts: 2 });
  await w.call('CreateZone', { zone_id: 'z1', name: 'z1', cpu_mode: 'CPU_MODE_DEFAULT', policy: {} });
  for (const h of ['sim-1', 'sim-2']) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  return w;
}

/** Every host's definitions of one server, as the hypervisors hold them: [host, state]. */
function definitions(w: World, uuid: string): string[][] {
  const out: string[][] = [];
  for (const a of w.sims.agents) for (const s of a.sim.servers()) if (s.uuid === uuid) out.push([a.hostId, s.state]);
  return out;
}

async function events(w: World, opId: string): Promise<any[]> {
  return w.admin.stream('WatchOperation', { operation_id: opId }, { token: ADMIN_TOKEN, timeoutMs: 10_000 });
}

test('a stale shut-off copy on the target is removed, reported in the events, and the server then really moves', async (t) => {
  const w = await twoHostZone();
  t.teardown(() => w.close());
  const src = w.sims.byId('sim-1').sim;
  const dst = w.sims.byId('sim-2').sim;
  const vs = src.addServer({ name: 'web', memoryBytes: GiB });
  // What a cold move past its virsh deadline, or an agent killed between
  // define and undefine, leaves: a shut-off definition on the other host.
  dst.leaveDefinitionOf(vs.uuid);
  await waitFor('the server in the inventory, on its running host', async () => {
    const list = (await w.call('ListServers', {})).servers;
    return list.length === 1 && list[0].host_id === 'sim-1';
  });

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ENDED);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  // What the hypervisors hold, not what the operation says: one definition, running, on the target.
  t.deepEqual(definitions(w, vs.uuid), [['sim-2', 'SERVER_STATE_RUNNING']]);
  t.deepEqual(
    w.sims.fabric.migrationsOf(vs.uuid).map((m) => [m.from, m.to, m.mode, m.result]),
    [['sim-1', 'sim-2', 'live', 'completed']],
  );
  const log = await events(w, op.id);
  t.true(
    log.some((e) => /stale/i.test(e.message) && /sim-2/.test(e.message)),
    `the clean-up is in the operation's events: ${log.map((e) => e.message).join(' | ')}`,
  );
});

test('both copies shut off (nothing says which is current): the drain pauses with the reason, touches neither, and never says "moved"', async (t) => {
  const w = await twoHostZone();
  t.teardown(() => w.close());
  const src = w.sims.byId('sim-1').sim;
  const dst = w.sims.byId('sim-2').sim;
  const vs = src.addServer({ name: 'db', memoryBytes: GiB, running: false });
  // Recorded on sim-1 first: were sim-2's copy there first, whichever host's
  // event sync ran first would decide the record (a race a CI run lost).
  await waitFor('the server in the inventory, on sim-1', async () => {
    const list = (await w.call('ListServers', {})).servers;
    return list.length === 1 && list[0].host_id === 'sim-1';
  });
  dst.leaveDefinitionOf(vs.uuid);

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ENDED);
  t.is(done.state, 'OPERATION_STATE_PAUSED', done.reason);
  t.regex(done.reason, /db/);
  t.regex(done.steps[0].error, /defined on both sim-1 .* and sim-2/);
  t.not(done.steps[0].phase, 'STEP_PHASE_DONE');
  t.deepEqual(definitions(w, vs.uuid), [
    ['sim-1', 'SERVER_STATE_SHUTOFF'],
    ['sim-2', 'SERVER_STATE_SHUTOFF'],
  ]);
  t.is(w.sims.fabric.migrationsOf(vs.uuid).length, 0);
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_ENTERING');
  t.is(done.done, 0, 'no step counted as done');
});
