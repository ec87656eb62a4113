// Durable state and high availability: a restarted coordinator keeps what the
// operator set (embedded NATS: data in its directory); two coordinator
// processes on one NATS — kill -9 the leader, the other takes the lease
// within seconds and serves reads and writes; a frozen (SIGSTOP) leader loses
// the lease and, thawed, does not take it back; with a 3-node NATS cluster
// (R3 buckets) one node killed, the state is intact and writes continue.
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { stringify as toYaml } from 'yaml';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { openStore, type Store } from '../coordinator/store/store.ts';
import { LEASE_KEY } from '../coordinator/leader.ts';
import type { HostRecord, ServerRecord } from '../coordinator/model.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { spawnCoordinator, type CoordinatorProcess } from '../harness/coordinator-process.ts';

const TOKEN = 'ha-test-token';
const UUID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

interface Ctx {
  dir: string;
  tokenFile: string;
  /** Everything started, for cleanup whatever fails (AVA copies the context per test). */
  started: { coordinators: Coordinator[]; processes: CoordinatorProcess[]; nodes: NatsNode[]; ncs: NatsConnection[]; clients: TestAdminClient[] };
}
const test = anyTest.serial as TestFn<Ctx>;

test.before((t) => {
  const dir = tempDir('ha');
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  t.context = { dir, tokenFile, started: { coordinators: [], processes: [], nodes: [], ncs: [], clients: [] } };
});

test.after.always(async (t) => {
  const s = t.context.started;
  if (!s) return;
  for (const c of s.clients) c.close();
  await Promise.allSettled(s.processes.map((p) => p.stop(3000)));
  await Promise.allSettled(s.coordinators.map((c) => c.stop()));
  await Promise.allSettled(s.ncs.map((nc) => nc.close()));
  await Promise.allSettled(s.nodes.map((n) => n.kill()));
  rmSync(t.context.dir, { recursive: true, force: true });
});

function admin(t: { context: Ctx }, port: number): TestAdminClient {
  const c = new TestAdminClient(port);
  t.context.started.clients.push(c);
  return c;
}
const call = <T = any>(c: TestAdminClient, method: string, req: object) => c.call<T>(method, req, { token: TOKEN });

function hostRecord(id: string, now: number): HostRecord {
  return {
    id,
    hostname: id,
    zoneId: '',
    label: '',
    enabled: true,
    storageCluster: '',
    hypervisorType: 'kvm',
    grpcEndpoint: '127.0.0.1:1',
    migrationUri: `qemu+tcp://${id}/system`,
    incarnation: 'i1',
    bootId: 'b1',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Haswell', features: ['avx2'], disabled_features: [], xml: '' },
    topology: { sockets: 1, cores_per_socket: 4, threads_per_core: 1, logical_cpus: 4 },
    memoryTotalBytes: 2 ** 33,
    memoryFreeBytes: 2 ** 32,
    storagePools: [],
    libvirtVersion: '9.0.0',
    qemuVersion: '7.2.0',
    maintenance: 'none',
    maintenanceOpId: '',
    registeredAtMs: now,
    factsAtMs: now,
  };
}

