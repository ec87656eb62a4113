// The inventory's pure rules, with plain data: server reconciliation (what
// agents report vs. the records), registration from facts, and liveness
// from heartbeats with time as an argument.
import test from 'ava';
import type { Server as AgentServer } from '../common/generated/drydock/agent/v1/Server.ts';
import { pino } from 'pino';
import { mergeReport, syncAllHosts, syncOneHost, wellFormedReport } from '../coordinator/inventory/reconcile.ts';
import { HostMessageRejections } from '../coordinator/inventory/rejections.ts';
import { hostOfSubject, subjects } from '../common/subjects.ts';
import { applyFacts } from '../coordinator/inventory/registration.ts';
import { Liveness } from '../coordinator/inventory/liveness.ts';
import { serverFromAgent, type ServerRecord } from '../coordinator/model.ts';
import { InFlight, KeyedCoalescer, Limiter, mapSettled } from '../coordinator/concurrency.ts';

const NOW = 1_700_000_000_000;

function rep(uuid: string, state: AgentServer['state'] = 'SERVER_STATE_RUNNING', extra: Partial<AgentServer> = {}): AgentServer {
  return {
    uuid,
    name: `vs-${uuid}`,
    state,
    vcpus: 1,
    memory_bytes: 512,
    disks: [],
    cpu: { mode: 'host-model', model: '', features: [], xml: '' },
    hot_migration: true,
    smart: false,
    persistent: true,
    domain_type: 'kvm',
    ...extra,
  };
}
const rec = (uuid: string, hostId: string, over: Partial<ServerRecord> = {}): ServerRecord => ({ ...serverFromAgent(hostId, rep(uuid), NOW - 1000), ...over });
const map = (...rs: ServerRecord[]) => new Map(rs.map((r) => [r.uuid, r]));

test('full pass: create the new, delete the gone (its host answered), keep the silent', (t) => {
  const changes = syncAllHosts(
    new Map([
      ['h1', [rep('a'), rep('new')]],
      ['h2', []],
    ]),
    map(rec('a', 'h1'), rec('gone', 'h2'), rec('silent', 'h3')),
    NOW,
  );
  t.deepEqual(changes.map((c) => [c.kind, 'record' in c ? c.record.uuid : c.uuid]).sort(), [
    ['create', 'new'],
    ['delete', 'gone'],
  ]);
});

test('full pass: a server reported by another host moves there; during a migration the running copy wins', (t) => {
  const moved = syncAllHosts(
    new Map([
      ['h1', []],
      ['h2', [rep('a')]],
    ]),
    map(rec('a', 'h1')),
    NOW,
  );
  t.deepEqual(
    moved.map((c) => [c.kind, c.kind === 'update' ? c.hostId : '']),
    [['update', 'h2']],
  );
  // Both hosts list it (shut-off leftover on the source, running on the target): it is on the running one.
  const both = syncAllHosts(
    new Map([
      ['h1', [rep('a', 'SERVER_STATE_SHUTOFF')]],
      ['h2', [rep('a')]],
    ]),
    map(rec('a', 'h1')),
    NOW,
  );
  t.deepEqual(
    both.map((c) => (c.kind === 'update' ? c.hostId : c.kind)),
    ['h2'],
  );
  // Neither runs: it stays where the record says.
  const off = syncAllHosts(
    new Map([
      ['h1', [rep('a', 'SERVER_STATE_SHUTOFF')]],
      ['h2', [rep('a', 'SERVER_STATE_SHUTOFF')]],
    ]),
    map(rec('a', 'h1', { state: 'shutoff' })),
    NOW,
  );
  t.deepEqual(off, []);
});

test('full pass: a server an operation owns is neither moved nor deleted (the engine decides)', (t) => {
  const owned = rec('a', 'h1', { operationId: 'op-1' });
  t.deepEqual(
    syncAllHosts(
      new Map([
        ['h1', []],
        ['h2', [rep('a')]],
      ]),
      map(owned),
      NOW,
    ),
    [],
  );
  t.deepEqual(syncAllHosts(new Map([['h1', []]]), map(owned), NOW), []);
});

