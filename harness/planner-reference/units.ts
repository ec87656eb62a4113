// FROZEN REFERENCE: verbatim copy of coordinator/planner/units.ts as of commit 9738019,
// before the planner was optimised. Imported only by tests (test/planner-equivalence.test.ts)
// and bench/planner.ts to prove the optimised planner gives the same answers. Do not edit;
// only the import paths were adjusted to this directory.
// Human-readable sizes and durations for reasons, warnings and the plan table.
const KIB = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= KIB && i < UNITS.length - 1) {
    v /= KIB;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${sign}${text} ${UNITS[i]}`;
}

/** "45s", "3m 20s", "2h 05m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(bps: number): string {
  return `${formatBytes(bps)}/s`;
}
