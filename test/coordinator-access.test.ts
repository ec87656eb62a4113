// Access control of the admin API against a real coordinator (real NATS,
// real gRPC over TLS): every method refused without credentials, with a
// wrong token and without the permission — with the right code, nothing
// changed, and an audit line each. mTLS client certificates map to users.
// And the agent side: an agent refuses a client without the coordinator's
// certificate.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenScrypt, hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { ConfigError } from '../common/config.ts';
import { MAINTENANCE_PERMISSION_TITLE, METHOD_PERMISSIONS } from '../coordinator/auth/permissions.ts';
import { AgentClient } from '../coordinator/agent-client.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { makePki, type CertFiles, type TestPki } from './helpers/tls.ts';
import { hostIdentity } from '../common/identity.mjs';
import { TestAdminClient, tempDir, testConfig } from '../harness/coordinator-helpers.ts';
import type { HostRecord, ServerRecord } from '../coordinator/model.ts';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
  pki: TestPki;
  otherPki: TestPki;
  certs: Record<string, CertFiles>;
  tokens: { admin: string; viewer: string; nobody: string; maint: string; scrypt: string };
  clients: TestAdminClient[];
  /** Started by a test; a holder because AVA gives each test a shallow copy of the context. */
  started: { agents?: SimAgents; more: { stop(): Promise<void> }[] };
}
const test = anyTest.serial as TestFn<Ctx>;

/** One plausible request per admin method (refused before it is looked at). */
const REQUESTS: Record<string, object> = {
  ListZones: {},
  GetZone: { zone_id: 'z1' },
  CreateZone: { zone_id: 'z-new', name: 'New' },
  UpdateZone: { zone_id: 'z1', name: 'Renamed' },
  ListHosts: {},
  GetHost: { host_id: 'h1' },
  UpdateHost: { host_id: 'h1', enabled: false, zone_id: '' },
  ListServers: {},
  UpdateServer: { uuid: '11111111-2222-3333-4444-555555555555', hot_migration: false },
  PlanMaintenance: { host_id: 'h1' },
  EnableMaintenance: { host_id: 'h1', confirm: true, stop_unmigratable: true },
  DisableMaintenance: { host_id: 'h1' },
  ReturnServers: { host_id: 'h1' },
  GetOperation: { operation_id: 'op1' },
  ListOperations: {},
  WatchOperation: { operation_id: 'op1' },
  CancelOperation: { operation_id: 'op1' },
  GetZoneCpu: { zone_id: 'z1' },
  RecomputeZoneCpu: { zone_id: 'z1' },
};
const STREAMING = new Set(['WatchOperation']);

