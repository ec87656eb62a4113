// The chaos suite (scripts/chaos/) at its smallest: one trial of every sim
// fault on a small drain, each ending with zero invariant violations read
// from the hypervisors; and the invariant checker itself, fed broken worlds,
// reporting each breakage (a checker that cannot fail proves nothing).
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { ADMIN_TOKEN, startWorld } from '../harness/maintenance-world.ts';
import { checkInvariants, type Expectations, type SimState } from '../scripts/chaos/invariants.ts';
import { FAULTS } from '../scripts/chaos/faults.ts';
import { seededRandom } from '../scripts/chaos/runner.ts';

const GiB = 1024 ** 3;
const U1 = '00000000-0000-4000-8000-000000000001';
const U2 = '00000000-0000-4000-8000-000000000002';

function healthy(): { state: SimState; exp: Expectations } {
  return {
    state: {
      hosts: [
        { hostId: 'src', memoryTotalBytes: 64 * GiB, logicalCpus: 8, servers: [] },
        {
          hostId: 't1',
          memoryTotalBytes: 4 * GiB,
          logicalCpus: 8,
          servers: [{ uuid: U1, name: 'a', state: 'SERVER_STATE_RUNNING', memoryBytes: GiB, vcpus: 1 }],
        },
        {
          hostId: 't2',
          memoryTotalBytes: 4 * GiB,
          logicalCpus: 8,
          servers: [{ uuid: U2, name: 'b', state: 'SERVER_STATE_SHUTOFF', memoryBytes: GiB, vcpus: 1 }],
        },
        { hostId: 'off', memoryTotalBytes: 64 * GiB, logicalCpus: 8, servers: [] },
      ],
      starts: [
        { uuid: U1, from: 'src', to: 't1', mode: 'live', startedAtMs: 1010, result: 'completed' },
        { uuid: U2, from: 'src', to: 't2', mode: 'offline', startedAtMs: 2010, result: 'completed' },
      ],
      agentMigrations: [
        { migrationId: 'm1', serverUuid: U1, sourceHostId: 'src', startedAtMs: 1000, finishedAtMs: 1500 },
        { migrationId: 'm2', serverUuid: U2, sourceHostId: 'src', startedAtMs: 2000, finishedAtMs: 2500 },
      ],
    },
    exp: {
      servers: [
        { uuid: U1, name: 'a', state: 'SERVER_STATE_RUNNING' },
        { uuid: U2, name: 'b', state: 'SERVER_STATE_SHUTOFF' },
      ],
      forbidden: [
        { hostId: 'src', reason: 'in maintenance' },
        { hostId: 'off', reason: 'disabled' },
      ],
      memoryReserveBytes: GiB,
      cpuOvercommitRatio: 4,
      capacityExempt: ['src', 'off'],
    },
  };
}
const OPS = [{ id: 'op-1', state: 'OPERATION_STATE_SUCCEEDED', reason: 'done' }];

test('invariant checker: a healthy world has no violation', (t) => {
  const { state, exp } = healthy();
  t.deepEqual(checkInvariants(state, exp, OPS), []);
});

test('invariant checker: a server on two hosts, a lost one, a wrong power state', (t) => {
  const { state, exp } = healthy();
  state.hosts[2]!.servers.push({ uuid: U1, name: 'a', state: 'SERVER_STATE_RUNNING', memoryBytes: GiB, vcpus: 1 });
  state.hosts[2]!.servers = state.hosts[2]!.servers.filter((s) => s.uuid !== U2);
  const kinds = checkInvariants(state, exp, OPS).map((v) => v.invariant);
  t.true(kinds.includes('exactly-one-host'), kinds.join());
  t.true(kinds.includes('lost'), kinds.join());
  const { state: s2, exp: e2 } = healthy();
  s2.hosts[1]!.servers[0]!.state = 'SERVER_STATE_SHUTOFF';
  t.deepEqual(
    checkInvariants(s2, e2, OPS).map((v) => v.invariant),
    ['power-state'],
  );
});

test('invariant checker: an over-capacity host (memory past the reserve, vCPUs past the overcommit)', (t) => {
  const { state, exp } = healthy();
  state.hosts[1]!.servers.push({ uuid: 'x1', name: 'x', state: 'SERVER_STATE_SHUTOFF', memoryBytes: 2 * GiB + 1, vcpus: 1 });
  const v = checkInvariants(state, exp, OPS);
  t.deepEqual(
    v.map((x) => x.invariant),
    ['capacity'],
  );
  t.regex(v[0]!.detail, /t1 holds/);
  const { state: s2, exp: e2 } = healthy();
  s2.hosts[2]!.servers[0]!.vcpus = 33;
  t.deepEqual(
    checkInvariants(s2, e2, OPS).map((x) => x.invariant),
    ['capacity'],
  );
});

