// npm run bench's report: the chart and BENCHMARKS.md rendering (pure), and
// the registry in bench/run.ts holding every benchmark that records a result.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { logDomain, renderChart } from '../bench/chart.ts';
import { renderBenchmarks, type BenchRun } from '../bench/markdown.ts';
import { meetsTarget } from '../bench/result.ts';
import { BENCHES } from '../bench/run.ts';

const BENCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench');
const META = { date: '2026-11-28 08:00 UTC', revision: 'abc1234', node: 'v20.20.2', cores: 2, loadBefore: '0.5', loadAfter: '1.0', full: false };

test('every bench that records a result is run by npm run bench, and every registered bench exists', (t) => {
  const recording = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.ts') && !['result.ts', 'run.ts', 'markdown.ts', 'chart.ts'].includes(f))
    .filter((f) => readFileSync(path.join(BENCH_DIR, f), 'utf8').includes('recordResult('))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  t.true(recording.length >= 2, `found ${recording.join(', ')}`);
  t.deepEqual(BENCHES.map((b) => b.name).sort(), recording);
});

test('targets: each operator, and no verdict without a target', (t) => {
  t.true(meetsTarget({ name: 'a', value: 5, unit: 'ms', target: { op: '<=', value: 5 } }));
  t.false(meetsTarget({ name: 'a', value: 5, unit: 'ms', target: { op: '<', value: 5 } }));
  t.true(meetsTarget({ name: 'a', value: 8, unit: 'x', target: { op: '>=', value: 8 } }));
  t.false(meetsTarget({ name: 'a', value: 8, unit: 'x', target: { op: '>', value: 8 } }));
  t.is(meetsTarget({ name: 'a', value: 8, unit: 'x' }), undefined);
});

test('the chart maps sizes and costs onto log axes, lowest size left, highest cost top', (t) => {
  t.deepEqual(logDomain([50, 5000]), { lo: 1, hi: 4 });
  t.deepEqual(logDomain([100]), { lo: 1, hi: 3 });
  const svg = renderChart('cost <&> size', [
    {
      title: 'now',
      xLabel: 'hosts',
      yLabel: 'ms',
      points: [
        { x: 5000, y: 40 },
        { x: 50, y: 2 },
      ],
    },
  ]);
  t.true(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
  t.true(svg.includes('cost &lt;&amp;&gt; size'));
  const poly = /<polyline points="([^"]+)"/.exec(svg);
  t.truthy(poly);
  const [a, b] = poly![1]!.split(' ').map((p) => p.split(',').map(Number));
  t.true(a![0]! < b![0]!, 'points sorted by size, left to right');
  t.true(b![1]! < a![1]!, 'the higher cost is drawn higher (smaller y)');
});

test('BENCHMARKS.md: every target figure in the summary with its verdict, failed benches listed, no figure invented', (t) => {
  const runs: BenchRun[] = [
    {
      name: 'planner',
      command: 'npx tsx bench/planner.ts 3',
      seconds: 12,
      exitCode: 0,
      chart: 'docs/benchmarks/planner.svg',
      result: {
        title: 'Planner',
        command: 'npx tsx bench/planner.ts 9',
        figures: [
          { name: 'plan, 5,000 hosts', value: 42.5, unit: 'ms', target: { op: '<=', value: 100 } },
          { name: 'untargeted', value: 3, unit: 'ms' },
        ],
        tables: [{ title: 'rows', columns: ['hosts', 'ms'], rows: [[50, '1|2']] }],
        limits: 'one pass per server',
      },
    },
    { name: 'telemetry', command: 'npx tsx bench/telemetry.ts', seconds: 3, exitCode: 1 },
  ];
  const md = renderBenchmarks(runs, META);
  t.regex(md, /\| planner \| plan, 5,000 hosts \| 42\.5 ms \| <= 100 ms \| met \|/);
  t.regex(md, /\| telemetry \| no result \|.*\*\*failed\*\*/);
  t.regex(md, /1 of 2 met/);
  t.false(/\| planner \| untargeted/.test(md), 'figures without a target stay out of the summary');
  t.true(md.includes('1\\|2'), 'cells escape the table separator');
  t.true(md.includes('![Planner: cost against size](docs/benchmarks/planner.svg)'));
  t.regex(md, /exited with code 1 before recording/);
});
