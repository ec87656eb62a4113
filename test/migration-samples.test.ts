// What the live monitor asks the hypervisor while a migration runs (the sim
// hypervisor, a real migration manager with its durable records): a job
// started without post-copy is sampled without the post-copy check, which
// on libvirt is a second virsh call per sample (test/libvirt-calls.test.ts).
import test from 'ava';
import { SimFabric } from '../harness/sim/fabric.ts';
import type { SimHost } from '../harness/sim/host.ts';
import type { Hypervisor, PreparedCall } from '../agent/hypervisor/hypervisor.ts';
import { NotFoundError } from '../common/errors.ts';
import { migrationRequest, openSimManager } from '../harness/sim-migrations.ts';

test('the live monitor samples with postCopyPossible set to what the request allows', async (t) => {
  // 64 MiB at 64 MiB/s: about a second, several samples at 50 ms.
  const fabric = new SimFabric({ bandwidthBps: 64 * 1024 ** 2, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'pa' });
  const b = fabric.addHost({ hostId: 'pb' });
  const seen: (boolean | undefined)[] = [];
  const jobStats = a.jobStats.bind(a);
  a.jobStats = async (uuid: string, signal?: AbortSignal, opts?: { postCopyPossible?: boolean }) => {
    seen.push(opts?.postCopyPossible);
    return jobStats(uuid);
  };
  const mgr = await openSimManager(t, fabric, a, { pollInterval: '50ms' });
  for (const allow of [false, true]) {
    seen.length = 0;
    const vs = a.addServer({ name: `samples-${allow}`, memoryBytes: 64 * 1024 ** 2 });
    const id = `m-${allow}`;
    await mgr.start(migrationRequest(id, vs.uuid, b, { allow_post_copy: allow }));
    t.is((await mgr.wait(id)).phase, 'MIGRATION_PHASE_COMPLETED');
    t.true(seen.length > 0, `the monitor sampled the job (allow_post_copy ${allow})`);
    t.deepEqual([...new Set(seen)], [allow], `every sample said postCopyPossible: ${allow}`);
  }
});