test.before(async (t) => {
  const dir = tempDir('access');
  const pki = await makePki(dir, 'drydock-ca');
  const otherPki = await makePki(path.join(dir), 'other-ca');
  const certs: Record<string, CertFiles> = {
    server: await pki.issue('coordinator-server', { cn: 'drydock-coordinator-admin', dns: ['localhost'], ip: ['127.0.0.1'], server: true }),
    alice: await pki.issue('alice', { cn: 'alice.ops.example' }),
    stranger: await pki.issue('stranger', { cn: 'stranger.example' }),
    forged: await otherPki.issue('forged', { cn: 'alice.ops.example' }),
    coordinatorClient: await pki.issue('coordinator-client', { cn: 'drydock-coordinator' }),
    intruder: await pki.issue('intruder', { cn: 'intruder' }),
    // Agents' certificates name their host id (common/identity.mjs): one each.
    ...Object.fromEntries(
      await Promise.all(
        ['mtls-1', 'secure-1', 'secure-2'].map(
          async (id) => [`agent-${id}`, await pki.issue(`agent-${id}`, { cn: id, uri: [hostIdentity(id)], server: true })] as const,
        ),
      ),
    ),
  };
  const tokens = {
    admin: randomBytes(24).toString('hex'),
    viewer: randomBytes(24).toString('hex'),
    nobody: randomBytes(24).toString('hex'),
    maint: randomBytes(24).toString('hex'),
    scrypt: randomBytes(24).toString('hex'),
  };
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(
    tokenFile,
    [
      'users:',
      `  admin: { tokenSha256: "${hashTokenSha256(tokens.admin)}", roles: [admin] }`,
      `  viewer: { tokenSha256: "${hashTokenSha256(tokens.viewer)}", roles: [viewer] }`,
      `  nobody: { tokenSha256: "${hashTokenSha256(tokens.nobody)}" }`,
      `  maint: { tokenSha256: "${hashTokenSha256(tokens.maint)}", permissions: ["${MAINTENANCE_PERMISSION_TITLE}"] }`,
      // Low scrypt cost: the test checks the format, not the hardness.
      `  scrypted: { tokenScrypt: "${hashTokenScrypt(tokens.scrypt, randomBytes(16), 1024, 8, 1)}", roles: [operator] }`,
      `  alice: { roles: [viewer], certificateNames: [alice.ops.example] }`,
      '',
    ].join('\n'),
  );
  const tn = await startTestNats({ dir });
  const node = tn.node;
  const coord = await startCoordinator(
    testConfig({
      id: 'coord-access',
      natsServers: [node.url],
      natsAuth: tn.coordinatorAuth,
      tokenFile,
      adminTls: { certFile: certs.server!.certFile, keyFile: certs.server!.keyFile, clientCaFile: pki.caFile },
    }),
  );
  const now = Date.now();
  // Seed state straight into the store: what the refusals must leave untouched.
  await coord.store.zones.create('z1', {
    id: 'z1',
    name: 'Zone 1',
    description: '',
    cpuMode: 'DEFAULT',
    policy: {},
    cpu: { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [], updatedAtMs: 0 },
    createdAtMs: now,
    updatedAtMs: now,
  });
  await coord.store.hosts.create('h1', hostRecord('h1', 'z1', now));
  await coord.store.servers.create('11111111-2222-3333-4444-555555555555', serverRecord('11111111-2222-3333-4444-555555555555', 'h1', now));
  t.context = { dir, node, coord, pki, otherPki, certs, tokens, clients: [], started: { more: [] } };
});

