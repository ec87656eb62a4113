// Re-enabling maintenance while the paused drain's migration still runs
// (issue 12, found by the chaos suite's migration-failures trial): the new
// drain must count that migration's capacity hold until it ends, and never
// start a second attempt on a server that is still moving.
import test from 'ava';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

test('a drain re-enabled while the paused one still migrates a server waits for that migration: no second attempt, the hold stays, the server moves once', async (t) => {
  t.timeout(180_000);
  const w = await startWorld({ hosts: 3, sim: { fabricOptions: { bandwidthBps: 256 * MiB, tickMs: 50, setupMs: 100, shutdownMs: 100 } } });
  t.teardown(() => w.close());
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: { max_migrations_per_source: 2, max_incoming_per_target: 2, max_attempts_per_server: 1 },
  });
  for (const h of ['sim-1', 'sim-2', 'sim-3']) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  const src = w.sims.byId('sim-1').sim;
  // Planned biggest first: the live move of `big` (about 8 s) starts, then the cold move of `cold` fails at its start on the target.
  const big = src.addServer({ name: 'big', memoryBytes: 2 * GiB, hotMigration: true });
  const cold = src.addServer({ name: 'cold', memoryBytes: 256 * MiB, hotMigration: false });
  await waitFor('2 servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === 2, 20_000, 200);
  for (const h of ['sim-2', 'sim-3']) w.sims.byId(h).sim.faults.failNextStart(new Error('simulated start failure'));

  const first = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const paused = await waitForOperation(w, first.id, ['OPERATION_STATE_PAUSED', 'OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED']);
  t.is(paused.state, 'OPERATION_STATE_PAUSED', paused.reason);
  const running = w.sims.fabric.migrationsOf(big.uuid).filter((m) => m.result === 'running');
  t.is(running.length, 1, 'big is still migrating when the drain is re-enabled');
  for (const h of ['sim-2', 'sim-3']) w.sims.byId(h).sim.faults.clear();

  // At once, as the operator who does not wait.
  const second = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  // While big still moves, its capacity hold is the paused drain's, on big's target.
  await waitFor(
    'the new drain waiting for big',
    async () =>
      (await w.call('GetOperation', { operation_id: second.id })).steps.some((s: any) => s.server_uuid === cold.uuid && s.phase !== 'STEP_PHASE_PENDING'),
    30_000,
    100,
  );
  if (w.sims.fabric.migrationsOf(big.uuid).some((m) => m.result === 'running')) {
    const hold = w.maintenance
      .engine()
      .reservations()
      .list()
      .find((r) => r.serverUuid === big.uuid);
    t.is(hold?.operationId, first.id, "the hold on big is still the paused drain's");
    t.is(hold?.hostId, running[0]!.to);
  }
  const done = await waitForOperation(w, second.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 90_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  const bigStep = done.steps.find((s: any) => s.server_uuid === big.uuid);
  t.is(bigStep.attempt, 0, `the new drain started no attempt of its own on big (${bigStep.error || bigStep.reason})`);
  t.is(bigStep.phase, 'STEP_PHASE_SKIPPED', bigStep.reason);
  t.regex(bigStep.reason, /now on sim-[23]/);
  t.deepEqual(
    w.sims.fabric.migrationsOf(big.uuid).map((m) => m.result),
    ['completed'],
    'big moved once',
  );
  t.not(w.sims.fabric.whereIs(cold.uuid)?.hostId, 'sim-1', 'cold moved in the new drain');
  t.deepEqual(src.servers(), []);
});
