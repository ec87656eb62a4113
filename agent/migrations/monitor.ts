// Decisions of the live-migration monitor, as pure functions of the job
// statistics and `now` (after Nova's virt/libvirt/migration.py): when to
// abort (progress stalled, total deadline), when to switch to post-copy,
// and the progress percent shown to people (never going backwards).
// Nothing here does I/O or reads the clock.
import { monotonicPercent } from '../../common/progress-percent.ts';

/** What the monitor remembers between two polls. */
export interface MonitorState {
  startedAtMs: number;
  /** Last time data_remaining reached a new low (progress made). */
  lastProgressAtMs: number;
  /** Lowest data_remaining seen so far (Infinity before the first sample). */
  lowestRemaining: number;
  /** Percent reported so far; the next one is never lower. */
  percent: number;
  /** Iteration at which remaining last reached a new low. */
  lastProgressIteration: number;
  postCopy: boolean;
}

export interface JobSample {
  dataProcessed: number;
  dataRemaining: number;
  dataTotal: number;
  iteration: number;
  postCopy: boolean;
}

export function initialMonitorState(nowMs: number): MonitorState {
  return { startedAtMs: nowMs, lastProgressAtMs: nowMs, lowestRemaining: Infinity, percent: 0, lastProgressIteration: 0, postCopy: false };
}

/**
 * Percent done of a sample: processed / (processed + remaining). Memory
 * iterations re-send dirtied pages, so the raw figure can fall between
 * samples; the caller keeps the maximum (see observe()).
 */
export function rawPercent(s: Pick<JobSample, 'dataProcessed' | 'dataRemaining'>): number {
  const denom = s.dataProcessed + s.dataRemaining;
  if (denom <= 0) return 0;
  return Math.min(100, (s.dataProcessed / denom) * 100);
}

/**
 * Folds one sample into the state. Progress means data_remaining reached a
 * new low: a guest that dirties memory as fast as it is sent makes none,
 * even though bytes keep flowing. The percent is capped at 99 until the job
 * has really completed (the caller sets 100 then).
 */
export function observe(state: MonitorState, sample: JobSample, nowMs: number): MonitorState {
  const next = { ...state };
  // libvirt's first samples carry only the elapsed time: no data figures yet.
  // Taking their 0 as the lowest "remaining" would make all later progress invisible.
  if (sample.dataProcessed === 0 && sample.dataRemaining === 0 && sample.dataTotal === 0) {
    next.postCopy = state.postCopy || sample.postCopy;
    return next;
  }
  if (sample.dataRemaining < state.lowestRemaining) {
    // The first sample with data counts as progress only if something moved.
    if (state.lowestRemaining !== Infinity || sample.dataProcessed > 0) {
      next.lastProgressAtMs = nowMs;
      next.lastProgressIteration = sample.iteration;
    }
    next.lowestRemaining = sample.dataRemaining;
  }
  next.percent = monotonicPercent(state.percent, Math.min(99, Math.floor(rawPercent(sample) * 10) / 10));
  next.postCopy = state.postCopy || sample.postCopy;
  return next;
}

export type AbortDecision = { abort: false } | { abort: true; reason: 'stalled' | 'deadline'; message: string };

/**
 * Should the migration be aborted now? Never in post-copy: the guest's
 * memory is then split between the hosts and aborting would lose it.
 */
export function shouldAbort(state: MonitorState, nowMs: number, limits: { stallTimeoutMs: number; deadlineMs: number }): AbortDecision {
  if (state.postCopy) return { abort: false };
  const sinceProgress = nowMs - state.lastProgressAtMs;
  if (limits.stallTimeoutMs > 0 && sinceProgress > limits.stallTimeoutMs) {
    return {
      abort: true,
      reason: 'stalled',
      message: `no progress for ${Math.round(sinceProgress / 1000)} s (stall timeout ${Math.round(limits.stallTimeoutMs / 1000)} s)`,
    };
  }
  const elapsed = nowMs - state.startedAtMs;
  if (limits.deadlineMs > 0 && elapsed > limits.deadlineMs) {
    return {
      abort: true,
      reason: 'deadline',
      message: `not finished after ${Math.round(elapsed / 1000)} s (deadline ${Math.round(limits.deadlineMs / 1000)} s)`,
    };
  }
  return { abort: false };
}

/**
 * Switch to post-copy? Only when the caller allowed it, not already done,
 * and the copy is not converging: `afterIterations` memory passes went by
 * without a new low of remaining data, or more than half the deadline is
 * used while over 10% of the data is still to send.
 */
export function shouldSwitchToPostCopy(
  state: MonitorState,
  sample: JobSample,
  nowMs: number,
  opts: { allowPostCopy: boolean; afterIterations: number; deadlineMs: number },
): boolean {
  if (!opts.allowPostCopy || state.postCopy || sample.postCopy) return false;
  if (sample.iteration < 1) return false; // the first pass always has to run
  const stuckIterations = sample.iteration - state.lastProgressIteration;
  if (stuckIterations >= opts.afterIterations) return true;
  const elapsed = nowMs - state.startedAtMs;
  const total = sample.dataProcessed + sample.dataRemaining;
  const remainingShare = total > 0 ? sample.dataRemaining / total : 0;
  return opts.deadlineMs > 0 && elapsed > opts.deadlineMs / 2 && remainingShare > 0.1;
}
