// The pure planner, scenario by scenario: every check, both policies, the
// refusals, the estimate, pickTarget's retry cap and the plan renderer.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { FailedPreconditionError, NotFoundError } from '../common/errors.ts';
import type { InventorySnapshot, ServerRecord } from '../coordinator/model.ts';
import { DEFAULT_ZONE_POLICY, localDiskBytes } from '../coordinator/model.ts';
import {
  NoValidTargetError,
  PlanRefusedError,
  Reservations,
  UnmigratableServersError,
  assertPlanRunnable,
  estimateServerSeconds,
  estimateTotalSeconds,
  formatPlan,
  pickTarget,
  evaluateTarget,
  planMaintenance,
  GIB,
  MIB,
  localDisk,
  makeHost,
  makeServer,
  makeSnapshot,
  makeZone,
  makePool,
  mulberry32,
  randomSnapshot,
  sharedDisk,
  shuffle,
  syntheticUuid,
} from '../coordinator/planner/index.ts';
import type { CpuCompatibleFn, Plan, PlannedServer } from '../coordinator/planner/index.ts';

const RESERVE = DEFAULT_ZONE_POLICY.hostMemoryReserveBytes;

function plan(snapshot: InventorySnapshot, hostId = 'h1', stopUnmigratable = false, options: Parameters<typeof planMaintenance>[2] = {}): Plan {
  return planMaintenance(snapshot, { hostId, stopUnmigratable }, options);
}

function byName(p: Plan, name: string): PlannedServer {
  const found = [...p.servers, ...p.blockers].find((s) => s.serverName === name);
  if (!found) throw new Error(`server ${name} not in plan`);
  return found;
}

function targets(p: Plan): string[] {
  return p.servers.map((s) => s.targetHostId);
}

/** Host with exactly `free` bytes promisable after the default 1 GiB reserve. */
function hostWithRoom(id: string, free: number, overrides: Parameters<typeof makeHost>[1] = {}) {
  const total = free + RESERVE;
  return makeHost(id, { memoryTotalBytes: total, memoryFreeBytes: total, ...overrides });
}

// ---------------------------------------------------------------- modes

test('each server moves live or cold by its flags and power state', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), makeHost('h2')],
    servers: [
      makeServer('live', 'h1'),
      makeServer('smart', 'h1', { smart: true }),
      makeServer('nohot', 'h1', { hotMigration: false }),
      makeServer('off', 'h1', { state: 'shutoff' }),
      makeServer('offsmart', 'h1', { state: 'shutoff', smart: true }),
      makeServer('elsewhere', 'h2'),
    ],
  });
  const p = plan(s);
  t.deepEqual(p.refusals, []);
  t.deepEqual(p.blockers, []);
  t.is(p.servers.length, 5, 'only the servers of h1');
  t.like(byName(p, 'live'), { action: 'LIVE_MIGRATE', wasRunning: true, targetHostId: 'h2' });
  t.like(byName(p, 'smart'), { action: 'COLD_MIGRATE', wasRunning: true });
  t.like(byName(p, 'nohot'), { action: 'COLD_MIGRATE', wasRunning: true });
  t.like(byName(p, 'off'), { action: 'COLD_MIGRATE', wasRunning: false });
  t.like(byName(p, 'offsmart'), { action: 'COLD_MIGRATE', wasRunning: false });
  t.regex(byName(p, 'smart').reason, /smart server/);
  t.true(p.warnings.some((w) => /move cold .*downtime.*smart.*nohot|move cold .*downtime.*nohot.*smart/.test(w)));
  t.is(p.reservations.length, 5);
  t.is(p.plannedAtMs, s.takenAtMs, 'time comes from the snapshot');
});

test('a host with no servers plans to nothing, runnable', (t) => {
  const p = plan(makeSnapshot({ hosts: [makeHost('h1'), makeHost('h2')], servers: [] }));
  t.deepEqual(p.servers, []);
  t.deepEqual(p.warnings, []);
  t.is(p.estimatedSeconds, 0);
  t.notThrows(() => assertPlanRunnable(p));
  t.regex(formatPlan(p), /No servers on h1/);
});

// ---------------------------------------------------------------- refusals

test('host-level refusals: non-KVM, unknown, no zone, unknown zone, in maintenance, returning, offline', (t) => {
  const hosts = [
    makeHost('xen1', { hypervisorType: 'xen' }),
    makeHost('nozone', { zoneId: '' }),
    makeHost('badzone', { zoneId: 'zz' }),
    makeHost('maint', { maintenance: 'in_maintenance' }),
    makeHost('ret', { maintenance: 'returning' }),
    makeHost('down', { online: false }),
    makeHost('h2'),
  ];
  const servers = hosts.map((h) => makeServer(`vs-${h.id}`, h.id));
  const s = makeSnapshot({ hosts, servers });
  const cases: [string, string][] = [
    ['xen1', 'not-kvm'],
    ['nozone', 'no-zone'],
    ['badzone', 'zone-not-found'],
    ['maint', 'in-maintenance'],
    ['ret', 'returning'],
    ['down', 'offline'],
    ['nope', 'host-not-found'],
  ];
  for (const [hostId, code] of cases) {
    const p = plan(s, hostId, true);
    t.deepEqual(
      p.refusals.map((r) => r.code),
      [code],
      hostId,
    );
    t.deepEqual(p.servers, [], `${hostId}: refused plans move nothing`);
    const err = t.throws(() => assertPlanRunnable(p))!;
    if (code === 'host-not-found') {
      t.true(err instanceof NotFoundError);
      t.is((err as NotFoundError).code, status.NOT_FOUND);
    } else {
      t.true(err instanceof PlanRefusedError, hostId);
      t.is((err as PlanRefusedError).code, status.FAILED_PRECONDITION);
    }
  }
  t.regex(plan(s, 'xen1').refusals[0]!.message, /KVM compute resources only/);
  t.regex(formatPlan(plan(s, 'xen1')), /Refused[\s\S]*REFUSED/);
});