test('one host: creates and updates, never deletes; no change → nothing', (t) => {
  const changes = syncOneHost('h1', [rep('a', 'SERVER_STATE_SHUTOFF'), rep('b')], map(rec('a', 'h1'), rec('c', 'h1')), NOW);
  t.deepEqual(changes.map((c) => c.kind).sort(), ['create', 'update']);
  t.deepEqual(syncOneHost('h1', [rep('a')], map(rec('a', 'h1')), NOW), []);
  // Elsewhere and running here: moved. Elsewhere running, here shut off: a stale definition, ignored.
  t.is(syncOneHost('h2', [rep('a')], map(rec('a', 'h1')), NOW).length, 1);
  t.is(syncOneHost('h2', [rep('a', 'SERVER_STATE_SHUTOFF')], map(rec('a', 'h1')), NOW).length, 0);
});

test('operator flags survive agent reports once set', (t) => {
  const r = rec('a', 'h1', { hotMigration: false, smart: true, flagsSetByOperator: true });
  const next = mergeReport(r, 'h1', rep('a', 'SERVER_STATE_PAUSED', { hot_migration: true, smart: false }), NOW)!;
  t.is(next.state, 'paused');
  t.false(next.hotMigration);
  t.true(next.smart);
  t.is(next.updatedAtMs, NOW);
  const seeded = mergeReport(rec('b', 'h1'), 'h1', rep('b', 'SERVER_STATE_RUNNING', { smart: true }), NOW)!;
  t.true(seeded.smart, 'before the operator decides, the domain metadata seeds the flags');
});

test('registration: a new host starts enabled, unzoned, in service; facts never touch operator fields; volatile facts skip the write', (t) => {
  const facts = {
    host_id: 'h1',
    hostname: 'kvm-a',
    hypervisor_type: 'kvm',
    grpc_endpoint: '10.0.0.1:7400',
    incarnation: 'i1',
    memory_total_bytes: 100,
    memory_free_bytes: 50,
    storage_cluster: 'vs-1',
  };
  const h = applyFacts(null, facts, NOW)!;
  t.like(h, { id: 'h1', enabled: true, zoneId: '', maintenance: 'none', storageCluster: 'vs-1', registeredAtMs: NOW });
  const operated = { ...h, zoneId: 'z', enabled: false, label: 'L', storageCluster: 'other', maintenance: 'in_maintenance' as const };
  t.is(applyFacts(operated, { ...facts, memory_free_bytes: 10 }, NOW + 1), undefined, 'only free memory changed: no write');
  const restarted = applyFacts(operated, { ...facts, incarnation: 'i2', storage_cluster: 'ignored' }, NOW + 2)!;
  t.like(restarted, {
    incarnation: 'i2',
    zoneId: 'z',
    enabled: false,
    label: 'L',
    storageCluster: 'other',
    maintenance: 'in_maintenance',
    registeredAtMs: NOW,
  });
});

test('liveness: online until offlineAfter without a heartbeat; restarts and returns are told apart', (t) => {
  const l = new Liveness(10_000);
  const hb = (incarnation: string) => ({
    host_id: 'h1',
    incarnation,
    boot_id: 'b',
    memory_free_bytes: 1,
    server_count: 0,
    running_count: 0,
    sent_at_ms: 0,
    grpc_endpoint: 'e',
  });
  t.is(l.beat(hb('i1'), NOW), 'new-host');
  t.true(l.isOnline('h1', NOW + 9_999));
  t.false(l.isOnline('h1', NOW + 10_000));
  t.is(l.beat(hb('i1'), NOW + 2000), 'alive');
  t.is(l.beat(hb('i1'), NOW + 20_000), 'back-online');
  t.is(l.beat(hb('i2'), NOW + 21_000), 'restarted');
  t.false(l.isOnline('nobody', NOW));
});

