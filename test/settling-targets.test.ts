// The accounting behind a spurious "fits nowhere" in a drain (issue 12), as
// pure data: a move that has landed on its target, which the target's report
// already counts while the records and the capacity hold count it too.
// coordinator/operations/settling-targets.ts tells such a target apart from
// one that is really full.
import test from 'ava';
import { DEFAULT_ZONE_POLICY } from '../coordinator/model.ts';
import { GIB, NoValidTargetError, Reservations, makeHost, makeServer, makeSnapshot, pickTarget } from '../coordinator/planner/index.ts';
import { targetOnceMovesEnd } from '../coordinator/operations/settling-targets.ts';

const RESERVE = DEFAULT_ZONE_POLICY.hostMemoryReserveBytes;

/** h2 with room for `slots` 1 GiB servers; `a` (1 GiB) landed there: h2's report counts it, its record still says h1, its hold is on h2. */
function landed(slots: number, reportedUsed = GIB) {
  const total = slots * GIB + RESERVE;
  const snapshot = makeSnapshot({
    hosts: [makeHost('h1'), makeHost('h2', { memoryTotalBytes: total, memoryFreeBytes: total - reportedUsed })],
    servers: [makeServer('a', 'h1', { memoryBytes: GIB }), makeServer('b', 'h1', { memoryBytes: GIB })],
  });
  const holds = Reservations.from([{ serverUuid: 'uuid-a', hostId: 'h2', memoryBytes: GIB, vcpus: 2, localDisk: [], operationId: 'op1' }]);
  const b = snapshot.servers.find((s) => s.name === 'b')!;
  return { snapshot, holds, b };
}

test('a landed move is counted twice by the reported view: b is refused on h2 although h2 has room for it', (t) => {
  const { snapshot, holds, b } = landed(2);
  const err = t.throws(() => pickTarget(snapshot, b, 'h1', [], holds), { instanceOf: NoValidTargetError });
  t.regex(err!.message, /h2: memory needs 1\.0 GiB, 0 B free after reservations/);
});

test('with a migration running into h2, b is found to fit there by its records: wait, do not fail', (t) => {
  const { snapshot, holds, b } = landed(2);
  t.is(targetOnceMovesEnd(snapshot, b, 'h1', [], holds, {}, new Set(['h2'])), 'h2');
});

test('h2 really full (room for a only): b fits nowhere, moves running or not', (t) => {
  const { snapshot, holds, b } = landed(1);
  t.throws(() => pickTarget(snapshot, b, 'h1', [], holds), { instanceOf: NoValidTargetError });
  t.is(targetOnceMovesEnd(snapshot, b, 'h1', [], holds, {}, new Set(['h2'])), null);
});

test('no migration running into h2: its report is not set aside (memory drydock does not account for stays counted)', (t) => {
  // Nothing held, nothing moving: the report shows 1 GiB used by something drydock does not know.
  const { snapshot, b } = landed(1);
  t.throws(() => pickTarget(snapshot, b, 'h1', [], new Reservations()), { instanceOf: NoValidTargetError });
  t.is(targetOnceMovesEnd(snapshot, b, 'h1', [], new Reservations(), {}, new Set()), null);
  t.is(targetOnceMovesEnd(snapshot, b, 'h1', [], new Reservations(), {}, new Set(['h9'])), null, 'a move into another host changes nothing');
});

test('the snapshot given is not changed', (t) => {
  const { snapshot, holds, b } = landed(2);
  const before = structuredClone(snapshot);
  targetOnceMovesEnd(snapshot, b, 'h1', [], holds, {}, new Set(['h2']));
  t.deepEqual(snapshot, before);
});
