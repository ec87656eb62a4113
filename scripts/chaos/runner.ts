// Runs the fault catalogue: each selected fault for its number of trials,
// one fresh world per trial, serially (the machine has few cores, and one
// world's timing must not be another's fault).
import { errorMessage } from '../../common/errors.ts';
import { FAULTS } from './faults.ts';
import { LAB_FAULTS } from './lab-faults.ts';
import type { ChaosRun } from './report.ts';
import type { FaultRun, TrialResult } from './trial.ts';

export interface ChaosOptions {
  /** Trials per fault (default: each fault's own default). */
  trials?: number;
  servers: number;
  requests: number;
  /** Fault names to run (default: every sim fault, and the lab faults with `lab`). */
  only?: string[];
  /** Add the lab faults (real libvirt hosts: root, the lab set up). */
  lab?: boolean;
  seed: number;
  command: string;
  log?: (msg: string) => void;
}

/** mulberry32: a small seeded generator, so a seed reproduces the fault points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function selectFaults(only?: string[], lab = false) {
  const all = [...FAULTS, ...LAB_FAULTS];
  if (!only?.length) return lab ? all : FAULTS;
  const unknown = only.filter((n) => !all.some((f) => f.name === n));
  if (unknown.length) throw new Error(`unknown fault(s): ${unknown.join(', ')}; known: ${all.map((f) => f.name).join(', ')}`);
  return all.filter((f) => only.includes(f.name));
}

export async function runChaos(o: ChaosOptions): Promise<ChaosRun> {
  const log = o.log ?? (() => undefined);
  const startedAt = new Date();
  const random = seededRandom(o.seed);
  const runs: FaultRun[] = [];
  for (const fault of selectFaults(o.only, o.lab)) {
    const n = o.trials ?? fault.defaultTrials;
    const run: FaultRun = { fault, trials: [] };
    runs.push(run);
    for (let i = 0; i < n; i++) {
      log(`${fault.name}: trial ${i + 1}/${n}`);
      let result: TrialResult;
      try {
        result = await fault.run({ servers: o.servers, requests: o.requests, random, log });
      } catch (err) {
        // A trial that cannot finish is reported, not hidden: it counts as a failed trial with its error.
        result = { outcome: `error: ${errorMessage(err).slice(0, 300)}`, violations: [], lost: 0, recoveryMs: null, durationMs: 0, notes: [], findings: [] };
      }
      run.trials.push(result);
      log(
        `${fault.name}: trial ${i + 1}/${n} ${result.outcome}, ${result.violations.length} violation(s), ${result.lost} lost, recovery ${result.recoveryMs ?? '-'} ms; ${result.notes.join('; ')}`,
      );
      for (const v of result.violations) log(`  VIOLATION ${v.invariant}: ${v.detail}`);
    }
  }
  return { startedAt, seed: o.seed, servers: o.servers, requests: o.requests, command: o.command, runs, durationMs: Date.now() - startedAt.getTime() };
}

/** True when every trial ran and held every invariant. */
export function passed(run: ChaosRun): boolean {
  return run.runs.every((r) => r.trials.every((t) => t.violations.length === 0 && !t.outcome.startsWith('error')));
}
