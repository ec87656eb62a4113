// Paged admin reads against a real nats-server and two real coordinators:
// every record exactly once in key order, also while records are written,
// created and deleted between pages; page tokens work on either instance and
// bad ones are INVALID_ARGUMENT; a read on one instance reflects a write
// acknowledged just before (coordinator/reads/); server counts per host
// follow moves and deletes.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import type { HostRecord, ServerRecord, ZoneRecord } from '../coordinator/model.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../coordinator/admin/paging.ts';
import { TestAdminClient, tempDir, testConfig } from '../harness/coordinator-helpers.ts';

const TOKEN = 'paging-test-token';
const HOSTS = 120;
const SERVERS_PER_HOST = 5; // 600 servers: more than one default page

interface Ctx {
  dir: string;
  tn: TestNats;
  a: Coordinator;
  b: Coordinator;
  adminA: TestAdminClient;
  adminB: TestAdminClient;
}
const test = anyTest.serial as TestFn<Ctx>;

const hostId = (i: number) => `h${String(i).padStart(4, '0')}`;

function host(id: string, zoneId: string): HostRecord {
  const now = Date.now();
  return {
    id,
    hostname: id,
    zoneId,
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
function server(uuid: string, hostIdValue: string, name = 'vs'): ServerRecord {
  return {
    uuid,
    name,
    hostId: hostIdValue,
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
    updatedAtMs: Date.now(),
  };
}
function zone(id: string): ZoneRecord {
  return {
    id,
    name: id,
    description: '',
    cpuMode: 'HOST_MODEL',
    policy: {},
    cpu: { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [], updatedAtMs: 0 },
    createdAtMs: 0,
    updatedAtMs: 0,
  } as unknown as ZoneRecord;
}

async function inBatches<T>(items: T[], fn: (t: T) => Promise<unknown>, size = 50): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

test.before(async (t) => {
  const dir = tempDir('paging');
  t.context = { dir } as Ctx;
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  t.context.tn = await startTestNats({ dir });
  const cfg = (id: string) => testConfig({ id, natsServers: t.context.tn.urls, natsAuth: t.context.tn.coordinatorAuth, tokenFile });
  t.context.a = await startCoordinator(cfg('coord-a'));
  const store = t.context.a.store;
  await store.zones.create('z1', zone('z1'));
  await store.zones.create('z2', zone('z2'));
  await inBatches(
    Array.from({ length: HOSTS }, (_, i) => i),
    (i) => store.hosts.create(hostId(i), host(hostId(i), i % 2 ? 'z1' : 'z2')),
  );
  const servers = Array.from({ length: HOSTS * SERVERS_PER_HOST }, (_, i) => server(randomUUID(), hostId(i % HOSTS)));
  await inBatches(servers, (s) => store.servers.create(s.uuid, s));
  // The second instance loads what is there at its start; the first follows the writes.
  t.context.b = await startCoordinator(cfg('coord-b'));
  t.context.adminA = new TestAdminClient(t.context.a.port);
  t.context.adminB = new TestAdminClient(t.context.b.port);
});

test.after.always(async (t) => {
  t.context.adminA?.close();
  t.context.adminB?.close();
  await t.context.a?.stop();
  await t.context.b?.stop();
  await t.context.tn?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** Follows the pages; `between` runs after each page (writes while listing). */
async function allPages(
  admins: TestAdminClient[],
  method: 'ListHosts' | 'ListServers',
  req: object,
  pageSize: number,
  between?: (page: number) => Promise<void>,
): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let token = '';
  let pages = 0;
  do {
    // Alternate instances: a token of one works on the other.
    const admin = admins[pages % admins.length]!;
    const res = await admin.call(method, { ...req, page_size: pageSize, page_token: token }, { token: TOKEN });
    const items: { id?: string; uuid?: string }[] = method === 'ListHosts' ? res.hosts : res.servers;
    t_assert(items.length <= (pageSize || DEFAULT_PAGE_SIZE), `page of ${items.length} > ${pageSize}`);
    keys.push(...items.map((x) => (x.id ?? x.uuid)!));
    token = res.next_page_token;
    pages++;
    if (pages > 10_000) throw new Error('no last page');
    if (token) await between?.(pages);
  } while (token);
  return { keys, pages };
}
function t_assert(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}
const sorted = (keys: string[]) => [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

test('ListHosts and ListServers page through every record exactly once, in key order, on either instance', async (t) => {
  const { adminA, adminB, a } = t.context;
  const hosts = await allPages([adminA, adminB], 'ListHosts', {}, 7);
  t.is(hosts.pages, Math.ceil(HOSTS / 7));
  t.deepEqual(
    hosts.keys,
    Array.from({ length: HOSTS }, (_, i) => hostId(i)),
  );
  const expected = sorted((await a.store.servers.list()).map((s) => s.key));
  t.is(expected.length, HOSTS * SERVERS_PER_HOST);
  const servers = await allPages([adminA, adminB], 'ListServers', {}, 0);
  t.is(servers.pages, Math.ceil(expected.length / DEFAULT_PAGE_SIZE), 'page_size 0 means the default');
  t.deepEqual(servers.keys, expected);
  const z1 = await allPages([adminB, adminA], 'ListServers', { zone_id: 'z1' }, 33);
  const inZ1 = sorted((await a.store.servers.list()).filter((s) => Number(s.value.hostId.slice(1)) % 2 === 1).map((s) => s.key));
  t.deepEqual(z1.keys, inZ1);
  const oneHost = await allPages([adminA], 'ListServers', { host_id: hostId(3) }, 2);
  t.deepEqual(oneHost.keys, sorted((await a.store.servers.list()).filter((s) => s.value.hostId === hostId(3)).map((s) => s.key)));
  t.is(oneHost.pages, Math.ceil(SERVERS_PER_HOST / 2));
  // Host in another zone than asked: nothing.
  t.deepEqual((await allPages([adminA], 'ListServers', { host_id: hostId(3), zone_id: 'z2' }, 10)).keys, []);
  const zoneHosts = await allPages([adminB], 'ListHosts', { zone_id: 'z2' }, 9);
  t.deepEqual(
    zoneHosts.keys,
    Array.from({ length: HOSTS }, (_, i) => i)
      .filter((i) => i % 2 === 0)
      .map(hostId),
  );
});

test('writes between pages: records present throughout appear exactly once, in order; nothing twice', async (t) => {
  const { adminA, adminB, a } = t.context;
  const store = a.store;
  const before = await store.servers.list();
  // Untouched, changed in place, moved to another host: all present throughout.
  const stay = new Set(before.map((s) => s.key));
  const deleted = new Set<string>();
  const created = new Set<string>();
  let n = 0;
  const writes = async () => {
    const batch = [...stay].slice(n * 7, n * 7 + 7);
    n++;
    await Promise.all([
      // Change records on both sides of the cursor; move some to other hosts.
      ...batch.map((uuid, i) =>
        store.servers.mutate(uuid, (s) => ({ ...s, name: `renamed-${n}`, hostId: i % 2 ? hostId((Number(s.hostId.slice(1)) + 1) % HOSTS) : s.hostId })),
      ),
      // New records (their keys fall before or after the cursor).
      ...Array.from({ length: 3 }, async () => {
        const u = randomUUID();
        created.add(u);
        await store.servers.create(u, server(u, hostId(n % HOSTS)));
      }),
    ]);
    // Delete a record created earlier (never one of `stay`).
    const victim = [...created].find((u) => !deleted.has(u));
    if (victim) {
      deleted.add(victim);
      const cur = await store.servers.require(victim);
      await store.servers.deleteAt(victim, cur.revision);
    }
  };
  const res = await allPages([adminA, adminB], 'ListServers', {}, 40, writes);
  t.true(n >= 10, `writes happened between ${n} pages`);
  t.deepEqual(res.keys, sorted(res.keys), 'strictly in key order');
  t.is(new Set(res.keys).size, res.keys.length, 'no record twice');
  const got = new Set(res.keys);
  t.deepEqual(
    [...stay].filter((k) => !got.has(k)),
    [],
    'every record present throughout is listed',
  );
  // Counts per host follow moves, creations and deletions (both instances).
  const all = await store.servers.list();
  const count = new Map<string, number>();
  for (const s of all) count.set(s.value.hostId, (count.get(s.value.hostId) ?? 0) + 1);
  for (const id of [hostId(0), hostId(1), hostId(2), hostId(HOSTS - 1)]) {
    for (const admin of [adminA, adminB]) {
      t.is((await admin.call('GetHost', { host_id: id }, { token: TOKEN })).server_count, count.get(id) ?? 0, `server_count of ${id}`);
    }
  }
});

test('a read on either instance reflects a write acknowledged just before it', async (t) => {
  const { adminA, adminB, a, b } = t.context;
  for (let i = 0; i < 20; i++) {
    const id = `fresh-${i}`;
    const writer = i % 2 ? a.store : b.store;
    await writer.hosts.create(id, host(id, 'z1'));
    const u = randomUUID();
    await writer.servers.create(u, server(u, id));
    const admin = i % 2 ? adminB : adminA; // the other instance reads
    const got = await admin.call('GetHost', { host_id: id }, { token: TOKEN });
    t.is(got.id, id);
    t.is(got.server_count, 1);
    const list = await admin.call('ListServers', { host_id: id }, { token: TOKEN });
    t.deepEqual(
      list.servers.map((s: { uuid: string }) => s.uuid),
      [u],
    );
    const cur = await writer.servers.require(u);
    await writer.servers.deleteAt(u, cur.revision);
    t.deepEqual((await admin.call('ListServers', { host_id: id }, { token: TOKEN })).servers, [], 'a delete is seen at once too');
  }
});

test('bad page tokens and page sizes are INVALID_ARGUMENT naming the field', async (t) => {
  const { adminA, adminB } = t.context;
  const code = async (admin: TestAdminClient, method: string, req: object) => {
    try {
      await admin.call(method, req, { token: TOKEN });
      return { code: grpc.status.OK, field: '' };
    } catch (err) {
      const e = err as grpc.ServiceError;
      return { code: e.code, field: String(e.metadata?.get('drydock-field')?.[0] ?? '') };
    }
  };
  const bad = { code: grpc.status.INVALID_ARGUMENT, field: 'page_token' };
  const hostsToken = (await adminA.call('ListHosts', { page_size: 5 }, { token: TOKEN })).next_page_token;
  const zoneToken = (await adminA.call('ListServers', { zone_id: 'z1', page_size: 5 }, { token: TOKEN })).next_page_token;
  t.truthy(hostsToken);
  t.truthy(zoneToken);
  t.is((await code(adminB, 'ListHosts', { page_size: 5, page_token: hostsToken })).code, grpc.status.OK);
  t.deepEqual(await code(adminA, 'ListHosts', { page_token: 'garbage!' }), bad);
  t.deepEqual(await code(adminA, 'ListHosts', { page_token: Buffer.from('not json').toString('base64url') }), bad);
  t.deepEqual(
    await code(adminA, 'ListHosts', { page_token: Buffer.from(JSON.stringify({ v: 2, m: 'ListHosts', f: 'zone=', a: 'h0001' })).toString('base64url') }),
    bad,
  );
  t.deepEqual(
    await code(adminA, 'ListHosts', { page_token: Buffer.from(JSON.stringify({ v: 1, m: 'ListHosts', f: 'zone=', a: '-rf' })).toString('base64url') }),
    bad,
    'a key that is no host id',
  );
  t.deepEqual(await code(adminA, 'ListHosts', { page_token: 'x'.repeat(5000) }), bad);
  t.deepEqual(await code(adminA, 'ListServers', { page_token: hostsToken }), bad, 'a ListHosts token on ListServers');
  t.deepEqual(await code(adminB, 'ListServers', { zone_id: 'z2', page_token: zoneToken }), bad, 'a token of other filters');
  t.deepEqual(await code(adminB, 'ListServers', { page_token: zoneToken }), bad, 'a token of other filters (none)');
  t.deepEqual(await code(adminA, 'ListHosts', { zone_id: 'z1', page_token: hostsToken }), bad);
  t.deepEqual(await code(adminA, 'ListServers', { page_size: MAX_PAGE_SIZE + 1 }), { code: grpc.status.INVALID_ARGUMENT, field: 'page_size' });
  t.deepEqual(await code(adminA, 'ListHosts', { page_size: -1 }), { code: grpc.status.INVALID_ARGUMENT, field: 'page_size' });
  t.is((await code(adminA, 'ListServers', { page_size: MAX_PAGE_SIZE })).code, grpc.status.OK);
  t.is((await code(adminA, 'ListServers', { host_id: 'nope', page_size: 5 })).code, grpc.status.NOT_FOUND);
  t.is((await code(adminA, 'ListHosts', { zone_id: 'nope' })).code, grpc.status.NOT_FOUND);
});

test("the coordinator's NATS connection records no async stack trace per request", (t) => {
  t.is((t.context.a.nats.nc as unknown as { options: { noAsyncTraces?: boolean } }).options.noAsyncTraces, true);
});
