// 50 sim agents in one process on one nats-server: they start, publish,
// migrate concurrently (each server on exactly one host throughout), and
// stop without leaving anything behind.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestNats } from '../harness/test-nats.ts';
import { subjects, type HeartbeatMessage } from '../common/subjects.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { agentClient, migrate, type AgentClient } from './agent-helpers.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';

const HOSTS = 50;
const dir = mkdtempSync(path.join(tmpdir(), 'drydock-sim-scale-'));
const cleanup: Array<() => Promise<void> | void> = [];
test.after.always(async () => {
  for (const f of cleanup.reverse()) await f();
  rmSync(dir, { recursive: true, force: true });
});

test('50 agents in one process: facts and heartbeats from all, 20 concurrent migrations, a clean stop', async (t) => {
  // 50 identities, one per host; the test listens as the coordinator.
  const tn = await startTestNats({ dir, hosts: Array.from({ length: HOSTS }, (_, i) => `sim-${i + 1}`) });
  const nats = tn.node;
  cleanup.push(() => tn.stop());
  const nc = await tn.connect();
  cleanup.push(() => nc.close());
  const facts = new Map<string, HostFacts>();
  const beats = new Map<string, HeartbeatMessage>();
  const dec = new TextDecoder();
  const s1 = nc.subscribe(subjects.allFacts, {
    callback: (_e, m) => {
      const f = JSON.parse(dec.decode(m.data)) as HostFacts;
      facts.set(f.host_id, f);
    },
  });
  const s2 = nc.subscribe(subjects.allHeartbeats, {
    callback: (_e, m) => {
      const h = JSON.parse(dec.decode(m.data)) as HeartbeatMessage;
      beats.set(h.host_id, h);
    },
  });
  cleanup.push(() => {
    s1.unsubscribe();
    s2.unsubscribe();
  });
  await nc.flush();

  const t0 = Date.now();
  let cluster: SimAgents | null = await startSimAgents({
    count: HOSTS,
    natsUrl: nats.url,
    natsAuth: tn.hostAuth,
    fabricOptions: { bandwidthBps: 2 * 1024 ** 3, tickMs: 100 },
  });
  const c = cluster;
  cleanup.push(() => c.stop());
  const startMs = Date.now() - t0;
  const deadline = Date.now() + 15_000;
  while ((facts.size < HOSTS || beats.size < HOSTS) && Date.now() < deadline) await sleep(50);
  t.is(facts.size, HOSTS);
  t.is(beats.size, HOSTS);
  const publishMs = Date.now() - t0;

  // 20 servers on 20 hosts, each moved to another host at once.
  const clients: AgentClient[] = [];
  cleanup.push(() => clients.forEach((x) => x.close()));
  const jobs = Array.from({ length: 20 }, (_, i) => {
    const from = cluster!.agents[i]!;
    const to = cluster!.agents[HOSTS - 1 - i]!;
    const s = from.sim.addServer({ name: `scale-${i}`, memoryBytes: 1024 ** 3 });
    const client = agentClient(from.endpoint);
    clients.push(client);
    return { s, from, to, client };
  });
  let violations = 0;
  const watcher = setInterval(() => {
    for (const j of jobs) {
      const on = cluster!.agents.filter((a) => a.sim.servers().some((x) => x.uuid === j.s.uuid)).length;
      if (on !== 1) violations++;
    }
  }, 20);
  cleanup.push(() => clearInterval(watcher));
  const m0 = Date.now();
  const runs = await Promise.all(
    jobs.map((j) =>
      migrate(j.client, {
        migration_id: `scale-${j.s.name}`,
        server_uuid: j.s.uuid,
        mode: 'MIGRATION_MODE_LIVE',
        target_host_id: j.to.hostId,
        target_uri: j.to.migrationUri,
      }),
    ),
  );
  const migrateMs = Date.now() - m0;
  clearInterval(watcher);
  t.true(runs.every((r) => r.final.phase === 'MIGRATION_PHASE_COMPLETED'));
  t.is(violations, 0, 'a server was on zero or two hosts');
  for (const j of jobs) t.is(cluster.fabric.whereIs(j.s.uuid), j.to.sim);

  const s0 = Date.now();
  await cluster.stop();
  cluster = null;
  const stopMs = Date.now() - s0;
  t.log(`${HOSTS} agents: start ${startMs} ms, all facts+heartbeats seen ${publishMs} ms, 20 concurrent 1 GiB migrations ${migrateMs} ms, stop ${stopMs} ms`);
});
