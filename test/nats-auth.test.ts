// NATS itself refuses what a compromised host or a local user must not do
// (common/nats-permissions.ts, common/nats-server.ts), on a real
// nats-server: no anonymous client, a host's identity publishes on its own
// subjects only, never touches JetStream/KV and subscribes to nothing; a
// revoked identity is cut off; in a cluster, a process that reaches a route
// port cannot join as a route.
import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { freePort, natsServerBinary } from '../common/nats-server.ts';
import { natsAuthOptions } from '../common/nats-auth.ts';
import { subjects } from '../common/subjects.ts';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';

interface Ctx {
  dir: string;
  nats: TestNats;
}
const test = anyTest.serial as TestFn<Ctx>;
const enc = new TextEncoder();

test.before(async (t) => {
  const dir = tempDir('nats-auth');
  t.context = { dir, nats: await startTestNats({ dir, hosts: ['h1', 'h2'] }) };
});

test.after.always(async (t) => {
  await t.context.nats?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** Connects as `auth` and collects the connection's async errors (permission violations). */
async function as(t: { context: Ctx; teardown(fn: () => unknown): void }, auth: Parameters<typeof natsAuthOptions>[0]) {
  const nc = await connect({ servers: t.context.nats.urls, reconnect: false, ...natsAuthOptions(auth) });
  t.teardown(() => nc.close());
  const errors: string[] = [];
  void (async () => {
    // nats.js reports a violation as { data: code, permissionContext: { operation, subject } }.
    for await (const s of nc.status() as AsyncIterable<{ type: string; data: unknown; permissionContext?: { operation: string; subject: string } }>) {
      if (s.type === 'error' && s.permissionContext) errors.push(`${s.permissionContext.operation} ${s.permissionContext.subject}`);
    }
  })();
  return { nc, errors };
}

/** Everything delivered on `subject` to a coordinator-identity subscriber. */
async function listen(t: { context: Ctx; teardown(fn: () => unknown): void }, subject: string): Promise<{ got: string[]; nc: NatsConnection }> {
  const nc = await t.context.nats.connect();
  t.teardown(() => nc.close());
  const got: string[] = [];
  nc.subscribe(subject, { callback: (_e, m) => got.push(`${m.subject} ${new TextDecoder().decode(m.data)}`) });
  await nc.flush();
  return { got, nc };
}

test('no anonymous client: a connect without credentials, or with a key the server does not know, is refused', async (t) => {
  const anon = await t.throwsAsync(connect({ servers: t.context.nats.urls, reconnect: false }));
  t.is((anon as NatsError).code, 'AUTHORIZATION_VIOLATION');
  // A well-formed identity that was never issued (its public key is in no config).
  const stranger = t.context.nats.creds.addHost('stranger');
  const unknown = await t.throwsAsync(connect({ servers: t.context.nats.urls, reconnect: false, ...natsAuthOptions({ nkeySeedFile: stranger.seedFile }) }));
  t.is((unknown as NatsError).code, 'AUTHORIZATION_VIOLATION');
});

test("a host's identity cannot publish on another host's subjects: permissions violation, nothing delivered", async (t) => {
  const { got } = await listen(t, 'drydock.v1.hosts.>');
  const h2 = await as(t, t.context.nats.hostAuth('h2'));
  h2.nc.publish(subjects.hostFacts('h1'), enc.encode('{"host_id":"h1","grpc_endpoint":"evil:1"}'));
  h2.nc.publish(subjects.hostHeartbeat('h1'), enc.encode('{"host_id":"h1"}'));
  h2.nc.publish(subjects.hostFacts('h2'), enc.encode('{"host_id":"h2"}'));
  await h2.nc.flush();
  const deadline = Date.now() + 5000;
  while ((got.length < 1 || h2.errors.length < 2) && Date.now() < deadline) await sleep(20);
  await sleep(200);
  t.deepEqual(got, ['drydock.v1.hosts.h2.facts {"host_id":"h2"}'], "only h2's own subject is delivered");
  t.true(h2.errors.length >= 2, `violations reported: ${h2.errors.join('; ')}`);
  t.deepEqual(h2.errors.sort(), ['publish drydock.v1.hosts.h1.facts', 'publish drydock.v1.hosts.h1.heartbeat']);
});

test("a host's identity reaches neither JetStream nor KV, and cannot subscribe to anything", async (t) => {
  // The coordinator's bucket exists (startTestNats admitted h1 and h2 in it).
  const coord = await t.context.nats.connect();
  t.teardown(() => coord.close());
  const kv = await coord.jetstream().views.kv('drydock_admitted_hosts');
  const before = await kv.get('h2');
  t.truthy(before, 'h2 is admitted');

  const h2 = await as(t, t.context.nats.hostAuth('h2'));
  // A KV write is a publish on $KV.<bucket>.<key> (JetStream acks it): refused at the publish.
  h2.nc.publish('$KV.drydock_admitted_hosts.evil', enc.encode('{"hostId":"evil","nkey":""}'));
  h2.nc.publish('$KV.drydock_hosts.h1', enc.encode('{}'));
  // The JetStream API: refused (the request's inbox subscription already is).
  await t.throwsAsync(h2.nc.request('$JS.API.INFO', enc.encode(''), { timeout: 1000 }));
  // Subscriptions: none allowed, not even its own subjects.
  const sub = h2.nc.subscribe('drydock.v1.>');
  await h2.nc.flush();
  await sleep(300);
  t.log(h2.errors.join('; '));
  for (const e of ['publish $KV.drydock_admitted_hosts.evil', 'publish $KV.drydock_hosts.h1', 'subscription drydock.v1.>']) t.true(h2.errors.includes(e), e);
  sub.unsubscribe();
  t.is(await kv.get('evil'), null, 'no key written');
  t.is((await kv.get('h2'))!.revision, before!.revision);
  t.is(await (await coord.jetstream().views.kv('drydock_hosts')).get('h1'), null);
});

test('keys on disk: seed files 0600 in 0700 directories; the server config holds public keys only', async (t) => {
  const { creds, node } = t.context.nats;
  for (const id of [creds.coordinator, ...creds.hosts.values()]) {
    t.is(statSync(id.seedFile).mode & 0o777, 0o600, id.seedFile);
    t.regex(readFileSync(id.seedFile, 'utf8'), /^SU[A-Z2-7]{56}\n$/);
  }
  t.is(statSync(creds.dir).mode & 0o777, 0o700);
  t.is(statSync(path.join(creds.dir, 'hosts')).mode & 0o777, 0o700);
  const conf = readFileSync(node.configFile, 'utf8');
  t.is(statSync(node.configFile).mode & 0o777, 0o600);
  t.notRegex(conf, /SU[A-Z2-7]{56}/, 'no seed in the server config');
  t.true(conf.includes(creds.hosts.get('h1')!.publicKey));
});

test("revocation: the users rewritten without h2 and reloaded, h2's connection is closed and it cannot connect again", async (t) => {
  const h2 = await connect({ servers: t.context.nats.urls, reconnect: false, ...natsAuthOptions(t.context.nats.hostAuth('h2')) });
  t.teardown(() => h2.close());
  const closed = h2.closed();
  const { creds, nodes } = t.context.nats;
  const h2Id = creds.hosts.get('h2')!;
  creds.hosts.delete('h2');
  t.teardown(async () => {
    creds.hosts.set('h2', h2Id);
    await Promise.all(nodes.map((n) => n.setUsers(creds.users())));
  });
  await Promise.all(nodes.map((n) => n.setUsers(creds.users())));
  const res = await Promise.race([closed.then(() => 'closed'), sleep(5000).then(() => 'still open')]);
  t.is(res, 'closed');
  const again = await t.throwsAsync(connect({ servers: t.context.nats.urls, reconnect: false, ...natsAuthOptions({ nkeySeedFile: h2Id.seedFile }) }));
  t.is((again as NatsError).code, 'AUTHORIZATION_VIOLATION');
  // h1 is untouched.
  const h1 = await as(t, t.context.nats.hostAuth('h1'));
  await t.notThrowsAsync(h1.nc.flush());
});

test('a 3-node cluster with auth: R3 KV for the coordinator, anonymous refused on every node, and a rogue server cannot join through a route port', async (t) => {
  const dir = path.join(t.context.dir, 'cluster');
  const cl = await startTestNats({ dir, cluster: 3, hosts: ['h1'] });
  t.teardown(() => cl.stop());
  const nc = await cl.connect();
  t.teardown(() => nc.close());
  const kv = await nc.jetstream().views.kv('drydock_admitted_hosts');
  t.is((await kv.status()).replicas, 3);
  t.truthy(await kv.get('h1'));
  for (const n of cl.nodes) {
    const err = await t.throwsAsync(connect({ servers: n.url, reconnect: false }));
    t.is((err as NatsError).code, 'AUTHORIZATION_VIOLATION', n.url);
  }

  // A nats-server without credentials pointing its routes at the cluster: were it let in,
  // its anonymous clients would publish into the cluster as if they were a route.
  const got: string[] = [];
  nc.subscribe('drydock.v1.hosts.>', { callback: (_e, m) => got.push(m.subject) });
  await nc.flush();
  const rogueDir = path.join(dir, 'rogue');
  const port = await freePort();
  const log = path.join(t.context.dir, 'rogue.log');
  const rogue = spawn(
    natsServerBinary(),
    [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--cluster_name',
      'drydock',
      '--cluster',
      `nats://127.0.0.1:${await freePort()}`,
      '--routes',
      cl.nodes.map((n) => `nats://127.0.0.1:${n.clusterPort}`).join(','),
      '-l',
      log,
    ],
    { stdio: 'ignore', cwd: t.context.dir },
  );
  t.teardown(async () => {
    if (rogue.exitCode === null) {
      rogue.kill('SIGKILL');
      await once(rogue, 'exit');
    }
    rmSync(rogueDir, { recursive: true, force: true });
  });
  let anon: NatsConnection | null = null;
  for (let i = 0; i < 100 && !anon; i++)
    anon = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false }).catch(() => sleep(50).then(() => null));
  t.truthy(anon, 'the rogue server runs');
  t.teardown(() => anon?.close());
  // Give its routes time to try, then publish through it for a while.
  for (let i = 0; i < 20; i++) {
    anon!.publish(subjects.hostFacts('h1'), enc.encode('{"host_id":"h1"}'));
    await anon!.flush();
    await sleep(100);
  }
  t.deepEqual(got, [], 'nothing crossed from the rogue server into the cluster');
});
