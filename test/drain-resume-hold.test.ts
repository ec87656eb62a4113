// A drain that resumes a step from the record (issue 12, found by the chaos
// suite's nats-node-kill trial: "sim-3 holds 738 MB against 629 MB") must
// hold that step's target capacity again before it places anything else.
// Here the record is what a previous leader leaves when it crashes right
// after recording a start (the start is written before the agent is asked,
// coordinator/operations/drain.ts): step 0 migrating toward sim-2, step 1
// pending. The leader's first pass resumes step 0 and places step 1 in the
// same pass, so the order is fixed: no timing decides what is tested.
// Sim hosts, a real nats-server, real gRPC agents.
import test from 'ava';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { stepRecord } from '../harness/operation-records.ts';
import { ENDED, GiB, MiB, RESERVE, heldOn, leaveDrain, midAttemptStep, zoneOf } from '../harness/capacity-scenes.ts';

test("a previous leader's step resumed from the record holds its target's capacity: the next placement in the same pass goes elsewhere, no target over capacity", async (t) => {
  t.timeout(120_000);
  const big = 2 * GiB;
  const small = 512 * MiB;
  // sim-2 has room for `big` only, sim-3 for `small` only (after the reserve).
  const room: Record<string, number> = { 'sim-2': big, 'sim-3': small };
  const w = await startWorld({
    hosts: 3,
    sim: {
      // `big` takes about 8 s: it is still on its way when step 1 is placed.
      fabricOptions: { bandwidthBps: 256 * MiB, tickMs: 50, setupMs: 100 },
      hostOptions: (_i, id) => (room[id] ? { memoryTotalBytes: room[id] + RESERVE } : {}),
    },
  });
  t.teardown(() => w.close());
  // Room for both steps at once: only capacity decides where step 1 goes.
  await zoneOf(w, ['sim-1', 'sim-2', 'sim-3'], { perZone: 2, incomingPerTarget: 2 });
  const src = w.sims.byId('sim-1').sim;
  const a = src.addServer({ name: 'a', memoryBytes: big });
  const b = src.addServer({ name: 'b', memoryBytes: small });
  await waitFor('2 servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === 2, 20_000, 200);
  await waitFor(
    'targets report their memory',
    async () => (await w.call('ListHosts', {})).hosts.filter((h: any) => room[h.id] && Number(h.memory_free_bytes) === room[h.id]! + RESERVE).length === 2,
    20_000,
    200,
  );

  // What a leader that crashed right after recording step 0's start leaves behind.
  const opId = 'op-resume-hold';
  await leaveDrain(
    w,
    opId,
    'sim-1',
    [
      midAttemptStep(opId, 0, a, 'sim-1', 'sim-2', big),
      stepRecord(1, { serverUuid: b.uuid, serverName: 'b', sourceHostId: 'sim-1', memoryBytes: small, vcpus: b.vcpus }),
    ],
    'a drain left mid-attempt by a previous leader (test)',
  );

  const done = await waitForOperation(w, opId, ENDED);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.deepEqual(
    w.sims.fabric.migrationsOf(a.uuid).map((m) => [m.to, m.result]),
    [['sim-2', 'completed']],
    'a moved once, by the resumed attempt',
  );
  for (const id of ['sim-2', 'sim-3']) {
    const held = heldOn(w, id);
    t.true(held <= room[id]!, `${id} holds ${held / MiB} MiB of servers, room for ${room[id]! / MiB} MiB`);
  }
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-3', 'b went where there was room');
});
