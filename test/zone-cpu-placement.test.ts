// Drains that must skip CPU-incompatible targets, over sim hosts (real
// nats-server, coordinator, maintenance engine with the zone CPU module,
// gRPC agents). In each zone the incompatible host has the most free memory,
// so without the CPU check the planner would pick it.
import anyTest, { type TestFn } from 'ava';
import { cpuXml, simCpu } from '../harness/sim/cpu.ts';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { trackingOf } from '../coordinator/zone-cpu/tracking.ts';
import { zoneHostCpuView } from '../coordinator/zone-cpu/host-view.ts';

const test = anyTest as TestFn<{ w: World }>;
const GiB = 1024 ** 3;

const CPUS: Record<string, ReturnType<typeof simCpu>> = {
  'sim-4': simCpu('Haswell-noTSX'),
  'sim-6': simCpu('Westmere'),
  'sim-10': simCpu('Westmere', [], { vendor: 'AMD' }),
};
const BIG = new Set(['sim-4', 'sim-6', 'sim-10']);

test.before(async (t) => {
  t.context.w = await startWorld({
    hosts: 10,
    zoneCpu: { watchIntervalMs: 300 },
    sim: { hostOptions: (_i, id) => ({ cpu: CPUS[id] ?? simCpu('Skylake-Server'), memoryTotalBytes: (BIG.has(id) ? 128 : 64) * GiB }) },
  });
});

test.after.always(async (t) => {
  await t.context.w?.close();
});

const zoneRecord = async (w: World, id: string) => (await w.coordinator.store.zones.require(id)).value;

async function zone(w: World, id: string, mode: string, hosts: string[]) {
  await w.call('CreateZone', { zone_id: id, name: id, cpu_mode: mode });
  for (const h of hosts) await w.call('UpdateHost', { host_id: h, zone_id: id });
  await waitFor(
    `zone ${id} CPU covers its hosts`,
    async () => trackingOf(await zoneRecord(w, id)).members.join(',') === [...hosts].sort().join(','),
    15_000,
    100,
  );
}

async function serversKnown(w: World, names: string[]) {
  await waitFor(
    `servers ${names.join(',')} known`,
    async () => {
      const have = new Set((await w.call('ListServers', {})).servers.map((s: { name: string }) => s.name));
      return names.every((n) => have.has(n));
    },
    15_000,
    100,
  );
}

const cpuCheck = (planned: any, hostId: string) =>
  planned.candidates.find((c: any) => c.host_id === hostId)?.checks.find((c: any) => c.check === 'cpu-compatible');

async function drain(w: World, hostId: string) {
  const op = await w.call('EnableMaintenance', { host_id: hostId, stop_unmigratable: false, confirm: true });
  return waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
}

