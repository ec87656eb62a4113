// Maintenance end to end over sim hosts: real nats-server, real coordinator
// with its engine, real gRPC agents (sim hypervisor).
import test from 'ava';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function zoneWith(w: World, zoneId: string, hostIds: string[], policy: object = {}) {
  await w.call('CreateZone', { zone_id: zoneId, name: zoneId, cpu_mode: 'CPU_MODE_DEFAULT', policy });
  for (const h of hostIds) await w.call('UpdateHost', { host_id: h, zone_id: zoneId });
}

async function serversKnown(w: World, n: number) {
  await waitFor(`${n} servers in the inventory`, async () => (await w.call('ListServers', {})).servers.length >= n, 20_000, 200);
}

test('enable drains every server in its power state; disable reboots and returns; servers come back on request', async (t) => {
  const w = await startWorld({ hosts: 4 });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const h1 = w.sims.byId('sim-1').sim;
  const live1 = h1.addServer({ name: 'live-1', memoryBytes: 2 * GiB, hotMigration: true });
  const live2 = h1.addServer({ name: 'live-2', memoryBytes: 1 * GiB, hotMigration: true });
  const cold = h1.addServer({ name: 'cold-only', memoryBytes: 512 * MiB, hotMigration: false });
  const smartOff = h1.addServer({ name: 'smart-off', memoryBytes: 256 * MiB, smart: true, running: false });
  await serversKnown(w, 4);

  const plan = await w.call('PlanMaintenance', { host_id: 'sim-1' });
  t.is(plan.servers.length, 4);
  t.deepEqual(plan.blockers, []);
  t.deepEqual(Object.fromEntries(plan.servers.map((s: any) => [s.server_name, s.action])), {
    'live-1': 'SERVER_ACTION_LIVE_MIGRATE',
    'live-2': 'SERVER_ACTION_LIVE_MIGRATE',
    'cold-only': 'SERVER_ACTION_COLD_MIGRATE',
    'smart-off': 'SERVER_ACTION_COLD_MIGRATE',
  });

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  t.is(op.kind, 'OPERATION_KIND_ENABLE_MAINTENANCE');
  const host = await w.call('GetHost', { host_id: 'sim-1' });
  t.is(host.maintenance, 'MAINTENANCE_STATE_ENTERING', 'entering at once');

  const done = await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(done.done, 4);
  for (const s of [live1, live2, cold, smartOff]) {
    const where = w.sims.fabric.whereIs(s.uuid);
    t.truthy(where);
    t.not(where!.hostId, 'sim-1', `${s.name} left sim-1`);
    const now = where!.servers().find((x) => x.uuid === s.uuid)!;
    t.is(now.state, s.state, `${s.name} kept its power state`);
  }
  t.is(h1.servers().length, 0);
  // Live servers moved live, the others cold (offline), each exactly once.
  for (const s of [live1, live2])
    t.deepEqual(
      w.sims.fabric.migrationsOf(s.uuid).map((m) => [m.mode, m.result]),
      [['live', 'completed']],
    );
  for (const s of [cold, smartOff])
    t.deepEqual(
      w.sims.fabric.migrationsOf(s.uuid).map((m) => [m.mode, m.result]),
      [['offline', 'completed']],
    );
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');

  // Every event is kept; progress never goes backwards per step.
  const events = await w.admin.stream('WatchOperation', { operation_id: op.id }, { token: 'test-admin-token-0123456789', timeoutMs: 10_000 });
  t.true(events.length >= 6);
  t.is(events.at(-1).state, 'OPERATION_STATE_SUCCEEDED');
  const last = new Map<string, number>();
  for (const e of events) {
    if (!e.step) continue;
    const k = `${e.step.server_uuid}/${e.step.attempt}`;
    if (e.step.phase === 'STEP_PHASE_MIGRATING') {
      t.true(e.step.percent >= (last.get(k) ?? 0), 'percent never goes backwards');
      last.set(k, e.step.percent);
    }
  }

  const off = await w.call('DisableMaintenance', { host_id: 'sim-1' });
  const incarnationBefore = w.sims.byId('sim-1').incarnation;
  const back = await waitForOperation(w, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(back.state, 'OPERATION_STATE_SUCCEEDED', back.reason);
  t.not(w.sims.byId('sim-1').incarnation, incarnationBefore, 'the host rebooted');
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_NONE');
  t.is(h1.servers().length, 0, 'servers are not moved back by themselves');

  const ret = await w.call('ReturnServers', { host_id: 'sim-1' });
  const returned = await waitForOperation(w, ret.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED']);
  t.is(returned.state, 'OPERATION_STATE_SUCCEEDED', returned.reason);
  t.deepEqual(
    h1
      .servers()
      .map((s) => s.name)
      .sort(),
    ['cold-only', 'live-1', 'live-2', 'smart-off'],
  );
  for (const s of h1.servers()) t.is(s.state, [live1, live2, cold, smartOff].find((x) => x.uuid === s.uuid)!.state);

  // The Prometheus endpoint counted what happened: 2 live + 2 cold each way.
  const text = await w.metrics();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  t.is(value(/^drydock_migrations_total\{mode="live",result="completed"\} (\d+)/m), 4);
  t.is(value(/^drydock_migrations_total\{mode="cold",result="completed"\} (\d+)/m), 4);
  t.is(value(/^drydock_operation_duration_seconds_count\{kind="enable_maintenance",state="succeeded"\} (\d+)/m), 1);
  t.is(value(/^drydock_operations\{kind="return_servers",state="succeeded"\} (\d+)/m), 1);
  t.is(value(/^drydock_hosts\{status="online"\} (\d+)/m), 4);
  t.is(value(/^drydock_hosts\{status="in_maintenance"\} (\d+)/m), 0);
  t.true(value(/^drydock_migrated_bytes_total\{mode="live"\} (\d+)/m) >= 3 * GiB, 'bytes moved by live migrations');
  t.regex(text, /^drydock_host_heartbeat_age_seconds\{host="sim-1"\} /m);
});

function summary(op: any): string {
  return `${op.state} ${op.reason} :: ${op.steps.map((s: any) => `${s.server_name}:${s.phase}:${s.action}:${s.target_host_id}:${s.error}`).join(' | ')}`;
}

test('52 hosts, tight capacity: refused without stop_unmigratable; with it some stop, no target overcommits, and only eligible hosts are chosen', async (t) => {
  const w = await startWorld({
    hosts: 52,
    sim: { hostOptions: (i) => (i === 6 ? { hypervisorType: 'xen' } : {}) },
  });
  t.teardown(() => w.close());
  const zoneHosts = ['sim-1', 'sim-2', 'sim-3', 'sim-4', 'sim-5', 'sim-6', 'sim-7'];
  await zoneWith(w, 'z1', zoneHosts);
  await w.call('CreateZone', { zone_id: 'z2', name: 'z2', cpu_mode: 'CPU_MODE_DEFAULT' });
  for (let i = 8; i <= 52; i++) await w.call('UpdateHost', { host_id: `sim-${i}`, zone_id: 'z2' });
  const sim = (id: string) => w.sims.byId(id).sim;
  // Two real candidates, each 40 GiB used of 64 GiB (22 GiB free after the 1 GiB reserve... and 1 GiB rounding).
  for (const id of ['sim-2', 'sim-3']) for (let k = 0; k < 5; k++) sim(id).addServer({ name: `${id}-fill-${k}`, memoryBytes: 8 * GiB });
  const src = sim('sim-1');
  const big = [0, 1, 2].map((k) => src.addServer({ name: `big-${k}`, memoryBytes: 16 * GiB }));
  const mid = [0, 1].map((k) => src.addServer({ name: `mid-${k}`, memoryBytes: 8 * GiB }));
  const small = src.addServer({ name: 'small-cold', memoryBytes: 4 * GiB, hotMigration: false });
  await serversKnown(w, 16);
  // Every other kind of host that must never be chosen: disabled, offline, in maintenance, not KVM, other zone.
  await w.call('UpdateHost', { host_id: 'sim-4', enabled: false });
  await w.sims.byId('sim-5').stop();
  const m6 = await w.call('EnableMaintenance', { host_id: 'sim-6', stop_unmigratable: false, confirm: true });
  await waitForOperation(w, m6.id, ['OPERATION_STATE_SUCCEEDED']);
  await waitFor('sim-5 offline', async () => !(await w.call('GetHost', { host_id: 'sim-5' })).online, 15_000, 200);

  // Not KVM: refused, nothing changes.
  const xen = await w.call('EnableMaintenance', { host_id: 'sim-7', stop_unmigratable: true, confirm: true }).then(
    () => null,
    (e) => e,
  );
  t.is(xen?.code, 9, 'FAILED_PRECONDITION for a non-KVM host');
  t.regex(xen.details, /KVM/);
  t.is((await w.call('GetHost', { host_id: 'sim-7' })).maintenance, 'MAINTENANCE_STATE_NONE');

  // confirm is required.
  const noConfirm = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: true, confirm: false }).then(
    () => null,
    (e) => e,
  );
  t.is(noConfirm?.code, 3);

  // stop_unmigratable off: refused up front, listing the servers, nothing changed.
  const before = await w.call('GetHost', { host_id: 'sim-1' });
  const refused = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true }).then(
    () => null,
    (e) => e,
  );
  t.is(refused?.code, 9);
  t.regex(refused.details, /cannot move/);
  t.regex(refused.details, /big-/);
  const after = await w.call('GetHost', { host_id: 'sim-1' });
  t.is(after.maintenance, before.maintenance);
  t.is((await w.call('ListOperations', { host_id: 'sim-1' })).operations.length, 0, 'no operation was created');
  t.is(w.sims.fabric.migrations.length, 0, 'nothing moved');

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: true, confirm: true });
  const done = await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 90_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', summary(done));
  const stopped = done.steps.filter((s: any) => s.action === 'SERVER_ACTION_STOP');
  t.true(stopped.length >= 1, 'some servers had to stop');
  for (const s of stopped)
    t.is(
      sim('sim-1')
        .servers()
        .find((x) => x.uuid === s.server_uuid)?.state,
      'SERVER_STATE_SHUTOFF',
    );
  // Only eligible hosts received anything.
  const targets = new Set(w.sims.fabric.migrations.filter((m) => m.from === 'sim-1').map((m) => m.to));
  t.deepEqual(
    [...targets].sort().filter((x) => !['sim-2', 'sim-3'].includes(x)),
    [],
  );
  // No target overcommits its memory (minus the 1 GiB host reserve).
  for (const id of ['sim-2', 'sim-3']) {
    const used = sim(id)
      .servers()
      .reduce((a, s) => a + Number(s.memory_bytes), 0);
    t.true(used <= 63 * GiB, `${id} holds ${used / GiB} GiB`);
  }
  // Every server is on exactly one host.
  for (const s of [...big, ...mid, small]) t.truthy(w.sims.fabric.whereIs(s.uuid));
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');
});

