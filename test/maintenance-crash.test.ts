// A coordinator process killed with SIGKILL in the middle of a drain, then a
// fresh process started: it resumes the operation from its record, asks the
// agents what happened by migration id, and no server moves twice or is lost.
// Agents are sim agents in this process (real gRPC + NATS); the coordinators
// are real `coordinator/main.ts` processes.
import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { spawnCoordinator, type CoordinatorProcess } from '../harness/coordinator-process.ts';
import { TestAdminClient, tempDir, waitFor } from '../harness/coordinator-helpers.ts';
import { ADMIN_TOKEN, writeTokenFile } from '../harness/maintenance-world.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

test('SIGKILL of the coordinator mid-drain: a restarted coordinator completes it; every server on exactly one host, moved once', async (t) => {
  const dir = tempDir('crash');
  let nats: TestNats | undefined;
  let sims: SimAgents | undefined;
  const procs: CoordinatorProcess[] = [];
  const clients: TestAdminClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    for (const p of procs) await p.stop(2000);
    await sims?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  nats = await startTestNats({ dir, hosts: ['sim-1', 'sim-2', 'sim-3', 'sim-4'] });
  sims = await startSimAgents({
    count: 4,
    natsUrl: nats.node.url,
    natsAuth: nats.hostAuth,
    heartbeatIntervalMs: 500,
    fabricOptions: { bandwidthBps: 128 * MiB },
  });
  const configFile = path.join(dir, 'coordinator.yaml');
  writeFileSync(
    configFile,
    toYaml({
      coordinatorId: 'crashy',
      admin: { listen: '127.0.0.1:0' },
      auth: { tokenFile: writeTokenFile(dir) },
      nats: { servers: [nats.node.url], ...nats.coordinatorAuth, kvReplicas: 1, requestTimeout: '3s' },
      leader: { ttl: '2s', renewInterval: '300ms' },
      inventory: { offlineAfter: '5s', reconcileInterval: '2s' },
      logLevel: 'info',
    }),
  );
  const start = async () => {
    const p = await spawnCoordinator(configFile);
    procs.push(p);
    const c = new TestAdminClient(p.port);
    clients.push(c);
    return { p, call: (m: string, r: object) => c.call(m, r, { token: ADMIN_TOKEN, timeoutMs: 20_000 }) };
  };
  const first = await start();
  await waitFor('4 hosts online', async () => (await first.call('ListHosts', {})).hosts.filter((h: any) => h.online).length === 4, 30_000, 200);
  await first.call('CreateZone', { zone_id: 'z1', name: 'z1', cpu_mode: 'CPU_MODE_DEFAULT' });
  for (const h of ['sim-1', 'sim-2', 'sim-3', 'sim-4']) await first.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  const src = sims.byId('sim-1').sim;
  const servers = [
    src.addServer({ name: 'live-a', memoryBytes: GiB }),
    src.addServer({ name: 'live-b', memoryBytes: GiB }),
    src.addServer({ name: 'cold-c', memoryBytes: 512 * MiB, hotMigration: false }),
    src.addServer({ name: 'off-d', memoryBytes: 256 * MiB, running: false }),
  ];
  await waitFor('4 servers known', async () => (await first.call('ListServers', { host_id: 'sim-1' })).servers.length === 4, 20_000, 200);
  await first.p.waitForLog((l) => l.msg === 'leading: resuming unfinished operations', 15_000);
  const op = await first.call('EnableMaintenance', { host_id: 'sim-1', stop_unmigratable: false, confirm: true });
  // Kill it while the first migration is in flight (its migration id is in the record, the agent runs it).
  await waitFor(
    'a migration in flight',
    async () => {
      const o = await first.call('GetOperation', { operation_id: op.id });
      return o.steps.some((s: any) => s.phase === 'STEP_PHASE_MIGRATING' && s.percent > 5);
    },
    30_000,
    50,
  );
  first.p.signal('SIGKILL');
  await waitFor('killed', () => first.p.exited, 5000, 50);
  const inFlight = sims.fabric.migrations.filter((m) => m.result === 'running').length;
  t.is(inFlight, 1, 'the agent kept migrating after the coordinator died');

  const second = await start();
  const done = await waitFor(
    'the drain completes under the new process',
    async () => {
      const o = await second.call('GetOperation', { operation_id: op.id });
      return ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'].includes(o.state) ? o : null;
    },
    90_000,
    200,
  );
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  for (const s of servers) {
    const where = [...sims.fabric.hosts.values()].filter((h) => h.servers().some((x) => x.uuid === s.uuid)).map((h) => h.hostId);
    t.is(where.length, 1, `${s.name} on exactly one host`);
    t.not(where[0], 'sim-1');
    const moves = sims.fabric.migrationsOf(s.uuid);
    t.is(moves.filter((m) => m.result === 'completed').length, 1, `${s.name} moved once: ${JSON.stringify(moves.map((m) => [m.mode, m.result]))}`);
    t.is(moves.length, 1, `${s.name}: no second attempt was started`);
    const now = sims.fabric
      .whereIs(s.uuid)!
      .servers()
      .find((x) => x.uuid === s.uuid)!;
    t.is(now.state, s.state, `${s.name} kept its power state`);
  }
  t.is((await second.call('GetHost', { host_id: 'sim-1' })).maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');
});