test('a host already entering maintenance is planned again (resume after cancel), with a warning', (t) => {
  const s = makeSnapshot({ hosts: [makeHost('h1', { maintenance: 'entering', maintenanceOpId: 'op7' }), makeHost('h2')], servers: [makeServer('a', 'h1')] });
  const p = plan(s);
  t.deepEqual(p.refusals, []);
  t.deepEqual(targets(p), ['h2']);
  t.true(p.warnings.some((w) => w.includes('already entering maintenance') && w.includes('op7')));
});

// ---------------------------------------------------------------- never a target

test('disabled, offline, other-zone, in/entering/returning maintenance, non-KVM and source hosts are never chosen', (t) => {
  // Every excluded host is huge so that SPREAD would pick it if a check let it through.
  const big = { memoryTotalBytes: 1024 * GIB, memoryFreeBytes: 1024 * GIB };
  const hosts = [
    makeHost('h1', big),
    makeHost('a-disabled', { ...big, enabled: false }),
    makeHost('b-offline', { ...big, online: false }),
    makeHost('c-otherzone', { ...big, zoneId: 'z2' }),
    makeHost('d-maint', { ...big, maintenance: 'in_maintenance' }),
    makeHost('e-entering', { ...big, maintenance: 'entering' }),
    makeHost('f-returning', { ...big, maintenance: 'returning' }),
    makeHost('g-xen', { ...big, hypervisorType: 'xen' }),
    makeHost('h-nozone', { ...big, zoneId: '' }),
    makeHost('ok', { memoryTotalBytes: 64 * GIB, memoryFreeBytes: 64 * GIB }),
  ];
  const servers = Array.from({ length: 6 }, (_, i) => makeServer(`vs${i}`, 'h1', { memoryBytes: 4 * GIB }));
  const s = makeSnapshot({ zones: [makeZone('z1'), makeZone('z2')], hosts, servers });
  const p = plan(s);
  t.deepEqual([...new Set(targets(p))], ['ok']);
  const cands = p.servers[0]!.candidates;
  t.false(
    cands.some((c) => c.hostId === 'c-otherzone' || c.hostId === 'h-nozone'),
    'other zones are not listed',
  );
  const why = (id: string) =>
    cands
      .find((c) => c.hostId === id)!
      .checks.filter((r) => r.verdict === 'skip')
      .map((r) => r.check);
  t.deepEqual(why('h1'), ['not-source']);
  t.deepEqual(why('a-disabled'), ['enabled']);
  t.deepEqual(why('b-offline'), ['online']);
  t.deepEqual(why('d-maint'), ['not-in-maintenance']);
  t.deepEqual(why('e-entering'), ['not-in-maintenance']);
  t.deepEqual(why('f-returning'), ['not-in-maintenance']);
  t.deepEqual(why('g-xen'), ['kvm']);
  t.true(cands.find((c) => c.hostId === 'ok')!.eligible);
});

test('a kvm domain never goes to a TCG-only (qemu) host; a qemu domain may', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), makeHost('h2', { hypervisorType: 'qemu', memoryTotalBytes: 256 * GIB, memoryFreeBytes: 256 * GIB }), makeHost('h3')],
    servers: [makeServer('k', 'h1', { domainType: 'kvm' }), makeServer('q', 'h1', { domainType: 'qemu' })],
  });
  const p = plan(s);
  t.is(byName(p, 'k').targetHostId, 'h3');
  t.is(byName(p, 'q').targetHostId, 'h2');
});

