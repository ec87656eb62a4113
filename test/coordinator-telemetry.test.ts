// What keeps the coordinator's cost of N heartbeating hosts flat (issue 13
// target 4, issue 12 defect 5), with plain data: the servers digest agents
// and records agree on, the reconcile pass asking only the hosts whose digest
// differs (plus a share of the rest, so each is asked every fullEvery), and
// the liveness table that drops hosts silent for long.
import test from 'ava';
import { serversDigest } from '../common/servers-digest.ts';
import { Liveness } from '../coordinator/inventory/liveness.ts';
import { movesHeardFromBothSides, ReconcileTargets, type VersionedRecords } from '../coordinator/inventory/reconcile-targets.ts';
import type { ServerRecord } from '../coordinator/model.ts';
import type { HeartbeatMessage } from '../common/subjects.ts';

const NOW = 1_700_000_000_000;
const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';

test('servers digest: agent and record spellings agree, order does not matter, any difference shows', (t) => {
  const agent = serversDigest([
    { uuid: U2.toUpperCase(), state: 'SERVER_STATE_SHUT_OFF' },
    { uuid: U1, state: 'SERVER_STATE_RUNNING' },
  ]);
  const records = serversDigest([
    { uuid: U1, state: 'running' },
    { uuid: U2, state: 'shut_off' },
  ]);
  t.is(agent, records);
  t.not(serversDigest([{ uuid: U1, state: 'running' }]), records, 'a server less');
  t.not(
    serversDigest([
      { uuid: U1, state: 'paused' },
      { uuid: U2, state: 'shut_off' },
    ]),
    records,
    'another state',
  );
  t.is(serversDigest([]), serversDigest([]));
  t.not(serversDigest([]), records);
});

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${String(i).padStart(3, '0')}`);

test('reconcile targets: only hosts whose digest differs or who send none, plus the oldest share of the rest', (t) => {
  const targets = new ReconcileTargets(600_000);
  const ids = hosts(100);
  const records = new Map(ids.map((id) => [id, `d-${id}`]));
  const online = ids.map((hostId) => ({ hostId, digest: `d-${hostId}` }));
  online[5]!.digest = 'other'; // differs
  online[7]!.digest = ''; // an agent that sends none
  // 100 hosts, passes every 30 s, each asked at least every 10 min: 5 a pass besides the differing ones.
  const first = targets.pick(online, (id) => records.get(id)!, 30_000);
  t.deepEqual(first, ['h000', 'h001', 'h002', 'h003', 'h004', 'h005', 'h007']);
  targets.checked(first, NOW);
  const second = targets.pick(online, (id) => records.get(id)!, 30_000);
  t.true(second.includes('h005') && second.includes('h007'), 'differing digests are asked every pass');
  t.deepEqual(
    second.filter((id) => id !== 'h005' && id !== 'h007'),
    ['h006', 'h008', 'h009', 'h010', 'h011'],
    'then the hosts not asked yet',
  );
  // Over fullEvery / interval passes, every host is asked.
  const asked = new Set([...first, ...second]);
  targets.checked(second, NOW + 30_000);
  for (let pass = 2; pass < 20; pass++) {
    const p = targets.pick(online, (id) => records.get(id)!, 30_000);
    p.forEach((id) => asked.add(id));
    targets.checked(p, NOW + pass * 30_000);
  }
  t.is(asked.size, 100);
  // A host whose facts were missed (no record, or another incarnation) is asked every pass, digest or not.
  const unregistered = online.map((h) => (h.hostId === 'h050' ? { ...h, unregistered: true } : h));
  t.true(targets.pick(unregistered, (id) => records.get(id)!, 30_000).includes('h050'));
  t.true(targets.pick(unregistered, (id) => records.get(id)!, 30_000).includes('h050'));
  // Hosts that go offline leave the table.
  targets.pick(online.slice(0, 10), (id) => records.get(id)!, 30_000);
  t.true(targets.size <= 10);
});

test('reconcile targets: a host busy with a sync of all its servers (its facts, its heartbeat) is left to it; what it owes waits for the next pass', (t) => {
  const targets = new ReconcileTargets(600_000);
  const records = new Map([
    ['h1', 'd1'],
    ['h2', 'd2'],
    ['h3', 'd3'],
  ]);
  // h1 and h2 registering: their digests differ from their (missing) records; h3 owes its word on a move.
  const online = [
    { hostId: 'h1', digest: 'new-1', unregistered: true },
    { hostId: 'h2', digest: 'new-2' },
    { hostId: 'h3', digest: 'd3' },
  ];
  targets.require('h3');
  const busy = new Set(['h1', 'h2', 'h3']);
  const pick = (intervalMs: number) =>
    targets.pick(
      online,
      (id) => records.get(id)!,
      intervalMs,
      (id) => busy.has(id),
    );
  // A share of one host a pass (3 hosts, 10-minute period, 200 s passes): not spent on a busy host either.
  t.deepEqual(pick(200_000), []);
  // 30 s passes from here: a share of 0.15 host a pass, none spent in this test.
  busy.delete('h3');
  t.deepEqual(pick(30_000), ['h3'], 'the move still gets its word');
  busy.clear();
  t.deepEqual(pick(30_000), ['h1', 'h2'], 'their syncs ended without recording what they report: asked as before');
});

test('reconcile targets: a move away from an online host that was not asked waits for its word; it is asked next pass', (t) => {
  const targets = new ReconcileTargets(600_000);
  const rec = (uuid: string, hostId: string) => ({ value: { uuid, hostId } as ServerRecord, revision: 1 });
  const records: VersionedRecords = new Map([
    [U1, rec(U1, 'a')],
    [U2, rec(U2, 'c')],
  ]);
  const report = { uuid: '', state: 'SERVER_STATE_RUNNING' } as never;
  const changes = movesHeardFromBothSides(
    [
      { kind: 'update', uuid: U1, hostId: 'b', report },
      { kind: 'update', uuid: U2, hostId: 'b', report },
    ],
    records,
    new Set(['b']),
    (id) => id === 'a', // a online (not asked), c offline
    targets,
  );
  t.deepEqual(
    changes.map((c) => c.kind === 'update' && c.uuid),
    [U2],
    'the move from offline c stands; the one from online a waits',
  );
  const next = targets.pick(
    [
      { hostId: 'a', digest: 'x' },
      { hostId: 'b', digest: 'y' },
    ],
    (id) => (id === 'a' ? 'x' : 'y'),
    1,
  );
  t.true(next.includes('a'), 'a is asked next pass although its digest agrees');
});

const beat = (host_id: string, servers_digest?: string): HeartbeatMessage => ({
  host_id,
  incarnation: 'i1',
  boot_id: 'b',
  memory_free_bytes: 1,
  server_count: 0,
  running_count: 0,
  sent_at_ms: 0,
  grpc_endpoint: '127.0.0.1:1',
  ...(servers_digest === undefined ? {} : { servers_digest }),
});

test('liveness: a host silent for forgetAfter leaves the table; the digest is kept; entries are not shared with readers', (t) => {
  const l = new Liveness(10_000, 3600_000);
  l.beat(beat('old'), NOW);
  l.beat(beat('busy', 'abc'), NOW);
  t.is(l.size, 2);
  t.is(l.get('busy')?.serversDigest, 'abc');
  t.is(l.get('old')?.serversDigest, '');
  const copy = l.get('busy')!;
  copy.grpcEndpoint = 'changed';
  t.is(l.get('busy')!.grpcEndpoint, '127.0.0.1:1');
  // busy keeps beating; old is silent. Beats prune at most every forgetAfter / 10.
  for (let m = 1; m <= 61; m++) l.beat(beat('busy', 'abc'), NOW + m * 60_000);
  t.is(l.size, 1);
  t.is(l.get('old'), undefined);
  t.false(l.isOnline('old', NOW + 61 * 60_000));
  t.is(l.beat(beat('old'), NOW + 62 * 60_000), 'new-host', 'a forgotten host that returns is new');
});
