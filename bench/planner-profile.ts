// Profiling aid for the planner: plans one case repeatedly (for
// `node --cpu-prof`), or prints the top self-time functions of a
// .cpuprofile that run wrote.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/planner-profile.ts run [new|reference] [hosts] [serversPerHost] [sourceServers] [runs]
//   npx tsx bench/planner-profile.ts top "$(ls -S /tmp/prof/*.cpuprofile | head -1)" [n]
// (tsx's loader thread writes a second, idle profile: the largest file is the planner's.)
// Defaults: new planner, 5000 hosts × 20 servers, a 200-server host, 5 runs.
import { readFileSync } from 'node:fs';
import { planMaintenance, crowdHost, drainableHost, randomSnapshot } from '../coordinator/planner/index.ts';
import { planMaintenance as referencePlan } from '../harness/planner-reference/index.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function top(file: string, n: number): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(coordinator|test|bench|common|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}

function run(impl: string, hosts: number, perHost: number, sourceServers: number, runs: number): void {
  const base = randomSnapshot(hosts, { hosts, serversPerHost: perHost, chaos: true });
  const source = drainableHost(base)!;
  const snapshot = crowdHost(base, source.id, sourceServers);
  const plan = impl === 'reference' ? referencePlan : planMaintenance;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    plan(snapshot, { hostId: source.id, stopUnmigratable: true });
    times.push(performance.now() - t0);
  }
  console.log(`${impl}: ${hosts} hosts × ${perHost}, ${sourceServers} servers on ${source.id}: ${times.map((t) => t.toFixed(1)).join(' ')} ms`);
}

const [mode = 'run', ...args] = process.argv.slice(2);
if (mode === 'top') top(args[0]!, Number(args[1] ?? 25));
else run(args[0] ?? 'new', Number(args[1] ?? 5000), Number(args[2] ?? 20), Number(args[3] ?? 200), Number(args[4] ?? 5));