test('the live flow prepares the check of the target when the move starts and asks it once the move ended; its answer decides', async (t) => {
  const fabric = new SimFabric({ bandwidthBps: 64 * 1024 ** 2, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'qa' });
  const b = fabric.addHost({ hostId: 'qb' });
  const seen: string[] = [];
  const at = { prepared: 0, asked: 0 };
  let answer: 'real' | 'absent' = 'real';
  let reason: string | null = 'migrated';
  // The sim has no prepared check of its own: this one records when the flow prepares and asks it.
  (a as SimHost & Pick<Hypervisor, 'prepareStateOn'>).prepareStateOn = (uri: string, uuid: string) => {
    seen.push('prepared');
    at.prepared = Date.now();
    return {
      state: async () => {
        seen.push('asked');
        at.asked = Date.now();
        return answer === 'real' ? a.stateOn(uri, uuid) : null;
      },
      reason: () => reason,
      cancel: () => seen.push('cancelled'),
    };
  };
  const mgr = await openSimManager(t, fabric, a);
  const move = async (id: string) => {
    const vs = a.addServer({ name: `probe-${id}`, memoryBytes: 64 * 1024 ** 2 });
    await mgr.start(migrationRequest(id, vs.uuid, b));
    return mgr.wait(id);
  };
  // The guest's verdict comes from the prepared answer (state and reason): no call of its own.
  let watches = 0;
  const watchGuestOn = a.watchGuestOn.bind(a);
  a.watchGuestOn = (...args: Parameters<typeof watchGuestOn>) => (watches++, watchGuestOn(...args));
  const first = await move('probe-1');
  t.is(first.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(first.guest_health, 'GUEST_HEALTH_ALIVE');
  t.is(watches, 0, 'no watch call: judged from the prepared answer');
  t.deepEqual(seen, ['prepared', 'asked', 'cancelled']);
  // The sim's own record of the move: prepared before it ended, asked after.
  const moved = fabric.migrations.at(-1)!;
  t.true(at.prepared < moved.finishedAtMs, `prepared at ${at.prepared}, the move ended at ${moved.finishedAtMs}`);
  t.true(at.asked >= moved.finishedAtMs, `asked at ${at.asked}, the move ended at ${moved.finishedAtMs}`);
  // A live move that arrives "booted" was restarted by libvirt: reported, from the same answer.
  seen.length = 0;
  reason = 'booted';
  const rebooted = await move('probe-r');
  t.is(rebooted.guest_health, 'GUEST_HEALTH_REBOOTED', rebooted.guest_health_detail);
  t.is(watches, 0);
  reason = 'migrated';
  // Trust but verify, as before: a move the check does not find on the target fails.
  seen.length = 0;
  answer = 'absent';
  const failed = await move('probe-2');
  t.is(failed.phase, 'MIGRATION_PHASE_FAILED');
  t.is(failed.error?.kind, 'MigrationVerificationError');
});

test('a live move opens its migration call before the checks and runs on it; the source side of the check after the move is prepared too; a refused start releases the call', async (t) => {
  const fabric = new SimFabric({ bandwidthBps: 64 * 1024 ** 2, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'ra' });
  const b = fabric.addHost({ hostId: 'rb' });
  const seen: string[] = [];
  let sourceAnswer: 'real' | 'still-here' = 'real';
  const handles: PreparedCall[] = [];
  // The sim opens nothing ahead: these record when the manager and the flow prepare, use and release.
  const hv = a as SimHost & Required<Pick<Hypervisor, 'prepareLiveMigration' | 'prepareStateHere'>>;
  hv.prepareLiveMigration = () => {
    seen.push('call prepared');
    const h = { cancel: () => seen.push('call released') };
    handles.push(h);
    return h;
  };
  const migrationSource = a.migrationSource.bind(a);
  a.migrationSource = (...args: Parameters<typeof migrationSource>) => (seen.push('checks'), migrationSource(...args));
  const migrateLive = a.migrateLive.bind(a);
  a.migrateLive = (spec) => (
    seen.push(spec.prepared !== undefined && spec.prepared === handles.at(-1) ? 'migrate on it' : 'migrate afresh'),
    migrateLive(spec)
  );
  const getServer = a.getServer.bind(a);
  // Counted once the move started (the sim's migrationSource reads through getServer too).
  a.getServer = (...args: Parameters<typeof getServer>) => (seen.includes('migrate on it') && seen.push('getServer'), getServer(...args));
  hv.prepareStateHere = (uuid: string) => ({
    state: async () => {
      seen.push('source asked');
      if (sourceAnswer === 'still-here') return 'SERVER_STATE_RUNNING';
      return getServer(uuid).then(
        (s) => s.state,
        (err) => (err instanceof NotFoundError ? null : Promise.reject(err)),
      );
    },
    reason: () => null,
    cancel: () => undefined,
  });
  const mgr = await openSimManager(t, fabric, a);
  const request = (id: string, uuid: string, mode: 'MIGRATION_MODE_LIVE' | 'MIGRATION_MODE_COLD' = 'MIGRATION_MODE_LIVE') =>
    migrationRequest(id, uuid, b, { mode });
  const moved = a.addServer({ name: 'prepared-1', memoryBytes: 64 * 1024 ** 2 });
  await mgr.start(request('prep-1', moved.uuid));
  const done = await mgr.wait('prep-1');
  t.is(done.phase, 'MIGRATION_PHASE_COMPLETED');
  t.deepEqual(seen, ['call prepared', 'checks', 'migrate on it', 'source asked', 'call released'], 'no getServer after the move: the prepared check answered');

  // Refused after the checks (a shut-off server does not move live): the call is released, nothing runs on it.
  seen.length = 0;
  const off = a.addServer({ name: 'prepared-off', memoryBytes: 64 * 1024 ** 2, running: false });
  await t.throwsAsync(mgr.start(request('prep-off', off.uuid)), { message: /only a running server moves live/ });
  t.deepEqual(seen, ['call prepared', 'checks', 'call released']);

  // The prepared answer decides: a source that still holds the server fails the move's verification.
  seen.length = 0;
  sourceAnswer = 'still-here';
  const stays = a.addServer({ name: 'prepared-2', memoryBytes: 64 * 1024 ** 2 });
  await mgr.start(request('prep-2', stays.uuid));
  const failed = await mgr.wait('prep-2');
  t.is(failed.phase, 'MIGRATION_PHASE_FAILED');
  t.is(failed.error?.kind, 'MigrationVerificationError');
  t.true(seen.includes('source asked'));
});

test("the live flow arms the next move's shells while the guest moves, for its target", async (t) => {
  const fabric = new SimFabric({ bandwidthBps: 64 * 1024 ** 2, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'sa' });
  const b = fabric.addHost({ hostId: 'sb' });
  const armed: { uri: string; duringJob: boolean }[] = [];
  let inJob = false;
  const migrateLive = a.migrateLive.bind(a);
  a.migrateLive = async (spec) => {
    inJob = true;
    try {
      return await migrateLive(spec);
    } finally {
      inJob = false;
    }
  };
  (a as SimHost & Pick<Hypervisor, 'armStandby'>).armStandby = (uri: string) => armed.push({ uri, duringJob: inJob });
  const mgr = await openSimManager(t, fabric, a, { pollInterval: '50ms' });
  const vs = a.addServer({ name: 'standby', memoryBytes: 32 * 1024 ** 2 });
  await mgr.start(migrationRequest('sb-1', vs.uuid, b));
  t.is((await mgr.wait('sb-1')).phase, 'MIGRATION_PHASE_COMPLETED');
  t.deepEqual(armed, [{ uri: b.migrationUri, duringJob: true }], 'armed once, for the target, while the job ran');
});
