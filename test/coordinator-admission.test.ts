// Host admission and per-host NATS identities, end to end with real
// nats-servers, sim agents and coordinators: a host cannot rewrite another
// host's record, invented host ids cost nothing, a revoked host is dropped,
// the embedded coordinator's credential commands admit and revoke hosts on
// its own authenticated nats-server, and for a production cluster they
// print a users list that a real nats-server enforces (coordinator/admission.ts,
// coordinator/nats-credentials-cli.ts, docs/production.md).
import anyTest, { type TestFn } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { stringify as toYaml } from 'yaml';
import { natsAuthOptions } from '../common/nats-auth.ts';
import { natsServerBinary } from '../common/nats-server.ts';
import { subjects } from '../common/subjects.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { simCpu } from '../harness/sim/cpu.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { admitHost, revokeHost } from '../coordinator/admission.ts';
import { embeddedAuthPaths } from '../coordinator/nats.ts';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { ADMIN_TOKEN, writeTokenFile } from '../harness/maintenance-world.ts';
import { spawnCoordinator } from '../harness/coordinator-process.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Ctx {
  dir: string;
  nats: TestNats;
  sims: SimAgents;
  coord: Coordinator;
  nc: NatsConnection;
}
const test = anyTest.serial as TestFn<Ctx>;
const enc = new TextEncoder();
const json = (x: unknown) => enc.encode(JSON.stringify(x));

test.before(async (t) => {
  const dir = tempDir('admission');
  const ctx = { dir } as Partial<Ctx>;
  t.context = ctx as Ctx;
  ctx.nats = await startTestNats({ dir, hosts: ['h1', 'h2'] });
  ctx.coord = await startCoordinator(
    testConfig({ id: 'coord-adm', natsServers: ctx.nats.urls, natsAuth: ctx.nats.coordinatorAuth, offlineAfter: '3s', reconcileInterval: '1s' }),
  );
  await waitFor('leadership', () => ctx.coord!.leader.isLeader(), 10_000);
  ctx.sims = await startSimAgents({ count: 2, hostIds: ['h1', 'h2'], natsUrl: ctx.nats.urls, natsAuth: ctx.nats.hostAuth, heartbeatIntervalMs: 300 });
  ctx.nc = await ctx.nats.connect();
  await waitFor('h1 and h2 registered and online', async () => {
    const ids = (await ctx.coord!.store.hosts.keys()).sort();
    return ids.join() === 'h1,h2' && ['h1', 'h2'].every((h) => ctx.coord!.inventory.hostLiveness(h)?.online);
  });
});

