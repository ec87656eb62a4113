// FROZEN REFERENCE: verbatim copy of coordinator/planner/estimate.ts as of commit 9738019,
// before the planner was optimised. Imported only by tests (test/planner-equivalence.test.ts)
// and bench/planner.ts to prove the optimised planner gives the same answers. Do not edit;
// only the import paths were adjusted to this directory.
// How long a drain should take: per server, bytes to copy over the
// bandwidth earlier migrations measured, plus a fixed cost per kind of move;
// then the servers laid out over the migrations a source may run at once.
// An estimate for the operator, not a deadline (deadlines are the zone's
// stall and per-GiB timeouts).
import type { ZonePolicy } from '../../coordinator/model.ts';
import type { ServerAction } from './types.ts';

/** Assumed when no migration has been measured yet: a conservative 1 GbE-class figure. */
export const DEFAULT_BANDWIDTH_BPS = 100 * 1024 * 1024;

/**
 * Fixed seconds per move besides copying bytes. docs/field-notes.md (Migrations): a live migration
 * of a 64 MiB guest took 3.0 s wall, mostly QEMU starting on the target and
 * exiting on the source. A cold move of a running server waits for a guest
 * shutdown (ACPI; we allow a minute) and a start; of a shut-off one, only the
 * definition moves (~70 ms measured) plus bookkeeping.
 */
export const OVERHEAD_S: Readonly<Record<ServerAction, number>> = {
  LIVE_MIGRATE: 3,
  COLD_MIGRATE: 60,
  STOP: 60,
  NONE: 0,
};
export const COLD_SHUTOFF_OVERHEAD_S = 1;

export function resolveBandwidth(measuredBps: number | undefined): { bps: number; assumed: boolean } {
  if (measuredBps !== undefined && Number.isFinite(measuredBps) && measuredBps > 0) return { bps: measuredBps, assumed: false };
  return { bps: DEFAULT_BANDWIDTH_BPS, assumed: true };
}

/**
 * Seconds for one server. Live: its memory once (a guest dirtying memory
 * fast costs more passes; the stall timeout, not this estimate, guards that)
 * plus local disks. Cold: local disks only, memory is not copied.
 */
export function estimateServerSeconds(action: ServerAction, wasRunning: boolean, memoryBytes: number, localDiskBytes: number, bandwidthBps: number): number {
  switch (action) {
    case 'LIVE_MIGRATE':
      return Math.ceil(OVERHEAD_S.LIVE_MIGRATE + (memoryBytes + localDiskBytes) / bandwidthBps);
    case 'COLD_MIGRATE':
      return Math.ceil((wasRunning ? OVERHEAD_S.COLD_MIGRATE : COLD_SHUTOFF_OVERHEAD_S) + localDiskBytes / bandwidthBps);
    case 'STOP':
      return wasRunning ? OVERHEAD_S.STOP : 0;
    case 'NONE':
      return 0;
  }
}

/** Migrations of one source that may run at once: the per-source limit, never above the per-zone one. */
export function concurrentMoves(policy: ZonePolicy): number {
  return Math.max(1, Math.min(policy.maxMigrationsPerSource, policy.maxMigrationsPerZone));
}

/**
 * Total seconds with `lanes` moves at a time, in plan order, each next move
 * starting on the lane that frees first (what a per-source semaphore does).
 * Assumes the measured bandwidth holds per migration; with the default of
 * one migration per source this is simply the sum. The per-target incoming
 * limit is not modelled: a drain spreads over several targets, and with one
 * migration per source it never binds.
 */
export function estimateTotalSeconds(perServer: readonly number[], lanes: number): number {
  const n = Math.max(1, Math.floor(lanes));
  const busy = new Array<number>(n).fill(0);
  for (const s of perServer) {
    let i = 0;
    for (let j = 1; j < n; j++) if (busy[j]! < busy[i]!) i = j;
    busy[i]! += s;
  }
  return Math.max(...busy);
}