test('the only host of its zone: every server is a blocker with a clear reason', (t) => {
  const s = makeSnapshot({
    zones: [makeZone('z1'), makeZone('z2')],
    hosts: [makeHost('h1'), makeHost('h2', { zoneId: 'z2' })],
    servers: [makeServer('a', 'h1')],
  });
  const p = plan(s);
  t.is(p.blockers.length, 1);
  t.regex(p.blockers[0]!.reason, /no other host in the zone \(1 host\(s\) of other zones/);
});

// ---------------------------------------------------------------- capacity

test('tight capacity: some servers stop, no target is ever overcommitted', (t) => {
  const hosts = [
    makeHost('h1', { memoryTotalBytes: 256 * GIB, memoryFreeBytes: 100 * GIB }),
    hostWithRoom('h2', 10 * GIB),
    hostWithRoom('h3', 7 * GIB),
    hostWithRoom('h4', 3 * GIB),
  ];
  const sizes = [8, 6, 4, 4, 3, 2, 2, 1, 1, 1];
  const servers = sizes.map((g, i) => makeServer(`vs${i}`, 'h1', { memoryBytes: g * GIB, vcpus: 1 }));
  const s = makeSnapshot({ hosts, servers });
  const p = plan(s, 'h1', true);
  const stops = p.servers.filter((x) => x.action === 'STOP');
  t.true(stops.length > 0, 'some stop');
  t.true(p.servers.length - stops.length > 0, 'some move');
  t.deepEqual(p.blockers, []);
  t.is(p.servers.length, sizes.length);
  // Capacity: total − allocation − reserve, and reported free − reserve.
  for (const h of hosts.slice(1)) {
    const sum = p.reservations.filter((r) => r.hostId === h.id).reduce((a, r) => a + r.memoryBytes, 0);
    t.true(sum <= h.memoryTotalBytes - RESERVE, `${h.id}: ${sum} reserved`);
    t.true(sum <= h.memoryFreeBytes - RESERVE);
  }
  // 23 GiB of room for 32 GiB of servers: greedy largest-first packs 8+2 / 6+1 / 3 or similar; at least 9 GiB stops.
  t.true(stops.reduce((a, x) => a + x.memoryBytes, 0) >= 9 * GIB);
  t.notThrows(() => assertPlanRunnable(p));
  t.true(p.warnings.some((w) => /will be stopped/.test(w)));
});

test('stop_unmigratable off: servers that fit nowhere are listed as blockers and the plan is not runnable', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 4 * GIB)],
    servers: [
      makeServer('big', 'h1', { memoryBytes: 16 * GIB }),
      makeServer('small', 'h1', { memoryBytes: 2 * GIB }),
      makeServer('bigoff', 'h1', { memoryBytes: 8 * GIB, state: 'shutoff' }),
    ],
  });
  const p = plan(s, 'h1', false);
  t.deepEqual(
    p.servers.map((x) => x.serverName),
    ['small'],
  );
  t.deepEqual(
    p.blockers.map((x) => [x.serverName, x.action]),
    [
      ['big', 'STOP'],
      ['bigoff', 'NONE'],
    ],
  );
  t.regex(byName(p, 'big').reason, /fits nowhere \(h2: memory needs 16\.0 GiB.*would be stopped with stop_unmigratable/);
  t.regex(byName(p, 'bigoff').reason, /left shut off on h1/);
  const err = t.throws(() => assertPlanRunnable(p), { instanceOf: UnmigratableServersError })!;
  t.true(err instanceof FailedPreconditionError);
  t.is((err as UnmigratableServersError).code, status.FAILED_PRECONDITION);
  t.regex(err.message, /big .*bigoff/);
  t.regex(formatPlan(p), /Blockers: 2 server\(s\)[\s\S]*NOT RUNNABLE/);

  const on = plan(s, 'h1', true);
  t.deepEqual(on.blockers, []);
  t.like(byName(on, 'big'), { action: 'STOP', targetHostId: '' });
  t.like(byName(on, 'bigoff'), { action: 'NONE', wasRunning: false });
  t.regex(byName(on, 'bigoff').reason, /stays shut off on h1, unusable until the host returns/);
  t.notThrows(() => assertPlanRunnable(on));
});

test('memory: the smaller of (total − allocated) and reported free counts, minus the host reserve', (t) => {
  const s = makeSnapshot({
    hosts: [
      makeHost('h1'),
      // Allocation view says 32 − 10 = 22 GiB; the agent reports only 6 GiB free.
      makeHost('h2', { memoryTotalBytes: 32 * GIB, memoryFreeBytes: 6 * GIB }),
      // Reported 30 GiB free but 28 GiB allocated (shut-off servers count).
      makeHost('h3', { memoryTotalBytes: 32 * GIB, memoryFreeBytes: 30 * GIB }),
    ],
    servers: [
      makeServer('x', 'h1', { memoryBytes: 6 * GIB }),
      makeServer('on2', 'h2', { memoryBytes: 10 * GIB }),
      makeServer('off3', 'h3', { memoryBytes: 28 * GIB, state: 'shutoff' }),
    ],
  });
  const p = plan(s, 'h1', true);
  t.is(byName(p, 'x').action, 'STOP');
  const c2 = byName(p, 'x').candidates.find((c) => c.hostId === 'h2')!;
  t.is(c2.memoryFreeAfterBytes, 6 * GIB - RESERVE - 6 * GIB);
  const c3 = byName(p, 'x').candidates.find((c) => c.hostId === 'h3')!;
  t.is(c3.memoryFreeAfterBytes, 4 * GIB - RESERVE - 6 * GIB);
});

test('the zone host memory reserve is honoured', (t) => {
  const mk = (reserve: number) =>
    makeSnapshot({
      zones: [makeZone('z1', { hostMemoryReserveBytes: reserve })],
      hosts: [makeHost('h1'), makeHost('h2', { memoryTotalBytes: 8 * GIB, memoryFreeBytes: 8 * GIB })],
      servers: [makeServer('a', 'h1', { memoryBytes: 6 * GIB })],
    });
  t.is(plan(mk(1 * GIB)).servers[0]?.targetHostId, 'h2');
  t.is(plan(mk(3 * GIB)).blockers.length, 1);
});

test('vCPUs: allocated + reserved + new ≤ logical CPUs × the zone overcommit ratio', (t) => {
  const mk = (ratio: number) =>
    makeSnapshot({
      zones: [makeZone('z1', { cpuOvercommitRatio: ratio })],
      hosts: [makeHost('h1'), makeHost('h2', { topology: { sockets: 1, cores_per_socket: 2, threads_per_core: 2, logical_cpus: 4 } })],
      servers: [
        makeServer('there', 'h2', { vcpus: 3, memoryBytes: GIB }),
        makeServer('a', 'h1', { vcpus: 2 }),
        makeServer('b', 'h1', { vcpus: 4, memoryBytes: GIB }),
      ],
    });
  const tight = plan(mk(1), 'h1', true);
  t.is(byName(tight, 'a').action, 'STOP');
  t.regex(
    byName(tight, 'a')
      .candidates.find((c) => c.hostId === 'h2')!
      .checks.find((r) => r.check === 'vcpu')!.reason,
    /would be 5\/4 vCPUs \(4 CPUs × 1\)/,
  );
  const roomy = plan(mk(2), 'h1', true);
  // 8 slots: 3 there + 2 (a, larger memory, placed first) = 5; b needs 4 → 9 > 8.
  t.is(byName(roomy, 'a').targetHostId, 'h2');
  t.is(byName(roomy, 'b').action, 'STOP');
  t.is(plan(mk(3), 'h1', true).servers.filter((x) => x.targetHostId === 'h2').length, 2);
});