test.after.always(async (t) => {
  await t.context.nc?.close();
  await t.context.sims?.stop();
  await t.context.coord?.stop();
  await t.context.nats?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test("h2's credentials cannot speak for h1: NATS refuses the publish and h1's record and liveness stay as they were", async (t) => {
  const { coord, sims } = t.context;
  const before = (await coord.store.hosts.get('h1'))!;
  const h2 = await connect({ servers: t.context.nats.urls, reconnect: false, ...natsAuthOptions(t.context.nats.hostAuth('h2')) });
  t.teardown(() => h2.close());
  const violations: string[] = [];
  void (async () => {
    for await (const s of h2.status() as AsyncIterable<{ type: string; permissionContext?: { subject: string } }>)
      if (s.permissionContext) violations.push(s.permissionContext.subject);
  })();
  const forged = {
    ...(await sims.byId('h1').agent.facts.gather(AbortSignal.timeout(5000))),
    host_id: 'h1',
    grpc_endpoint: '127.0.0.1:1',
    incarnation: 'forged',
    hostname: 'pwned',
  };
  for (let i = 0; i < 5; i++) {
    h2.publish(subjects.hostFacts('h1'), json(forged));
    h2.publish(
      subjects.hostHeartbeat('h1'),
      json({
        host_id: 'h1',
        incarnation: 'forged',
        boot_id: 'x',
        memory_free_bytes: 1,
        server_count: 0,
        running_count: 0,
        sent_at_ms: Date.now(),
        grpc_endpoint: '127.0.0.1:1',
      }),
    );
  }
  await h2.flush();
  await waitFor('the violations reported to h2', () => violations.length >= 10, 5000);
  // Several heartbeat intervals: a forged message that got through would have landed by now.
  await sleep(1500);
  const after = (await coord.store.hosts.get('h1'))!;
  t.is(after.revision, before.revision, 'no write to h1');
  t.is(after.value.hostname, 'h1');
  t.is(after.value.grpcEndpoint, sims.byId('h1').endpoint);
  t.is(coord.inventory.hostLiveness('h1')?.grpcEndpoint, sims.byId('h1').endpoint);
  t.is(coord.inventory.hostLiveness('h1')?.incarnation, sims.byId('h1').incarnation);
  t.deepEqual([...new Set(violations)].sort(), [subjects.hostFacts('h1'), subjects.hostHeartbeat('h1')]);
});

test('500 invented host ids (from an identity that may publish anywhere) grow neither the hosts bucket nor the liveness table', async (t) => {
  const { coord, nc } = t.context;
  // The control: a host admitted now, whose messages come after the invented ones.
  await admitHost(coord.store.admittedHosts, 'late-1', '', 'test');
  t.teardown(async () => {
    await revokeHost(coord.store.admittedHosts, 'late-1');
    await coord.store.hosts.deleteIf('late-1', () => true);
  });
  await waitFor('late-1 admitted on the coordinator', () => coord.admission.isAdmitted('late-1'), 5000, 20);
  const real = await t.context.sims.byId('h1').agent.facts.gather(AbortSignal.timeout(5000));
  const facts = (id: string) => ({ ...real, host_id: id, hostname: id, grpc_endpoint: '127.0.0.1:9' });
  const beat = (id: string) => ({
    host_id: id,
    incarnation: `inc-${id}`,
    boot_id: 'b',
    memory_free_bytes: 1,
    server_count: 0,
    running_count: 0,
    sent_at_ms: Date.now(),
    grpc_endpoint: '127.0.0.1:9',
  });
  for (let i = 1; i <= 500; i++) {
    const id = `ghost-${i}`;
    nc.publish(subjects.hostFacts(id), json(facts(id)));
    nc.publish(subjects.hostHeartbeat(id), json(beat(id)));
    nc.publish(
      subjects.hostEvents(id),
      json({ host_id: id, incarnation: 'x', event: 'lifecycle', server_uuid: '', server_name: 'vm', detail: 'Started', at_ms: Date.now() }),
    );
  }
  nc.publish(subjects.hostFacts('late-1'), json(facts('late-1')));
  nc.publish(subjects.hostHeartbeat('late-1'), json(beat('late-1')));
  await nc.flush();
  // Each subscription is handled in order: once late-1's heartbeat and facts are in, every ghost's was seen.
  await waitFor(
    'late-1 in the liveness table and registered',
    async () => coord.inventory.hostLiveness('late-1') && (await coord.store.hosts.get('late-1')),
    15_000,
  );
  await sleep(500);
  t.deepEqual(coord.inventory.liveness.known().sort(), ['h1', 'h2', 'late-1']);
  t.deepEqual(
    (await coord.store.hosts.keys()).filter((k) => k.startsWith('ghost-')),
    [],
  );
  t.is((await coord.store.hosts.list()).length, 3);
});

test('a revoked host is forgotten at once (offline, out of reconcile) and its messages are dropped from then on', async (t) => {
  const { coord, sims } = t.context;
  t.true(coord.inventory.hostLiveness('h2')?.online);
  await revokeHost(coord.store.admittedHosts, 'h2');
  t.teardown(async () => {
    await admitHost(coord.store.admittedHosts, 'h2', t.context.nats.creds.hosts.get('h2')!.publicKey, 'test');
    await waitFor('h2 back online', () => coord.inventory.hostLiveness('h2')?.online, 10_000);
  });
  await waitFor('h2 no longer admitted', () => !coord.admission.isAdmitted('h2'), 5000, 20);
  t.is(coord.inventory.hostLiveness('h2'), null);
  // The test server still lets h2's agent publish (its NATS users were not reloaded): the coordinator drops it.
  const sent = sims.byId('h2').agent.publisher!.stats.heartbeatsPublished;
  await waitFor('h2 keeps publishing', () => sims.byId('h2').agent.publisher!.stats.heartbeatsPublished >= sent + 3, 5000);
  t.is(coord.inventory.hostLiveness('h2'), null);
  // The record stays (an operator's zone and settings are not lost), offline,
  // and is not refreshed from the agent any more (zone CPU asks for refreshes).
  t.false((await coord.inventory.snapshot()).hosts.find((h) => h.id === 'h2')!.online);
  const record = (await coord.store.hosts.get('h2'))!;
  sims.byId('h2').sim.cpu = simCpu('Westmere');
  t.teardown(() => {
    sims.byId('h2').sim.cpu = simCpu(record.value.cpu.model);
  });
  await coord.inventory.refreshHost('h2', sims.byId('h2').endpoint);
  t.is((await coord.store.hosts.get('h2'))!.revision, record.revision);
});

test('embedded coordinator: issue-host-credentials admits a host that then registers with its own key; anonymous and impersonating clients are refused; revoke cuts it off', async (t) => {
  const dir = path.join(t.context.dir, 'embedded');
  const dataDir = path.join(dir, 'nats');
  const configFile = path.join(dir, 'coordinator.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    configFile,
    toYaml({
      coordinatorId: 'emb',
      admin: { listen: '127.0.0.1:0' },
      auth: { tokenFile: writeTokenFile(dir) },
      nats: { dataDir },
      inventory: { offlineAfter: '3s' },
      logLevel: 'info',
    }),
  );
  const proc = await spawnCoordinator(configFile);
  t.teardown(() => proc.stop());
  const started = await proc.waitForLog((l) => l.msg === 'embedded nats-server started');
  const url = String(started.url);
  t.is(started.auth, 'nkeys');
  const paths = embeddedAuthPaths(dataDir);
  t.is(statSync(paths.dir).mode & 0o777, 0o700);
  t.is(statSync(paths.coordinatorSeedFile).mode & 0o777, 0o600);

  const anon = await t.throwsAsync(connect({ servers: url, reconnect: false }));
  t.is((anon as NatsError).code, 'AUTHORIZATION_VIOLATION', 'no anonymous client on the embedded server');

  const cmd = (...args: string[]) => exec(process.execPath, ['--import', 'tsx', 'coordinator/main.ts', ...args, '--config', configFile], { cwd: ROOT });
  const seed = path.join(dir, 'e1.nk');
  const issued = await cmd('issue-host-credentials', 'e1', '--out', seed);
  t.regex(issued.stdout, /host e1 admitted/);
  t.is(statSync(seed).mode & 0o777, 0o600);
  t.regex(readFileSync(seed, 'utf8'), /^SU[A-Z2-7]{56}\n$/);
  await t.throwsAsync(cmd('issue-host-credentials', 'e1', '--out', seed), undefined, 'an existing seed file is never overwritten');
  t.regex((await cmd('admitted-hosts')).stdout, /^e1\tU[A-Z2-7]{55}\t/m);

  const sims = await startSimAgents({
    count: 2,
    hostIds: ['e1', 'e2'],
    natsUrl: url,
    natsAuth: (id) => ({ nkeySeedFile: id === 'e1' ? seed : paths.coordinatorSeedFile }),
    heartbeatIntervalMs: 300,
    natsMaxBackoffMs: 300,
  });
  t.teardown(() => sims.stop());
  // e2 publishes with the coordinator's own key (it may publish anywhere) but was never admitted: dropped.
  const admin = new TestAdminClient(proc.port);
  t.teardown(() => admin.close());
  const list = () => admin.call('ListHosts', {}, { token: ADMIN_TOKEN }).then((r) => r.hosts as { id: string; online: boolean }[]);
  await waitFor('e1 registered and online', async () => (await list()).find((h) => h.id === 'e1')?.online, 20_000);
  t.deepEqual(
    (await list()).map((h) => h.id),
    ['e1'],
    'e2 is not admitted',
  );

  // e1's key on another host's subject: refused by the server.
  const e1 = await connect({ servers: url, reconnect: false, ...natsAuthOptions({ nkeySeedFile: seed }) });
  t.teardown(() => e1.close());
  const violations: string[] = [];
  void (async () => {
    for await (const s of e1.status() as AsyncIterable<{ type: string; permissionContext?: { subject: string } }>)
      if (s.permissionContext) violations.push(s.permissionContext.subject);
  })();
  e1.publish(subjects.hostFacts('e2'), json({ host_id: 'e2' }));
  await e1.flush();
  await waitFor('violation reported', () => violations.includes(subjects.hostFacts('e2')), 5000);
  await e1.close();

  const revoked = await cmd('revoke-host-credentials', 'e1');
  t.regex(revoked.stdout, /host e1 revoked/);
  // The embedded server reloads without e1: its key no longer gets in, and the coordinator forgets it.
  await waitFor(
    "e1's key refused",
    () =>
      connect({ servers: url, reconnect: false, ...natsAuthOptions({ nkeySeedFile: seed }) }).then(
        async (nc) => void (await nc.close()),
        (err: NatsError) => err.code === 'AUTHORIZATION_VIOLATION',
      ),
    10_000,
  );
  await waitFor('e1 offline', async () => (await list()).find((h) => h.id === 'e1')?.online === false, 10_000);
  // The server closed e1's connection; nats.js gives up after the refused reconnects.
  await waitFor("e1's agent disconnected", () => !sims.byId('e1').agent.publisher!.connected, 15_000);
  t.true(sims.byId('e2').agent.publisher!.connected, 'the other client stays');
});

test("production NATS: the commands' users list, included in a real nats-server's config, lets the coordinator in and each host publish on its own subjects only", async (t) => {
  const dir = path.join(t.context.dir, 'prod');
  mkdirSync(dir, { recursive: true });
  // The coordinator's config against configured servers (the test NATS, as a cluster would be).
  const configFile = path.join(dir, 'coordinator.yaml');
  writeFileSync(configFile, toYaml({ nats: { servers: t.context.nats.urls, nkeySeedFile: t.context.nats.creds.coordinator.seedFile, kvReplicas: 1 } }));
  const cmd = (...args: string[]) => exec(process.execPath, ['--import', 'tsx', 'coordinator/main.ts', '--config', configFile, ...args], { cwd: ROOT });

  const coordSeed = path.join(dir, 'coordinator.nk');
  const coordOut = await cmd('issue-coordinator-credentials', '--out', coordSeed);
  t.is(statSync(coordSeed).mode & 0o777, 0o600);
  t.regex(coordOut.stdout, /\{"nkey":"U[A-Z2-7]{55}","permissions":\{"publish":\{"allow":\[">"\]\},"subscribe":\{"allow":\[">"\]\}\}\}/);

  const seed = path.join(dir, 'p1.nk');
  const issued = await cmd('issue-host-credentials', 'p1', '--out', seed);
  t.teardown(() => revokeHost(t.context.coord.store.admittedHosts, 'p1'));
  t.regex(issued.stdout, /"allow":\["drydock\.v1\.hosts\.p1\.>"\]/, 'prints the users entry for the cluster');
  t.truthy(await t.context.coord.store.admittedHosts.get('p1'), 'admitted in the shared bucket');

  // A nats-server configured as docs/production.md says: authorization { include "drydock-users.conf" }.
  writeFileSync(path.join(dir, 'drydock-users.conf'), (await cmd('nats-authorization')).stdout);
  const log = path.join(dir, 'nats.log');
  writeFileSync(
    path.join(dir, 'nats.conf'),
    `host: 127.0.0.1\nport: -1\nlog_file: "${log}"\njetstream { store_dir: "${path.join(dir, 'js')}" }\nauthorization {\n  include "drydock-users.conf"\n}\n`,
  );
  await exec(natsServerBinary(), ['-t', '-c', path.join(dir, 'nats.conf')]);
  const server = spawn(natsServerBinary(), ['-c', path.join(dir, 'nats.conf')], { stdio: 'ignore' });
  t.teardown(async () => {
    if (server.exitCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
  });
  const port = await waitFor(
    'the server listening',
    () => /Listening for client connections on [^\s]+:(\d+)/.exec(existsSync(log) ? readFileSync(log, 'utf8') : '')?.[1],
    10_000,
    50,
  );
  const url = `nats://127.0.0.1:${port}`;

  const anon = await t.throwsAsync(connect({ servers: url, reconnect: false }));
  t.is((anon as NatsError).code, 'AUTHORIZATION_VIOLATION');
  const coord = await connect({ servers: url, ...natsAuthOptions({ nkeySeedFile: t.context.nats.creds.coordinator.seedFile }) });
  t.teardown(() => coord.close());
  await (await coord.jetstream().views.kv('probe')).put('k', 'v');
  const got: string[] = [];
  coord.subscribe('drydock.v1.hosts.>', { callback: (_e, m) => got.push(m.subject) });
  await coord.flush();
  const p1 = await connect({ servers: url, reconnect: false, ...natsAuthOptions({ nkeySeedFile: seed }) });
  t.teardown(() => p1.close());
  const violations: string[] = [];
  void (async () => {
    for await (const s of p1.status() as AsyncIterable<{ type: string; permissionContext?: { subject: string } }>)
      if (s.permissionContext) violations.push(s.permissionContext.subject);
  })();
  p1.publish(subjects.hostFacts('p1'), json({ host_id: 'p1' }));
  p1.publish(subjects.hostFacts('h1'), json({ host_id: 'h1' }));
  await p1.flush();
  await waitFor('delivery and violation', () => got.length >= 1 && violations.length >= 1, 5000);
  await sleep(200);
  t.deepEqual(got, [subjects.hostFacts('p1')]);
  t.deepEqual(violations, [subjects.hostFacts('h1')]);
});
