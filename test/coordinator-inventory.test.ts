// The inventory against real agents: 50 sim agents (each a real gRPC server
// and NATS client, startSimAgents) and a real coordinator on a real
// nats-server. Hosts register themselves, go offline when their agent stops,
// servers follow what agents report (including changes made behind the
// coordinator's back, caught by the periodic reconcile), and the operator's
// host settings (zone, enabled) stick.
import anyTest, { type TestFn } from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';

const HOSTS = 50;
const TOKEN = 'inventory-test-token';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
  agents: SimAgents;
  admin: TestAdminClient;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('inventory');
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  const ctx: Partial<Ctx> = { dir };
  t.context = ctx as Ctx;
  const tn = await startTestNats({ dir, hosts: Array.from({ length: HOSTS }, (_, i) => `kvm-${i + 1}`) });
  ctx.node = tn.node;
  ctx.coord = await startCoordinator(
    testConfig({
      id: 'coord-inv',
      natsServers: [ctx.node.url],
      natsAuth: tn.coordinatorAuth,
      tokenFile,
      offlineAfter: '3s',
      reconcileInterval: '2s',
      leaderTtl: '3s',
      leaderRenew: '500ms',
    }),
  );
  await waitFor('leadership', () => ctx.coord!.leader.isLeader(), 10_000);
  ctx.agents = await startSimAgents({ count: HOSTS, natsUrl: ctx.node.url, natsAuth: tn.hostAuth, heartbeatIntervalMs: 500, hostIdPrefix: 'kvm' });
  ctx.admin = new TestAdminClient(ctx.coord.port);
});

