// The admin API's semantics (an authorized caller, real coordinator, real
// NATS): INVALID_ARGUMENT naming the field, NOT_FOUND for unknown ids,
// ALREADY_EXISTS, FAILED_PRECONDITION for forbidden states, UNIMPLEMENTED
// for the methods that land later; a rejected call changes nothing. Plus the
// config rules, grpc.health.v1 and server reflection.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { ConfigError } from '../common/config.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { compileConfig } from '../coordinator/config.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import type { HostRecord, ServerRecord } from '../coordinator/model.ts';
import { TestAdminClient, tempDir, testConfig } from '../harness/coordinator-helpers.ts';

const TOKEN = 'admin-test-token';
const UUID = '0d6c1c3e-9a3a-4c1e-8f1e-1a2b3c4d5e6f';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
  admin: TestAdminClient;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('admin');
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  const ctx = { dir } as Partial<Ctx>;
  t.context = ctx as Ctx;
  const tn = await startTestNats({ dir });
  ctx.node = tn.node;
  ctx.coord = await startCoordinator(testConfig({ id: 'coord-admin', natsServers: [ctx.node.url], natsAuth: tn.coordinatorAuth, tokenFile }));
  ctx.admin = new TestAdminClient(ctx.coord.port);
  const now = Date.now();
  await ctx.coord.store.hosts.create('h1', host('h1', now));
  await ctx.coord.store.hosts.create('h2', { ...host('h2', now), maintenance: 'in_maintenance', maintenanceOpId: 'op-7' });
  await ctx.coord.store.servers.create(UUID, server(UUID, 'h1', now));
  await ctx.coord.store.servers.create('7d6c1c3e-9a3a-4c1e-8f1e-1a2b3c4d5e6f', {
    ...server('7d6c1c3e-9a3a-4c1e-8f1e-1a2b3c4d5e6f', 'h2', now),
    operationId: 'op-7',
  });
});