test('local disks: must fit the target pool after reservations, and a pool must hold the path', (t) => {
  const small = makePool('default', { available_bytes: 30 * GIB });
  const s = makeSnapshot({
    hosts: [
      makeHost('h1'),
      makeHost('h2', { memoryTotalBytes: 128 * GIB, memoryFreeBytes: 128 * GIB, storagePools: [small, makePool('nfs', { shared: true })] }),
      makeHost('h3', { storagePools: [makePool('nfs', { shared: true })] }), // no local pool at all
      makeHost('h4', { memoryTotalBytes: 16 * GIB, memoryFreeBytes: 16 * GIB }),
    ],
    servers: [
      makeServer('d1', 'h1', { memoryBytes: 4 * GIB, disks: [localDisk(20 * GIB)] }),
      makeServer('d2', 'h1', { memoryBytes: 3 * GIB, disks: [localDisk(20 * GIB, 'vda')] }),
    ],
  });
  const p = plan(s, 'h1', true);
  t.is(byName(p, 'd1').targetHostId, 'h2', 'most memory, disk fits');
  t.is(byName(p, 'd2').targetHostId, 'h4', 'h2 pool has 10 GiB left after d1');
  const c = byName(p, 'd2').candidates;
  t.regex(c.find((x) => x.hostId === 'h2')!.checks.find((r) => r.check === 'local-disk')!.reason, /needs 20\.0 GiB, 10\.0 GiB available after reservations/);
  t.regex(c.find((x) => x.hostId === 'h3')!.checks.find((r) => r.check === 'local-disk')!.reason, /no local pool for vda/);
  t.deepEqual(p.reservations.find((r) => r.serverUuid === 'uuid-d1')!.localDisk, [{ pool: 'default', bytes: 20 * GIB }]);
  t.is(byName(p, 'd1').localDiskBytes, localDiskBytes(s.servers[0]!));
});

test('a local disk is matched to a target pool by path when its pool name differs', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), makeHost('h2', { storagePools: [makePool('images', { path: '/var/lib/libvirt/images', available_bytes: 100 * GIB })] })],
    servers: [makeServer('a', 'h1', { disks: [localDisk(5 * GIB, 'vda', { pool: 'local-h1' })] })],
  });
  const p = plan(s);
  t.is(p.servers[0]!.targetHostId, 'h2');
  t.deepEqual(p.reservations[0]!.localDisk, [{ pool: 'images', bytes: 5 * GIB }]);
});

test('shared storage: a target must reach every shared pool of the server', (t) => {
  const nfs = makePool('nfs', { shared: true });
  const ceph = makePool('ceph', { shared: true, type: 'rbd', path: '' });
  const s = makeSnapshot({
    hosts: [
      makeHost('h1'),
      makeHost('h2', { memoryTotalBytes: 256 * GIB, memoryFreeBytes: 256 * GIB, storagePools: [makePool('default'), nfs] }),
      makeHost('h3', { storagePools: [makePool('default'), nfs, ceph] }),
      makeHost('h4', { storagePools: [makePool('default'), { ...ceph, active: false }] }),
    ],
    servers: [
      makeServer('rbd', 'h1', { disks: [sharedDisk('ceph', 'vda', { type: 'network', path: '' })] }),
      makeServer('both', 'h1', { disks: [sharedDisk('nfs', 'vda'), sharedDisk('ceph', 'vdb', { type: 'network', path: '' })] }),
      makeServer('file', 'h1', { disks: [sharedDisk('nfs', 'vda')] }),
      makeServer('nowhere', 'h1', { disks: [sharedDisk('gluster', 'vda')] }),
    ],
  });
  const p = plan(s);
  t.is(byName(p, 'rbd').targetHostId, 'h3');
  t.is(byName(p, 'both').targetHostId, 'h3');
  t.is(byName(p, 'file').targetHostId, 'h2', 'most memory among those reaching nfs');
  t.deepEqual(
    p.blockers.map((b) => b.serverName),
    ['nowhere'],
  );
  const h4 = byName(p, 'rbd').candidates.find((c) => c.hostId === 'h4')!;
  t.regex(h4.checks.find((r) => r.check === 'shared-storage')!.reason, /shared pool ceph inactive/);
  const h2 = byName(p, 'rbd').candidates.find((c) => c.hostId === 'h2')!;
  t.regex(h2.checks.find((r) => r.check === 'shared-storage')!.reason, /no shared pool ceph/);
  t.is(byName(p, 'file').localDiskBytes, 0, 'shared disks are not copied');
});

// ---------------------------------------------------------------- policy

function policyInventory(placement: 'SPREAD' | 'PACK') {
  return makeSnapshot({
    zones: [makeZone('z1', { placement })],
    hosts: [makeHost('h1'), hostWithRoom('h2', 20 * GIB), hostWithRoom('h3', 40 * GIB), hostWithRoom('h4', 5 * GIB)],
    servers: [makeServer('a', 'h1', { memoryBytes: 8 * GIB }), makeServer('b', 'h1', { memoryBytes: 4 * GIB })],
  });
}

