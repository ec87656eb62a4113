// Pure decisions of the maintenance executor: what to do after a failed
// attempt, whether a migration may start under the zone's limits, the
// deadlines a migration gets, and progress arithmetic. No I/O, `now` is an
// argument, so each rule is tested with plain numbers.
import type { ZonePolicy } from '../model.ts';
import type { StepAction, StepRecord } from './types.ts';
import { migrationDeadline } from '../../common/migration-deadline.ts';

export type FailureDecision =
  { kind: 'retry'; reason: string } | { kind: 'degrade'; to: Extract<StepAction, 'cold' | 'stop'>; reason: string } | { kind: 'pause'; reason: string };

/**
 * After attempt `step.attempt` failed: try another target while the cap
 * allows and one exists; then fall back. Cold is a fallback only when the
 * operator accepted downtime (stop_unmigratable): a live-migratable server
 * is never shut down without that consent. Stop likewise. Otherwise the
 * operation pauses and says why, for the operator to cancel or fix.
 */
export function decideAfterFailure(
  step: Pick<StepRecord, 'action' | 'attempt' | 'serverName'>,
  policy: Pick<ZonePolicy, 'maxAttemptsPerServer'>,
  stopUnmigratable: boolean,
  anotherTargetExists: boolean,
  error: string,
): FailureDecision {
  if (step.action === 'stop') {
    return { kind: 'pause', reason: `stopping ${step.serverName} failed: ${error}` };
  }
  if (step.attempt < policy.maxAttemptsPerServer && anotherTargetExists) {
    return { kind: 'retry', reason: `attempt ${step.attempt} failed (${error}); trying another target` };
  }
  const exhausted = anotherTargetExists
    ? `${step.attempt} attempts failed (last: ${error})`
    : `no other valid target after ${step.attempt} attempt(s) (last: ${error})`;
  if (step.action === 'live' && stopUnmigratable) {
    return { kind: 'degrade', to: 'cold', reason: `${exhausted}; moving cold (stop_unmigratable allows downtime)` };
  }
  if (stopUnmigratable) {
    return { kind: 'degrade', to: 'stop', reason: `${exhausted}; stopping it (stop_unmigratable)` };
  }
  return {
    kind: 'pause',
    reason: `${step.serverName}: ${exhausted}; paused — cancel the operation, or fix the cause and enable maintenance again (with --stop-unmigratable to allow cold moves and stops)`,
  };
}

export interface ActiveMigration {
  sourceHostId: string;
  targetHostId: string;
  zoneId: string;
}

/** Why a migration may not start now under the zone's limits (null = it may). */
export function limitBlocking(
  candidate: ActiveMigration,
  active: readonly ActiveMigration[],
  policy: Pick<ZonePolicy, 'maxMigrationsPerSource' | 'maxMigrationsPerZone' | 'maxIncomingPerTarget'>,
): string | null {
  const fromSource = active.filter((m) => m.sourceHostId === candidate.sourceHostId).length;
  if (fromSource >= policy.maxMigrationsPerSource)
    return `source ${candidate.sourceHostId} has ${fromSource} migration(s) running (limit ${policy.maxMigrationsPerSource})`;
  const inZone = active.filter((m) => m.zoneId === candidate.zoneId).length;
  if (inZone >= policy.maxMigrationsPerZone) return `zone ${candidate.zoneId} has ${inZone} migration(s) running (limit ${policy.maxMigrationsPerZone})`;
  if (candidate.targetHostId) {
    const incoming = active.filter((m) => m.targetHostId === candidate.targetHostId).length;
    if (incoming >= policy.maxIncomingPerTarget)
      return `target ${candidate.targetHostId} has ${incoming} incoming migration(s) (limit ${policy.maxIncomingPerTarget})`;
  }
  return null;
}

/** docs/design.md §1.3: stall timeout; completion timeout per GiB of RAM plus disk to copy, with a minimum. */
export function migrationDeadlines(
  bytesToMove: number,
  policy: Pick<ZonePolicy, 'stallTimeoutS' | 'timeoutPerGibS' | 'minTimeoutS'>,
): { stallTimeoutMs: number; deadlineMs: number } {
  return {
    stallTimeoutMs: policy.stallTimeoutS * 1000,
    deadlineMs: migrationDeadline(bytesToMove, { perGiB: policy.timeoutPerGibS, min: policy.minTimeoutS }) * 1000,
  };
}

/** Percent that never goes backwards within one step attempt (the one rule: common/progress-percent.ts). */
export { monotonicPercent } from '../../common/progress-percent.ts';

/** Seconds left at the current bandwidth (0 when unknown or done). */
export function etaSeconds(bytesRemaining: number, bandwidthBps: number): number {
  if (bytesRemaining <= 0 || bandwidthBps <= 0) return 0;
  return Math.ceil(bytesRemaining / bandwidthBps);
}

/** Migration id of an attempt: stable, so a retry after a crash is the same call. */
export function migrationIdFor(opId: string, stepIndex: number, attempt: number): string {
  return `${opId}-s${stepIndex}-a${attempt}`;
}

/** Is the settle pause over (storage-cluster returns)? */
export function settleRemainingMs(stageSinceMs: number, settlePauseS: number, nowMs: number): number {
  return Math.max(0, stageSinceMs + settlePauseS * 1000 - nowMs);
}
