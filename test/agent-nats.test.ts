// Agents on a real nats-server: facts on start and on change, heartbeats,
// lifecycle events, and reconnect after the server restarts.
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection, Subscription } from 'nats';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { subjects, type HeartbeatMessage, type HostEventMessage } from '../common/subjects.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { simCpu } from '../harness/sim/cpu.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';
import { migrationRequest } from '../harness/sim-migrations.ts';

interface Seen {
  facts: HostFacts[];
  heartbeats: Array<HeartbeatMessage & { receivedAt: number }>;
  events: HostEventMessage[];
}
interface Ctx {
  dir: string;
  nats: NatsNode;
  nc: NatsConnection;
  subs: Subscription[];
  cluster: SimAgents;
  seen: Seen;
}
const test = anyTest as TestFn<Ctx>;
const HEARTBEAT_MS = 400;

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-nats-'));
  t.context = { dir, subs: [], seen: { facts: [], heartbeats: [], events: [] } } as unknown as Ctx;
  // Each sim host publishes with its own identity; the test listens as the coordinator.
  const tn = await startTestNats({ dir, hosts: ['sim-1', 'sim-2'] });
  t.context.nats = tn.node;
  t.context.nc = await tn.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data));
  const { seen, nc } = t.context;
  const listen = (subject: string, on: (m: unknown) => void) => {
    const sub = nc.subscribe(subject, { callback: (_err, msg) => on(decode(msg.data)) });
    t.context.subs.push(sub);
  };
  listen(subjects.allFacts, (m) => seen.facts.push(m as HostFacts));
  listen(subjects.allHeartbeats, (m) => seen.heartbeats.push({ ...(m as HeartbeatMessage), receivedAt: Date.now() }));
  listen(subjects.allHostEvents, (m) => seen.events.push(m as HostEventMessage));
  await nc.flush();
  t.context.cluster = await startSimAgents({
    count: 2,
    natsUrl: t.context.nats.url,
    natsAuth: tn.hostAuth,
    heartbeatIntervalMs: HEARTBEAT_MS,
    factsIntervalMs: 1000,
    fabricOptions: { bandwidthBps: 4 * 1024 ** 3, tickMs: 50, setupMs: 50 },
    natsMaxBackoffMs: 300,
  });
});

test.after.always(async (t) => {
  for (const s of t.context.subs ?? []) s.unsubscribe();
  await t.context.nc?.close();
  await t.context.cluster?.stop();
  await t.context.nats?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test.serial('facts are published on start, one per host, with identity and endpoint', async (t) => {
  const { cluster, seen } = t.context;
  await until('facts of both hosts', () => cluster.agents.every((a) => seen.facts.some((f) => f.host_id === a.hostId)));
  for (const a of cluster.agents) {
    const f = seen.facts.find((x) => x.host_id === a.hostId)!;
    t.is(f.incarnation, a.incarnation);
    t.is(f.grpc_endpoint, a.endpoint);
    t.is(f.migration_uri, a.migrationUri);
    t.is(f.cpu?.model, 'Skylake-Server');
  }
});

test.serial('heartbeats arrive every interval with counts, free memory and incarnation', async (t) => {
  const { cluster, seen } = t.context;
  const a = cluster.agents[0]!;
  a.sim.addServer({ name: 'hb-running', memoryBytes: 1024 ** 3 });
  a.sim.addServer({ name: 'hb-off', running: false });
  const from = seen.heartbeats.length;
  await until('4 heartbeats with the servers', () => seen.heartbeats.slice(from).filter((h) => h.host_id === a.hostId && h.server_count === 2).length >= 4);
  const mine = seen.heartbeats.slice(from).filter((h) => h.host_id === a.hostId && h.server_count === 2);
  const last = mine.at(-1)!;
  t.is(last.running_count, 1);
  t.is(last.incarnation, a.incarnation);
  t.is(last.grpc_endpoint, a.endpoint);
  t.is(last.memory_free_bytes, 64 * 1024 ** 3 - 1024 ** 3);
  t.truthy(last.boot_id);
  const gaps = mine.slice(1).map((h, i) => h.sent_at_ms - mine[i]!.sent_at_ms);
  for (const g of gaps) t.true(g >= HEARTBEAT_MS - 50 && g < HEARTBEAT_MS * 3, `heartbeat gap ${g} ms`);
});

test.serial('lifecycle events carry the server uuid; a migration shows on both hosts', async (t) => {
  const { cluster, seen } = t.context;
  const [a, b] = cluster.agents as [(typeof cluster.agents)[0], (typeof cluster.agents)[0]];
  const s = a.sim.addServer({ name: 'ev-vm', memoryBytes: 512 * 1024 ** 2 });
  await until('Started event', () => seen.events.some((e) => e.server_uuid === s.uuid && e.host_id === a.hostId && /Started/.test(e.detail)));
  const final = await (async () => {
    await a.agent.migrations.start(migrationRequest('nats-ev-1', s.uuid, b));
    return a.agent.migrations.wait('nats-ev-1');
  })();
  t.is(final.phase, 'MIGRATION_PHASE_COMPLETED');
  await until('Started Migrated on the target', () =>
    seen.events.some((e) => e.host_id === b.hostId && e.server_name === 'ev-vm' && e.detail === 'Started Migrated'),
  );
  await until('Stopped Migrated on the source', () =>
    seen.events.some((e) => e.host_id === a.hostId && e.server_name === 'ev-vm' && e.detail === 'Stopped Migrated'),
  );
  const onTarget = seen.events.find((e) => e.host_id === b.hostId && e.detail === 'Started Migrated')!;
  t.is(onTarget.server_uuid, s.uuid);
  t.is(onTarget.incarnation, b.incarnation);
  // The sim raises migration-iteration and job-completed as libvirt does: progress of the job, not news about the server.
  await sleep(300);
  const mine = seen.events.filter((e) => e.server_name === 'ev-vm');
  t.deepEqual(
    mine.filter((e) => e.event !== 'lifecycle').map((e) => `${e.event} ${e.detail}`),
    [],
    'no job-progress events published',
  );
});

test.serial('facts are published again when they change', async (t) => {
  const { cluster, seen } = t.context;
  const b = cluster.agents[1]!;
  b.sim.cpu = simCpu('Westmere');
  await until('facts with the new CPU', () => seen.facts.some((f) => f.host_id === b.hostId && f.cpu?.model === 'Westmere'), 5000);
  // unchanged facts are not re-sent every interval
  const count = () => seen.facts.filter((f) => f.host_id === b.hostId).length;
  const n = count();
  await sleep(2500);
  t.is(count(), n);
});

test.serial('agents reconnect after nats-server restarts: heartbeats resume and facts are re-sent', async (t) => {
  const { cluster, seen, nats } = t.context;
  const factsBefore = cluster.agents.map((a) => a.agent.publisher!.stats.factsPublished);
  await nats.stop();
  await sleep(1000);
  const restartedAt = Date.now();
  await nats.restart();
  await until(
    'heartbeats from both hosts after the restart',
    () => cluster.agents.every((a) => seen.heartbeats.some((h) => h.host_id === a.hostId && h.receivedAt > restartedAt)),
    15_000,
  );
  await until('facts re-sent after reconnect', () => cluster.agents.every((a, i) => a.agent.publisher!.stats.factsPublished > factsBefore[i]!), 10_000);
  t.log(
    `heartbeats back ${Math.min(...cluster.agents.map((a) => seen.heartbeats.find((h) => h.host_id === a.hostId && h.receivedAt > restartedAt)!.receivedAt)) - restartedAt} ms after the restart`,
  );
  t.pass();
});