test('SPREAD (default) picks most free memory after placement; PACK the least that still fits', (t) => {
  const spread = plan(policyInventory('SPREAD'));
  t.deepEqual(targets(spread), ['h3', 'h3'], '40−8=32 still beats h2');
  t.regex(spread.servers[0]!.reason, /SPREAD: most free memory after placement \(32\.0 GiB free after; next h2 12\.0 GiB/);
  const pack = plan(policyInventory('PACK'));
  t.deepEqual(targets(pack), ['h2', 'h4'], 'a (8 GiB) does not fit h4 (5), so h2; b (4 GiB) fits h4 exactly-ish');
  t.regex(pack.servers[0]!.reason, /PACK: least free memory that still fits/);
  t.is(
    plan(makeSnapshot({ zones: [makeZone('z1', {})], hosts: policyInventory('SPREAD').hosts, servers: policyInventory('SPREAD').servers })).policy.placement,
    'SPREAD',
  );
});

test('ties go to the smallest host id', (t) => {
  const s = makeSnapshot({ hosts: [makeHost('h1'), makeHost('h9'), makeHost('h3'), makeHost('h5')], servers: [makeServer('a', 'h1')] });
  const p = plan(s);
  t.is(p.servers[0]!.targetHostId, 'h3');
  t.regex(p.servers[0]!.reason, /tie broken by host id/);
});

test('largest servers are placed first: memory, then local disk, then uuid', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 8 * GIB)],
    servers: [
      makeServer('small', 'h1', { uuid: 'u1', memoryBytes: 4 * GIB }),
      makeServer('big', 'h1', { uuid: 'u2', memoryBytes: 8 * GIB }),
      makeServer('mid-disk', 'h1', { uuid: 'u3', memoryBytes: 4 * GIB, disks: [localDisk(10 * GIB)] }),
      makeServer('small-b', 'h1', { uuid: 'u0', memoryBytes: 4 * GIB }),
    ],
  });
  const p = plan(s, 'h1', true);
  t.deepEqual(
    p.servers.map((x) => x.serverName),
    ['big', 'mid-disk', 'small-b', 'small'],
  );
  t.is(byName(p, 'big').targetHostId, 'h2', 'the big one got the only room');
  t.deepEqual(
    p.servers.slice(1).map((x) => x.action),
    ['STOP', 'STOP', 'STOP'],
  );
});

test('determinism: shuffled inventory, same plan', (t) => {
  const base = randomSnapshot(42, { hosts: 30, serversPerHost: 15, zones: 2 });
  const reference = plan(base, 'h01', true);
  t.true(reference.servers.length > 0);
  for (let seed = 1; seed <= 5; seed++) {
    const r = mulberry32(seed);
    const shuffled: InventorySnapshot = { ...base, zones: shuffle(base.zones, r), hosts: shuffle(base.hosts, r), servers: shuffle(base.servers, r) };
    t.deepEqual(plan(shuffled, 'h01', true), reference, `seed ${seed}`);
  }
});

// ---------------------------------------------------------------- reservations

test('reservations of running operations count against targets; the planned servers own ones are replaced', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 20 * GIB), hostWithRoom('h3', 12 * GIB)],
    servers: [makeServer('a', 'h1', { memoryBytes: 8 * GIB })],
  });
  t.is(plan(s).servers[0]!.targetHostId, 'h2');
  const other = { serverUuid: 'elsewhere', hostId: 'h2', memoryBytes: 16 * GIB, vcpus: 2, localDisk: [], operationId: 'op1' };
  t.is(plan(s, 'h1', false, { reservations: [other] }).servers[0]!.targetHostId, 'h3');
  // A re-plan of a's own drain: its old reservation on h3 must not count twice.
  const own = { serverUuid: 'uuid-a', hostId: 'h3', memoryBytes: 8 * GIB, vcpus: 2, localDisk: [], operationId: 'op2' };
  const replanned = plan(s, 'h1', false, { reservations: Reservations.from([other, own]) });
  t.is(replanned.servers[0]!.targetHostId, 'h3');
  t.is(replanned.reservations.length, 1);
});

test('Reservations: reserve, replace, release, per-host totals, per-operation release, list', (t) => {
  const r = new Reservations();
  r.reserve({ serverUuid: 'b', hostId: 'h2', memoryBytes: 4, vcpus: 1, localDisk: [{ pool: 'default', bytes: 10 }], operationId: 'op1' });
  r.reserve({ serverUuid: 'a', hostId: 'h2', memoryBytes: 2, vcpus: 2, localDisk: [], operationId: 'op2' });
  t.like(r.onHost('h2'), { memoryBytes: 6, vcpus: 3 });
  t.is(r.onHost('h2').diskByPool.get('default'), 10);
  r.reserve({ serverUuid: 'b', hostId: 'h3', memoryBytes: 8, vcpus: 1, localDisk: [], operationId: 'op1' });
  t.like(r.onHost('h2'), { memoryBytes: 2, vcpus: 2 });
  t.is(r.onHost('h2').diskByPool.size, 0);
  t.like(r.onHost('h3'), { memoryBytes: 8 });
  t.deepEqual(
    r.list().map((x) => x.serverUuid),
    ['a', 'b'],
  );
  t.deepEqual(
    r.releaseOperation('op1').map((x) => x.serverUuid),
    ['b'],
  );
  t.like(r.onHost('h3'), { memoryBytes: 0, vcpus: 0 });
  t.is(r.release('nope'), undefined);
  t.is(r.release('a')!.hostId, 'h2');
  t.is(r.size, 0);
  const c = Reservations.from([{ serverUuid: 'x', hostId: 'h1', memoryBytes: 1, vcpus: 1, localDisk: [], operationId: '' }]);
  const d = c.clone();
  d.release('x');
  t.true(c.has('x'), 'clones are independent');
  t.deepEqual(JSON.parse(JSON.stringify(c)), c.list());
});