test('invariant checker: a server on a forbidden host, an operation left running or paused without a reason', (t) => {
  const { state, exp } = healthy();
  const moved = state.hosts[1]!.servers.pop()!;
  state.hosts[3]!.servers.push(moved);
  t.deepEqual(
    checkInvariants(state, exp, OPS).map((v) => v.invariant),
    ['forbidden-host'],
  );
  const { state: s2, exp: e2 } = healthy();
  const v = checkInvariants(s2, e2, [
    { id: 'op-1', state: 'OPERATION_STATE_RUNNING', reason: 'draining' },
    { id: 'op-2', state: 'OPERATION_STATE_PAUSED', reason: '' },
    { id: 'op-3', state: 'OPERATION_STATE_PAUSED', reason: 'a: 3 attempts failed' },
  ]);
  t.deepEqual(
    v.map((x) => x.detail.split(' ')[1]),
    ['op-1', 'op-2'],
  );
});

test('invariant checker: a migration id started twice, a start without a record, a server moved twice', (t) => {
  const { state, exp } = healthy();
  // The agent ran m1 into the hypervisor twice (a replay after a restart).
  state.starts.splice(1, 0, { uuid: U1, from: 'src', to: 't2', mode: 'live', startedAtMs: 1200, result: 'aborted' });
  t.deepEqual(
    checkInvariants(state, exp, OPS).map((v) => v.invariant),
    ['migration-started-twice'],
  );
  const { state: s2, exp: e2 } = healthy();
  s2.starts.push({ uuid: U2, from: 'src', to: 't1', mode: 'offline', startedAtMs: 9000, result: 'failed' });
  t.deepEqual(
    checkInvariants(s2, e2, OPS).map((v) => v.invariant),
    ['unattributed-migration'],
  );
  const { state: s3, exp: e3 } = healthy();
  s3.agentMigrations.push({ migrationId: 'm3', serverUuid: U1, sourceHostId: 't1', startedAtMs: 3000, finishedAtMs: 3500 });
  s3.starts.push({ uuid: U1, from: 't1', to: 't2', mode: 'live', startedAtMs: 3010, result: 'completed' });
  t.true(checkInvariants(s3, e3, OPS).some((v) => v.invariant === 'moved-twice'));
});

// One trial of every fault, small: zero violations, nothing lost.
for (const fault of FAULTS.filter((f) => f.name !== 'baseline')) {
  test.serial(`chaos: ${fault.name} (one small trial) holds every invariant`, async (t) => {
    t.timeout(180_000);
    const result = await fault.run({ servers: 8, requests: 400, random: seededRandom(42), log: () => undefined });
    t.log(`${result.outcome}; recovery ${result.recoveryMs ?? '-'} ms; ${result.notes.join('; ')}`);
    t.false(result.outcome.startsWith('error'), result.outcome);
    t.deepEqual(result.violations, []);
    t.is(result.lost, 0);
    // The drain faults find nothing besides the invariants either (admin-fuzz's findings are grpc-js's, RELIABILITY.md).
    if (fault.name !== 'admin-fuzz') t.deepEqual(result.findings, []);
  });
}

// Found by admin-fuzz: an error echoing a huge request field (a 300 KiB host
// id in "... must match ...") did not fit the HTTP/2 trailers; the call hung
// to its deadline and the connection stopped answering. The status message
// is capped (common/grpc-status.ts).
test.serial('a 300 KiB host id is refused with INVALID_ARGUMENT at once, and the same connection keeps answering', async (t) => {
  t.timeout(120_000);
  const w = await startWorld({ hosts: 1 });
  t.teardown(() => w.close());
  const t0 = Date.now();
  t.is(await w.admin.code('GetHost', { host_id: 'A'.repeat(300 * 1024) }, { token: ADMIN_TOKEN, timeoutMs: 10_000 }), status.INVALID_ARGUMENT);
  t.true(Date.now() - t0 < 9000, `answered after ${Date.now() - t0} ms`);
  const err = await w.admin
    .call('GetHost', { host_id: 'B'.repeat(300 * 1024) }, { token: ADMIN_TOKEN, timeoutMs: 10_000 })
    .catch((e: { details: string }) => e);
  t.true((err as { details: string }).details.length < 5000, 'the message is capped');
  t.is(await w.admin.code('ListHosts', {}, { token: ADMIN_TOKEN, timeoutMs: 10_000 }), status.OK);
});
