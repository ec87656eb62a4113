// A step that throws (not a lease loss) keeps its target's capacity hold
// through its back-off: the record still says the server is on its way to
// that target, and the migration may still run there (the call to the agent
// broke, not the migration), so nothing else may be promised that capacity
// until the step is resumed or its outcome written. Here drain A's step
// (a → sim-2, sim-2 has room for a only) is resumed from the record and
// throws every time, because the source's agent cannot be had (the engine's
// agent lookup fails for sim-1: the fault injected, as an unreachable agent
// would); meanwhile drain B (sim-3) places b, and sim-2 is b's only
// candidate. b must not be promised sim-2. Then the agent is back, a lands
// on sim-2, and sim-2 must never hold more than its room. Sim hosts, a real
// nats-server, real gRPC agents.
import test, { type ExecutionContext } from 'ava';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { stepRecord } from '../harness/operation-records.ts';
import { ENDED, GiB, MiB, RESERVE, heldOn, leaveDrain, midAttemptStep, waitForReportedFree, zoneOf } from '../harness/capacity-scenes.ts';
import { UnavailableError } from '../common/errors.ts';

/**
 * Three sim hosts in zone z1; drain A's step (a → sim-2) recorded mid-attempt
 * as a crashed leader leaves it and throwing on every resume (the source's
 * agent cannot be had) until `sourceUp()`; b on sim-3, still to be drained.
 */
async function throwingDrain(t: ExecutionContext, room: number, maxIncomingPerTarget: number) {
  const big = 2 * GiB;
  const small = 512 * MiB;
  const w = await startWorld({
    hosts: 3,
    sim: {
      fabricOptions: { bandwidthBps: GiB, tickMs: 20, setupMs: 50 },
      hostOptions: (_i, id) => (id === 'sim-2' ? { memoryTotalBytes: room + RESERVE } : {}),
    },
  });
  t.teardown(() => w.close());
  await zoneOf(w, ['sim-1', 'sim-2', 'sim-3'], { incomingPerTarget: maxIncomingPerTarget });
  const a = w.sims.byId('sim-1').sim.addServer({ name: 'a', memoryBytes: big });
  const b = w.sims.byId('sim-3').sim.addServer({ name: 'b', memoryBytes: small });
  await waitFor('2 servers known', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);
  await waitForReportedFree(w, 'sim-2', room + RESERVE);

  // The source's agent cannot be had: every resume of a's step throws (the engine's agent lookup, as for an agent with no endpoint).
  const engine = w.maintenance.engine() as unknown as { agentFor(hostId: string, signal?: AbortSignal): Promise<unknown> };
  const realAgentFor = engine.agentFor.bind(engine);
  let sourceDown = true;
  let throws = 0;
  engine.agentFor = async (hostId, signal) => {
    if (hostId === 'sim-1' && sourceDown) {
      throws++;
      throw new UnavailableError('host sim-1: agent unreachable (test)');
    }
    return realAgentFor(hostId, signal);
  };
  t.teardown(() => {
    sourceDown = false;
  });

  // Drain A as a leader that crashed right after recording a's start leaves it.
  const opA = 'op-throw-a';
  await leaveDrain(w, opA, 'sim-1', [midAttemptStep(opA, 0, a, 'sim-1', 'sim-2', big)], 'a drain left mid-attempt by a previous leader (test)');
  await waitFor('a’s step threw twice (resumed after its back-off, threw again)', async () => throws >= 2, 20_000, 20);
  return {
    w,
    a,
    b,
    opA,
    small,
    throws: () => throws,
    sourceUp: () => {
      sourceDown = false;
    },
  };
}

/** Drain B of b (from sim-3), created as a worker would find it. */
async function drainB(w: World, b: { uuid: string; vcpus: number }, small: number, opB: string): Promise<void> {
  await leaveDrain(
    w,
    opB,
    'sim-3',
    [stepRecord(0, { serverUuid: b.uuid, serverName: 'b', sourceHostId: 'sim-3', memoryBytes: small, vcpus: b.vcpus })],
    'drain B (test)',
  );
}