// ---------------------------------------------------------------- CPU hook

test('the CPU compatibility hook is consulted and respected', (t) => {
  const s = makeSnapshot({
    hosts: [
      makeHost('h1'),
      makeHost('h2', {
        memoryTotalBytes: 128 * GIB,
        memoryFreeBytes: 128 * GIB,
        cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Westmere', features: [], disabled_features: [], xml: '' },
      }),
      makeHost('h3'),
    ],
    servers: [makeServer('a', 'h1')],
  });
  const calls: string[] = [];
  const cpuCompatible: CpuCompatibleFn = (server, target, zone) => {
    calls.push(`${server.name}@${target.id}/${zone.id}`);
    return target.cpu.model === 'Westmere' ? { ok: false, reason: 'Westmere lacks avx2' } : { ok: true, reason: 'superset' };
  };
  const p = plan(s, 'h1', false, { cpuCompatible });
  t.is(p.servers[0]!.targetHostId, 'h3');
  t.true(calls.includes('a@h2/z1'));
  const h2 = p.servers[0]!.candidates.find((c) => c.hostId === 'h2')!;
  t.false(h2.eligible);
  t.deepEqual(
    h2.checks.find((r) => r.check === 'cpu-compatible'),
    { check: 'cpu-compatible', verdict: 'block', reason: 'Westmere lacks avx2' },
  );
  t.false(p.warnings.some((w) => w.includes('CPU compatibility not checked')));

  const unchecked = plan(s);
  t.is(unchecked.servers[0]!.targetHostId, 'h2');
  t.is(unchecked.servers[0]!.candidates[1]!.checks.find((r) => r.check === 'cpu-compatible')!.reason, 'not checked');
  t.true(unchecked.warnings.some((w) => w.includes('CPU compatibility not checked')));
});

// ---------------------------------------------------------------- estimate

test('the estimate grows with size, shrinks with bandwidth, and uses the zone concurrency', (t) => {
  const mk = (mem: number, disk: number, policy = {}) =>
    makeSnapshot({
      zones: [makeZone('z1', policy)],
      hosts: [makeHost('h1'), makeHost('h2', { memoryTotalBytes: 512 * GIB, memoryFreeBytes: 512 * GIB })],
      servers: [0, 1, 2, 3].map((i) => makeServer(`s${i}`, 'h1', { memoryBytes: mem, disks: disk ? [localDisk(disk, `vd${i}`)] : [] })),
    });
  const small = plan(mk(1 * GIB, 0));
  const big = plan(mk(8 * GIB, 0));
  const bigDisk = plan(mk(8 * GIB, 20 * GIB));
  t.true(small.estimatedSeconds < big.estimatedSeconds);
  t.true(big.estimatedSeconds < bigDisk.estimatedSeconds);
  const fast = plan(mk(8 * GIB, 20 * GIB), 'h1', false, { measuredBandwidthBps: 1000 * MIB });
  t.true(fast.estimatedSeconds < bigDisk.estimatedSeconds);
  t.false(fast.bandwidthAssumed);
  t.is(fast.assumedBandwidthBps, 1000 * MIB);
  t.true(bigDisk.bandwidthAssumed);
  t.is(bigDisk.assumedBandwidthBps, 100 * MIB);
  t.true(bigDisk.warnings.some((w) => w.includes('assumes 100 MiB/s')));
  // 8 GiB + 20 GiB at 100 MiB/s = 286.72 s + 3 s live overhead, per server, one at a time.
  t.is(bigDisk.servers[0]!.estimatedSeconds, 290);
  t.is(bigDisk.estimatedSeconds, 4 * 290);
  const parallel = plan(mk(8 * GIB, 20 * GIB, { maxMigrationsPerSource: 2 }));
  t.is(parallel.estimatedSeconds, 2 * 290);
  const zoneCapped = plan(mk(8 * GIB, 20 * GIB, { maxMigrationsPerSource: 4, maxMigrationsPerZone: 1 }));
  t.is(zoneCapped.estimatedSeconds, 4 * 290, 'the per-zone limit bounds the per-source one');
  t.is(plan(mk(1 * GIB, 0), 'h1', false, { measuredBandwidthBps: -5 }).assumedBandwidthBps, 100 * MIB, 'nonsense bandwidth ignored');
});

test('estimate helpers: cold moves copy disks only; shut-off cold moves are cheap; lanes balance', (t) => {
  t.is(estimateServerSeconds('COLD_MIGRATE', false, 64 * GIB, 0, 100 * MIB), 1);
  t.is(estimateServerSeconds('COLD_MIGRATE', true, 64 * GIB, 0, 100 * MIB), 60);
  t.is(estimateServerSeconds('COLD_MIGRATE', false, 0, 1000 * MIB, 100 * MIB), 11);
  t.is(estimateServerSeconds('NONE', false, 64 * GIB, 0, 100 * MIB), 0);
  t.is(estimateServerSeconds('STOP', true, 64 * GIB, 0, 100 * MIB), 60);
  t.is(estimateTotalSeconds([10, 10, 10], 1), 30);
  t.is(estimateTotalSeconds([10, 10, 10], 2), 20);
  t.is(estimateTotalSeconds([], 1), 0);
});