test.serial('PASSTHROUGH: the odd host is flagged, advised, and never a target', async (t) => {
  const { w } = t.context;
  await zone(w, 'zp', 'CPU_MODE_PASSTHROUGH', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const cpu = await w.call('GetZoneCpu', { zone_id: 'zp' });
  // Reference: the CPU most hosts share (documented in decide.ts).
  t.is(cpu.model, 'Skylake-Server');
  t.deepEqual(cpu.mismatched_hosts, ['sim-4']);
  t.is(cpu.advice.length, 1);
  t.regex(cpu.advice[0], /sim-4.*Haswell-noTSX.*never a target/);
  t.is(cpu.history[0].reason, 'initial');
  const view = zoneHostCpuView((await w.coordinator.store.hosts.require('sim-4')).value, await zoneRecord(w, 'zp'));
  t.false(view.compatible);
  t.true((view.unmatching_missing_flags ?? []).includes('avx512f'));
  const api = await w.call('GetHost', { host_id: 'sim-4' });
  t.false(api.cpu.compatible);
  t.regex(api.cpu.advice, /never a target/);
  t.true(
    api.not_a_target_because.some((r: string) => /CPU/.test(r)),
    api.not_a_target_because.join(' | '),
  );

  const s = w.sims.byId('sim-1').sim.addServer({ name: 'pt-1', memoryBytes: 2 * GiB, cpu: { mode: 'host-passthrough' } });
  await serversKnown(w, ['pt-1']);
  const plan = await w.call('PlanMaintenance', { host_id: 'sim-1' });
  const p = plan.servers.find((x: any) => x.server_name === 'pt-1');
  t.truthy(p, JSON.stringify(plan.blockers));
  t.true(['sim-2', 'sim-3'].includes(p.target_host_id), p.target_host_id);
  const odd = cpuCheck(p, 'sim-4');
  t.is(odd?.verdict, 'block');
  t.regex(odd.reason, /differs from zone zp's passthrough CPU/);
  t.regex(cpuCheck(p, 'sim-2').reason, /identical/);
  const done = await drain(w, 'sim-1');
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.true(['sim-2', 'sim-3'].includes(w.sims.fabric.whereIs(s.uuid)!.hostId));
});

test.serial(
  'DEFAULT: a running host-model server skips a target that cannot run its CPU; shut-off and older-model servers may go there; answers are cached per host incarnation',
  async (t) => {
    const { w } = t.context;
    await zone(w, 'zd', 'CPU_MODE_DEFAULT', ['sim-5', 'sim-6', 'sim-7']);
    t.is((await w.call('GetZoneCpu', { zone_id: 'zd' })).model, '', 'DEFAULT has no zone model');
    const src = w.sims.byId('sim-5').sim;
    const run = src.addServer({ name: 'hm-run', memoryBytes: 2 * GiB });
    src.addServer({ name: 'hm-off', memoryBytes: 1 * GiB, running: false });
    src.addServer({ name: 'west', memoryBytes: 1 * GiB, cpu: { mode: 'custom', model: 'Westmere', xml: cpuXml('Westmere', 'Intel', []) } });
    await serversKnown(w, ['hm-run', 'hm-off', 'west']);

    const cache = w.zoneCpu!.cache();
    const plan = await w.call('PlanMaintenance', { host_id: 'sim-5' });
    const by = (n: string) => plan.servers.find((x: any) => x.server_name === n);
    t.is(by('hm-run').target_host_id, 'sim-7');
    const blocked = cpuCheck(by('hm-run'), 'sim-6');
    t.is(blocked.verdict, 'block');
    t.regex(blocked.reason, /host-model of sim-5: Skylake-Server/);
    t.regex(blocked.reason, /lacks .*avx2/);
    t.is(by('hm-off').target_host_id, 'sim-6', 'a shut-off host-model server takes the target CPU at boot');
    t.regex(cpuCheck(by('hm-off'), 'sim-6').reason, /host-model/);
    t.is(by('west').target_host_id, 'sim-6');
    t.regex(cpuCheck(by('west'), 'sim-6').reason, /guest CPU Westmere: identical/);
    t.false(plan.warnings.some((x: string) => /not checked/.test(x)));

    const calls = cache.calls;
    await w.call('PlanMaintenance', { host_id: 'sim-5' });
    t.is(cache.calls, calls, 'same hosts, same incarnations, same CPUs: no new CompareCpu call');

    const done = await drain(w, 'sim-5');
    t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
    t.is(w.sims.fabric.whereIs(run.uuid)!.hostId, 'sim-7');
    t.deepEqual(
      done.steps
        .filter((s: any) => s.target_host_id === 'sim-6')
        .map((s: any) => s.server_name)
        .sort(),
      ['hm-off', 'west'],
    );

    // A new incarnation of a target is asked again (its CPU may have changed with the reboot).
    await w.sims.byId('sim-7').restart();
    await waitFor(
      'sim-7 new incarnation registered',
      async () => (await w.call('GetHost', { host_id: 'sim-7' })).incarnation === w.sims.byId('sim-7').incarnation,
      15_000,
      100,
    );
    const before = cache.calls;
    await w.call('PlanMaintenance', { host_id: 'sim-6' });
    t.true(cache.calls > before, 'asked the new incarnation');
  },
);

test.serial('EXTENDED: a host that cannot run the zone model (another vendor) is flagged on join and skipped by the drain', async (t) => {
  const { w } = t.context;
  await zone(w, 'ze', 'CPU_MODE_EXTENDED', ['sim-8', 'sim-9']);
  const first = await w.call('GetZoneCpu', { zone_id: 'ze' });
  t.is(first.model, 'Skylake-Server');
  await w.call('UpdateHost', { host_id: 'sim-10', zone_id: 'ze' });
  await waitFor('sim-10 covered', async () => trackingOf(await zoneRecord(w, 'ze')).members.includes('sim-10'), 15_000, 100);
  const cpu = await w.call('GetZoneCpu', { zone_id: 'ze' });
  t.is(cpu.model, 'Skylake-Server', 'no model common to two vendors: the zone keeps its model');
  t.deepEqual(cpu.mismatched_hosts, ['sim-10']);
  t.regex(cpu.advice.join(' '), /sim-10 \(AMD Westmere\) cannot run zone ze's model Skylake-Server/);

  const s = w.sims.byId('sim-8').sim.addServer({ name: 'ext-1', memoryBytes: 2 * GiB, cpu: { mode: 'custom', model: cpu.model, xml: cpu.xml } });
  await serversKnown(w, ['ext-1']);
  const plan = await w.call('PlanMaintenance', { host_id: 'sim-8' });
  const p = plan.servers.find((x: any) => x.server_name === 'ext-1');
  t.is(p.target_host_id, 'sim-9');
  const odd = cpuCheck(p, 'sim-10');
  t.is(odd.verdict, 'block');
  t.regex(odd.reason, /cannot run zone ze's model Skylake-Server/);
  t.regex(cpuCheck(p, 'sim-9').reason, /zone model Skylake-Server: identical/);
  const done = await drain(w, 'sim-8');
  t.is(done.state, 'OPERATION_STATE_SUCCEEDED', done.reason);
  t.is(w.sims.fabric.whereIs(s.uuid)!.hostId, 'sim-9');

  // The flagged AMD host does not stop a weaker Intel host from lowering the zone when it returns.
  w.sims.byId('sim-8').sim.cpu = simCpu('Haswell-noTSX');
  const off = await w.call('DisableMaintenance', { host_id: 'sim-8' });
  const back = await waitForOperation(w, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  t.is(back.state, 'OPERATION_STATE_SUCCEEDED', back.reason);
  const after = await w.call('GetZoneCpu', { zone_id: 'ze' });
  t.is(after.model, 'Haswell-noTSX');
  t.is(after.history.at(-1).cause_host_id, 'sim-8');
  t.deepEqual(after.mismatched_hosts, ['sim-10']);
});