test.after.always(async (t) => {
  t.context.admin?.close();
  await t.context.agents?.stop();
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const call = <T = any>(t: { context: Ctx }, method: string, req: object) => t.context.admin.call<T>(method, req, { token: TOKEN });
type Host = {
  id: string;
  online: boolean;
  last_heartbeat_ms: number;
  enabled: boolean;
  zone_id: string;
  incarnation: string;
  grpc_endpoint: string;
  hypervisor_type: string;
  memory_total_bytes: number;
  server_count: number;
  not_a_target_because: string[];
  maintenance: string;
};
type Server = { uuid: string; host_id: string; state: string; name: string; hot_migration: boolean };

const hosts = async (t: { context: Ctx }) => (await call<{ hosts: Host[] }>(t, 'ListHosts', {})).hosts;
const servers = async (t: { context: Ctx }, req: object = {}) => (await call<{ servers: Server[] }>(t, 'ListServers', req)).servers;

test(`all ${HOSTS} sim hosts register themselves from facts and are online`, async (t) => {
  const list = await waitFor(
    'all hosts registered and online',
    async () => {
      const l = await hosts(t);
      return l.length === HOSTS && l.every((h) => h.online) ? l : null;
    },
    20_000,
  );
  const h = list.find((x) => x.id === 'kvm-7')!;
  t.is(h.grpc_endpoint, t.context.agents.byId('kvm-7').endpoint);
  t.is(h.incarnation, t.context.agents.byId('kvm-7').incarnation);
  // New hosts: enabled, no zone yet, in service.
  t.true(list.every((x) => x.enabled && x.zone_id === '' && x.maintenance === 'MAINTENANCE_STATE_NONE'));
  t.true(h.memory_total_bytes > 0);
  t.true(h.not_a_target_because.includes('not assigned to a compute zone'));
});

test('servers are read from the agents; added, removed and moved servers are reconciled', async (t) => {
  const a = t.context.agents;
  const added: { uuid: string; host: string }[] = [];
  for (let i = 1; i <= 10; i++) {
    for (let j = 0; j < 2; j++) {
      const uuid = randomUUID();
      a.byId(`kvm-${i}`).sim.addServer({ uuid, name: `vs-${i}-${j}`, memoryBytes: 256 * 2 ** 20, running: j === 0 });
      added.push({ uuid, host: `kvm-${i}` });
    }
  }
  await waitFor(
    '20 servers listed on their hosts',
    async () => {
      const s = await servers(t);
      return s.length === 20 && added.every((x) => s.find((y) => y.uuid === x.uuid)?.host_id === x.host);
    },
    15_000,
  );
  const one = (await servers(t, { host_id: 'kvm-1' })).sort((x, y) => x.name.localeCompare(y.name));
  t.deepEqual(
    one.map((s) => [s.name, s.state]),
    [
      ['vs-1-0', 'running'],
      ['vs-1-1', 'shutoff'],
    ],
  );

  // Behind the coordinator's back: one server vanishes, one moves to another host.
  const gone = added[0]!;
  const moved = added[2]!;
  a.byId(gone.host).sim.removeServer(gone.uuid);
  a.byId(moved.host).sim.removeServer(moved.uuid);
  a.byId('kvm-40').sim.addServer({ uuid: moved.uuid, name: 'vs-2-0', memoryBytes: 256 * 2 ** 20 });
  await waitFor(
    'the removed server disappears and the moved one is on kvm-40',
    async () => {
      const s = await servers(t);
      return !s.some((x) => x.uuid === gone.uuid) && s.find((x) => x.uuid === moved.uuid)?.host_id === 'kvm-40' && s.length === 19;
    },
    15_000,
  );
  const report = t.context.coord.inventory.lastReconcileReport();
  t.truthy(report);
  t.is(report!.hostsAnswered, report!.hostsAsked);
});

test('a missed event never leaves a lie: the periodic reconcile alone repairs the records', async (t) => {
  const { coord, agents } = t.context;
  // Forge a lie straight into the store (as if events had been lost): a
  // server record on kvm-3 that no agent has, and a wrong state on a real one.
  const real = (await servers(t, { host_id: 'kvm-3' }))[0]!;
  const ghost = randomUUID();
  const rec = (await coord.store.servers.get(real.uuid))!.value;
  await coord.store.servers.create(ghost, { ...rec, uuid: ghost, name: 'ghost' });
  await coord.store.servers.mutate(real.uuid, (s) => ({ ...s, state: 'crashed' }));
  await waitFor(
    'reconcile removes the ghost and restores the state',
    async () => {
      const s = await servers(t, { host_id: 'kvm-3' });
      return !s.some((x) => x.uuid === ghost) && s.find((x) => x.uuid === real.uuid)?.state === agentState(agents, 'kvm-3', real.uuid);
    },
    10_000,
  );
  t.pass();
});

function agentState(agents: SimAgents, hostId: string, uuid: string): string {
  const s = agents
    .byId(hostId)
    .sim.servers()
    .find((x) => x.uuid === uuid)!;
  return s.state.replace('SERVER_STATE_', '').toLowerCase();
}

test('UpdateHost: zone and the Enabled switch stick; a disabled host keeps its servers and says why it is not a target', async (t) => {
  await call(t, 'CreateZone', { zone_id: 'zone-a', name: 'Zone A' });
  for (const id of ['kvm-4', 'kvm-5', 'kvm-6']) await call(t, 'UpdateHost', { host_id: id, zone_id: 'zone-a' });
  const before = await servers(t, { host_id: 'kvm-4' });
  const h = await call<Host>(t, 'UpdateHost', { host_id: 'kvm-4', enabled: false, label: 'disk swap' });
  t.false(h.enabled);
  t.is(h.zone_id, 'zone-a');
  t.true(h.not_a_target_because.some((r) => r.startsWith('disabled')));
  t.false(h.not_a_target_because.includes('not assigned to a compute zone'));
  const zone = await call<{ host_ids: string[] }>(t, 'GetZone', { zone_id: 'zone-a' });
  t.deepEqual(zone.host_ids, ['kvm-4', 'kvm-5', 'kvm-6']);
  t.deepEqual(
    (await servers(t, { zone_id: 'zone-a' })).length,
    (await servers(t, { host_id: 'kvm-4' })).length + (await servers(t, { host_id: 'kvm-5' })).length + (await servers(t, { host_id: 'kvm-6' })).length,
  );
  // New facts and reconciles do not touch the operator's settings, nor the servers of a disabled host.
  await t.context.agents.byId('kvm-4').restart();
  await waitFor(
    'kvm-4 re-registered with its new incarnation',
    async () => (await call<Host>(t, 'GetHost', { host_id: 'kvm-4' })).incarnation === t.context.agents.byId('kvm-4').incarnation,
    10_000,
  );
  const after = await call<Host>(t, 'GetHost', { host_id: 'kvm-4' });
  t.false(after.enabled);
  t.is(after.zone_id, 'zone-a');
  t.deepEqual((await servers(t, { host_id: 'kvm-4' })).map((s) => s.uuid).sort(), before.map((s) => s.uuid).sort());
  t.is(after.server_count, before.length);
});

test('hosts whose agents stop go offline after offlineAfter (3 s) and keep their records; back online when restarted', async (t) => {
  const stopped = ['kvm-45', 'kvm-46', 'kvm-47', 'kvm-48', 'kvm-49'];
  const a = t.context.agents;
  a.byId('kvm-46').sim.addServer({ uuid: randomUUID(), name: 'survivor' });
  await waitFor('survivor listed', async () => (await servers(t, { host_id: 'kvm-46' })).some((s) => s.name === 'survivor'), 10_000);
  await Promise.all(stopped.map((id) => a.byId(id).stop()));
  const off = await waitFor(
    '5 hosts offline',
    async () => {
      const l = await hosts(t);
      return stopped.every((id) => l.find((h) => h.id === id)?.online === false) ? { l, seenAt: Date.now() } : null;
    },
    10_000,
    200,
  );
  // Offline is decided from each host's last heartbeat: never before the 3 s window.
  const last = Math.max(...off.l.filter((h) => stopped.includes(h.id)).map((h) => h.last_heartbeat_ms));
  t.true(off.seenAt - last >= 3000 - 50, `offline ${off.seenAt - last} ms after the last heartbeat`);
  const l = await hosts(t);
  t.is(l.length, HOSTS, 'offline hosts stay registered');
  t.is(l.filter((h) => h.online).length, HOSTS - stopped.length);
  t.true(l.find((h) => h.id === 'kvm-45')!.not_a_target_because.includes('offline'));
  // Silence is not absence: the reconcile keeps the servers of an unreachable host.
  await waitFor(
    'a reconcile pass after the stop',
    () => (t.context.coord.inventory.lastReconcileReport()?.hostsAsked ?? HOSTS) <= HOSTS - stopped.length,
    10_000,
  );
  t.true((await servers(t, { host_id: 'kvm-46' })).some((s) => s.name === 'survivor'));
  const oldInc = (await call<Host>(t, 'GetHost', { host_id: 'kvm-45' })).incarnation;
  await a.byId('kvm-45').start();
  const back = await waitFor(
    'kvm-45 back online with a new incarnation',
    async () => {
      const h = await call<Host>(t, 'GetHost', { host_id: 'kvm-45' });
      return h.online && h.incarnation !== oldInc ? h : null;
    },
    10_000,
  );
  t.is(back.incarnation, a.byId('kvm-45').incarnation);
});

test('agent client: a live migration streams progress to COMPLETED; the inventory follows the server to its new host', async (t) => {
  const { coord, agents } = t.context;
  const uuid = randomUUID();
  agents.byId('kvm-20').sim.addServer({ uuid, name: 'mover', memoryBytes: 128 * 2 ** 20 });
  await waitFor('mover listed on kvm-20', async () => (await servers(t, { host_id: 'kvm-20' })).some((s) => s.uuid === uuid), 10_000);
  const client = coord.agents.forHost('kvm-20', agents.byId('kvm-20').endpoint);
  const phases: string[] = [];
  let last: { percent: number; phase: string } | undefined;
  for await (const ev of client.migrateServer(
    {
      migration_id: `mig-${uuid.slice(0, 8)}`,
      server_uuid: uuid,
      mode: 'MIGRATION_MODE_LIVE',
      target_host_id: 'kvm-21',
      target_uri: agents.byId('kvm-21').migrationUri,
    },
    { timeoutMs: 30_000 },
  )) {
    if (!phases.includes(ev.migration!.phase)) phases.push(ev.migration!.phase);
    last = ev.migration!;
  }
  t.is(last?.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(last?.percent, 100);
  t.true(phases.length >= 2, phases.join(' → '));
  // Idempotent by id: asking again returns the finished record without moving anything.
  const again = await client.getMigration(`mig-${uuid.slice(0, 8)}`);
  t.is(again.phase, 'MIGRATION_PHASE_COMPLETED');
  await waitFor('record follows the server to kvm-21', async () => (await servers(t, { host_id: 'kvm-21' })).some((s) => s.uuid === uuid), 10_000);
  t.false((await servers(t, { host_id: 'kvm-20' })).some((s) => s.uuid === uuid));
  // A typed error from the agent: unknown migration id → NotFoundError.
  await t.throwsAsync(client.getMigration('never-seen'), { name: 'NotFoundError' });
  // Cancelling the caller's signal ends the call with CancelledError.
  const ac = new AbortController();
  const p = client.listServers([], { signal: ac.signal, timeoutMs: 5000 });
  ac.abort();
  await t.throwsAsync(p, { name: 'CancelledError' });
});

test('snapshot() gives the planner zones, hosts with liveness, and servers', async (t) => {
  const snap = await t.context.coord.inventory.snapshot();
  t.is(snap.hosts.length, HOSTS);
  t.true(snap.zones.some((z) => z.id === 'zone-a'));
  t.true(snap.servers.length >= 19);
  const h = snap.hosts.find((x) => x.id === 'kvm-1')!;
  t.true(h.online);
  t.true(h.lastHeartbeatMs > 0 && h.lastHeartbeatMs <= snap.takenAtMs);
  t.false(snap.hosts.find((x) => x.id === 'kvm-47')!.online);
});
