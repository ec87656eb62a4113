// BENCHMARKS.md from the results of one `npm run bench`: a summary of every
// figure against its target, then each benchmark's tables, chart and what
// limits it. A benchmark that failed or wrote no result is listed as such:
// the file never shows a figure that was not measured in this run.
import { meetsTarget, type BenchFigure, type BenchResult, type BenchTable } from './result.ts';

/** One benchmark as bench/run.ts ran it. */
export interface BenchRun {
  name: string;
  /** The command bench/run.ts ran. */
  command: string;
  seconds: number;
  exitCode: number | null;
  result?: BenchResult;
  /** Path of the chart, relative to BENCHMARKS.md, when the result had series. */
  chart?: string;
}

export interface RunMeta {
  date: string;
  revision: string;
  node: string;
  cores: number;
  loadBefore: string;
  loadAfter: string;
  full: boolean;
}

function cell(v: string | number): string {
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [`| ${columns.map(cell).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function verdict(f: BenchFigure): string {
  const met = meetsTarget(f);
  return met === undefined ? '' : met ? 'met' : '**missed**';
}

function figureRow(bench: string, f: BenchFigure): string[] {
  return [bench, f.name, `${formatValue(f.value)} ${f.unit}`, f.target ? `${f.target.op} ${f.target.value} ${f.unit}` : '', verdict(f)];
}

function tableSection(t: BenchTable): string {
  return `**${t.title}**\n\n${table(t.columns, t.rows)}`;
}

function benchSection(run: BenchRun): string {
  const r = run.result;
  const rerun = r?.command ?? run.command;
  const here = rerun === run.command ? `${run.seconds.toFixed(0)} s here` : `here \`${run.command}\`, ${run.seconds.toFixed(0)} s`;
  const parts = [`## ${r?.title ?? run.name}`, `Rerun: \`${rerun}\` (${here})`];
  if (!r) {
    parts.push(`No result: the benchmark exited with code ${run.exitCode ?? 'signal'} before recording one. Its output above in the run's log says why.`);
    return parts.join('\n\n');
  }
  if (run.exitCode !== 0) parts.push(`The benchmark exited with code ${run.exitCode ?? 'signal'} after recording its result.`);
  if (r.machine) parts.push(`Machine during the run: ${r.machine}`);
  if (r.figures.length)
    parts.push(
      table(
        ['figure', 'value', 'target', ''],
        r.figures.map((f) => figureRow('', f).slice(1)),
      ),
    );
  for (const t of r.tables ?? []) parts.push(tableSection(t));
  if (run.chart) parts.push(`![${r.title}: cost against size](${run.chart})`);
  if (r.limits) parts.push(`What limits it: ${r.limits}`);
  return parts.join('\n\n');
}

export function renderBenchmarks(runs: readonly BenchRun[], meta: RunMeta): string {
  const summary = runs.flatMap((run) =>
    run.result ? run.result.figures.filter((f) => f.target).map((f) => figureRow(run.name, f)) : [[run.name, 'no result', '', '', '**failed**']],
  );
  const missed = summary.filter((row) => row[4] !== 'met').length;
  return [
    '# Benchmarks',
    `Written by \`npm run bench${meta.full ? ' -- --full' : ''}\` on ${meta.date} at revision ${meta.revision}; node ${meta.node}, ` +
      `${meta.cores} cores, load average ${meta.loadBefore} before and ${meta.loadAfter} after. ` +
      `Do not edit by hand: rerun the command. ${meta.full ? 'Full sizes.' : 'Quick sizes (the issue-sized runs: `npm run bench -- --full`).'}`,
    `## Targets\n\n${summary.length - missed} of ${summary.length} met.\n\n${table(['bench', 'figure', 'value', 'target', ''], summary)}`,
    ...runs.map(benchSection),
  ].join('\n\n');
}
