// What a placement counts on a target: the servers a snapshot of the records
// shows there, plus the capacity holds of moves on their way there (run-step.ts
// holds a target while its attempt runs). One rule, used by every check that
// asks "does this server fit there": the drain's placement and its "another
// target?" after a failure (drain.ts), and the return of servers
// (return-servers.ts). The pair must count each move once: a hold whose move
// the snapshot already shows on its target would count it twice (a target a
// server short: a failure pauses where a retry elsewhere was possible), and a
// move in neither (its hold released after the snapshot was read, the
// snapshot older than the move's record) would not count at all (a target
// over capacity).
import type { InventorySnapshot } from '../model.ts';
import { Reservations } from '../planner/index.ts';
import type { ZoneSnapshot } from '../inventory/zone-snapshot.ts';
import type { EngineContext } from './context.ts';
import { lastReleasedMoveRevision } from './run-step.ts';

/**
 * The holds to count beside `snapshot`: every hold but those of moves the
 * snapshot already shows on their target. A copy: the caller adds its own
 * placements to it. Taken in the same synchronous section as the placement,
 * so no hold changes between the copy and its use.
 */
export function holdsBeside(snapshot: InventorySnapshot, holds: Reservations): Reservations {
  const where = new Map(snapshot.servers.map((s) => [s.uuid, s.hostId]));
  const out = Reservations.from(holds);
  for (const r of out.list()) if (where.get(r.serverUuid) === r.hostId) out.release(r.serverUuid);
  return out;
}

/**
 * Reads a snapshot (`read`, which may also prepare what `place` needs) until
 * it is no older than every move whose hold was released (run-step.ts), and
 * calls `place` with it and the holds beside it in the same synchronous
 * section as that check: a release landing between the check and the copy
 * of the holds would leave its move in neither.
 */
export async function placeOnView<R>(
  ctx: EngineContext,
  read: () => Promise<ZoneSnapshot>,
  place: (snapshot: InventorySnapshot, holds: Reservations) => R,
): Promise<R> {
  for (;;) {
    const { snapshot, serversRevision } = await read();
    if (serversRevision >= lastReleasedMoveRevision(ctx)) return place(snapshot, holdsBeside(snapshot, ctx.reservations));
  }
}
