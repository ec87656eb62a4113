// The completion deadline of one migration, one rule for the coordinator
// (coordinator/operations/decide.ts, from the zone policy in seconds: the
// deadline it sends with MigrateServer) and the agent (agent/migrations/,
// from its own settings in ms when the request carries none, and for
// records of older agents).

const GIB = 1024 ** 3;

/**
 * `perGiB` per GiB of memory plus disk to move, rounded up, never below
 * `min`; a deadline the caller asked for (> 0) wins. In the unit `perGiB`
 * and `min` are given in (seconds or ms): the rounding is to that unit.
 */
export function migrationDeadline(bytesToMove: number, limits: { perGiB: number; min: number; requested?: number }): number {
  if (limits.requested && limits.requested > 0) return limits.requested;
  return Math.max(limits.min, Math.ceil((bytesToMove / GIB) * limits.perGiB));
}
