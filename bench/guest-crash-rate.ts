// Guest crashes after "an aborted live migration, then the same guest moved
// again under load" (issue 12, defect 7): how often the guest kernel crashes
// or reboots after the move, per way of driving it, side by side in one lab
// run (variants interleaved, so they share the machine's load):
//   virsh  plain virsh: migrate --live --p2p, domjobabort after ABORT_AFTER_MS,
//          migrate again (nothing else talks to libvirt about the domain);
//   agent  drydock's sequence: MigrateServer, AbortMigration after
//          ABORT_AFTER_MS, MigrateServer again and the agent SIGKILLed
//          KILL_AFTER_MS into it, restarted (it follows the job), as in
//          test/agent-lab.test.ts where the crash was first seen;
//   quiet  the same with the agent's queries during the move turned off
//          (migration.pollInterval 1h: no domjobinfo while the job runs).
// A crash is a new guest boot (a BOOT line on the serial console, the lab
// guest's boot counter) after the trial's second move; the agent variants
// also count the agent's own verdict (Migration.guest_health).
// Lab 'crash' (subnet 60): not to be run at the same time as
// test/guest-crash-lab.test.ts.
// Run (root, after `npm run setup`): npx tsx bench/guest-crash-rate.ts [trials per variant = 2] [memoryMiB = 192] [fillMiB = 96]
// Full size (docs/field-notes.md): npx tsx bench/guest-crash-rate.ts 10
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLab, type Lab, type LabHost } from '../scripts/lab/index.ts';
import { labAgentChannel, startLabAgents, type LabAgent } from '../harness/lab-agents.ts';
import { loadAgentProto } from '../common/proto.ts';
import type { AgentClient } from '../common/generated/drydock/agent/v1/Agent.ts';
import type { Migration } from '../common/generated/drydock/agent/v1/Migration.ts';
import { recordResult } from './result.ts';

const TRIALS = Math.max(1, Number(process.argv[2] ?? 2) || 2);
const MEMORY_MIB = Number(process.argv[3] ?? 192) || 192;
const FILL_MIB = Number(process.argv[4] ?? 96) || 96;
const GUEST = 'gc-vm';
const ABORT_AFTER_MS = 2000;
const KILL_AFTER_MS = 2000;
const FIRST_BW = 8;
const SECOND_BW = 16;
/** After the second move: time for a crash to show (a panic, a reset, a new BOOT line). */
const SETTLE_MS = 8000;

type Variant = 'virsh' | 'agent' | 'quiet';
interface Trial {
  variant: Variant;
  moved: boolean;
  newBoots: number;
  verdict: string;
  ms: number;
}

interface AgentSet {
  agents: Map<string, LabAgent>;
  clients: Map<string, AgentClient>;
}

async function agentSet(lab: Lab, dir: string, port: number, config: Record<string, unknown>): Promise<AgentSet> {
  mkdirSync(dir, { recursive: true });
  const proto = loadAgentProto();
  const set: AgentSet = { agents: new Map(), clients: new Map() };
  for (const a of await startLabAgents(lab, { dir, port, config })) {
    const ch = await labAgentChannel(a.host.name);
    set.agents.set(a.host.name, a);
    set.clients.set(a.host.name, new proto.drydock.agent.v1.Agent(a.endpoint, ch.credentials, ch.options));
  }
  return set;
}

function unary<T>(client: AgentClient, method: 'AbortMigration' | 'GetMigration', req: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: object, o: object, cb: (e: Error | null, v: T) => void) => void).call(client, req, { deadline: Date.now() + 30_000 }, (e, v) =>
      e ? reject(e) : resolve(v),
    );
  });
}

