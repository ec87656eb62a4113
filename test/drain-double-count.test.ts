// A move counted twice must not fail the next server (issue 12: "limit 8,
// 300 servers, capacity for exactly every server" paused now and then with
// one server fitting nowhere). The window: a move has landed on its target,
// the target's heartbeat already reports the guest's memory as used, and the
// move's record is not written yet, so its capacity hold still counts too;
// by the reported free memory the target looks a server short. Here the
// window is made and held open: the move of `a` has happened on the sim
// fabric (the coordinator has not recorded it; its record is claimed by the
// drain, as during a move), the drain's step for it is resumed from the
// record, and the source answers slowly, so the attempt cannot end before
// the pass places `b`. `b` fits on sim-2 exactly, beside `a`. The drain must
// wait for the move to end rather than pause, and sim-2 must never hold more
// than it can. Sim hosts, a real nats-server, real gRPC agents.
import test from 'ava';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';
import { ENDED, GiB, MiB, RESERVE, heldOn, midAttemptStep, zoneOf } from '../harness/capacity-scenes.ts';

test('a move its target already reports but the records do not yet show is not counted twice against the next server: the drain waits, then places it, within capacity', async (t) => {
  t.timeout(120_000);
  const size = 512 * MiB;
  const room = 2 * size; // sim-2: room for a and b, exactly
  const w = await startWorld({
    hosts: 2,
    // The source answers 3 s late (below): its heartbeats too, so "offline" is given more time.
    offlineAfter: '15s',
    sim: {
      fabricOptions: { bandwidthBps: GiB, tickMs: 20, setupMs: 50 },
      hostOptions: (_i, id) => (id === 'sim-2' ? { memoryTotalBytes: room + RESERVE } : {}),
    },
  });
  t.teardown(() => w.close());
  await zoneOf(w, ['sim-1', 'sim-2'], { perZone: 2, incomingPerTarget: 2 });
  const src = w.sims.byId('sim-1').sim;
  const a = src.addServer({ name: 'a', memoryBytes: size });
  const b = src.addServer({ name: 'b', memoryBytes: size });
  await waitFor('2 servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === 2, 20_000, 200);

  const opId = 'op-double-count';
  // a's record is the drain's (as while it moves): the inventory leaves it on sim-1.
  await w.coordinator.store.servers.mutate(a.uuid, (s) => ({ ...s, operationId: opId }));
  // a's move completes on the fabric; the coordinator has not heard of it.
  w.sims.fabric.placement.get(a.uuid)!.host = w.sims.fabric.hostById('sim-2')!;
  const freeOf2 = async () => Number((await w.call('ListHosts', {})).hosts.find((h: any) => h.id === 'sim-2')?.memory_free_bytes ?? 0);
  await waitFor('sim-2 reports a running there', async () => (await freeOf2()) === room + RESERVE - size, 20_000, 100);
  t.is((await w.coordinator.store.servers.get(a.uuid))?.value.hostId, 'sim-1', 'the records still show a on sim-1');

  // The drain as a leader that crashed mid-move leaves it; the source slow to answer keeps a's attempt from ending early.
  src.faults.setLatency(3000);
  const op = drainRecord(
    opId,
    [
      midAttemptStep(opId, 0, a, 'sim-1', 'sim-2', size),
      stepRecord(1, { serverUuid: b.uuid, serverName: 'b', sourceHostId: 'sim-1', memoryBytes: size, vcpus: b.vcpus }),
    ],
    { hostId: 'sim-1', zoneId: 'z1' },
  );
  const messages: string[] = [];
  const watching = new AbortController();
  t.teardown(() => watching.abort());
  await w.coordinator.store.hosts.mutate('sim-1', (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opId }));
  await w.maintenance.ops().create(op, 'a drain left mid-move by a previous leader (test)');
  void (async () => {
    for await (const ev of w.maintenance.ops().events.watch(opId, 0, watching.signal)) messages.push(ev.message);
  })().catch(() => undefined);
  w.maintenance.engine().kick();

  // The pass that resumes a's step places b: it waits, or (counting a twice) fails it.
  const decided = await waitFor(
    'b placed, waiting, or failed',
    async () => {
      const cur = await w.call('GetOperation', { operation_id: opId });
      const bStep = cur.steps.find((s: any) => s.server_uuid === b.uuid);
      if (ENDED.includes(cur.state)) return `ended: ${cur.state} (${cur.reason})`;
      if (bStep.phase !== 'STEP_PHASE_PENDING') return `b ${bStep.phase}`;
      return messages.find((m) => m.startsWith('waiting: b ')) ?? null;
    },
    30_000,
    50,
  );
  t.regex(decided, /^waiting: b fits on sim-2/, 'b waits for the move into sim-2 to end');
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-1', 'b has not moved yet');
  src.faults.setLatency(0);

  const done = await waitForOperation(w, opId, ENDED, 90_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-2', 'b moved beside a');
  const held = heldOn(w, 'sim-2');
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});