test.after.always(async (t) => {
  for (const c of t.context.clients ?? []) c.close();
  await t.context.started?.agents?.stop();
  for (const m of [...(t.context.started?.more ?? [])].reverse()) await m.stop().catch(() => undefined);
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

function hostRecord(id: string, zoneId: string, now: number): HostRecord {
  return {
    id,
    hostname: id,
    zoneId,
    label: '',
    enabled: true,
    storageCluster: '',
    hypervisorType: 'kvm',
    grpcEndpoint: '127.0.0.1:1',
    migrationUri: 'qemu+tcp://h/system',
    incarnation: 'i1',
    bootId: 'b1',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Haswell', features: [], disabled_features: [], xml: '' },
    topology: { sockets: 1, cores_per_socket: 4, threads_per_core: 1, logical_cpus: 4 },
    memoryTotalBytes: 8 * 2 ** 30,
    memoryFreeBytes: 4 * 2 ** 30,
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

function client(t: { context: Ctx }, cert?: CertFiles): TestAdminClient {
  const c = new TestAdminClient(t.context.coord.port, { caFile: t.context.pki.caFile, ...(cert ?? {}) });
  t.context.clients.push(c);
  return c;
}

/** Every record of every bucket, with revisions: "nothing changed" means this is equal. */
async function stateOf(coord: Coordinator): Promise<string> {
  const s = coord.store;
  const dump = await Promise.all([s.zones.list(), s.hosts.list(), s.servers.list(), s.operations.list()]);
  return JSON.stringify(dump);
}

test('every admin method is declared with a permission; maintenance methods need the OnApp permission', (t) => {
  t.deepEqual(Object.keys(REQUESTS).sort(), Object.keys(METHOD_PERMISSIONS).sort());
  for (const m of ['PlanMaintenance', 'EnableMaintenance', 'DisableMaintenance', 'ReturnServers', 'CancelOperation'])
    t.is(METHOD_PERMISSIONS[m], 'maintenance.manage');
});

test('every method: no credentials, a wrong token, a malformed header → UNAUTHENTICATED; no permission → PERMISSION_DENIED; nothing changed; all audited', async (t) => {
  const { coord, tokens } = t.context;
  const c = client(t);
  const before = await stateOf(coord);
  const auditFrom = await coord.store.audit.lastSeq();
  const expected: { method: string; result: string }[] = [];
  for (const [method, req] of Object.entries(REQUESTS)) {
    const s = STREAMING.has(method);
    t.is(await c.code(method, req, {}, s), grpc.status.UNAUTHENTICATED, `${method} without credentials`);
    t.is(await c.code(method, req, { token: 'not-a-valid-token' }, s), grpc.status.UNAUTHENTICATED, `${method} with a wrong token`);
    t.is(await c.code(method, req, { authorization: `Basic ${tokens.admin}` }, s), grpc.status.UNAUTHENTICATED, `${method} with a malformed header`);
    t.is(await c.code(method, req, { token: tokens.nobody }, s), grpc.status.PERMISSION_DENIED, `${method} without the permission`);
    expected.push(
      { method, result: 'UNAUTHENTICATED' },
      { method, result: 'UNAUTHENTICATED' },
      { method, result: 'UNAUTHENTICATED' },
      { method, result: 'PERMISSION_DENIED' },
    );
  }
  t.is(await stateOf(coord), before, 'refused calls changed nothing');
  const audit = (await coord.store.audit.list(auditFrom)).map((e) => e.entry);
  t.deepEqual(
    audit.map((e) => ({ method: e.method, result: e.result })),
    expected,
  );
  t.true(audit.filter((e) => e.result === 'PERMISSION_DENIED').every((e) => e.principal === 'nobody' && e.via === 'token'));
  t.true(audit.filter((e) => e.result === 'UNAUTHENTICATED').every((e) => e.principal === '' && e.via === 'none'));
  t.false(
    audit.some((e) => e.request.includes(tokens.admin)),
    'no token in the audit',
  );
});

test('a viewer reads but cannot write, and maintenance needs "Set maintenance mode for any compute resource"', async (t) => {
  const { coord, tokens } = t.context;
  const c = client(t);
  const before = await stateOf(coord);
  for (const m of ['ListZones', 'GetZone', 'ListHosts', 'GetHost', 'ListServers'])
    t.is(await c.code(m, REQUESTS[m]!, { token: tokens.viewer }), grpc.status.OK, m);
  for (const m of [
    'CreateZone',
    'UpdateZone',
    'UpdateHost',
    'UpdateServer',
    'PlanMaintenance',
    'EnableMaintenance',
    'DisableMaintenance',
    'ReturnServers',
    'CancelOperation',
  ]) {
    t.is(await c.code(m, REQUESTS[m]!, { token: tokens.viewer }), grpc.status.PERMISSION_DENIED, m);
  }
  const err = await t.throwsAsync(c.call('EnableMaintenance', REQUESTS.EnableMaintenance!, { token: tokens.viewer }));
  t.regex((err as grpc.ServiceError).details ?? '', /Set maintenance mode for any compute resource/);
  // The maintenance permission alone passes the gate (the methods land with the engine).
  t.is(await c.code('PlanMaintenance', REQUESTS.PlanMaintenance!, { token: tokens.maint }), grpc.status.UNIMPLEMENTED);
  t.is(await c.code('ListZones', {}, { token: tokens.maint }), grpc.status.PERMISSION_DENIED);
  t.is(await stateOf(coord), before);
});

test('an admin token (sha256) and an operator token (scrypt) are accepted; successful writes are audited with the user', async (t) => {
  const { coord, tokens } = t.context;
  const c = client(t);
  const from = await coord.store.audit.lastSeq();
  const zone = await c.call('CreateZone', { zone_id: 'z-admin', name: 'By admin' }, { token: tokens.admin });
  t.is(zone.id, 'z-admin');
  const host = await c.call('UpdateHost', { host_id: 'h1', label: 'rack 4' }, { token: tokens.scrypt });
  t.is(host.label, 'rack 4');
  const audit = (await coord.store.audit.list(from)).map((e) => e.entry);
  t.deepEqual(
    audit.map((e) => [e.method, e.principal, e.result]),
    [
      ['CreateZone', 'admin', 'OK'],
      ['UpdateHost', 'scrypted', 'OK'],
    ],
  );
  t.true(audit[1]!.request.includes('rack 4'));
});

test('mTLS: a verified client certificate is mapped to its user; unmapped or foreign certificates are UNAUTHENTICATED', async (t) => {
  const { coord, certs } = t.context;
  const from = await coord.store.audit.lastSeq();
  const alice = client(t, certs.alice);
  const zones = await alice.call('ListZones', {});
  t.true(zones.zones.some((z: { id: string }) => z.id === 'z1'));
  t.is(await alice.code('UpdateHost', { host_id: 'h1', enabled: false }), grpc.status.PERMISSION_DENIED, 'alice is a viewer');
  t.is(await client(t, certs.stranger).code('ListZones', {}), grpc.status.UNAUTHENTICATED, 'a CA-signed certificate not mapped to a user');
  t.is(await client(t, certs.forged).code('ListZones', {}), grpc.status.UNAUTHENTICATED, 'same CN, another CA: not verified');
  // A token over a client certificate decides: a bad one is refused.
  t.is(await alice.code('ListZones', {}, { token: 'wrong' }), grpc.status.UNAUTHENTICATED);
  const audit = (await coord.store.audit.list(from)).map((e) => e.entry);
  t.deepEqual(
    audit.map((e) => [e.method, e.principal, e.via, e.result]),
    [
      ['UpdateHost', 'alice', 'certificate', 'PERMISSION_DENIED'],
      ['ListZones', '', 'none', 'UNAUTHENTICATED'],
      ['ListZones', '', 'none', 'UNAUTHENTICATED'],
      ['ListZones', '', 'none', 'UNAUTHENTICATED'],
    ],
  );
  t.true((await coord.store.hosts.get('h1'))!.value.enabled);
});

test('an agent with mTLS accepts the coordinator certificate and refuses any other client', async (t) => {
  const { pki, certs, otherPki } = t.context;
  t.context.started.agents = await startSimAgents({
    count: 1,
    hostIdPrefix: 'mtls',
    tls: { ...certs['agent-mtls-1']!, clientCaFile: pki.caFile, allowedClientIdentities: ['drydock-coordinator'] },
  });
  const endpoint = t.context.started.agents.agents[0]!.endpoint;
  const as = (cert: CertFiles | null, caFile = pki.caFile) =>
    new AgentClient('mtls-1', endpoint, { callTimeoutMs: 3000, tls: { caFile, certFile: cert?.certFile ?? '', keyFile: cert?.keyFile ?? '' } });
  const good = as(certs.coordinatorClient!);
  const res = await good.listServers();
  t.is(res.host_id, 'mtls-1');
  good.close();
  const codeOf = async (c: AgentClient) => {
    try {
      await c.getHostFacts();
      return 'OK';
    } catch (err) {
      return (err as Error).name;
    } finally {
      c.close();
    }
  };
  // No client certificate: the TLS handshake itself fails (or is refused as unauthenticated).
  t.regex(await codeOf(as(null)), /UnavailableError|UnauthenticatedError/);
  // A certificate from the right CA but another identity: refused.
  t.is(await codeOf(as(certs.intruder!)), 'PermissionDeniedError');
  // A certificate from another CA claiming the coordinator's name: refused.
  const forgedCoordinator = await otherPki.issue('forged-coordinator', { cn: 'drydock-coordinator' });
  t.regex(await codeOf(as(forgedCoordinator)), /UnavailableError|UnauthenticatedError/);
});

test('the coordinator reaches mTLS agents with its client certificate: their servers are inventoried', async (t) => {
  const { pki, certs, tokens } = t.context;
  // Its own NATS, so this coordinator is the leader that syncs servers.
  const tn = await startTestNats({ dir: path.join(t.context.dir, 'mtls'), hosts: ['secure-1', 'secure-2'] });
  const node = tn.node;
  t.context.started.more.push(tn);
  const coord = await startCoordinator(
    testConfig({
      id: 'coord-mtls',
      natsServers: [node.url],
      natsAuth: tn.coordinatorAuth,
      tokenFile: path.join(t.context.dir, 'tokens.yaml'),
      agentsTls: { caFile: pki.caFile, certFile: certs.coordinatorClient!.certFile, keyFile: certs.coordinatorClient!.keyFile },
      reconcileInterval: '1s',
    }),
  );
  t.context.started.more.push(coord);
  const agents = await startSimAgents({
    count: 2,
    hostIdPrefix: 'secure',
    natsUrl: node.url,
    natsAuth: tn.hostAuth,
    heartbeatIntervalMs: 500,
    tls: (id) => ({ ...certs[`agent-${id}`]!, clientCaFile: pki.caFile, allowedClientIdentities: ['drydock-coordinator'] }),
  });
  t.context.started.more.push(agents);
  agents.byId('secure-2').sim.addServer({ uuid: '22222222-3333-4444-8555-666666666666', name: 'tls-vs' });
  const c = new TestAdminClient(coord.port);
  t.context.clients.push(c);
  const deadline = Date.now() + 15_000;
  let found: { host_id: string } | undefined;
  while (!found && Date.now() < deadline) {
    const res = await c.call('ListServers', {}, { token: tokens.admin });
    found = res.servers.find((s: { name: string }) => s.name === 'tls-vs');
    if (!found) await new Promise((r) => setTimeout(r, 200));
  }
  t.is(found?.host_id, 'secure-2');
  const report = coord.inventory.lastReconcileReport();
  t.deepEqual(report?.failures ?? [], []);
});

test('users file reload: rotated tokens work and the old ones are refused (the scrypt cache too); a broken file changes nothing', async (t) => {
  const { coord, tokens, dir } = t.context;
  const c = client(t);
  const tokenFile = path.join(dir, 'tokens.yaml');
  const original = readFileSync(tokenFile, 'utf8');
  try {
    // The scrypt user was verified earlier in this file (cached by token digest).
    t.is(await c.code('ListZones', {}, { token: tokens.scrypt }), grpc.status.OK);
    const rotated = randomBytes(24).toString('hex');
    const rotatedScrypt = randomBytes(24).toString('hex');
    writeFileSync(
      tokenFile,
      [
        'users:',
        `  admin: { tokenSha256: "${hashTokenSha256(rotated)}", roles: [admin] }`,
        // Same user, new scrypt token: the old one must not live on in the cache.
        `  scrypted: { tokenScrypt: "${hashTokenScrypt(rotatedScrypt, randomBytes(16), 1024, 8, 1)}", roles: [operator] }`,
        '',
      ].join('\n'),
    );
    t.deepEqual(coord.reloadUsers(), { users: 2 });
    t.is(await c.code('ListZones', {}, { token: tokens.admin }), grpc.status.UNAUTHENTICATED, 'the old admin token is revoked');
    t.is(await c.code('ListZones', {}, { token: tokens.scrypt }), grpc.status.UNAUTHENTICATED, 'the old scrypt token is refused, cached or not');
    t.is(await c.code('ListZones', {}, { token: rotated }), grpc.status.OK, 'the rotated token works');
    t.is(await c.code('ListZones', {}, { token: rotatedScrypt }), grpc.status.OK, 'the rotated scrypt token works');

    // A typo: refused with the reason; the users in force stay.
    writeFileSync(tokenFile, ['users:', `  admin: { tokenSha256: "${hashTokenSha256(rotated)}", roles: [admins] }`, ''].join('\n'));
    const err = t.throws(() => coord.reloadUsers(), { instanceOf: ConfigError });
    t.regex(err?.message ?? '', /unknown role "admins"/);
    t.is(await c.code('ListZones', {}, { token: rotated }), grpc.status.OK, 'still the last good file');
    writeFileSync(tokenFile, 'users: [');
    t.throws(() => coord.reloadUsers(), { instanceOf: ConfigError });
    t.is(await c.code('ListZones', {}, { token: rotated }), grpc.status.OK);
  } finally {
    writeFileSync(tokenFile, original);
    coord.reloadUsers();
  }
  t.is(await c.code('ListZones', {}, { token: tokens.admin }), grpc.status.OK, 'restored');
});