function serverRecord(uuid: string, hostId: string, now: number): ServerRecord {
  return {
    uuid,
    name: 'vs1',
    hostId,
    state: 'running',
    vcpus: 1,
    memoryBytes: 2 ** 29,
    disks: [],
    cpu: { mode: 'host-model', model: '', features: [], xml: '' },
    domainType: 'kvm',
    hotMigration: true,
    smart: false,
    flagsSetByOperator: false,
    operationId: '',
    updatedAtMs: now,
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a restarted coordinator (embedded NATS) keeps zones, hosts and settings; the embedded nats-server stops with it', async (t) => {
  const dataDir = path.join(t.context.dir, 'embedded');
  const config = () => ({ ...testConfig({ id: 'solo', natsServers: [], tokenFile: t.context.tokenFile, dataDir }) });
  const first = await startCoordinator(config());
  t.context.started.coordinators.push(first);
  t.truthy(first.nats.embedded, 'no NATS configured: embedded server');
  const natsPid = first.nats.embedded!.pid;
  const now = Date.now();
  await first.store.hosts.create('h1', hostRecord('h1', now));
  await first.store.servers.create(UUID, serverRecord(UUID, 'h1', now));
  const c1 = admin(t, first.port);
  await call(c1, 'CreateZone', {
    zone_id: 'zone-a',
    name: 'Zone A',
    cpu_mode: 'CPU_MODE_EXTENDED',
    policy: { max_migrations_per_zone: 4, settle_pause_s: 420 },
  });
  await call(c1, 'UpdateHost', { host_id: 'h1', zone_id: 'zone-a', enabled: false, storage_cluster: 'vstore-1', label: 'rack 7' });
  await call(c1, 'UpdateServer', { uuid: UUID, hot_migration: false, smart: true });
  const before = {
    zone: await call(c1, 'GetZone', { zone_id: 'zone-a' }),
    host: await call(c1, 'GetHost', { host_id: 'h1' }),
    servers: await call(c1, 'ListServers', {}),
  };
  await first.stop();
  t.false(pidAlive(natsPid), 'embedded nats-server stopped with the coordinator');

  const second = await startCoordinator(config());
  t.context.started.coordinators.push(second);
  const c2 = admin(t, second.port);
  const zone = await call(c2, 'GetZone', { zone_id: 'zone-a' });
  t.deepEqual(zone, before.zone);
  t.is(zone.cpu_mode, 'CPU_MODE_EXTENDED');
  t.is(zone.policy.max_migrations_per_zone, 4);
  t.is(zone.policy.settle_pause_s, 420);
  const host = await call(c2, 'GetHost', { host_id: 'h1' });
  t.like(host, { zone_id: 'zone-a', enabled: false, storage_cluster: 'vstore-1', label: 'rack 7' });
  t.deepEqual({ ...host, online: false, last_heartbeat_ms: 0 }, { ...before.host, online: false, last_heartbeat_ms: 0 });
  t.deepEqual(await call(c2, 'ListServers', {}), before.servers);
  t.like((await call(c2, 'ListServers', {})).servers[0], { hot_migration: false, smart: true });
  await second.stop();
});