test('failed migrations retry on the next target, then go cold, then stop (with stop_unmigratable); without it the drain pauses with the reason', async (t) => {
  const w = await startWorld({ hosts: 4 });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const src = w.sims.byId('sim-1').sim;
  const a = src.addServer({ name: 'retry-me', memoryBytes: GiB });
  await serversKnown(w, 1);
  src.faults.failNextMigration({ atFraction: 0.2 });
  const op1 = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const d1 = await waitForOperation(w, op1.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(d1.state, 'OPERATION_STATE_SUCCEEDED', summary(d1));
  t.is(d1.steps[0].attempt, 2, 'second attempt on another target');
  t.is(d1.steps[0].tried_targets.length, 2);
  t.not(d1.steps[0].tried_targets[0], d1.steps[0].tried_targets[1]);
  t.deepEqual(
    w.sims.fabric.migrationsOf(a.uuid).map((m) => m.result),
    ['failed', 'completed'],
  );
  t.is(w.sims.fabric.whereIs(a.uuid)!.hostId, d1.steps[0].target_host_id);

  // Every target unreachable: live fails on all, cold fails on all, then stop.
  const w2 = await startWorld({ hosts: 4 });
  t.teardown(() => w2.close());
  await zoneWith(w2, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const s2 = w2.sims.byId('sim-1').sim;
  const b = s2.addServer({ name: 'doomed', memoryBytes: GiB });
  await serversKnown(w2, 1);
  for (const id of ['sim-2', 'sim-3', 'sim-4']) w2.sims.byId(id).sim.faults.setUnreachable(true);
  const paused = await w2.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const p = await waitForOperation(w2, paused.id, ['OPERATION_STATE_PAUSED', 'OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED']);
  t.is(p.state, 'OPERATION_STATE_PAUSED', summary(p));
  t.regex(p.reason, /doomed/);
  t.is(w2.sims.fabric.whereIs(b.uuid)!.hostId, 'sim-1', 'still running on the source');
  t.is(s2.servers()[0]!.state, 'SERVER_STATE_RUNNING');
  // The operator allows downtime: a new request supersedes the paused one.
  const op2 = await w2.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: true, confirm: true });
  const d2 = await waitForOperation(w2, op2.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 90_000);
  t.is(d2.state, 'OPERATION_STATE_SUCCEEDED', summary(d2));
  t.is(d2.steps[0].action, 'SERVER_ACTION_STOP');
  const kinds = w2.sims.fabric.migrationsOf(b.uuid).map((m) => m.mode);
  t.true(kinds.includes('live') || kinds.length === 0);
  t.is(s2.servers()[0]!.state, 'SERVER_STATE_SHUTOFF', 'stopped as the last resort');
  t.is((await w2.call('GetOperation', { operation_id: paused.id })).state, 'OPERATION_STATE_CANCELLED');
});

