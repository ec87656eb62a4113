// `npm run bench`: runs every benchmark below, one after another (they
// measure time: never two at once), each in its own process with its output
// shown as it goes, collects the results they record (bench/result.ts) and
// writes BENCHMARKS.md and its charts (docs/benchmarks/*.svg).
//
//   npm run bench                      quick sizes, every benchmark
//   npm run bench -- --full            the sizes the issues set (about an hour)
//   npm run bench -- planner telemetry only these
//   npm run bench -- --no-lab          without the ones that need the lab (root, namespaces, QEMU)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.ts';
import { renderBenchmarks, type BenchRun } from './markdown.ts';
import { RESULT_FILE_ENV, type BenchResult } from './result.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHART_DIR = 'docs/benchmarks';

/** A benchmark of the suite: its file under bench/, its argv at quick and full size, whether it needs the lab. */
export interface BenchSpec {
  name: string;
  quick: string[];
  full: string[];
  lab: boolean;
}

/** Every benchmark `npm run bench` runs, in this order (test/bench-report.test.ts checks each bench that records a result is here). */
export const BENCHES: readonly BenchSpec[] = [
  { name: 'planner', quick: ['3'], full: ['9'], lab: false },
  { name: 'record-write', quick: ['3'], full: ['9'], lab: false },
  { name: 'op-store', quick: ['500', '50'], full: ['500', '200'], lab: false },
  { name: 'drain-overhead', quick: ['200', '10', '1,8,3x8'], full: ['500', '10', '1,8,3x1,3x8'], lab: false },
  { name: 'admin-reads', quick: ['5000', '100000', '30', '1'], full: ['5000', '100000', '60', '1'], lab: false },
  { name: 'telemetry', quick: ['1000,2000,5000', '45'], full: ['500,1000,2000,5000', '300'], lab: false },
  { name: 'migration-wall', quick: ['6'], full: ['8'], lab: true },
  { name: 'lab-drain', quick: ['2'], full: ['5'], lab: true },
  { name: 'guest-crash-rate', quick: ['2'], full: ['10'], lab: true },
];

function parseArgs(argv: readonly string[]): { full: boolean; lab: boolean; only: Set<string> } {
  const only = new Set(argv.filter((a) => !a.startsWith('--')));
  const unknown = [...only].filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  return { full: argv.includes('--full'), lab: !argv.includes('--no-lab'), only };
}

function runOne(spec: BenchSpec, full: boolean, resultFile: string): Promise<Omit<BenchRun, 'chart'>> {
  const args = full ? spec.full : spec.quick;
  const command = ['npx tsx', `bench/${spec.name}.ts`, ...args].join(' ');
  process.stdout.write(`\n=== ${spec.name}: ${command}\n`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', `${spec.name}.ts`), ...args], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, [RESULT_FILE_ENV]: resultFile },
    });
    child.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const result = existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult) : undefined;
      resolve({ name: spec.name, command, seconds, exitCode: code, result });
    });
  });
}

function revision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${rev} (with uncommitted changes)` : rev;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const chosen = BENCHES.filter((b) => (opts.only.size === 0 || opts.only.has(b.name)) && (opts.lab || !b.lab));
  const loadBefore = loadavg()[0]!.toFixed(1);
  const work = mkdtempSync(path.join(tmpdir(), 'drydock-bench-'));
  const runs: BenchRun[] = [];
  try {
    for (const spec of chosen) {
      const run: BenchRun = await runOne(spec, opts.full, path.join(work, `${spec.name}.json`));
      if (run.result?.series?.length) {
        mkdirSync(path.join(ROOT, CHART_DIR), { recursive: true });
        run.chart = `${CHART_DIR}/${spec.name}.svg`;
        writeFileSync(path.join(ROOT, run.chart), renderChart(run.result.title, run.result.series));
      }
      runs.push(run);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const md = renderBenchmarks(runs, {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    revision: revision(),
    node: process.version,
    cores: cpus().length,
    loadBefore,
    loadAfter: loadavg()[0]!.toFixed(1),
    full: opts.full,
  });
  writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), md);
  const failed = runs.filter((r) => r.exitCode !== 0 || !r.result);
  process.stdout.write(`\nwrote BENCHMARKS.md (${runs.length} benchmarks${failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : ''})\n`);
  if (failed.length) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
