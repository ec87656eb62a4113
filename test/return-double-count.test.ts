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
import { waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { stepRecord } from '../harness/operation-records.ts';
import { ENDED, MiB, heldArrival, heldOn, leaveReturn } from '../harness/capacity-scenes.ts';

test('a return counts a move its target holds and the records already show there once: the server goes back, no target over capacity', async (t) => {
  t.timeout(120_000);
  const { w, a, other: r, holds, size, room, sourceOnTime } = await heldArrival('op-return-a', { name: 'r', host: 'sim-3' });
  t.teardown(() => w.close());

  // The return of r to sim-2.
  const opR = 'op-return-r';
  await leaveReturn(
    w,
    opR,
    'sim-2',
    [stepRecord(0, { serverUuid: r.uuid, serverName: 'r', sourceHostId: 'sim-3', memoryBytes: size, vcpus: r.vcpus })],
    'a return of r (test)',
  );

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

  sourceOnTime();
  const doneR = await waitForOperation(w, opR, ENDED, 60_000);
  t.is(doneR.state, 'OPERATION_STATE_SUCCEEDED', doneR.reason);
  t.is(w.sims.fabric.whereIs(r.uuid)?.hostId, 'sim-2', 'r is back on sim-2');
  const held = heldOn(w, 'sim-2');
  t.true(held <= room, `sim-2 holds ${held / MiB} MiB of servers, room for ${room / MiB} MiB`);
});
