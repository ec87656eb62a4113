// Drains at their configured concurrency (issue 13, targets 2 and 6), on sim
// hosts with a real nats-server and real gRPC agents: with limit 8 eight
// migrations do run at once and no target is promised more memory than it
// has; three coordinators on a 3-node NATS cluster complete a drain with one
// leader doing the work while a follower serves the reads.
import test from 'ava';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { ADMIN_TOKEN } from '../harness/maintenance-world.ts';
import { waitFor, type TestAdminClient } from '../harness/coordinator-helpers.ts';
import type { SimMigrationRecord } from '../harness/sim/model.ts';

const GiB = 1024 ** 3;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED', 'OPERATION_STATE_CANCELLED'];

/** Most migrations in flight at once (by the hypervisor's own start and finish times). */
function peak(ms: SimMigrationRecord[]): number {
  const edges = ms
    .flatMap((m) => [[m.startedAtMs, 1] as const, [m.finishedAtMs || Number.MAX_SAFE_INTEGER, -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

async function zoneWith(w: World, hostIds: string[], policy: object): Promise<void> {
  await w.call('CreateZone', { zone_id: 'z1', name: 'z1', cpu_mode: 'CPU_MODE_DEFAULT', policy });
  for (const h of hostIds) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
}

test('limit 8, 300 servers, capacity for exactly every server: eight migrations run at once and no target holds more than it can', async (t) => {
  const targets = 10;
  const perTarget = 30; // 256 MiB servers; each target has room for 30 after its 1 GiB host reserve
  const servers = targets * perTarget;
  const size = 256 * 1024 ** 2;
  const w = await startWorld({
    hosts: targets + 1,
    sim: {
      // ~0.2 s per migration: a start must cost far less than that for eight to overlap.
      fabricOptions: { bandwidthBps: 16 * GiB, setupMs: 200, tickMs: 20 },
      hostOptions: (i) => ({ memoryTotalBytes: i === 0 ? 128 * GiB : perTarget * size + GiB }),
      migration: { maxConcurrent: 8 },
    },
  });
  t.teardown(() => w.close());
  const hostIds = Array.from({ length: targets + 1 }, (_, i) => `sim-${i + 1}`);
  await zoneWith(w, hostIds, { max_migrations_per_source: 8, max_migrations_per_zone: 8, max_incoming_per_target: 8 });
  const src = w.sims.byId('sim-1').sim;
  for (let k = 0; k < servers; k++) src.addServer({ name: `vs${k}`, memoryBytes: size });
  await waitFor('servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === servers, 60_000, 200);
  // Free memory as the targets' heartbeats report it, before the drain.
  await waitFor(
    'targets report their memory',
    async () =>
      (await w.call('ListHosts', {})).hosts.filter((h: any) => h.host_id !== 'sim-1' && Number(h.memory_total_bytes) === perTarget * size + GiB).length ===
      targets,
    30_000,
    200,
  );

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  const done = await waitForOperation(w, op.id, ENDED, 300_000);
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);

  const ms = w.sims.fabric.migrations;
  t.is(ms.filter((m) => m.result === 'completed').length, servers, 'every server moved once');
  t.is(peak(ms), 8, `eight at once, never more (peak ${peak(ms)})`);
  for (const id of hostIds.slice(1)) {
    const held = w.sims
      .byId(id)
      .sim.servers()
      .reduce((a, s) => a + s.memory_bytes, 0);
    t.true(held <= perTarget * size, `${id} holds ${held / size} servers' memory, at most ${perTarget}`);
  }
});

test('three coordinators on a 3-node NATS cluster: one leader drains, a follower serves the reads as the drain goes', async (t) => {
  const servers = 24;
  const w = await startWorld({
    hosts: 4,
    natsCluster: 3,
    sim: { fabricOptions: { bandwidthBps: 8 * GiB, setupMs: 20, tickMs: 10 }, migration: { maxConcurrent: 4 } },
  });
  t.teardown(() => w.close());
  const others = [await w.startCoordinator('c2'), await w.startCoordinator('c3')];
  const instances = [{ id: 'c1', maintenance: w.maintenance, admin: w.admin }, ...others.map((o, k) => ({ id: `c${k + 2}`, ...o }))];
  await zoneWith(w, ['sim-1', 'sim-2', 'sim-3', 'sim-4'], { max_migrations_per_source: 4, max_migrations_per_zone: 4, max_incoming_per_target: 4 });
  const src = w.sims.byId('sim-1').sim;
  for (let k = 0; k < servers; k++) src.addServer({ name: `vs${k}`, memoryBytes: GiB / 4 });
  await waitFor('servers known', async () => (await w.call('ListServers', { host_id: 'sim-1' })).servers.length === servers, 30_000, 200);

  const op = await w.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  // Which instances run the operation, sampled while it runs.
  const ranIt = new Set<string>();
  let twoAtOnce = false;
  let follower: (typeof instances)[number] | null = null;
  let followerSawProgress = false;
  const call = (a: TestAdminClient, method: string, req: object) => a.call(method, req, { token: ADMIN_TOKEN, timeoutMs: 20_000 });
  let done: any = null;
  while (!done) {
    const running = instances.filter((i) => i.maintenance.engine().running().includes(op.id));
    for (const i of running) ranIt.add(i.id);
    if (running.length > 1) twoAtOnce = true;
    follower ??= running.length === 1 ? instances.find((i) => i !== running[0])! : null;
    const reader = follower ?? instances[2]!;
    const cur = await call(reader.admin, 'GetOperation', { operation_id: op.id });
    if (follower && cur.state === 'OPERATION_STATE_RUNNING' && cur.steps.some((s: any) => s.phase === 'STEP_PHASE_DONE')) followerSawProgress = true;
    if (ENDED.includes(cur.state)) done = cur;
    else await new Promise((r) => setTimeout(r, 50));
  }
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(ranIt.size, 1, `one instance ran the drain (${[...ranIt].join(', ')})`);
  t.false(twoAtOnce, 'never two at once');
  t.truthy(follower, 'a follower was found');
  t.true(followerSawProgress, 'the follower showed the drain as it went');
  // The follower's reads reflect the leader's writes: the source is empty, every server is elsewhere.
  const f = follower!;
  t.is((await call(f.admin, 'ListServers', { host_id: 'sim-1' })).servers.length, 0);
  const moved = (await call(f.admin, 'ListServers', {})).servers.filter((s: any) => s.host_id !== 'sim-1');
  t.is(moved.length, servers);
  const host = await call(f.admin, 'GetHost', { host_id: 'sim-1' });
  t.is(host.maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');
  t.is(w.sims.fabric.migrations.filter((m) => m.result === 'completed').length, servers, 'no server moved twice');
});
