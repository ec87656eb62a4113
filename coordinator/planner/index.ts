// The planner's public surface: the coordinator, the executor, the CLI, the
// benchmarks and the tests import from here, not from the files behind it
// (test/layering.test.ts fails on an import past this file from outside).
export type * from './types.ts';
export { planMaintenance } from './plan.ts';
export { DEFAULT_MAX_CANDIDATES } from './types.ts';
export { pickTarget, evaluateTarget, moveMode, evaluateCandidates, chooseTarget, trimCandidates, reservationFor, largestFirst } from './placement.ts';
export type { PickTargetOptions, PickedTarget, EvaluatedTarget, MoveMode } from './placement.ts';
export { Reservations } from './reservations.ts';
export type { Reservation, HostReservedTotals } from './reservations.ts';
export {
  TARGET_CHECKS,
  CPU_NOT_CHECKED,
  MEMORY_WARN_RATIO,
  checkNotSource,
  checkNotAttempted,
  checkSameZone,
  checkKvm,
  checkEnabled,
  checkOnline,
  checkNotInMaintenance,
  checkMemory,
  checkVcpu,
  checkLocalDisk,
  checkSharedStorage,
  checkCpuCompatible,
  runChecks,
  isEligible,
} from './checks.ts';
export type { CheckContext, TargetCheck } from './checks.ts';
export { NoValidTargetError, PlanRefusedError, UnmigratableServersError, assertPlanRunnable } from './errors.ts';
export { DEFAULT_BANDWIDTH_BPS, OVERHEAD_S, estimateServerSeconds, estimateTotalSeconds, concurrentMoves } from './estimate.ts';
export { serializeSnapshot, parseSnapshot, snapshotFromJson, SnapshotFileError, SNAPSHOT_FILE_KIND, SNAPSHOT_FILE_VERSION } from './snapshot-file.ts';
export { formatPlan, formatTable } from './format.ts';
export type { FormatPlanOptions } from './format.ts';
export { indexSnapshot, isKvmHypervisor, isActiveState } from './inventory.ts';
export { planToProto } from './to-proto.ts';
// Synthetic inventories (pure builders, seeded random snapshots) for the
// tests, the benchmarks and what-if examples.
export * from './synthetic.ts';