test('per-host coalescing: a burst collapses into one follow-up run of the latest work', async (t) => {
  const c = new KeyedCoalescer();
  const ran: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const first = c.run('h1', async () => {
    ran.push('first');
    await gate;
  });
  const mk = (name: string) => async () => void ran.push(name);
  const p2 = c.run('h1', mk('second'));
  const p3 = c.run('h1', mk('third'));
  const other = c.run('h2', mk('other-key'));
  release();
  await Promise.all([first, p2, p3, other]);
  t.deepEqual(ran, ['first', 'other-key', 'third']);
  // A failing run followed by a good one resolves; a failing last run rejects.
  await t.throwsAsync(
    c.run('h3', async () => {
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
});

test('mapSettled keeps at most `limit` in flight and settles every item', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const res = await mapSettled([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    if (n === 4) throw new Error('four');
    return n * 2;
  });
  t.is(peak, 3);
  t.deepEqual(
    res.map((r) => (r.status === 'fulfilled' ? r.value : 'x')),
    [2, 4, 6, 'x', 10, 12, 14],
  );
});

test('Limiter: at most `limit` run at once, the others in arrival order; a failure frees its slot', async (t) => {
  const lim = new Limiter(2);
  let inFlight = 0;
  let peak = 0;
  const started: number[] = [];
  const runs = [1, 2, 3, 4, 5, 6].map((n) =>
    lim.run(async () => {
      started.push(n);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (n === 2) throw new Error('two');
      return n;
    }),
  );
  t.deepEqual(lim.size, { active: 2, waiting: 4 });
  const res = await Promise.allSettled(runs);
  t.is(peak, 2);
  t.deepEqual(started, [1, 2, 3, 4, 5, 6]);
  t.deepEqual(
    res.map((r) => (r.status === 'fulfilled' ? r.value : 'x')),
    [1, 'x', 3, 4, 5, 6],
  );
  t.deepEqual(lim.size, { active: 0, waiting: 0 });
});

test('a host subject names its host; anything else names none', (t) => {
  t.is(hostOfSubject(subjects.hostFacts('kvm-1')), 'kvm-1');
  t.is(hostOfSubject(subjects.hostHeartbeat('h_2')), 'h_2');
  t.is(hostOfSubject(subjects.hostEvents('h3')), 'h3');
  for (const s of ['drydock.v1.hosts.facts', 'drydock.v1.hosts..facts', 'drydock.v1.hosts.a.b.facts', 'drydock.v1.ops.o1.events', 'other.hosts.h1.facts']) {
    t.is(hostOfSubject(s), undefined, s);
  }
});

test('agent reports: entries without a uuid are dropped, uuids keyed in lower case (no second record of one server)', (t) => {
  const upper = '6695EB01-F6A4-8304-79AA-97F2502E193F';
  const out = wellFormedReport([rep(upper), rep('not-a-uuid'), rep('../../x'), { ...rep('a'), uuid: undefined as unknown as string }]);
  t.deepEqual(
    out.map((s) => s.uuid),
    [upper.toLowerCase()],
  );
});

test('refused host messages: every one counted, logged once per interval per reason and host, without the offending value', (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  let now = NOW;
  const r = new HostMessageRejections(log, 60_000, () => now);
  for (let i = 0; i < 100; i++) r.reject('subject-mismatch', 'h2', { bodyHost: 'h1' }, 'dropped');
  r.reject('subject-mismatch', 'h3', { bodyHost: 'h1' }, 'dropped');
  r.reject('bad-facts', 'h2', { problem: 'migration_uri: x' }, 'refused');
  t.is(lines.length, 3, 'one line per (reason, host) within the interval');
  now += 60_000;
  r.reject('subject-mismatch', 'h2', { bodyHost: 'h1' }, 'dropped');
  t.is(lines.length, 4);
  t.like(lines[3], { reason: 'subject-mismatch', subjectHost: 'h2', suppressedSinceLastLog: 99 });
  t.like(r.counts(), { 'subject-mismatch': 102, 'bad-facts': 1, 'bad-heartbeat': 0 });
});

test('InFlight: a key is busy while any of its work runs, and free once all of it settled, rejected or not', async (t) => {
  const busy = new InFlight();
  let endA!: () => void;
  let failB!: (e: Error) => void;
  const a = busy.track('h1', new Promise<void>((r) => (endA = r)));
  const b = busy.track('h1', new Promise<void>((_, j) => (failB = j)));
  t.true(busy.has('h1'));
  t.false(busy.has('h2'));
  failB(new Error('agent gone'));
  await t.throwsAsync(b, { message: 'agent gone' });
  t.true(busy.has('h1'), 'the other work on h1 still runs');
  endA();
  await a;
  t.false(busy.has('h1'));
  t.is(busy.size, 0);
});