test('two coordinators on one NATS: kill -9 the leader, the other takes the lease within seconds and serves reads and writes; a frozen leader is deposed', async (t) => {
  const dir = path.join(t.context.dir, 'two');
  const tn = await startTestNats({ dir });
  const node = tn.node;
  t.context.started.nodes.push(node);
  const nc = await tn.connect();
  t.context.started.ncs.push(nc);
  const writeConfig = (id: string) => {
    const file = path.join(t.context.dir, `${id}.yaml`);
    writeFileSync(
      file,
      toYaml({
        coordinatorId: id,
        admin: { listen: '127.0.0.1:0' },
        auth: { tokenFile: t.context.tokenFile },
        nats: { servers: [node.url], ...tn.coordinatorAuth, kvReplicas: 1, requestTimeout: '2s' },
        leader: { ttl: '3s', renewInterval: '500ms' },
        logLevel: 'info',
      }),
    );
    return file;
  };
  const files = { a: writeConfig('coord-a'), b: writeConfig('coord-b') };
  const procs: Record<string, CoordinatorProcess> = {};
  const start = async (name: 'a' | 'b') => {
    const p = await spawnCoordinator(files[name]);
    t.context.started.processes.push(p);
    procs[name] = p;
    return p;
  };
  await Promise.all([start('a'), start('b')]);
  const store: Store = await openStore(nc, { replicas: 1, timeoutMs: 2000 });
  const holder = async () => (await store.leader.get(LEASE_KEY))?.value.holder ?? '';
  const first = await waitFor('a leader', holder, 10_000);
  const leaderName = first === 'coord-a' ? 'a' : 'b';
  const otherName = leaderName === 'a' ? 'b' : 'a';
  const other = `coord-${otherName}`;
  // Both serve reads and writes, whoever leads.
  await call(admin(t, procs[otherName]!.port), 'CreateZone', { zone_id: 'by-follower' });
  t.is((await call(admin(t, procs[leaderName]!.port), 'GetZone', { zone_id: 'by-follower' })).id, 'by-follower');

  const killedAt = Date.now();
  procs[leaderName]!.signal('SIGKILL');
  await waitFor(`${other} holds the lease`, async () => (await holder()) === other, 15_000, 100);
  const takeover = Date.now() - killedAt;
  t.log(`lease taken over ${takeover} ms after kill -9`);
  t.true(takeover < 8000, `takeover within seconds (${takeover} ms)`);
  await procs[otherName]!.waitForLog((l) => l.msg === 'leadership gained' && l.coordinatorId === other);
  const survivor = admin(t, procs[otherName]!.port);
  await call(survivor, 'CreateZone', { zone_id: 'after-failover', name: 'written after the leader died' });
  t.deepEqual((await call<{ zones: { id: string }[] }>(survivor, 'ListZones', {})).zones.map((z) => z.id).sort(), ['after-failover', 'by-follower']);

  // The dead one comes back as a follower; then the leader freezes (SIGSTOP):
  // it cannot renew, so the lease passes; thawed, it steps down and stays down.
  const back = await start(leaderName);
  await waitFor('returned instance serving', () => back.port > 0);
  const frozenAt = Date.now();
  procs[otherName]!.signal('SIGSTOP');
  await waitFor(`coord-${leaderName} takes the lease from the frozen leader`, async () => (await holder()) === `coord-${leaderName}`, 15_000, 100);
  t.log(`lease taken from a frozen leader after ${Date.now() - frozenAt} ms`);
  procs[otherName]!.signal('SIGCONT');
  await procs[otherName]!.waitForLog((l) => l.msg === 'leadership lost' && l.coordinatorId === other, 10_000);
  const lease = (await store.leader.get(LEASE_KEY))!;
  await new Promise((r) => setTimeout(r, 1500));
  const later = (await store.leader.get(LEASE_KEY))!;
  t.is(later.value.holder, `coord-${leaderName}`, 'the thawed leader did not take the lease back');
  t.is(later.value.term, lease.value.term, 'no new term: the lease stayed put');
  t.true(later.revision > lease.revision, 'and the new leader keeps renewing');
  // The thawed instance still serves reads and writes.
  await call(admin(t, procs[otherName]!.port), 'UpdateZone', { zone_id: 'after-failover', description: 'written by the thawed follower' });
  t.is((await call(admin(t, back.port), 'GetZone', { zone_id: 'after-failover' })).description, 'written by the thawed follower');
});