test.after.always(async (t) => {
  t.context.admin?.close();
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

function host(id: string, now: number): HostRecord {
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
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Haswell', features: ['avx2', 'aes'], disabled_features: [], xml: '' },
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
function server(uuid: string, hostId: string, now: number): ServerRecord {
  return {
    uuid,
    name: 'vs',
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

async function refused(t: { context: Ctx }, method: string, req: object): Promise<{ code: number; details: string; field: string }> {
  try {
    await t.context.admin.call(method, req, { token: TOKEN });
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details, field: String(e.metadata?.get('drydock-field')?.[0] ?? '') };
  }
  throw new Error(`${method} was not refused`);
}

async function state(coord: Coordinator): Promise<string> {
  return JSON.stringify(await Promise.all([coord.store.zones.list(), coord.store.hosts.list(), coord.store.servers.list()]));
}

test('zones: create, get, list, update; validation names the field', async (t) => {
  const call = (m: string, r: object) => t.context.admin.call(m, r, { token: TOKEN });
  const z = await call('CreateZone', {
    zone_id: 'gold',
    name: 'Gold',
    cpu_mode: 'CPU_MODE_EXTENDED',
    policy: { placement: 'PLACEMENT_POLICY_PACK', max_migrations_per_zone: 3 },
  });
  t.like(z, { id: 'gold', name: 'Gold', cpu_mode: 'CPU_MODE_EXTENDED' });
  t.like(
    z.policy,
    { placement: 'PLACEMENT_POLICY_PACK', max_migrations_per_zone: 3, max_migrations_per_source: 1, settle_pause_s: 300 },
    'defaults fill unset fields',
  );
  t.is((await call('CreateZone', { zone_id: 'silver' })).name, 'silver', 'name defaults to the id');
  const before = await state(t.context.coord);
  t.like(await refused(t, 'CreateZone', { zone_id: 'gold' }), { code: grpc.status.ALREADY_EXISTS });
  t.like(await refused(t, 'CreateZone', { zone_id: 'Bad_Id' }), { code: grpc.status.INVALID_ARGUMENT, field: 'zone_id' });
  t.like(await refused(t, 'CreateZone', { zone_id: '' }), { code: grpc.status.INVALID_ARGUMENT, field: 'zone_id' });
  t.like(await refused(t, 'CreateZone', { zone_id: 'x', policy: { settle_pause_s: 60 } }), {
    code: grpc.status.INVALID_ARGUMENT,
    field: 'policy.settle_pause_s',
  });
  t.like(await refused(t, 'CreateZone', { zone_id: 'x', policy: { cpu_overcommit_ratio: -1 } }), {
    code: grpc.status.INVALID_ARGUMENT,
    field: 'policy.cpu_overcommit_ratio',
  });
  t.like(await refused(t, 'UpdateZone', { zone_id: 'nope', name: 'x' }), { code: grpc.status.NOT_FOUND });
  t.like(await refused(t, 'UpdateZone', { zone_id: 'gold', name: '' }), { code: grpc.status.INVALID_ARGUMENT, field: 'name' });
  t.like(await refused(t, 'UpdateZone', { zone_id: 'gold', set_extra_cpu_features: true, extra_cpu_features: ['ok', 'NOT OK'] }), {
    code: grpc.status.INVALID_ARGUMENT,
    field: 'extra_cpu_features[1]',
  });
  t.like(await refused(t, 'GetZone', { zone_id: 'nope' }), { code: grpc.status.NOT_FOUND });
  t.is(await state(t.context.coord), before, 'refused calls changed nothing');
  const u = await call('UpdateZone', { zone_id: 'gold', description: 'fast disks', set_extra_cpu_features: true, extra_cpu_features: ['pcid', 'aes'] });
  t.is(u.description, 'fast disks');
  t.deepEqual(u.cpu.extra_features, ['aes', 'pcid']);
  t.is(u.name, 'Gold', 'unset optional fields stay');
  const rev = (await t.context.coord.store.zones.get('gold'))!.revision;
  await call('UpdateZone', { zone_id: 'gold', description: 'fast disks' });
  t.is((await t.context.coord.store.zones.get('gold'))!.revision, rev, 'a no-op update writes nothing');
  t.deepEqual(
    (await call('ListZones', {})).zones.map((x: { id: string }) => x.id),
    ['gold', 'silver'],
  );
});

test('hosts: zone assignment, NOT_FOUND for unknown host or zone, FAILED_PRECONDITION in maintenance', async (t) => {
  const call = (m: string, r: object) => t.context.admin.call(m, r, { token: TOKEN });
  const h = await call('UpdateHost', { host_id: 'h1', zone_id: 'gold', storage_cluster: 'vs-1' });
  t.like(h, { zone_id: 'gold', storage_cluster: 'vs-1', enabled: true });
  const before = await state(t.context.coord);
  t.like(await refused(t, 'UpdateHost', { host_id: 'nope', enabled: false }), { code: grpc.status.NOT_FOUND });
  t.like(await refused(t, 'UpdateHost', { host_id: 'h1', zone_id: 'no-such-zone' }), { code: grpc.status.NOT_FOUND });
  t.like(await refused(t, 'UpdateHost', { host_id: 'bad.id' }), { code: grpc.status.INVALID_ARGUMENT, field: 'host_id' });
  t.like(await refused(t, 'UpdateHost', { host_id: 'h1', storage_cluster: 'a b' }), { code: grpc.status.INVALID_ARGUMENT, field: 'storage_cluster' });
  t.like(await refused(t, 'UpdateHost', { host_id: 'h1', label: 'x'.repeat(300) }), { code: grpc.status.INVALID_ARGUMENT, field: 'label' });
  const pre = await refused(t, 'UpdateHost', { host_id: 'h2', zone_id: 'gold' });
  t.is(pre.code, grpc.status.FAILED_PRECONDITION);
  t.regex(pre.details, /in_maintenance.*op-7/);
  t.like(await refused(t, 'GetHost', { host_id: 'nope' }), { code: grpc.status.NOT_FOUND });
  t.like(await refused(t, 'ListHosts', { zone_id: 'nope' }), { code: grpc.status.NOT_FOUND });
  t.is(await state(t.context.coord), before);
  // The Enabled switch and the label are fine in maintenance.
  t.like(await call('UpdateHost', { host_id: 'h2', enabled: false, label: 'waiting for RAM' }), {
    enabled: false,
    label: 'waiting for RAM',
    maintenance: 'MAINTENANCE_STATE_IN_MAINTENANCE',
  });
  t.deepEqual(
    (await call('ListHosts', { zone_id: 'gold' })).hosts.map((x: { id: string }) => x.id),
    ['h1'],
  );
  t.like(await refused(t, 'UpdateZone', { zone_id: 'gold', cpu_mode: 'CPU_MODE_UNSPECIFIED' }), { code: grpc.status.INVALID_ARGUMENT, field: 'cpu_mode' });
});

test('PASSTHROUGH needs identical CPUs in the zone (FAILED_PRECONDITION otherwise)', async (t) => {
  const call = (m: string, r: object) => t.context.admin.call(m, r, { token: TOKEN });
  await t.context.coord.store.hosts.create('h3', {
    ...host('h3', Date.now()),
    zoneId: 'silver',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Westmere', features: [], disabled_features: [], xml: '' },
  });
  await t.context.coord.store.hosts.create('h4', { ...host('h4', Date.now()), zoneId: 'silver' });
  t.like(await refused(t, 'UpdateZone', { zone_id: 'silver', cpu_mode: 'CPU_MODE_PASSTHROUGH' }), { code: grpc.status.FAILED_PRECONDITION });
  t.is((await call('GetZone', { zone_id: 'silver' })).cpu_mode, 'CPU_MODE_DEFAULT');
  t.is((await call('UpdateZone', { zone_id: 'gold', cpu_mode: 'CPU_MODE_PASSTHROUGH' })).cpu_mode, 'CPU_MODE_PASSTHROUGH', 'one host: fine');
});

test('servers: list by host/zone, flags set by the operator, refused while an operation moves the server', async (t) => {
  const call = (m: string, r: object) => t.context.admin.call(m, r, { token: TOKEN });
  t.deepEqual(
    (await call('ListServers', { zone_id: 'gold' })).servers.map((s: { uuid: string }) => s.uuid),
    [UUID],
  );
  t.is((await call('ListServers', { host_id: 'h2' })).servers.length, 1);
  const s = await call('UpdateServer', { uuid: UUID.toUpperCase(), hot_migration: false, smart: true });
  t.like(s, { uuid: UUID, hot_migration: false, smart: true, host_id: 'h1' });
  t.true((await t.context.coord.store.servers.get(UUID))!.value.flagsSetByOperator);
  const before = await state(t.context.coord);
  t.like(await refused(t, 'UpdateServer', { uuid: 'not-a-uuid' }), { code: grpc.status.INVALID_ARGUMENT, field: 'uuid' });
  t.like(await refused(t, 'UpdateServer', { uuid: '99999999-9999-4999-8999-999999999999', smart: true }), { code: grpc.status.NOT_FOUND });
  t.like(await refused(t, 'UpdateServer', { uuid: '7d6c1c3e-9a3a-4c1e-8f1e-1a2b3c4d5e6f', hot_migration: false }), { code: grpc.status.FAILED_PRECONDITION });
  t.like(await refused(t, 'ListServers', { host_id: 'nope' }), { code: grpc.status.NOT_FOUND });
  t.is(await state(t.context.coord), before);
});

test('methods that land later answer UNIMPLEMENTED with a clear message', async (t) => {
  for (const [m, r] of [
    ['PlanMaintenance', { host_id: 'h1' }],
    ['GetOperation', { operation_id: 'x' }],
    ['RecomputeZoneCpu', { zone_id: 'gold' }],
  ] as const) {
    const e = await refused(t, m, r);
    t.is(e.code, grpc.status.UNIMPLEMENTED, m);
    t.regex(e.details, /not implemented yet/);
  }
  await t.throwsAsync(t.context.admin.stream('WatchOperation', { operation_id: 'x' }, { token: TOKEN }), { message: /UNIMPLEMENTED/ });
});

test('grpc.health.v1 says SERVING and reflection lists the Admin service', async (t) => {
  const require = createRequire(import.meta.url);
  const healthProto = require.resolve('grpc-health-check/proto/health/v1/health.proto');
  const hdef = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as any;
  const hc = new hdef.grpc.health.v1.Health(`127.0.0.1:${t.context.coord.port}`, grpc.credentials.createInsecure());
  const res = await new Promise<{ status: string }>((resolve, reject) =>
    hc.Check({ service: 'drydock.admin.v1.Admin' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
  );
  t.is(res.status, 'SERVING');
  hc.close();
  const reflProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1alpha/reflection.proto');
  const rdef = grpc.loadPackageDefinition(protoLoader.loadSync(reflProto, { keepCase: true })) as any;
  const rc = new rdef.grpc.reflection.v1alpha.ServerReflection(`127.0.0.1:${t.context.coord.port}`, grpc.credentials.createInsecure());
  const names = await new Promise<string[]>((resolve, reject) => {
    const call = rc.ServerReflectionInfo();
    call.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => {
      resolve((m.list_services_response?.service ?? []).map((s) => s.name));
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '*' });
  });
  rc.close();
  t.true(names.includes('drydock.admin.v1.Admin'), names.join(', '));
});

test('config: defaults, environment overrides, unknown keys and bad values refused with the field named', (t) => {
  const c = compileConfig({ coordinatorId: 'c1' }, {});
  t.like(c, {
    admin: { listen: '127.0.0.1:7443', insecure: false },
    nats: { servers: [], kvReplicas: 1 },
    inventory: { offlineAfterMs: 10_000 },
    leader: { ttlMs: 5000, renewIntervalMs: 1500 },
  });
  const e = compileConfig(
    { coordinatorId: 'c1', nats: { servers: ['nats://a:4222'], nkeySeedFile: '/etc/drydock/nats/coordinator.nk' } },
    { DRYDOCK_COORDINATOR_INVENTORY_OFFLINE_AFTER: '15s', DRYDOCK_COORDINATOR_NATS_SERVERS: 'nats://x:4222,nats://y:4222' },
  );
  t.is(e.inventory.offlineAfterMs, 15_000);
  t.deepEqual(e.nats.servers, ['nats://x:4222', 'nats://y:4222']);
  t.is(e.nats.kvReplicas, 3, 'a cluster defaults to R3');
  const bad = (doc: Record<string, unknown>, field: RegExp) => t.regex(t.throws(() => compileConfig(doc, {}), { instanceOf: ConfigError })!.message, field);
  bad({ inventroy: {} }, /inventroy/);
  bad({ leader: { ttl: '2s', renewInterval: '1500ms' } }, /leader.renewInterval/);
  bad({ nats: { kvReplicas: 3 } }, /nats.kvReplicas/);
  bad({ admin: { tls: { certFile: '/x' } } }, /admin.tls/);
  bad({ auth: { roles: { r: ['zones.fly'] } } }, /auth.roles.r/);
  bad({ inventory: { offlineAfter: 'soon' } }, /inventory.offlineAfter/);
  t.is(c.zoneCpu.watchIntervalMs, 3000);
  t.is(compileConfig({ zoneCpu: { watchInterval: '10s' } }, {}).zoneCpu.watchIntervalMs, 10_000);
  t.is(compileConfig({}, { DRYDOCK_COORDINATOR_ZONE_CPU_WATCH_INTERVAL: '750ms' }).zoneCpu.watchIntervalMs, 750);
  bad({ zoneCpu: { watchInterval: '100ms' } }, /zoneCpu.watchInterval/);
  t.deepEqual(compileConfig({ auth: { roles: { m: ['Set maintenance mode for any compute resource'] } } }, {}).auth.roles, { m: ['maintenance.manage'] });
});

test('config: the admin API serves a non-loopback address only with mutual TLS, or with admin.insecure asked for by name', (t) => {
  const refused = (admin: Record<string, unknown>) => t.throws(() => compileConfig({ admin }, {}), { instanceOf: ConfigError })!.message;
  t.regex(refused({ listen: '0.0.0.0:7443' }), /admin\.listen.*mutual TLS.*admin\.insecure/);
  t.regex(refused({ listen: '10.0.0.5:7443', tls: { certFile: '/c', keyFile: '/k' } }), /admin\.listen.*clientCaFile/, 'server TLS alone is not mutual');
  t.regex(refused({ listen: '[::]:7443' }), /admin\.listen/);
  t.is(compileConfig({ admin: { listen: '0.0.0.0:7443', tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca' } } }, {}).admin.listen, '0.0.0.0:7443');
  t.true(compileConfig({ admin: { listen: '0.0.0.0:7443', insecure: true } }, {}).admin.insecure);
  t.is(compileConfig({ admin: { listen: 'localhost:7443' } }, {}).admin.listen, 'localhost:7443', 'loopback needs no TLS');
  t.regex(refused({ listen: '0.0.0.0:7443', insecure: true, tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca' } }), /admin\.insecure/);
});
