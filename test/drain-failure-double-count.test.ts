// After a failed attempt, the drain asks "is there another target?" the way
// its placement counts capacity (coordinator/operations/placement-view.ts):
// a move the records already show on its target, whose attempt still holds
// that target, is counted once. Counted twice, the target looks a server
// short and the drain pauses where a retry elsewhere was possible.
// Here drain A's step (a: sim-4 → sim-2) is resumed from the record; a has
// already arrived on sim-2 and the records show it there (its record was
// never claimed, as when a leader crashed between recording the start and
// claiming the server), and its source answers slowly, so its attempt keeps
// its hold on sim-2. Drain B's step (b: sim-1 → sim-3) fails; sim-2 has room
// for a and b exactly. B must retry b on sim-2, not pause. Sim hosts, a real
// nats-server, real gRPC agents.
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

test('a failed attempt retries on a target whose arrived move is still held, counted once: no pause, no target over capacity', async (t) => {
  t.timeout(120_000);
  const size = 512 * MiB;
  const room = 2 * size; // sim-2: room for a and b, exactly
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
  const b = w.sims.byId('sim-1').sim.addServer({ name: 'b', memoryBytes: size });
  await waitFor('2 servers known', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);

  // a arrived on sim-2 (the coordinator did not move it); its record is not claimed, so the inventory follows it there.
  w.sims.fabric.placement.get(a.uuid)!.host = w.sims.fabric.hostById('sim-2')!;
  // What libvirt says on both sides of a move (harness/sim/live-migration.ts).
  w.sims.byId('sim-4').sim.emit('lifecycle', 'a', 'Undefined Removed');
  for (const detail of ['Defined Added', 'Started Migrated', 'Resumed Migrated']) w.sims.byId('sim-2').sim.emit('lifecycle', 'a', detail);
  await waitFor('the records show a on sim-2', async () => (await w.coordinator.store.servers.get(a.uuid))?.value.hostId === 'sim-2', 20_000, 100);

  // Drain A, as a leader that crashed after recording a's start left it; its source slow to answer keeps the attempt (and its hold) going.
  w.sims.byId('sim-4').sim.faults.setLatency(8000);
  const opA = 'op-fail-a';
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

  // Drain B, its step for b mid-attempt toward sim-3; that migration fails at once.
  const opB = 'op-fail-b';
  w.sims.byId('sim-1').sim.faults.failNextMigration({ atFraction: 0 });
  await w.coordinator.store.hosts.mutate('sim-1', (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opB }));
  await w.maintenance.ops().create(
    drainRecord(
      opB,
      [
        stepRecord(0, {
          serverUuid: b.uuid,
          serverName: 'b',
          sourceHostId: 'sim-1',
          phase: 'migrating',
          targetHostId: 'sim-3',
          attempt: 1,
          triedTargets: ['sim-3'],
          migrationId: migrationIdFor(opB, 0, 1),
          memoryBytes: size,
          vcpus: b.vcpus,
          startedAtMs: Date.now(),
        }),
      ],
      { hostId: 'sim-1', zoneId: 'z1' },
    ),
    'drain B left mid-attempt (test)',
  );
  w.maintenance.engine().kick();

  // What B decides after the failure, while a's hold is still in place.
  const decided = await waitFor(
    'b retried, or B paused',
    async () => {
      const cur = await w.call('GetOperation', { operation_id: opB });
      const s = cur.steps[0];
      if (ENDED.includes(cur.state)) return `${cur.state}: ${cur.reason}`;
      return s.attempt > 1 ? `attempt ${s.attempt} toward ${s.target_host_id}` : null;
    },
    30_000,
    50,
  );
  t.is(holds.get(a.uuid)?.hostId, 'sim-2', 'a’s attempt still held sim-2 when B decided');
  t.regex(decided, /^attempt 2 toward sim-2$/, 'b is retried on sim-2');

  w.sims.byId('sim-4').sim.faults.setLatency(0);
  const doneB = await waitForOperation(w, opB, ENDED, 60_000);
  t.is(doneB.state, 'OPERATION_STATE_SUCCEEDED', doneB.reason);
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-2', 'b moved beside a');
  const held = w.sims
    .byId('sim-2')
    .sim.servers()
    .reduce((sum, s) => sum + s.memory_bytes, 0);
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});
