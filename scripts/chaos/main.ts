// `npm run chaos -- [--lab] [--trials N] [--servers N] [--requests N] [--only a,b] [--seed N] [--no-report]`:
// the reliability suite. Writes RELIABILITY.md at the repository root and
// exits 1 when an invariant was violated or a trial could not run.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { renderReport } from './report.ts';
import { passed, runChaos } from './runner.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const env = process.env;
const program = new Command('chaos')
  .description('drydock chaos suite: faults during drains, invariants read from the hypervisors, RELIABILITY.md')
  .option(
    '--trials <n>',
    'trials per fault (default: each fault its own; env DRYDOCK_CHAOS_TRIALS)',
    positiveInt,
    env.DRYDOCK_CHAOS_TRIALS ? positiveInt(env.DRYDOCK_CHAOS_TRIALS) : undefined,
  )
  .option('--servers <n>', 'servers on the drained host (env DRYDOCK_CHAOS_SERVERS)', positiveInt, positiveInt(env.DRYDOCK_CHAOS_SERVERS ?? '50'))
  .option(
    '--requests <n>',
    'malformed admin requests of admin-fuzz (env DRYDOCK_CHAOS_REQUESTS)',
    positiveInt,
    positiveInt(env.DRYDOCK_CHAOS_REQUESTS ?? '10000'),
  )
  .option(
    '--lab',
    'also run the lab faults (real libvirt hosts, lab `lchaos`; needs root and `npm run setup`; env DRYDOCK_CHAOS_LAB=1)',
    env.DRYDOCK_CHAOS_LAB === '1',
  )
  .option('--only <names>', 'comma-separated fault names (env DRYDOCK_CHAOS_ONLY)', env.DRYDOCK_CHAOS_ONLY)
  .option(
    '--seed <n>',
    'seed of the fault points (env DRYDOCK_CHAOS_SEED; default: random)',
    positiveInt,
    env.DRYDOCK_CHAOS_SEED ? positiveInt(env.DRYDOCK_CHAOS_SEED) : undefined,
  )
  .option('--report <file>', 'where to write the report', path.join(ROOT, 'RELIABILITY.md'))
  .option('--no-report', 'do not write the report')
  .parse();

const o = program.opts<{ lab: boolean; trials?: number; servers: number; requests: number; only?: string; seed?: number; report: string | false }>();
const seed = o.seed ?? 1 + Math.floor(Math.random() * 2 ** 31);
const run = await runChaos({
  trials: o.trials,
  servers: o.servers,
  requests: o.requests,
  only: o.only
    ? o.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined,
  lab: o.lab,
  seed,
  command: ['npm run chaos', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  log: (m) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`),
});
const text = renderReport(run);
if (o.report) {
  writeFileSync(o.report, text);
  process.stdout.write(`wrote ${o.report}\n`);
}
const ok = passed(run);
process.stdout.write(ok ? 'chaos: every invariant held\n' : 'chaos: FAILED (see the report)\n');
process.exit(ok ? 0 : 1);
