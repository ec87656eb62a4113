// What hosts publish is input: a real coordinator on a real nats-server,
// real sim agents, and a plain NATS client playing a misbehaving or
// compromised host. Facts or heartbeats naming an unacceptable libvirt URI
// or gRPC endpoint neither create nor change a host record; a host speaks
// only for itself: messages on h2's subjects naming h1 change nothing of
// h1's, and h2 reporting a server h1's record holds does not move it while
// h1 still has it.
import anyTest, { type TestFn } from 'ava';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from 'nats';
import type { NatsNode } from '../common/nats-server.ts';
import { subjects } from '../common/subjects.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { startTestNats } from '../harness/test-nats.ts';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
  /** h1: an honest host (its own fabric). */
  a: SimAgents;
  /** h2: the compromised host (another fabric, so it can list h1's servers as its own). */
  b: SimAgents;
  nc: NatsConnection;
}
const test = anyTest.serial as TestFn<Ctx>;
const enc = new TextEncoder();

test.before(async (t) => {
  const dir = tempDir('host-input');
  const ctx: Partial<Ctx> = { dir };
  t.context = ctx as Ctx;
  // ctl-N: control hosts whose registration marks that earlier messages were handled.
  // Admitted too: the bad-* ids, so the URI and endpoint checks (not admission) are what refuses them.
  const ids = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}-${i + 1}`);
  const tn = await startTestNats({ dir, hosts: ['h1', 'h2', ...ids('ctl'), ...ids('bad-uri'), ...ids('bad-ep'), ...ids('hb-bad')] });
  ctx.node = tn.node;
  ctx.coord = await startCoordinator(
    testConfig({ id: 'coord-hi', natsServers: [ctx.node.url], natsAuth: tn.coordinatorAuth, reconcileInterval: '1s', leaderTtl: '3s', leaderRenew: '500ms' }),
  );
  await waitFor('leadership', () => ctx.coord!.leader.isLeader(), 10_000);
  // As the coordinator (may publish anywhere): what reaches the inventory is
  // then decided by the inventory's own checks, not by NATS permissions.
  ctx.nc = await tn.connect();
  ctx.a = await startSimAgents({
    count: 1,
    natsUrl: ctx.node.url,
    natsAuth: tn.hostAuth,
    hostIds: ['h1'],
    heartbeatIntervalMs: 300,
    storageCluster: () => 'sc-1',
  });
  ctx.b = await startSimAgents({
    count: 1,
    natsUrl: ctx.node.url,
    natsAuth: tn.hostAuth,
    hostIds: ['h2'],
    heartbeatIntervalMs: 300,
    storageCluster: () => 'sc-2',
  });
  await waitFor('h1 and h2 registered', async () => (await ctx.coord!.store.hosts.get('h1')) && ctx.coord!.store.hosts.get('h2'), 15_000);
});

test.after.always(async (t) => {
  await t.context.nc?.close();
  await t.context.a?.stop();
  await t.context.b?.stop();
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const publish = (t: { context: Ctx }, subject: string, body: object) => t.context.nc.publish(subject, enc.encode(JSON.stringify(body)));

let ctl = 0;
/**
 * Publishes good facts of a fresh control host after whatever was published
 * before, and waits until it is registered: the coordinator has handled the
 * earlier messages (one publisher, one subscription: in order).
 */
async function barrier(t: { context: Ctx }): Promise<void> {
  const id = `ctl-${++ctl}`;
  publish(t, subjects.hostFacts(id), { host_id: id, grpc_endpoint: '127.0.0.1:1', migration_uri: `qemu+tcp://${id}.example/system`, incarnation: 'i' });
  await t.context.nc.flush();
  await waitFor(`${id} registered`, () => t.context.coord.store.hosts.get(id), 10_000);
  await sleep(300);
}

const BAD_URIS = [
  'qemu+tcp://127.0.0.1/system?command=/tmp/x.sh',
  'qemu+tcp://127.0.0.1/system?netcat=/tmp/nc',
  'qemu+tcp://127.0.0.1/system?socket=/tmp/sock',
  'qemu+tcp://127.0.0.1/system?keyfile=/root/.ssh/id_rsa',
  'qemu+tls://127.0.0.1/system?no_verify=1',
  'qemu+tls://127.0.0.1/system?pkipath=/tmp/pki',
  'qemu+ssh://127.0.0.1/system?command=/tmp/x.sh',
  'qemu+tcp://root@127.0.0.1/system',
  'qemu+tcp://127.0.0.1/system%3Fcommand=/tmp/x.sh',
  `qemu+tcp://127.0.0.1/system?command=${'x'.repeat(50_000)}`,
];
const BAD_ENDPOINTS = [
  '127.0.0.1',
  '127.0.0.1:0',
  '127.0.0.1:99999',
  'unix:/tmp/agent.sock',
  'user@127.0.0.1:7400',
  '127.0.0.1:7400/x',
  '-h:1',
  `${'a'.repeat(50_000)}:1`,
];