test('a step that threw keeps its target hold through its back-off: no other step is placed on that target meanwhile, no target over capacity', async (t) => {
  t.timeout(120_000);
  const room = 2 * GiB; // sim-2: room for a only
  const { w, a, b, opA, small, sourceUp } = await throwingDrain(t, room, 4);

  // Drain B: b fits only on sim-2, by every view but the hold of a's step.
  const opB = 'op-throw-b';
  await drainB(w, b, small, opB);
  const decided = await waitFor(
    'b placed or failed',
    async () => {
      const cur = await w.call('GetOperation', { operation_id: opB });
      const bStep = cur.steps[0];
      return ENDED.includes(cur.state) || bStep.phase !== 'STEP_PHASE_PENDING'
        ? { said: `${cur.state}: b ${bStep.phase} (${cur.reason})`, target: bStep.target_host_id as string }
        : null;
    },
    30_000,
    50,
  );
  t.true((await w.call('GetOperation', { operation_id: opA })).steps[0].phase === 'STEP_PHASE_MIGRATING', 'a is still on its way to sim-2 when b is decided');
  t.not(decided.target, 'sim-2', `b is not promised sim-2 while a is on its way there: ${decided.said}`);

  sourceUp();
  const doneA = await waitForOperation(w, opA, ENDED, 60_000);
  t.is(doneA.state, 'OPERATION_STATE_SUCCEEDED', doneA.reason);
  t.is(w.sims.fabric.whereIs(a.uuid)?.hostId, 'sim-2', 'a moved to sim-2');
  const held = heldOn(w, 'sim-2');
  t.deepEqual(
    w.sims.fabric.migrationsOf(b.uuid).map((m) => m.to),
    [],
    'b never moved (sim-2 was its only candidate)',
  );
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});

// The same back-off, counted by the zone's limits: a's migration may still
// run toward sim-2, so with one incoming migration allowed per target, b
// (room for it on sim-2, its only candidate) waits until a's step ends.
test('a step that threw still counts as incoming to its target through its back-off: a limit of one incoming migration holds b back', async (t) => {
  t.timeout(120_000);
  const { w, a, b, opA, small, throws, sourceUp } = await throwingDrain(t, 3 * GiB, 1);
  const opB = 'op-throw-limit-b';
  await drainB(w, b, small, opB);
  // Two more back-offs of a's step after B was created: B's passes ran meanwhile.
  const seen = throws();
  await waitFor('a’s step threw twice more', async () => throws() >= seen + 2, 20_000, 20);
  const bMeanwhile = (await w.call('GetOperation', { operation_id: opB })).steps[0];
  t.is((await w.call('GetOperation', { operation_id: opA })).steps[0].phase, 'STEP_PHASE_MIGRATING', 'a is still on its way to sim-2');
  t.is(
    bMeanwhile.phase,
    'STEP_PHASE_PENDING',
    `b waits for a's migration to sim-2 to end (limit 1 incoming): b ${bMeanwhile.phase} → ${bMeanwhile.target_host_id}`,
  );
  t.deepEqual(w.sims.fabric.migrationsOf(b.uuid), [], 'b did not move while a was on its way to sim-2');

  sourceUp();
  const doneA = await waitForOperation(w, opA, ENDED, 60_000);
  t.is(doneA.state, 'OPERATION_STATE_SUCCEEDED', doneA.reason);
  const doneB = await waitForOperation(w, opB, ENDED, 60_000);
  t.is(doneB.state, 'OPERATION_STATE_SUCCEEDED', doneB.reason);
  t.is(w.sims.fabric.whereIs(a.uuid)?.hostId, 'sim-2', 'a moved to sim-2');
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-2', 'then b moved to sim-2');
});
