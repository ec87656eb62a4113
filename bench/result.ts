// What a benchmark hands to `npm run bench` (bench/run.ts), besides what it
// prints for a person: its figures against their targets, its tables, and
// series of cost against size for the chart in BENCHMARKS.md. A bench run on
// its own (npx tsx bench/<name>.ts) only prints; under bench/run.ts the
// environment names a file and the result is written there as JSON.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** One measured figure, with its target where the issue sets one. */
export interface BenchFigure {
  /** What was measured, e.g. "drydock time per migration, 500 servers, concurrency 8". */
  name: string;
  value: number;
  /** Unit of value and target, e.g. "ms", "MiB", "core", "ratio". */
  unit: string;
  /** The target, where one is set. */
  target?: { op: '<=' | '<' | '>=' | '>'; value: number };
}

export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** Cost against size, one line of the chart. */
export interface BenchSeries {
  title: string;
  xLabel: string;
  yLabel: string;
  points: { x: number; y: number }[];
}

export interface BenchResult {
  /** Short title of the benchmark. */
  title: string;
  /** The command that reproduces it. */
  command: string;
  figures: BenchFigure[];
  tables?: BenchTable[];
  series?: BenchSeries[];
  /** What limits the figures (from the profile), in a sentence or two. */
  limits?: string;
  /** Machine conditions of the run (describeMachine()). */
  machine?: string;
}

/** Environment variable bench/run.ts sets to the file a bench writes its result to. */
export const RESULT_FILE_ENV = 'DRYDOCK_BENCH_RESULT';

export function meetsTarget(f: BenchFigure): boolean | undefined {
  if (!f.target) return undefined;
  const { op, value } = f.target;
  return op === '<=' ? f.value <= value : op === '<' ? f.value < value : op === '>=' ? f.value >= value : f.value > value;
}

/** Writes the result where bench/run.ts asked for it; without that, nothing beyond what the bench printed. */
export function recordResult(result: BenchResult): void {
  const file = process.env[RESULT_FILE_ENV];
  if (!file) return;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** Cores, node and the load average before (given) and now: figures from a busy shared machine are read with that in mind. */
export function describeMachine(loadBefore: number): string {
  return `${cpus().length} cores, node ${process.version}, load average ${loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after`;
}