test('3-node NATS cluster, R3 buckets: the node leading the zones stream is killed; state intact, writes continue', async (t) => {
  const dir = path.join(t.context.dir, 'cluster');
  const tn = await startTestNats({ dir, cluster: 3 });
  const nodes = tn.nodes;
  t.context.started.nodes.push(...nodes);
  const coord = await startCoordinator(
    testConfig({ id: 'coord-r3', natsServers: nodes.map((n) => n.url), natsAuth: tn.coordinatorAuth, kvReplicas: 3, tokenFile: t.context.tokenFile }),
  );
  t.context.started.coordinators.push(coord);
  const c = admin(t, coord.port);
  for (const z of ['z1', 'z2', 'z3', 'z4', 'z5']) await call(c, 'CreateZone', { zone_id: z, name: z.toUpperCase() });
  await coord.store.hosts.create('h1', hostRecord('h1', Date.now()));
  await call(c, 'UpdateHost', { host_id: 'h1', zone_id: 'z1' });
  for (const kv of Object.values(coord.store.kvs)) t.is((await kv.status()).replicas, 3);

  const jsm = await coord.nats.nc.jetstreamManager();
  const info = await jsm.streams.info('KV_drydock_zones');
  const leaderName = info.cluster?.leader ?? '';
  const victim = nodes.find((n) => path.basename(n.dataDir) === leaderName) ?? nodes[0]!;
  t.log(`killing ${path.basename(victim.dataDir)} (zones stream leader: ${leaderName})`);
  await victim.kill();

  const t0 = Date.now();
  // The first call rides out the stream leader election (a few seconds of 503s, retried).
  const zones = await c.call<{ zones: { id: string }[] }>('ListZones', {}, { token: TOKEN, timeoutMs: 30_000 });
  t.log(`ListZones after ${Date.now() - t0} ms`);
  t.deepEqual(
    zones.zones.map((z) => z.id),
    ['z1', 'z2', 'z3', 'z4', 'z5'],
    'state intact',
  );
  t.is((await call(c, 'GetHost', { host_id: 'h1' })).zone_id, 'z1');
  t.log(`GetHost after ${Date.now() - t0} ms`);
  await call(c, 'CreateZone', { zone_id: 'z6', name: 'after the node died' });
  t.log(`CreateZone after ${Date.now() - t0} ms`);
  await call(c, 'UpdateHost', { host_id: 'h1', zone_id: 'z6', label: 'moved' });
  await call(c, 'UpdateZone', { zone_id: 'z2', description: 'still writable' });
  t.log(`reads and writes after the kill took ${Date.now() - t0} ms`);
  t.like(await call(c, 'GetHost', { host_id: 'h1' }), { zone_id: 'z6', label: 'moved' });
  t.is((await call(c, 'GetZone', { zone_id: 'z2' })).description, 'still writable');
  // The lease lives on too (R3): the coordinator leads (again) within seconds.
  await waitFor('a leader after the node loss', () => coord.leader.isLeader(), 15_000);
  t.pass();
});

test('SIGHUP (systemctl reload) re-reads the users file: a new token works at once, a broken file is logged and refused, the process keeps serving', async (t) => {
  const dir = path.join(t.context.dir, 'reload');
  const tn = await startTestNats({ dir });
  const node = tn.node;
  t.context.started.nodes.push(node);
  const tokenFile = path.join(dir, 'users.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  const file = path.join(dir, 'coordinator.yaml');
  writeFileSync(
    file,
    toYaml({
      coordinatorId: 'coord-reload',
      admin: { listen: '127.0.0.1:0' },
      auth: { tokenFile },
      nats: { servers: [node.url], ...tn.coordinatorAuth, kvReplicas: 1 },
      logLevel: 'info',
    }),
  );
  const p = await spawnCoordinator(file);
  t.context.started.processes.push(p);
  const c = admin(t, p.port);
  const NEW = 'rotated-ha-token';
  t.is(await c.code('ListZones', {}, { token: NEW }), status.UNAUTHENTICATED);

  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(NEW)}", roles: [admin] }\n`);
  p.signal('SIGHUP');
  const reloaded = await p.waitForLog((l) => l.msg === 'users file reloaded');
  t.is(reloaded.users, 1);
  t.is(await c.code('ListZones', {}, { token: NEW }), status.OK, 'the new token works');
  t.is(await c.code('ListZones', {}, { token: TOKEN }), status.UNAUTHENTICATED, 'the old one is revoked');

  writeFileSync(tokenFile, 'users: [');
  p.signal('SIGHUP');
  const refused = await p.waitForLog((l) => l.msg === 'users file not reloaded: the users in force stay');
  t.regex(String(refused.err), /users\.yaml is not valid YAML/);
  t.false(p.exited, 'a broken file does not stop the process');
  t.is(await c.code('ListZones', {}, { token: NEW }), status.OK, 'the last good users stay');
  await p.stop();
});
