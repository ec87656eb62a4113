// Whether "fits nowhere" can be trusted yet. A target's memory is judged by
// two views (coordinator/planner/checks.ts memoryHeadroom): its servers in
// the records plus the holds of moves on their way there, and the free
// memory its agent last reported minus the same holds. The second counts a
// move twice from the moment the target reports the arrived guest (a
// heartbeat) until the move's record is written and its hold released: the
// coordinator cannot tell from a free-memory figure which guests it counts
// (a real host even allocates an incoming guest's memory while it arrives).
// So a server that fits on such a target by every view but the reported one
// is not failed: its step waits for the moves into that target to end, and
// is placed (or failed) then, against a view that counts every move once.
// Placement itself never uses the view set aside here: no target is promised
// more than both views allow.
import type { InventorySnapshot, ServerRecord } from '../model.ts';
import { NoValidTargetError, pickTarget, type PickTargetOptions, type Reservations } from '../planner/index.ts';

/**
 * Called after pickTarget found no target. The id of a target the server
 * would fit on if the reported free memory of the targets with a migration
 * running into them (`incoming`) were set aside; null when there is none
 * (the server fits nowhere, whatever those migrations' holds are).
 */
export function targetOnceMovesEnd(
  snapshot: InventorySnapshot,
  server: ServerRecord,
  sourceHostId: string,
  excludedHostIds: readonly string[],
  reservations: Reservations,
  options: Omit<PickTargetOptions, 'index'>,
  incoming: ReadonlySet<string>,
): string | null {
  if (!snapshot.hosts.some((h) => incoming.has(h.id))) return null;
  // Reported free memory as large as the host: the allocation view decides alone on those targets.
  const hosts = snapshot.hosts.map((h) => (incoming.has(h.id) ? { ...h, memoryFreeBytes: h.memoryTotalBytes } : h));
  try {
    return pickTarget({ ...snapshot, hosts }, server, sourceHostId, excludedHostIds, reservations, options).hostId;
  } catch (err) {
    if (err instanceof NoValidTargetError) return null;
    throw err;
  }
}