/** Starts MigrateServer; resolves with the last record when the stream ends (or errors: the agent was killed). */
function startMove(client: AgentClient, id: string, uuid: string, to: LabHost, bw: number): Promise<Migration | null> {
  return new Promise((resolve) => {
    let last: Migration | null = null;
    const stream = client.MigrateServer({
      migration_id: id,
      server_uuid: uuid,
      mode: 'MIGRATION_MODE_LIVE',
      target_host_id: to.name,
      target_uri: to.uri,
      max_bandwidth_mibps: bw,
    });
    stream.on('data', (ev: { migration?: Migration }) => (last = ev.migration ?? last));
    stream.on('error', () => resolve(last));
    stream.on('end', () => resolve(last));
  });
}

const TERMINAL = ['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED'];

async function followUntilDone(client: AgentClient, id: string): Promise<Migration> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const m = await unary<Migration>(client, 'GetMigration', { migration_id: id }).catch(() => null);
    if (m && TERMINAL.includes(m.phase)) return m;
    if (Date.now() > deadline) throw new Error(`${id} not finished after 5 min`);
    await sleep(500);
  }
}

async function whereRuns(lab: Lab): Promise<[LabHost, LabHost]> {
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  const s1 = await h1.virsh(['domstate', GUEST]).then(
    (r) => r.stdout.trim(),
    () => 'absent',
  );
  return s1.startsWith('running') ? [h1, h2] : [h2, h1];
}

const boots = async (lab: Lab) => (await lab.serialRecords(GUEST)).filter((r) => r.kind === 'BOOT').length;

async function plainVirsh(from: LabHost, to: LabHost, uuid: string): Promise<{ moved: boolean; verdict: string }> {
  const args = (bw: number) => [
    'migrate',
    '--live',
    '--p2p',
    '--persistent',
    '--undefinesource',
    '--bandwidth',
    String(bw),
    '--domain',
    uuid,
    '--desturi',
    to.uri,
  ];
  const first = from.virsh(args(FIRST_BW)).then(
    () => 'completed',
    (e: Error) => e.message,
  );
  await sleep(ABORT_AFTER_MS);
  await from.virsh(['domjobabort', uuid]).catch(() => undefined);
  const r1 = await first;
  if (r1 === 'completed') return { moved: true, verdict: 'first move finished before the abort' };
  await sleep(1000);
  const r2 = await from.virsh(args(SECOND_BW)).then(
    () => 'completed',
    (e: Error) => e.message,
  );
  return { moved: r2 === 'completed', verdict: r2 === 'completed' ? '-' : r2.slice(0, 80) };
}