test('facts with an unacceptable migration URI or endpoint create no host and change no host record', async (t) => {
  const { coord, a } = t.context;
  const h1 = a.byId('h1');
  const before = (await coord.store.hosts.get('h1'))!;
  const good = {
    host_id: 'h1',
    hostname: 'h1',
    grpc_endpoint: h1.endpoint,
    migration_uri: h1.migrationUri,
    incarnation: h1.incarnation,
    hypervisor_type: 'sim',
  };
  let n = 0;
  for (const uri of BAD_URIS) {
    const id = `bad-uri-${++n}`;
    publish(t, subjects.hostFacts(id), { ...good, host_id: id, hostname: id, migration_uri: uri });
    publish(t, subjects.hostFacts('h1'), { ...good, migration_uri: uri, incarnation: 'forged' });
  }
  for (const ep of BAD_ENDPOINTS) {
    const id = `bad-ep-${++n}`;
    publish(t, subjects.hostFacts(id), { ...good, host_id: id, hostname: id, grpc_endpoint: ep, migration_uri: `qemu+tcp://${id}.example/system` });
    publish(t, subjects.hostFacts('h1'), { ...good, grpc_endpoint: ep, incarnation: 'forged' });
  }
  await barrier(t);
  for (let i = 1; i <= n; i++) {
    for (const id of [`bad-uri-${i}`, `bad-ep-${i}`]) t.is(await coord.store.hosts.get(id), null, `${id} not registered`);
  }
  const after = (await coord.store.hosts.get('h1'))!;
  t.is(after.value.migrationUri, h1.migrationUri);
  t.is(after.value.grpcEndpoint, h1.endpoint);
  t.is(after.value.storageCluster, 'sc-1');
  t.not(after.value.incarnation, 'forged');
  t.is(after.revision, before.revision, 'h1 record not rewritten');
  t.true(coord.inventory.rejections.counts()['bad-facts'] >= 2 * n, 'every refusal counted');
});

test('heartbeats with an unacceptable endpoint are dropped: no liveness, nothing dialled', async (t) => {
  const { coord, a } = t.context;
  const h1 = a.byId('h1');
  const hb = { incarnation: 'i-new', boot_id: 'b', memory_free_bytes: 1, server_count: 0, running_count: 0, sent_at_ms: Date.now() };
  let n = 0;
  for (const ep of BAD_ENDPOINTS) {
    const id = `hb-bad-${++n}`;
    publish(t, subjects.hostHeartbeat(id), { ...hb, host_id: id, grpc_endpoint: ep });
    publish(t, subjects.hostHeartbeat('h1'), { ...hb, host_id: 'h1', grpc_endpoint: ep });
  }
  await barrier(t);
  for (let i = 1; i <= n; i++) t.is(coord.inventory.hostLiveness(`hb-bad-${i}`), null);
  t.is(coord.inventory.hostLiveness('h1')?.grpcEndpoint, h1.endpoint);
  t.is(coord.inventory.hostLiveness('h1')?.incarnation, h1.incarnation);
  t.true(coord.inventory.rejections.counts()['bad-heartbeat'] >= 2 * n);
});