test('cancel mid-drain aborts the running migration, keeps the server on the source, and leaves the host excluded', async (t) => {
  const w = await startWorld({ hosts: 3, sim: { fabricOptions: { bandwidthBps: 64 * MiB } } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3']);
  const src = w.sims.byId('sim-1').sim;
  const a = src.addServer({ name: 'slow-a', memoryBytes: 2 * GiB });
  const b = src.addServer({ name: 'slow-b', memoryBytes: 2 * GiB });
  await serversKnown(w, 2);
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  await waitFor(
    'a migration in progress',
    async () => {
      const o = await w.call('GetOperation', { operation_id: op.id });
      return o.steps.some((s: any) => s.phase === 'STEP_PHASE_MIGRATING' && s.percent > 5);
    },
    30_000,
    100,
  );
  const c = await w.call('CancelOperation', { operation_id: op.id, reason: 'change window closed' });
  t.is(c.id, op.id);
  const done = await waitForOperation(w, op.id, ['OPERATION_STATE_CANCELLED', 'OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED']);
  t.is(done.state, 'OPERATION_STATE_CANCELLED', summary(done));
  t.regex(done.reason, /change window closed/);
  t.deepEqual(done.steps.map((s: any) => s.phase).sort(), ['STEP_PHASE_CANCELLED', 'STEP_PHASE_CANCELLED']);
  for (const s of [a, b]) t.is(w.sims.fabric.whereIs(s.uuid)!.hostId, 'sim-1', `${s.name} stayed on the source`);
  t.true(src.servers().every((s) => s.state === 'SERVER_STATE_RUNNING'));
  t.deepEqual(
    w.sims.fabric.migrations.map((m) => m.result),
    ['aborted'],
  );
  t.is((await w.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_ENTERING', 'still excluded');
  t.deepEqual(w.maintenance.engine().reservations().list(), [], 'reservations released');
  // A host entering maintenance is never a target.
  const plan2 = await w.call('PlanMaintenance', { host_id: 'sim-2' });
  t.false(plan2.servers.some((s: any) => s.target_host_id === 'sim-1'));
  const again = await w.call('CancelOperation', { operation_id: op.id }).then(
    () => null,
    (e) => e,
  );
  t.is(again?.code, 9, 'an ended operation cannot be cancelled');
});

test('a coordinator stopped mid-drain: another takes the lease, re-attaches by migration id, and no server moves twice', async (t) => {
  const w = await startWorld({ hosts: 4, sim: { fabricOptions: { bandwidthBps: 128 * MiB } } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const src = w.sims.byId('sim-1').sim;
  const servers = [0, 1, 2].map((k) => src.addServer({ name: `vs-${k}`, memoryBytes: GiB, hotMigration: k !== 2 }));
  await serversKnown(w, 3);
  const second = await w.startCoordinator('c2');
  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  await waitFor(
    'first migration in progress',
    async () => {
      const o = await w.call('GetOperation', { operation_id: op.id });
      return o.steps.some((s: any) => s.phase === 'STEP_PHASE_MIGRATING' && s.percent > 10);
    },
    30_000,
    100,
  );
  await w.maintenance.stop();
  await w.coordinator.stop();
  const call = (m: string, r: object) => second.admin.call(m, r, { token: 'test-admin-token-0123456789', timeoutMs: 20_000 });
  const done = await waitForOperation({ call }, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 90_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', summary(done));
  t.true(second.coordinator.leader.isLeader());
  for (const s of servers) {
    const moves = w.sims.fabric.migrationsOf(s.uuid);
    t.is(moves.filter((m) => m.result === 'completed').length, 1, `${s.name} moved exactly once`);
    t.is(moves.filter((m) => m.result === 'running').length, 0);
    t.not(w.sims.fabric.whereIs(s.uuid)!.hostId, 'sim-1');
  }
  t.is(src.servers().length, 0);
});

test('storage-cluster hosts disabled at once return one by one, with the settle pause and a health check between them', async (t) => {
  const w = await startWorld({ hosts: 4, maintenance: { settlePauseOverrideS: 2 } });
  t.teardown(() => w.close());
  await zoneWith(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  for (const id of ['sim-1', 'sim-2', 'sim-3']) await w.call('UpdateHost', { host_id: id, storage_cluster: 'vs1' });
  for (const id of ['sim-1', 'sim-2', 'sim-3']) {
    const op = await w.call('EnableMaintenance', { host_id: id, stop_unmigratable: false, confirm: true });
    await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED']);
  }
  const ops: any[] = [];
  for (const id of ['sim-1', 'sim-2', 'sim-3']) ops.push(await w.call('DisableMaintenance', { host_id: id }));
  // The later ones wait, visibly.
  const waiting = await waitFor(
    'the third return waiting its turn',
    async () => {
      const o = await w.call('GetOperation', { operation_id: ops[2].id });
      return o.state === 'OPERATION_STATE_WAITING' && /waiting for/.test(o.reason) ? o : null;
    },
    10_000,
    100,
  );
  t.regex(waiting.reason, /storage cluster vs1/);
  const finished: any[] = [];
  for (const op of ops)
    finished.push(await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 60_000));
  for (const f of finished) t.is(f.state, 'OPERATION_STATE_SUCCEEDED', f.reason);
  // Strictly one at a time: each reboot starts after the previous return ended, settle included.
  const ev = async (id: string) => w.admin.stream('WatchOperation', { operation_id: id }, { token: 'test-admin-token-0123456789' });
  const histories = await Promise.all(ops.map((o) => ev(o.id)));
  const rebootAt = histories.map((h) => Number(h.find((e: any) => e.stage === 'rebooting')?.at_ms ?? 0));
  const settleAt = histories.map((h) => Number(h.find((e: any) => e.stage === 'settling')?.at_ms ?? 0));
  const endAt = finished.map((f) => Number(f.finished_at_ms));
  for (let i = 0; i < 3; i++) {
    t.true(rebootAt[i]! > 0 && settleAt[i]! > 0, `op ${i} rebooted and settled`);
    // Events are stamped when published, just after the stage was written
    // (the settle clock starts at the write): allow that publish latency.
    t.true(endAt[i]! - settleAt[i]! >= 2000 - 250, `op ${i} settled ≥ 2 s (${endAt[i]! - settleAt[i]!} ms)`);
  }
  for (let i = 1; i < 3; i++) t.true(rebootAt[i]! >= endAt[i - 1]!, `return ${i} began after return ${i - 1} ended`);
  for (const id of ['sim-1', 'sim-2', 'sim-3']) t.is((await w.call('GetHost', { host_id: id })).maintenance, 'MAINTENANCE_STATE_NONE');
});
