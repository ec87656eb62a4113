// Unauthenticated denial of service, against a real coordinator (real
// nats-server, real gRPC on loopback):
// - a flood of wrong tokens from 64 peers at once (a separate process)
//   leaves the leader its lease and valid calls fast, because scrypt runs
//   off the event loop behind a bounded queue;
// - a peer out of its failed-attempt budget is refused without hashing,
//   and other peers (127.0.0.2 through a source proxy) are not;
// - 10,000 refused calls keep the audit stream under its byte limit, with
//   no request body in unauthenticated entries and every refusal counted;
// - the byte limit holds against direct writes and reaches a stream made
//   before it existed.
// The limits are set the way an operator would (DRYDOCK_COORDINATOR_* env).
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RetentionPolicy, StorageType } from 'nats';
import type { NatsNode } from '../common/nats-server.ts';
import { streams } from '../common/subjects.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenScrypt, hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { LEASE_KEY } from '../coordinator/leader.ts';
import type { AuditEntry } from '../coordinator/store/audit.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { startSourceProxy } from './helpers/source-proxy.ts';
import { startTestNats } from '../harness/test-nats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const test = anyTest.serial as TestFn<{ dir: string }>;

test.before((t) => {
  t.context = { dir: tempDir('auth-flood') };
});
test.after.always((t) => {
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

interface World {
  node: NatsNode;
  coord: Coordinator;
  tokens: Record<string, string>;
}

/**
 * A nats-server and a coordinator with a users file: `admin` (sha256) plus
 * the scrypt users named, all with the production scrypt cost unless `cost` says.
 */
async function world(
  t: { teardown(fn: () => unknown): void },
  dir: string,
  name: string,
  scryptUsers: string[],
  o: { env?: Record<string, string>; cost?: number; leaderTtl?: string; leaderRenew?: string } = {},
): Promise<World> {
  const tokens: Record<string, string> = { admin: randomBytes(24).toString('hex') };
  const lines = ['users:', `  admin: { tokenSha256: "${hashTokenSha256(tokens.admin!)}", roles: [admin] }`];
  for (const u of scryptUsers) {
    tokens[u] = randomBytes(24).toString('hex');
    lines.push(`  ${u}: { tokenScrypt: "${hashTokenScrypt(tokens[u]!, randomBytes(16), o.cost ?? 16384, 8, 1)}", roles: [operator] }`);
  }
  const tokenFile = path.join(dir, `${name}-users.yaml`);
  writeFileSync(tokenFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  const tn = await startTestNats({ dir: path.join(dir, name) });
  const node = tn.node;
  t.teardown(() => tn.stop());
  const coord = await startCoordinator(
    testConfig({
      id: `coord-${name}`,
      natsServers: [node.url],
      natsAuth: tn.coordinatorAuth,
      tokenFile,
      env: o.env,
      leaderTtl: o.leaderTtl,
      leaderRenew: o.leaderRenew,
    }),
  );
  t.teardown(() => coord.stop());
  return { node, coord, tokens };
}

function client(t: { teardown(fn: () => unknown): void }, port: number): TestAdminClient {
  const c = new TestAdminClient(port);
  t.teardown(() => c.close());
  return c;
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await f();
  return [performance.now() - t0, v];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function counter(coord: Coordinator, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await coord.metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

async function auditSince(coord: Coordinator, afterSeq: number): Promise<AuditEntry[]> {
  return (await coord.store.audit.list(afterSeq, 1_000_000)).map((e) => e.entry);
}

test('64 peers flooding wrong tokens: the leader keeps its lease and valid calls stay fast', async (t) => {
  // Production lease timing (5s / 1.5s) and scrypt cost (N=16384).
  const { coord, tokens } = await world(t, t.context.dir, 'flood', ['scrypted', 'late'], { leaderTtl: '5s', leaderRenew: '1500ms' });
  await waitFor('leadership', () => coord.leader.isLeader(), 15_000);
  const c = client(t, coord.port);
  // Verified once before the flood: from then on the cheap path knows it.
  t.is(await c.code('ListZones', {}, { token: tokens.scrypted }), grpc.status.OK);
  const term = coord.leader.currentTerm();
  const lost: string[] = [];
  coord.leader.on('lost', (reason) => lost.push(reason));
  const leaseBefore = (await coord.store.leader.get(LEASE_KEY))!;
  const hashesBefore = await counter(coord, 'drydock_admin_token_hashes_total');

  // The flood and the probes of valid calls run in processes of their own; see test/helpers/auth-flood.ts.
  const durationMs = 10_000;
  const run = (o: object) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'test/helpers/auth-flood.ts'), JSON.stringify({ port: coord.port, durationMs, ...o })],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const io = { out: '', err: '', exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (io.out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (io.err += d));
    return io;
  };
  const flood = run({ peers: 64, pauseMs: 20 });
  // Valid calls alternate a sha256 token and an scrypt token verified before (neither waits for a hash).
  const probe = run({ peers: 0, probeTokens: [tokens.admin, tokens.scrypted], probeEveryMs: 100, probeAfterMs: 1000 });
  await waitFor('the prober to connect', () => probe.out.includes('"ready"'), 60_000, 50);
  await waitFor('the flood to connect', () => flood.out.includes('"ready"'), 60_000, 50);
  const floodStart = performance.now();
  // Some seconds in: an scrypt token never seen before, from a peer with nothing gone
  // wrong, needs a hash while the queue is full of the flood's tokens.
  await sleep(5000);
  const [lateMs, lateCode] = await timed(() => c.code('ListZones', {}, { token: tokens.late, timeoutMs: 20_000 }));

  for (const [name, p] of [
    ['flood', flood],
    ['prober', probe],
  ] as const) {
    t.is(await Promise.race([p.exited, sleep(90_000).then(() => 'timeout')]), 0, `${name} process: ${p.err.slice(-2000)}`);
  }
  const last = (p: { out: string }) =>
    JSON.parse(p.out.trim().split('\n').at(-1)!) as { calls: number; byCode: Record<string, number>; probes: { ms: number; code: string }[] };
  const totals = last(flood);
  const probes = last(probe).probes;
  const elapsedMs = performance.now() - floodStart;
  const leaseAfter = (await coord.store.leader.get(LEASE_KEY))!;
  const hashes = (await counter(coord, 'drydock_admin_token_hashes_total')) - hashesBefore;

  const latencies = probes.map((p) => p.ms);
  const med = median(latencies);
  t.log(
    `valid calls during the flood: median ${med.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} calls (one sent every 100 ms)`,
  );
  t.log(`first-time scrypt token during the flood: ${lateMs.toFixed(1)} ms (${grpc.status[lateCode]})`);
  t.log(`flood: ${totals.calls} calls from 64 peers in ${(elapsedMs / 1000).toFixed(1)} s, ${JSON.stringify(totals.byCode)}; scrypt hashes run: ${hashes}`);
  t.log(`lease: term ${term} → ${coord.leader.currentTerm()}, revision ${leaseBefore.revision} → ${leaseAfter.revision}, lost ${lost.length} time(s)`);

  // The leader never lost its lease, and renewed it all along.
  t.deepEqual(lost, [], 'no "leadership lost"');
  t.true(coord.leader.isLeader());
  t.is(coord.leader.currentTerm(), term, 'same term: never lost, never retaken');
  t.is(leaseAfter.value.holder, 'coord-flood');
  t.true(
    leaseAfter.revision - leaseBefore.revision >= Math.floor(elapsedMs / 1500 / 2),
    `lease renewed during the flood (revisions ${leaseBefore.revision} → ${leaseAfter.revision})`,
  );
  t.true(med < 200, `median of valid calls ${med.toFixed(1)} ms < 200 ms`);
  t.true(latencies.length >= 40, `probes were sent all along (${latencies.length})`);
  t.deepEqual(
    probes.filter((p) => p.code !== 'OK'),
    [],
    'every valid call succeeded',
  );
  // A peer with nothing gone wrong goes before the flood's queued tokens
  // (generous bound: the flood's first tokens came from fresh peers too).
  t.is(lateCode, grpc.status.OK, 'a new scrypt token is verified during the flood');
  t.true(lateMs < 5000, `and not after the whole flood (${lateMs.toFixed(0)} ms)`);
  // The flood did happen, and hashing ran through it.
  t.true(totals.calls >= 640, `the flood made calls (${totals.calls})`);
  t.true(hashes >= 20, `wrong tokens were hashed (${hashes})`);
});

test('per-peer budget: past it a wrong token is refused without hashing; other peers and cheap valid tokens pass', async (t) => {
  const { coord, tokens } = await world(t, t.context.dir, 'limit', ['scrypted'], {
    cost: 1024,
    env: { DRYDOCK_COORDINATOR_AUTH_FAILURE_BURST: '3', DRYDOCK_COORDINATOR_AUTH_FAILURE_INTERVAL: '10m' },
  });
  const local = client(t, coord.port);
  const proxy = await startSourceProxy(coord.port, '127.0.0.2');
  t.teardown(() => proxy.close());
  const other = client(t, proxy.port);
  const hashes = () => counter(coord, 'drydock_admin_token_hashes_total');
  const wrong = () => randomBytes(24).toString('hex');
  const from = await coord.store.audit.lastSeq();

  const h0 = await hashes();
  for (let i = 0; i < 3; i++) t.is(await local.code('ListZones', {}, { token: wrong() }), grpc.status.UNAUTHENTICATED, `wrong token ${i + 1} of the burst`);
  const err = await t.throwsAsync(local.call('ListZones', {}, { token: wrong() }));
  t.is((err as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED, 'the 4th is refused at once');
  t.regex((err as grpc.ServiceError).details, /too many failed token attempts from 127\.0\.0\.1: retry in \d+s/);
  t.is(await hashes(), h0 + 3, 'the burst was hashed, the 4th not');
  t.is(await local.code('ListZones', {}, { token: wrong() }), grpc.status.RESOURCE_EXHAUSTED);
  t.is(await hashes(), h0 + 3, 'without hashing');
  // Even the right scrypt token needs a hash, so it waits like any other from this peer...
  t.is(await local.code('ListZones', {}, { token: tokens.scrypted }), grpc.status.RESOURCE_EXHAUSTED);
  // ...but a token the cheap checks accept still passes.
  t.is(await local.code('ListZones', {}, { token: tokens.admin }), grpc.status.OK, 'sha256 token from the limited peer');

  // Another peer is not affected: its wrong token is judged, its valid one accepted.
  t.is(await other.code('ListZones', {}, { token: wrong() }), grpc.status.UNAUTHENTICATED, '127.0.0.2: wrong token judged');
  t.is(await other.code('ListZones', {}, { token: tokens.scrypted }), grpc.status.OK, '127.0.0.2: valid scrypt token');
  t.is(await hashes(), h0 + 5);
  // Once verified (cached), the scrypt token passes from the limited peer too.
  t.is(await local.code('ListZones', {}, { token: tokens.scrypted }), grpc.status.OK);

  t.is(await counter(coord, 'drydock_admin_refused_calls_total', { result: 'RESOURCE_EXHAUSTED' }), 3);
  const audit = await auditSince(coord, from);
  t.deepEqual(
    audit.map((e) => [e.peer.replace(/:\d+$/, ''), e.result]),
    [
      ['127.0.0.1', 'UNAUTHENTICATED'],
      ['127.0.0.1', 'UNAUTHENTICATED'],
      ['127.0.0.1', 'UNAUTHENTICATED'],
      ['127.0.0.1', 'RESOURCE_EXHAUSTED'],
      ['127.0.0.1', 'RESOURCE_EXHAUSTED'],
      ['127.0.0.1', 'RESOURCE_EXHAUSTED'],
      ['127.0.0.2', 'UNAUTHENTICATED'],
    ],
  );
});

test('10,000 refused calls: the audit stream stays under its byte limit, holds no request body, and counts every refusal', async (t) => {
  const limit = 1024 ** 2;
  const { coord, tokens } = await world(t, t.context.dir, 'audit', [], {
    // 5 refusals audited one by one per window, the rest summarised: the stream's
    // size then does not grow with the run's length (a slow machine runs more
    // 1 s windows; with 100 individual entries each, the byte bound evicted
    // early ones before they could be counted).
    env: { DRYDOCK_COORDINATOR_AUDIT_MAX_BYTES: '1MiB', DRYDOCK_COORDINATOR_AUDIT_REFUSAL_WINDOW: '1s', DRYDOCK_COORDINATOR_AUDIT_REFUSAL_ENTRIES: '5' },
  });
  const c = client(t, coord.port);
  const from = await coord.store.audit.lastSeq();
  // Big bodies: what a flood would like to get written.
  const secretish = `flood-${'x'.repeat(900)}`;
  const total = 10_000;
  let sent = 0;
  const codes: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: 50 }, async (_, w) => {
      while (sent < total) {
        const i = sent++;
        const o = i % 2 ? { token: `wrong-${w}-${i}` } : {};
        const code = await c.code(i % 3 ? 'CreateZone' : 'UpdateZone', { zone_id: `z${i}`, name: secretish, description: secretish }, o);
        codes[code] = (codes[code] ?? 0) + 1;
      }
    }),
  );
  t.deepEqual(codes, { [grpc.status.UNAUTHENTICATED]: total });
  // A valid write in between keeps its body.
  await c.call('CreateZone', { zone_id: 'z-ok', name: 'kept' }, { token: tokens.admin });

  // Summaries land when the window (1 s) ends.
  const count = (es: AuditEntry[]) => es.filter((e) => e.via === 'none').reduce((n, e) => n + (e.count ?? 1), 0);
  const audit = await waitFor(
    'every refusal accounted for',
    async () => {
      const es = await auditSince(coord, from);
      return count(es) >= total ? es : null;
    },
    30_000,
    250,
  );
  const info = await coord.nats.nc.jetstreamManager().then((m) => m.streams.info(streams.audit.name));
  t.log(`audit stream after ${total} refused calls: ${info.state.messages} entries, ${info.state.bytes} bytes (limit ${limit})`);
  t.true(info.state.bytes <= limit, `stream bytes ${info.state.bytes} <= ${limit}`);
  t.is(info.config.max_bytes, limit);
  t.is(count(audit), total, 'every refusal counted once');
  const unauth = audit.filter((e) => e.via === 'none');
  t.true(
    unauth.every((e) => e.request === '' && e.principal === ''),
    'no request body in unauthenticated entries',
  );
  t.false(
    unauth.some((e) => JSON.stringify(e).includes('flood-')),
    'the flooded bodies are nowhere',
  );
  const summaries = unauth.filter((e) => e.method === 'RefusedCalls');
  t.true(summaries.length >= 1 && summaries.every((e) => e.count! > 0 && e.peer === '127.0.0.1' && e.result === 'UNAUTHENTICATED'));
  t.deepEqual(Object.keys(summaries.reduce((m, e) => ({ ...m, ...e.methods }), {})).sort(), ['CreateZone', 'UpdateZone']);
  const ok = audit.find((e) => e.method === 'CreateZone' && e.result === 'OK');
  t.true(ok?.request.includes('kept'), 'an authenticated write keeps its request');
});

test('the byte limit holds against any writes (oldest go) and is applied to a stream made before it existed', async (t) => {
  const tn = await startTestNats({ dir: path.join(t.context.dir, 'bytes') });
  const node = tn.node;
  t.teardown(() => tn.stop());
  // The stream as earlier versions made it: bounded by count only.
  const nc = await tn.connect();
  t.teardown(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: streams.audit.name,
    subjects: [...streams.audit.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_msgs: 10_000_000,
    max_age: 365 * 24 * 3600 * 1e9,
  });
  t.is((await jsm.streams.info(streams.audit.name)).config.max_bytes, -1);

  const tokenFile = path.join(t.context.dir, 'bytes-users.yaml');
  writeFileSync(tokenFile, 'users: {}\n', { mode: 0o600 });
  const coord = await startCoordinator(
    testConfig({ id: 'coord-bytes', natsServers: [node.url], natsAuth: tn.coordinatorAuth, tokenFile, env: { DRYDOCK_COORDINATOR_AUDIT_MAX_BYTES: '1MiB' } }),
  );
  t.teardown(() => coord.stop());
  t.is((await jsm.streams.info(streams.audit.name)).config.max_bytes, 1024 ** 2, 'the existing stream got the limit');

  // 3 MiB of (authenticated-looking) entries.
  const big = 'y'.repeat(2000);
  for (let i = 0; i < 1500; i++) {
    await coord.store.audit.record({
      atMs: Date.now(),
      coordinatorId: 'coord-bytes',
      method: 'UpdateZone',
      principal: 'admin',
      via: 'token',
      peer: '127.0.0.1:1',
      request: big,
      result: 'OK',
      code: 0,
      message: `n${i}`,
    });
  }
  const info = await jsm.streams.info(streams.audit.name);
  t.log(`after 1500 entries of ~2 KB: ${info.state.messages} kept, ${info.state.bytes} bytes, first seq ${info.state.first_seq}`);
  t.true(info.state.bytes <= 1024 ** 2, `${info.state.bytes} bytes <= 1 MiB`);
  t.true(info.state.first_seq > 1, 'the oldest went');
  const last = await coord.store.audit.list(info.state.last_seq - 1);
  t.is(last.at(-1)?.entry.message, 'n1499', 'the newest is kept');
});
