// Maintenance on real libvirt: a 3-host lab with real QEMU guests printing
// heartbeats, one drydock-agent process per lab host, a real nats-server on
// the lab's root address, and a real coordinator with its engine. The
// acceptance test of the maintenance issue.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLab, gaps, type Lab, type LabHost, type DefinedGuest } from '../scripts/lab/index.ts';
import { startTestNats, type TestNats } from '../harness/test-nats.ts';
import { labCoordinatorTls, startLabAgents, type LabAgent } from '../harness/lab-agents.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { maintenanceModule, type MaintenanceModule } from '../coordinator/operations/module.ts';
import { TestAdminClient, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { ADMIN_TOKEN, waitForOperation, writeTokenFile } from '../harness/maintenance-world.ts';

const LAB = { name: 'ddmt', subnet: 45 };

async function domstate(host: LabHost, name: string): Promise<string> {
  try {
    return (await host.virsh(['domstate', name])).stdout.trim();
  } catch {
    return 'absent';
  }
}

async function whereIs(lab: Lab, name: string): Promise<{ host: string; state: string }[]> {
  const out = [];
  for (const h of lab.hosts) {
    const st = await domstate(h, name);
    if (st !== 'absent') out.push({ host: h.name, state: st });
  }
  return out;
}

/** Restarts an agent that exits with 75 after the lab reboot (systemd's Restart= in production). */
function supervise(agents: LabAgent[], stopping: { value: boolean }): void {
  for (const a of agents) {
    const watch = () =>
      a.child.once('exit', (code) => {
        if (stopping.value || code !== 75) return;
        void a.start().then(watch, () => undefined);
      });
    watch();
  }
}

test('lab: drain h1 (live, cold-only, local disk), heartbeats never stop, reboot and return h1, return the servers', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-maint-lab-'));
  const stopping = { value: false };
  let lab: Lab | undefined;
  let nats: TestNats | undefined;
  let agents: LabAgent[] = [];
  let coord: Coordinator | undefined;
  let m: MaintenanceModule | undefined;
  let admin: TestAdminClient | undefined;
  t.teardown(async () => {
    stopping.value = true;
    admin?.close();
    await m?.stop();
    await coord?.stop();
    await Promise.allSettled(agents.map((a) => a.stop()));
    await lab?.destroy();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  lab = await createLab({ hosts: 3, ...LAB });
  const [h1, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
  nats = await startTestNats({ dir, host: lab.rootIp, hosts: lab.hosts.map((h) => h.name) });
  const guests: Record<string, DefinedGuest> = {};
  const booting = Promise.all([
    lab.defineGuest(h1, { name: 'mt-live1', memoryMiB: 128, fillMiB: 32 }),
    lab.defineGuest(h1, { name: 'mt-live2', memoryMiB: 128, fillMiB: 16 }),
    lab.defineGuest(h1, { name: 'mt-cold', memoryMiB: 128, fillMiB: 8, hotMigration: false }),
    lab.defineGuest(h1, { name: 'mt-disk', memoryMiB: 128, fillMiB: 16, localDiskMiB: 32 }),
  ]);
  agents = await startLabAgents(lab, { dir, natsUrl: nats.node.url, natsAuth: nats.hostAuth });
  supervise(agents, stopping);
  for (const g of await booting) guests[g.name] = g;

  m = maintenanceModule({ pollIntervalMs: 250, rebootTimeoutMs: 120_000, settlePauseOverrideS: 1 });
  coord = await startCoordinator(
    testConfig({
      id: 'lab-c1',
      natsServers: [nats.node.url],
      natsAuth: nats.coordinatorAuth,
      tokenFile: writeTokenFile(dir),
      offlineAfter: '10s',
      reconcileInterval: '3s',
      agentsTls: await labCoordinatorTls(),
    }),
    { beforeServe: m.beforeServe, handlerGroups: m.handlerGroups },
  );
  admin = new TestAdminClient(coord.port);
  const call = (method: string, req: object) => admin!.call(method, req, { token: ADMIN_TOKEN, timeoutMs: 30_000 });
  await waitFor('3 lab hosts online', async () => (await call('ListHosts', {})).hosts.filter((h: any) => h.online).length === 3, 30_000, 250);
  await call('CreateZone', { zone_id: 'lab', name: 'lab zone', cpu_mode: 'CPU_MODE_DEFAULT' });
  for (const h of lab.hosts) await call('UpdateHost', { host_id: h.name, zone_id: 'lab' });
  await waitFor('4 guests in the inventory', async () => (await call('ListServers', { host_id: 'h1' })).servers.length === 4, 30_000, 250);
  await Promise.all(Object.keys(guests).map((g) => lab!.waitForHeartbeats(g, { count: 3, timeoutMs: 90_000 })));
  const bootsBefore = Object.fromEntries(await Promise.all(Object.keys(guests).map(async (g) => [g, await lab!.currentBoot(g)] as const)));

  // ---- enable maintenance
  const plan = await call('PlanMaintenance', { host_id: 'h1' });
  t.deepEqual(plan.blockers, []);
  const actions = Object.fromEntries(plan.servers.map((s: any) => [s.server_name, s.action]));
  t.deepEqual(actions, {
    'mt-live1': 'SERVER_ACTION_LIVE_MIGRATE',
    'mt-live2': 'SERVER_ACTION_LIVE_MIGRATE',
    'mt-cold': 'SERVER_ACTION_COLD_MIGRATE',
    'mt-disk': 'SERVER_ACTION_LIVE_MIGRATE',
  });
  const t0 = Date.now();
  const op = await call('EnableMaintenance', { host_id: 'h1', stop_unmigratable: false, confirm: true });
  const drained = await waitForOperation({ call }, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 240_000);
  t.is(drained.state, 'OPERATION_STATE_SUCCEEDED', `${drained.reason} ${JSON.stringify(drained.steps.map((s: any) => [s.server_name, s.phase, s.error]))}`);
  t.log(`drain of 4 guests: ${Date.now() - t0} ms`);
  for (const g of Object.keys(guests)) {
    const at = await whereIs(lab, g);
    t.is(at.length, 1, `${g} is defined on exactly one host: ${JSON.stringify(at)}`);
    t.true(['h2', 'h3'].includes(at[0]!.host), `${g} on ${at[0]!.host}`);
    t.is(at[0]!.state, 'running', `${g} kept its power state`);
  }
  // Live guests: the same boot, the counter continuing on the new host without a gap.
  for (const g of ['mt-live1', 'mt-live2', 'mt-disk']) {
    const at = (await whereIs(lab, g))[0]!.host;
    const beats = await lab.waitForHeartbeats(g, { count: 2, host: at, timeoutMs: 30_000 });
    t.is(beats[0]!.boot, bootsBefore[g] ?? '', `${g} was not restarted`);
    t.deepEqual(gaps(beats), [], `${g} heartbeats have no gap`);
  }
  // The disk guest keeps writing: its W counter continues on the target.
  const wRecs = (await lab.serialRecords('mt-disk')).filter((r) => r.kind === 'W' && r.boot === bootsBefore['mt-disk']);
  const wHosts = new Set(wRecs.map((r) => r.host));
  t.true(wHosts.size >= 2, `disk writes seen on both hosts: ${[...wHosts].join(',')}`);
  // The cold-only guest was shut down and started again on the target.
  const coldBeats = await lab.waitForHeartbeats('mt-cold', { count: 1, notBoot: bootsBefore['mt-cold'] ?? '', timeoutMs: 60_000 });
  t.not(coldBeats[0]!.boot, bootsBefore['mt-cold']);
  t.is((await call('GetHost', { host_id: 'h1' })).maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');

  // ---- disable maintenance: the lab host reboots (libvirtd restarted, new boot id), the agent comes back new
  const bootIdBefore = await h1.bootId();
  const incarnationBefore = (await call('GetHost', { host_id: 'h1' })).incarnation;
  const off = await call('DisableMaintenance', { host_id: 'h1' });
  const back = await waitForOperation({ call }, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 180_000);
  t.is(back.state, 'OPERATION_STATE_SUCCEEDED', back.reason);
  t.not(await h1.bootId(), bootIdBefore, 'the lab host rebooted');
  const h1After = await call('GetHost', { host_id: 'h1' });
  t.is(h1After.maintenance, 'MAINTENANCE_STATE_NONE');
  t.not(h1After.incarnation, incarnationBefore, 'a new agent incarnation');
  t.is((await call('ListServers', { host_id: 'h1' })).servers.length, 0, 'servers are not moved back by themselves');

  // ---- return servers
  await waitFor('h1 online again', async () => (await call('GetHost', { host_id: 'h1' })).online, 30_000, 250);
  const ret = await call('ReturnServers', { host_id: 'h1' });
  const returned = await waitForOperation({ call }, ret.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED'], 240_000);
  t.is(returned.state, 'OPERATION_STATE_SUCCEEDED', returned.reason);
  for (const g of Object.keys(guests)) {
    const at = await whereIs(lab, g);
    t.deepEqual(at, [{ host: 'h1', state: 'running' }], `${g} back on h1, running`);
  }
  for (const g of ['mt-live1', 'mt-live2']) t.deepEqual(gaps(await lab.heartbeats(g)), [], `${g}: no gap across both moves`);
  void h2;
  void h3;
});