test("messages on h2's subjects naming h1 (facts, heartbeat, event) are dropped: h1's record, liveness and servers stay as they were", async (t) => {
  const { coord, a, b } = t.context;
  const h1 = a.byId('h1');
  const h2 = b.byId('h2');
  const x = h1.sim.addServer({ name: 'spoof-x' });
  await waitFor('x recorded on h1', async () => (await coord.store.servers.get(x.uuid))?.value.hostId === 'h1', 10_000);
  const hostBefore = (await coord.store.hosts.get('h1'))!;
  const serverBefore = (await coord.store.servers.get(x.uuid))!;
  const counted = coord.inventory.rejections.counts()['subject-mismatch'];

  const now = Date.now();
  // All valid on their own: only the subject/body mismatch gives them away.
  publish(t, subjects.hostFacts('h2'), {
    host_id: 'h1',
    hostname: 'evil',
    grpc_endpoint: h2.endpoint,
    migration_uri: 'qemu+tcp://evil.example/system',
    storage_cluster: 'evil',
    incarnation: 'forged',
    hypervisor_type: 'sim',
  });
  publish(t, subjects.hostFacts('h2'), { host_id: 'h3', grpc_endpoint: h2.endpoint, migration_uri: 'qemu+tcp://h3.example/system', storage_cluster: 'evil' });
  for (let i = 0; i < 5; i++) {
    publish(t, subjects.hostHeartbeat('h2'), {
      host_id: 'h1',
      incarnation: 'forged',
      boot_id: 'forged',
      memory_free_bytes: 1,
      server_count: 0,
      running_count: 0,
      sent_at_ms: now,
      grpc_endpoint: h2.endpoint,
    });
  }
  publish(t, subjects.hostEvents('h2'), {
    host_id: 'h1',
    incarnation: 'forged',
    event: 'lifecycle',
    server_uuid: x.uuid,
    server_name: 'spoof-x',
    detail: 'Stopped Shutdown',
    at_ms: now,
  });
  // A body without a host is no better.
  publish(t, subjects.hostFacts('h2'), { grpc_endpoint: h2.endpoint, migration_uri: 'qemu+tcp://h2.example/system' });
  await barrier(t);

  const hostAfter = (await coord.store.hosts.get('h1'))!;
  t.is(hostAfter.value.grpcEndpoint, h1.endpoint);
  t.is(hostAfter.value.migrationUri, h1.migrationUri);
  t.is(hostAfter.value.storageCluster, 'sc-1');
  t.is(hostAfter.value.incarnation, h1.incarnation);
  t.is(hostAfter.value.hostname, hostBefore.value.hostname);
  t.is(hostAfter.revision, hostBefore.revision, 'h1 record not rewritten');
  t.is(await coord.store.hosts.get('h3'), null, "no host created from h2's subject");
  t.is(coord.inventory.hostLiveness('h1')?.grpcEndpoint, h1.endpoint);
  t.is(coord.inventory.hostLiveness('h1')?.incarnation, h1.incarnation);
  const serverAfter = (await coord.store.servers.get(x.uuid))!;
  t.is(serverAfter.value.hostId, 'h1');
  t.is(serverAfter.value.state, serverBefore.value.state);
  t.is((await coord.store.hosts.get('h2'))!.value.grpcEndpoint, h2.endpoint, 'h2 itself unchanged too');
  t.true(coord.inventory.rejections.counts()['subject-mismatch'] >= counted + 9, 'each dropped message counted');
});

test("h2 listing servers h1's records hold (running or shut off) does not move them while h1 still has them; a real move still follows", async (t) => {
  const { coord, a, b } = t.context;
  const h1 = a.byId('h1');
  const h2 = b.byId('h2');
  const running = h1.sim.addServer({ name: 'claim-run' });
  const off = h1.sim.addServer({ name: 'claim-off', running: false });
  const moving = h1.sim.addServer({ name: 'claim-moves' });
  await waitFor(
    'the three on h1',
    async () => {
      for (const s of [running, off, moving]) if ((await coord.store.servers.get(s.uuid))?.value.hostId !== 'h1') return false;
      return true;
    },
    10_000,
  );
  const before = new Map<string, { hostId: string; state: string; revision: number }>();
  for (const s of [running, off]) {
    const r = (await coord.store.servers.get(s.uuid))!;
    before.set(s.uuid, { hostId: r.value.hostId, state: r.value.state, revision: r.revision });
  }
  const counted = coord.inventory.rejections.counts()['unproven-move'];

  // Compromised h2 lists h1's servers as its own: one running, one shut off
  // (as if stopped), and sends events about them on its own subject.
  h2.sim.addServer({ uuid: running.uuid, name: 'claim-run' });
  h2.sim.addServer({ uuid: off.uuid, name: 'claim-off', running: false });
  // A real move: gone from h1, running on h2.
  h1.sim.removeServer(moving.uuid);
  h2.sim.addServer({ uuid: moving.uuid, name: 'claim-moves' });
  const own = h2.sim.addServer({ name: 'h2-own' });
  const now = Date.now();
  for (const [uuid, detail] of [
    [running.uuid, 'Started Booted'],
    [off.uuid, 'Stopped Shutdown'],
    [moving.uuid, 'Started Migrated'],
    [own.uuid, 'Started Booted'],
  ] as const) {
    publish(t, subjects.hostEvents('h2'), {
      host_id: 'h2',
      incarnation: h2.incarnation,
      event: 'lifecycle',
      server_uuid: uuid,
      server_name: '',
      detail,
      at_ms: now,
    });
  }
  await t.context.nc.flush();
  await waitFor(
    "h2's own server and the really moved one recorded on h2",
    async () => (await coord.store.servers.get(own.uuid))?.value.hostId === 'h2' && (await coord.store.servers.get(moving.uuid))?.value.hostId === 'h2',
    10_000,
  );
  await sleep(1500); // event syncs and at least one full reconcile pass (1 s)

  for (const s of [running, off]) {
    const r = (await coord.store.servers.get(s.uuid))!;
    const was = before.get(s.uuid)!;
    t.is(r.value.hostId, 'h1', `${s.name} still on h1`);
    t.is(r.value.state, was.state, `${s.name} state unchanged`);
    t.is(r.revision, was.revision, `${s.name} record not rewritten`);
  }
  t.true(coord.inventory.rejections.counts()['unproven-move'] > counted, 'the refused claims were counted');
});
