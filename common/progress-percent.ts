// The progress percent people see, one rule wherever it is shown: the agent's
// migration records and monitor, the coordinator's step progress, the CLI.

/** A reported percent as shown: 0..100, and 0 when it is not a number. */
export function clampPercent(percent: number): number {
  return Math.min(100, Math.max(0, Number.isFinite(percent) ? percent : 0));
}

/**
 * The percent shown never goes backwards within one migration (or one step
 * attempt): memory iterations re-send dirtied pages, so what is reported
 * can fall between samples.
 */
export function monotonicPercent(previous: number, reported: number): number {
  return Math.max(previous, clampPercent(reported));
}
