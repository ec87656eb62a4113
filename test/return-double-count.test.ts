// A return of servers checks that a server still fits on its host the way
// the drain's placement counts capacity (coordinator/operations/placement-view.ts):
// a move the records already show on that host, whose attempt still holds
// it, is counted once. Counted twice, the host looks a server short and the
// server is skipped ("no longer fits") although it fits.
// Here drain A's step (a: sim-4 → sim-2) is resumed from the record; a has
// already arrived on sim-2 and the records show it there (its record was
// never claimed, as when a leader crashed between recording the start and
// claiming the server), and its source answers slowly, so its attempt keeps
// its hold on sim-2. A return brings r (on sim-3) back to sim-2, which has
// room for a and r exactly. Sim hosts, a real nats-server, real gRPC agents.
import test from 'ava';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';
import { migrationIdFor } from '../coordinator/operations/decide.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The zone's default host memory reserve (coordinator/model.ts DEFAULT_ZONE_POLICY). */
const RESERVE = GiB;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED', 'OPERATION_STATE_CANCELLED'];

test('a return counts a move its target holds and the records already show there once: the server goes back, no target over capacity', async (t) => {
  t.timeout(120_000);
  const size = 512 * MiB;
  const room = 2 * size; // sim-2: room for a and r, exactly
  const w = await startWorld({
    hosts: 4,
    // sim-4 answers late (below): its heartbeats too, so "offline" is given more time.
    offlineAfter: '30s',
    sim: {
      fabricOptions: { bandwidthBps: GiB, tickMs: 20, setupMs: 50 },
      hostOptions: (_i, id) => (id === 'sim-2' ? { memoryTotalBytes: room + RESERVE } : {}),
    },
  });
  t.teardown(() => w.close());
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: { max_migrations_per_source: 2, max_migrations_per_zone: 4, max_incoming_per_target: 4 },
  });
  for (const h of ['sim-1', 'sim-2', 'sim-3', 'sim-4']) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  const a = w.sims.byId('sim-4').sim.addServer({ name: 'a', memoryBytes: size });
  const r = w.sims.byId('sim-3').sim.addServer({ name: 'r', memoryBytes: size });
  await waitFor('2 servers known', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);

  // a arrived on sim-2 (the coordinator did not move it); its record is not claimed, so the inventory follows it there.
  w.sims.fabric.placement.get(a.uuid)!.host = w.sims.fabric.hostById('sim-2')!;
  // What libvirt says on both sides of a move (harness/sim/live-migration.ts).
  w.sims.byId('sim-4').sim.emit('lifecycle', 'a', 'Undefined Removed');
  for (const detail of ['Defined Added', 'Started Migrated', 'Resumed Migrated']) w.sims.byId('sim-2').sim.emit('lifecycle', 'a', detail);
  await waitFor('the records show a on sim-2', async () => (await w.coordinator.store.servers.get(a.uuid))?.value.hostId === 'sim-2', 20_000, 100);

  // Drain A, as a leader that crashed after recording a's start left it; its source slow to answer keeps the attempt (and its hold) going.
  w.sims.byId('sim-4').sim.faults.setLatency(8000);
  const opA = 'op-return-a';
  await w.coordinator.store.hosts.mutate('sim-4', (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opA }));
  await w.maintenance.ops().create(
    drainRecord(
      opA,
      [
        stepRecord(0, {
          serverUuid: a.uuid,
          serverName: 'a',
          sourceHostId: 'sim-4',
          phase: 'migrating',
          targetHostId: 'sim-2',
          attempt: 1,
          triedTargets: ['sim-2'],
          migrationId: migrationIdFor(opA, 0, 1),
          memoryBytes: size,
          vcpus: a.vcpus,
          startedAtMs: Date.now(),
        }),
      ],
      { hostId: 'sim-4', zoneId: 'z1' },
    ),
    'drain A left mid-attempt (test)',
  );
  w.maintenance.engine().kick();
  const holds = w.maintenance.engine().reservations();
  await waitFor('a’s attempt holds sim-2', () => holds.get(a.uuid)?.hostId === 'sim-2', 20_000, 20);

  // The return of r to sim-2 (as ReturnServers records it, coordinator/operations/service.ts).
  const opR = 'op-return-r';
  await w.maintenance.ops().create(
    drainRecord(opR, [stepRecord(0, { serverUuid: r.uuid, serverName: 'r', sourceHostId: 'sim-3', memoryBytes: size, vcpus: r.vcpus })], {
      kind: 'return_servers',
      hostId: 'sim-2',
      zoneId: 'z1',
      reason: 'returning',
    }),
    'a return of r (test)',
  );
  w.maintenance.engine().kick();

  // What the return decides, while a's hold is still in place.
  const decided = await waitFor(
    'r started or skipped',
    async () => {
      const s = (await w.call('GetOperation', { operation_id: opR })).steps[0];
      return s.phase !== 'STEP_PHASE_PENDING' ? `${s.phase}: ${s.reason}` : null;
    },
    30_000,
    50,
  );
  t.is(holds.get(a.uuid)?.hostId, 'sim-2', 'a’s attempt still held sim-2 when the return decided');
  t.regex(decided, /^STEP_PHASE_(MIGRATING|DONE)/, 'r is moved back, not skipped');

  w.sims.byId('sim-4').sim.faults.setLatency(0);
  const doneR = await waitForOperation(w, opR, ENDED, 60_000);
  t.is(doneR.state, 'OPERATION_STATE_SUCCEEDED', doneR.reason);
  t.is(w.sims.fabric.whereIs(r.uuid)?.hostId, 'sim-2', 'r is back on sim-2');
  const held = w.sims
    .byId('sim-2')
    .sim.servers()
    .reduce((sum, s) => sum + s.memory_bytes, 0);
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});
