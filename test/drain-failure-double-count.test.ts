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
import { waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { ENDED, MiB, heldArrival, heldOn, leaveDrain, midAttemptStep } from '../harness/capacity-scenes.ts';

test('a failed attempt retries on a target whose arrived move is still held, counted once: no pause, no target over capacity', async (t) => {
  t.timeout(120_000);
  const { w, a, other: b, holds, size, room, sourceOnTime } = await heldArrival('op-fail-a', { name: 'b', host: 'sim-1' });
  t.teardown(() => w.close());

  // Drain B, its step for b mid-attempt toward sim-3; that migration fails at once.
  const opB = 'op-fail-b';
  w.sims.byId('sim-1').sim.faults.failNextMigration({ atFraction: 0 });
  await leaveDrain(w, opB, 'sim-1', [midAttemptStep(opB, 0, b, 'sim-1', 'sim-3', size)], 'drain B left mid-attempt (test)');

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

  sourceOnTime();
  const doneB = await waitForOperation(w, opB, ENDED, 60_000);
  t.is(doneB.state, 'OPERATION_STATE_SUCCEEDED', doneB.reason);
  t.is(w.sims.fabric.whereIs(b.uuid)?.hostId, 'sim-2', 'b moved beside a');
  const held = heldOn(w, 'sim-2');
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});
