// RELIABILITY.md, written by `npm run chaos`: per fault what was done, how
// many trials, what held, what was lost (must be zero), the time to
// recover, and the command that reruns it.
import os from 'node:os';
import type { Fault, FaultRun } from './trial.ts';

export interface ChaosRun {
  startedAt: Date;
  seed: number;
  servers: number;
  requests: number;
  command: string;
  runs: FaultRun[];
  durationMs: number;
}

const INVARIANTS = [
  ['exactly-one-host', 'every server defined (and running) on exactly one host'],
  ['lost', 'no server lost (defined on no host)'],
  ['power-state', 'every server in the power state it had before the drain'],
  ['capacity', 'no host over capacity (memory of defined servers ≤ total − zone reserve; vCPUs ≤ CPUs × overcommit)'],
  ['forbidden-host', 'no server on a host it must never be on (the drained source once in maintenance, the disabled host, the host of another zone)'],
  ['operation-unfinished', 'every operation finished, or paused with a reason'],
  ['migration-started-twice', 'no migration id started twice in the hypervisors'],
  ['unattributed-migration', 'no hypervisor migration without an agent migration record (every start driven by a persisted migration id)'],
  ['moved-twice', 'no server moved twice'],
] as const;

/** A multi-line text (an exited process's stderr in a trial's error) on one Markdown line. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function rerun(run: ChaosRun, f: Fault, trials: number): string {
  if (f.lab) return `npm run chaos -- --only ${f.name} --trials ${trials} --seed ${run.seed}`;
  return `npm run chaos -- --only ${f.name} --trials ${trials} --servers ${run.servers}${f.name === 'admin-fuzz' ? ` --requests ${run.requests}` : ''} --seed ${run.seed}`;
}

export function renderReport(run: ChaosRun): string {
  const L: string[] = [];
  const all = run.runs.flatMap((r) => r.trials);
  const violations = all.reduce((a, t) => a + t.violations.length, 0);
  const lost = all.reduce((a, t) => a + t.lost, 0);
  L.push('# Reliability: nothing lost under faults');
  L.push('');
  L.push('Written by `npm run chaos` (scripts/chaos/); do not edit by hand, rerun it.');
  L.push(
    "Every trial builds a fresh world — a real nats-server (nkey identities), sim agents (real gRPC servers and NATS clients over the in-memory `sim` hypervisor), coordinators as real processes — drains the host `sim-1` of its servers while the fault happens, and ends with an invariant check read from the hypervisors themselves (the sim fabric and every agent's migration records), not from the coordinator.",
  );
  if (run.runs.some((r) => r.fault.lab))
    L.push(
      "The `lab-*` faults (`npm run chaos -- --lab`) run in the lab instead (scripts/lab, lab `lchaos`): 3 hosts with real libvirtds and QEMU guests, a real agent process per host, a real nats-server and a coordinator process; their check reads libvirt on every host (`virsh list --all`, `virsh dominfo`, `virsh nodeinfo`, and every migration libvirt started from `virsh event` lifecycle events) and the agents' migration record files, through the same rules.",
    );
  L.push('');
  L.push(
    `- Run: ${run.startedAt.toISOString()}, ${Math.round(run.durationMs / 1000)} s on ${os.cpus().length} core(s) (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`,
  );
  L.push(`- Command: \`${run.command}\` (seed ${run.seed}, ${run.servers} servers per drain, ${run.requests} fuzz requests)`);
  L.push(`- Trials: ${all.length}; invariant violations: **${violations}**; servers lost: **${lost}**`);
  L.push('');
  L.push('## Invariants checked after every trial');
  L.push('');
  for (const [id, text] of INVARIANTS) L.push(`- \`${id}\`: ${text}`);
  L.push('');
  L.push('## Results');
  L.push('');
  L.push('| fault | trials | drains succeeded | violations | lost | recovery median | recovery max | trial time median |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of run.runs) {
    const rec = r.trials.map((t) => t.recoveryMs).filter((x): x is number => x !== null);
    const dur = r.trials.map((t) => t.durationMs);
    const ok = r.trials.filter((t) => t.outcome === 'succeeded' || t.outcome === 'clean').length;
    L.push(
      `| ${r.fault.name} | ${r.trials.length} | ${ok}/${r.trials.length} | ${r.trials.reduce((a, t) => a + t.violations.length, 0)} | ${r.trials.reduce((a, t) => a + t.lost, 0)} | ${seconds(quantile(rec, 0.5))} | ${seconds(rec.length ? Math.max(...rec) : null)} | ${seconds(quantile(dur, 0.5))} |`,
    );
  }
  L.push('');
  for (const r of run.runs) {
    L.push(`### ${r.fault.name}`);
    L.push('');
    L.push(r.fault.description);
    L.push('');
    L.push(`- Recovery time: ${r.fault.recovery}.`);
    L.push(`- Rerun: \`${rerun(run, r.fault, r.trials.length)}\``);
    const held = INVARIANTS.filter(([id]) => !r.trials.some((t) => t.violations.some((v) => v.invariant === id))).map(([id]) => id);
    L.push(`- Held in every trial: ${held.map((h) => `\`${h}\``).join(', ') || 'none'}`);
    L.push('');
    for (const [i, t] of r.trials.entries()) {
      L.push(
        `  ${i + 1}. ${oneLine(t.outcome)}, ${t.violations.length} violation(s), ${t.lost} lost, recovery ${seconds(t.recoveryMs)}, ${seconds(t.durationMs)}: ${t.notes.join('; ')}`,
      );
      for (const v of t.violations.slice(0, 10)) L.push(`     - VIOLATION \`${v.invariant}\`: ${v.detail}`);
      if (t.violations.length > 10) L.push(`     - … and ${t.violations.length - 10} more`);
    }
    if (r.error) L.push(`  - the fault's run failed: ${r.error}`);
    L.push('');
  }
  const findings = [...new Set(run.runs.flatMap((r) => r.trials.flatMap((t) => t.findings.map((f) => `${r.fault.name}: ${f}`))))];
  L.push('## Findings');
  L.push('');
  if (findings.length === 0 && violations === 0) L.push('None in this run.');
  for (const f of findings) L.push(`- found, open: ${f}`);
  if (violations > 0) L.push(`- found, open: ${violations} invariant violation(s) listed above.`);
  for (const r of run.runs) {
    for (const [i, t] of r.trials.entries())
      if (t.outcome.startsWith('error')) L.push(`- found, open: ${r.fault.name}: trial ${i + 1} could not finish: ${oneLine(t.outcome.slice(7))}`);
  }
  L.push('');
  L.push('## Rerunning');
  L.push('');
  L.push('```sh');
  L.push('npm run chaos                                   # the default: every sim fault, a few trials each');
  L.push('npm run chaos -- --lab                          # and the lab faults (root, npm run setup; ~2 min a trial)');
  L.push('npm run chaos -- --trials 20 --only coordinator-sigkill   # 20 SIGKILLs of the leader mid-drain');
  L.push('npm run chaos -- --servers 50 --requests 10000 --seed 7   # sizes and the seed (same seed, same fault points)');
  L.push('npm run chaos -- --no-report                    # do not rewrite RELIABILITY.md');
  L.push('```');
  L.push('');
  L.push(
    'Environment equivalents: `DRYDOCK_CHAOS_LAB=1`, `DRYDOCK_CHAOS_TRIALS`, `DRYDOCK_CHAOS_SERVERS`, `DRYDOCK_CHAOS_REQUESTS`, `DRYDOCK_CHAOS_SEED`, `DRYDOCK_CHAOS_ONLY`. The command exits 1 when any invariant was violated.',
  );
  L.push('');
  return L.join('\n');
}
