// Planner timing: one host's drain plan (20 servers) against inventories of
// 50, 200 and 1000 hosts with 20 servers each, median of several runs, plus
// the snapshot file round trip the offline what-if pays.
// Run: npx tsx bench/planner.ts [runs]
import { planMaintenance, parseSnapshot, serializeSnapshot } from '../coordinator/planner/index.ts';
import { randomSnapshot } from '../coordinator/planner/synthetic.ts';
import { formatTable } from '../coordinator/planner/format.ts';

const RUNS = Math.max(3, Number(process.argv[2] ?? 9) || 9);
const SIZES = [50, 200, 1000];
const SERVERS_PER_HOST = 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const rows: string[][] = [];
for (const hosts of SIZES) {
  const snapshot = randomSnapshot(hosts, { hosts, serversPerHost: SERVERS_PER_HOST, chaos: true });
  // Plan a host that can actually enter maintenance (chaos makes some refuse).
  const source = snapshot.hosts.find((h) => planMaintenance(snapshot, { hostId: h.id, stopUnmigratable: true }).refusals.length === 0)!;
  const request = { hostId: source.id, stopUnmigratable: true };
  for (let i = 0; i < 3; i++) planMaintenance(snapshot, request); // warm-up (JIT)
  const planMs: number[] = [];
  let last = planMaintenance(snapshot, request);
  for (let i = 0; i < RUNS; i++) planMs.push(time(() => (last = planMaintenance(snapshot, request))));
  let text = '';
  const serializeMs: number[] = [];
  const parseMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    serializeMs.push(time(() => (text = serializeSnapshot(snapshot))));
    parseMs.push(time(() => parseSnapshot(text)));
  }
  const planned = [...last.servers, ...last.blockers];
  const evaluated = planned.reduce((a, s) => a + s.candidates.length + s.candidatesOmitted, 0);
  rows.push([
    String(hosts),
    String(snapshot.servers.length),
    `${last.servers.filter((s) => s.targetHostId).length}/${last.servers.length + last.blockers.length}`,
    String(evaluated),
    median(planMs).toFixed(2),
    Math.min(...planMs).toFixed(2),
    Math.max(...planMs).toFixed(2),
    `${(text.length / 1024 / 1024).toFixed(1)} MiB`,
    median(serializeMs).toFixed(1),
    median(parseMs).toFixed(1),
  ]);
}

console.log(`planner benchmark: ${SERVERS_PER_HOST} servers per host, one host drained, median of ${RUNS} runs (ms), node ${process.version}`);
console.log(formatTable(['HOSTS', 'SERVERS', 'MOVED', 'EVALUATED', 'PLAN MED', 'MIN', 'MAX', 'FILE', 'SERIALIZE', 'PARSE'], rows));