// ---------------------------------------------------------------- warnings

test('warnings: nearly full targets, paused and crashed servers, other operations', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 30 * GIB)],
    servers: [
      makeServer('p', 'h1', { state: 'paused', memoryBytes: 13 * GIB }),
      makeServer('c', 'h1', { state: 'crashed', memoryBytes: 13 * GIB }),
      makeServer('busy', 'h1', { operationId: 'op9', memoryBytes: 3.5 * GIB }),
    ],
  });
  const p = plan(s);
  t.like(byName(p, 'p'), { action: 'LIVE_MIGRATE', wasRunning: true });
  t.like(byName(p, 'c'), { action: 'COLD_MIGRATE', wasRunning: false });
  t.true(p.warnings.some((w) => w.startsWith('paused: p')));
  t.true(p.warnings.some((w) => w.startsWith('crashed: c')));
  t.true(p.warnings.some((w) => w.includes('busy (op9)')));
  t.true(p.warnings.some((w) => /target h2 will be \d+% full/.test(w)));
  const last = byName(p, 'busy').candidates.find((c) => c.hostId === 'h2')!;
  t.is(last.checks.find((r) => r.check === 'memory')!.verdict, 'warn');
  t.true(last.eligible, 'warn keeps a host eligible');
});

// ---------------------------------------------------------------- scale

test('a 50-host / 1000-server inventory plans correctly and quickly', (t) => {
  const s = randomSnapshot(7, { hosts: 50, serversPerHost: 20, chaos: true });
  t.is(s.servers.length, 1000);
  const started = performance.now();
  let planned = 0;
  for (const h of s.hosts) {
    const p = plan(s, h.id, true);
    if (p.refusals.length > 0) continue;
    planned++;
    const onHost = s.servers
      .filter((x) => x.hostId === h.id)
      .map((x) => x.uuid)
      .sort();
    t.deepEqual(p.servers.map((x) => x.serverUuid).sort(), onHost);
    for (const m of p.servers.filter((x) => x.targetHostId)) {
      const target = s.hosts.find((x) => x.id === m.targetHostId)!;
      t.true(
        target.id !== h.id && target.zoneId === h.zoneId && target.enabled && target.online && target.maintenance === 'none',
        `${m.serverName} → ${target.id}`,
      );
    }
  }
  t.true(planned >= 35, `${planned} hosts planned`);
  const ms = performance.now() - started;
  t.log(`${planned} full-host plans over 50 hosts / 1000 servers in ${ms.toFixed(0)} ms`);
  t.true(ms < 20_000);
});

// ---------------------------------------------------------------- pickTarget

test('pickTarget: next best after failures, bounded by the zone attempt cap, never mutating reservations', (t) => {
  const s = makeSnapshot({
    zones: [makeZone('z1', { maxAttemptsPerServer: 2 })],
    hosts: [makeHost('h1'), hostWithRoom('h2', 30 * GIB), hostWithRoom('h3', 20 * GIB), hostWithRoom('h4', 10 * GIB)],
    servers: [makeServer('a', 'h1', { memoryBytes: 8 * GIB })],
  });
  const server = s.servers[0]!;
  const res = new Reservations();
  const first = pickTarget(s, server, 'h1', [], res);
  t.is(first.hostId, 'h2');
  t.is(first.action, 'LIVE_MIGRATE');
  t.deepEqual(first.reservation, { serverUuid: 'uuid-a', hostId: 'h2', memoryBytes: 8 * GIB, vcpus: 2, localDisk: [], operationId: '' });
  res.reserve(first.reservation);
  // The h2 attempt failed: the caller keeps its reservation until it releases it; pickTarget ignores it anyway.
  const second = pickTarget(s, server, 'h1', ['h2'], res, { operationId: 'op1' });
  t.is(second.hostId, 'h3');
  t.is(second.reservation.operationId, 'op1');
  t.like(second.candidates.find((c) => c.hostId === 'h2')!.checks[0], { check: 'not-attempted', verdict: 'skip' });
  t.is(res.get('uuid-a')!.hostId, 'h2', 'reservations untouched');
  const capped = t.throws(() => pickTarget(s, server, 'h1', ['h2', 'h3'], res), { instanceOf: NoValidTargetError }) as NoValidTargetError;
  t.true(capped instanceof FailedPreconditionError);
  t.is(capped.code, status.FAILED_PRECONDITION);
  t.deepEqual(capped.attemptedHostIds, ['h2', 'h3']);
  t.regex(capped.message, /2 attempt\(s\) failed \(h2, h3\), the zone allows 2/);
});

test('pickTarget: NoValidTargetError with every verdict when nothing fits', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 2 * GIB), makeHost('h3', { enabled: false })],
    servers: [makeServer('a', 'h1', { memoryBytes: 8 * GIB })],
  });
  const err = t.throws(() => pickTarget(s, s.servers[0]!, 'h1', [], []), { instanceOf: NoValidTargetError }) as NoValidTargetError;
  t.is(err.candidates.length, 3);
  t.regex(err.message, /h2: memory needs 8\.0 GiB/);
  t.regex(err.message, /h3: enabled disabled by the operator/);
  t.throws(() => pickTarget(s, s.servers[0]!, 'ghost', [], []), { instanceOf: NoValidTargetError, message: /ghost is not in the inventory/ });
});

test('pickTarget agrees with the planner for the first server', (t) => {
  const s = randomSnapshot(3, { hosts: 20, serversPerHost: 10, chaos: false });
  const p = plan(s, 'h01', true);
  const first = p.servers[0]!;
  const server = s.servers.find((x) => x.uuid === first.serverUuid)!;
  t.is(pickTarget(s, server, 'h01', [], []).hostId, first.targetHostId);
});