async function agentSequence(set: AgentSet, from: LabHost, to: LabHost, uuid: string, tag: string): Promise<{ moved: boolean; verdict: string }> {
  const client = set.clients.get(from.name)!;
  const first = startMove(client, `${tag}-a`, uuid, to, FIRST_BW);
  await sleep(ABORT_AFTER_MS);
  await unary(client, 'AbortMigration', { migration_id: `${tag}-a`, reason: 'bench' }).catch(() => undefined);
  const r1 = await first;
  if (r1?.phase === 'MIGRATION_PHASE_COMPLETED') return { moved: true, verdict: `first move finished before the abort: ${r1.guest_health}` };
  await sleep(1000);
  const second = startMove(client, `${tag}-b`, uuid, to, SECOND_BW);
  await sleep(KILL_AFTER_MS);
  const agent = set.agents.get(from.name)!;
  agent.child.kill('SIGKILL');
  await new Promise<void>((resolve) =>
    agent.child.exitCode !== null || agent.child.signalCode !== null ? resolve() : agent.child.once('exit', () => resolve()),
  );
  await second;
  await agent.start();
  const m = await followUntilDone(client, `${tag}-b`);
  return {
    moved: m.phase === 'MIGRATION_PHASE_COMPLETED',
    verdict: m.phase === 'MIGRATION_PHASE_COMPLETED' ? m.guest_health : `${m.phase}: ${m.error?.message ?? ''}`.slice(0, 80),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-crash-bench-'));
  const lab = await createLab({ hosts: 2, name: 'crash', subnet: 60 });
  const trials: Trial[] = [];
  try {
    const g = await lab.defineGuest(lab.hosts[0]!, { name: GUEST, memoryMiB: MEMORY_MIB, fillMiB: FILL_MIB });
    const normal = await agentSet(lab, path.join(dir, 'agent'), 7400, {});
    const quiet = await agentSet(lab, path.join(dir, 'quiet'), 7401, {
      stateDir: '/var/lib/libvirt/drydock-agent-quiet',
      migration: { pollInterval: '1h', stallTimeout: '60s', shutdownTimeout: '20s' },
    });
    await lab.waitForHeartbeats(GUEST, { count: 3, timeoutMs: 180_000 });
    const variants: Variant[] = ['virsh', 'agent', 'quiet'];
    for (let i = 0; i < TRIALS; i++) {
      for (const variant of variants) {
        const [from, to] = await whereRuns(lab);
        const before = await boots(lab);
        const t0 = Date.now();
        const r =
          variant === 'virsh'
            ? await plainVirsh(from, to, g.uuid)
            : await agentSequence(variant === 'agent' ? normal : quiet, from, to, g.uuid, `${variant}-${i}-${t0.toString(36)}`);
        await sleep(SETTLE_MS);
        await lab.waitForHeartbeats(GUEST, { count: 1, after: 0, timeoutMs: 120_000 }).catch(() => undefined);
        const newBoots = (await boots(lab)) - before;
        const trial = { variant, moved: r.moved, newBoots, verdict: r.verdict, ms: Date.now() - t0 };
        trials.push(trial);
        console.log(
          `trial ${i + 1}/${TRIALS} ${variant.padEnd(5)} ${from.name}->${to.name} moved=${r.moved} new boots=${newBoots} verdict=${r.verdict} ${trial.ms} ms load=${loadavg()[0]!.toFixed(1)}`,
        );
      }
    }
    for (const s of [normal, quiet]) {
      for (const c of s.clients.values()) c.close();
      await Promise.allSettled([...s.agents.values()].map((a) => a.stop()));
    }
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  report(trials);
}

function report(trials: Trial[]): void {
  const rows = (['virsh', 'agent', 'quiet'] as Variant[]).map((v) => {
    const ts = trials.filter((t) => t.variant === v);
    const moved = ts.filter((t) => t.moved).length;
    const crashed = ts.filter((t) => t.newBoots > 0).length;
    const flagged = ts.filter((t) => /CRASHED|REBOOTED/.test(t.verdict)).length;
    return { v, n: ts.length, moved, crashed, flagged };
  });
  console.log('\nvariant  trials  moved  guest crashed/rebooted  agent said crashed/rebooted');
  for (const r of rows)
    console.log(
      `${r.v.padEnd(8)} ${String(r.n).padStart(6)} ${String(r.moved).padStart(6)} ${String(r.crashed).padStart(22)} ${String(r.flagged).padStart(28)}`,
    );
  recordResult({
    title: 'Guest crashes after an aborted live migration moved again (plain virsh, agent, agent without queries)',
    command: `npx tsx bench/guest-crash-rate.ts ${TRIALS} ${MEMORY_MIB} ${FILL_MIB}`,
    figures: rows.map((r) => ({ name: `${r.v}: guests crashed or rebooted after the move, of ${r.n} trials`, value: r.crashed, unit: 'guests' })),
    tables: [
      {
        title: 'Per variant',
        columns: ['variant', 'trials', 'moved', 'guest crashed/rebooted (new boot)', 'agent verdict crashed/rebooted'],
        rows: rows.map((r) => [r.v, r.n, r.moved, r.crashed, r.flagged]),
      },
    ],
    limits: 'TCG guests on a shared 2-core machine: a trial takes about half a minute, so the counts are small and a rate difference needs many trials.',
  });
}

await main();