// ---------------------------------------------------------------- format

test('formatPlan: aligned table, blockers, warnings, estimate, candidates on demand', (t) => {
  const s = makeSnapshot({
    hosts: [makeHost('h1'), hostWithRoom('h2', 10 * GIB), makeHost('h3', { online: false })],
    servers: [
      makeServer('web-01', 'h1', { memoryBytes: 4 * GIB, disks: [localDisk(10 * GIB)] }),
      makeServer('db', 'h1', { memoryBytes: 32 * GIB }),
      makeServer('x', 'h1', { smart: true, memoryBytes: GIB }),
    ],
  });
  const p = plan(s);
  const text = formatPlan(p);
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('SERVER'))!;
  const col = header.indexOf('TARGET');
  for (const name of ['web-01', 'x', 'db']) {
    const row = lines.find((l) => l.startsWith(`${name} `))!;
    t.truthy(row, name);
    t.is(row.indexOf(name === 'db' ? '-' : 'h2', header.indexOf('TARGET') - 1), col, `${name} aligned`);
  }
  t.regex(text, /web-01 +live +h2 +4\.0 GiB +10\.0 GiB/);
  t.regex(text, /x +cold +h2/);
  t.regex(text, /db +BLOCKED +-/);
  t.regex(text, /Blockers: 1 server\(s\)/);
  t.regex(text, /Warnings:\n {2}- CPU compatibility not checked/);
  t.regex(text, /Estimate: \d+m \d\ds — 1 live, 1 cold, 0 stop, 0 stay; 100 MiB\/s \(assumed\), 1 migration\(s\) at a time/);
  t.regex(text, /as of 2023-11-14T22:13:20\.000Z/);
  const verbose = formatPlan(p, { candidates: true });
  t.regex(verbose, / {4}h3 +no +.*online skip: offline/);
  t.is(formatPlan(p), text, 'pure');
});

test('synthetic ids are unique and UUID-shaped', (t) => {
  t.regex(syntheticUuid(255), /^00000000-0000-4000-8000-0000000000ff$/);
  const s: ServerRecord[] = randomSnapshot(1, { hosts: 3, serversPerHost: 3 }).servers;
  t.is(new Set(s.map((x) => x.uuid)).size, 9);
});

// ---------------------------------------------------------------- big zones, single targets

test('big zones: each server carries at most 20 verdicts, the chosen one and the runners-up first', (t) => {
  const hosts = [
    makeHost('h001'),
    ...Array.from({ length: 60 }, (_, i) =>
      makeHost(`h${String(i + 2).padStart(3, '0')}`, { memoryTotalBytes: (16 + i) * GIB, memoryFreeBytes: (16 + i) * GIB, enabled: i % 10 !== 0 }),
    ),
  ];
  const s = makeSnapshot({ hosts, servers: [makeServer('a', 'h001'), makeServer('b', 'h001')] });
  const p = plan(s, 'h001');
  for (const x of p.servers) {
    t.is(x.candidates.length, 20);
    t.is(x.candidatesOmitted, 41);
    t.true(x.candidates.some((c) => c.hostId === x.targetHostId));
    t.true(
      x.candidates.every((c) => c.eligible),
      'eligible runners-up outrank skipped hosts',
    );
    t.deepEqual(
      x.candidates.map((c) => c.hostId),
      [...x.candidates.map((c) => c.hostId)].sort(),
    );
  }
  t.is(p.servers[0]!.targetHostId, 'h061', 'the largest host wins under SPREAD');
  t.is(plan(s, 'h001', false, { maxCandidatesPerServer: 0 }).servers[0]!.candidates.length, 61);
  t.regex(formatPlan(p, { candidates: true }), /\(41 more host\(s\) not shown\)/);
});

test('evaluateTarget: the full chain for one fixed target (return to the original host)', (t) => {
  const s = makeSnapshot({
    hosts: [
      makeHost('h1', { maintenance: 'returning' }),
      makeHost('h2'),
      makeHost('h3', { memoryTotalBytes: 4 * GIB, memoryFreeBytes: 4 * GIB }),
      makeHost('h4', { online: false, lastHeartbeatMs: 1_700_000_000_000 - 42_000 }),
    ],
    servers: [makeServer('a', 'h2', { memoryBytes: 8 * GIB })],
  });
  const server = s.servers[0]!;
  const back = evaluateTarget(s, server, 'h1', []);
  t.false(back.verdict.eligible);
  t.like(
    back.verdict.checks.find((r) => r.check === 'not-in-maintenance'),
    { verdict: 'skip', reason: 'returning from maintenance' },
  );
  const ok = evaluateTarget(makeSnapshot({ ...s, hosts: [makeHost('h1'), ...s.hosts.slice(1)] }), server, 'h1', []);
  t.true(ok.verdict.eligible);
  t.is(ok.action, 'LIVE_MIGRATE');
  t.is(ok.reservation.hostId, 'h1');
  t.false(evaluateTarget(s, server, 'h3', []).verdict.eligible);
  t.is(evaluateTarget(s, server, 'h4', []).verdict.checks.find((r) => r.check === 'online')!.reason, 'offline (last heartbeat 42 s before the snapshot)');
  t.false(evaluateTarget(s, server, 'h2', []).verdict.eligible, 'its own host is the source');
  t.throws(() => evaluateTarget(s, server, 'h9', []), { instanceOf: NoValidTargetError, message: /target h9 is not in the inventory/ });
});
