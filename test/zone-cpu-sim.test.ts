// Zone CPU over sim hosts, end to end: real nats-server, real coordinator
// with the maintenance engine and the zone CPU module, real gRPC agents
// whose CompareCpu/BaselineCpu are the sim's set logic over SIM_CPU_MODELS.
// One world, steps in order: hosts join an EXTENDED zone, an identical, a
// newer and an older host return from maintenance, a weaker host joins, the
// operator recomputes with and without allow_upgrade, errors are typed.
import anyTest, { type TestFn } from 'ava';
import { simCpu } from '../harness/sim/cpu.ts';
import { startWorld, waitForOperation, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { trackingOf } from '../coordinator/zone-cpu/tracking.ts';
import { zoneHostCpuView } from '../coordinator/zone-cpu/host-view.ts';

const test = anyTest as TestFn<{ w: World }>;
const GiB = 1024 ** 3;
const AVX512 = ['avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl', 'clwb', 'pku'];

// sim-1..4 Skylake-Server (z1); sim-5 Westmere (joins later); sim-6 alone in z3 (its agent dies).
test.before(async (t) => {
  const w = await startWorld({
    hosts: 6,
    zoneCpu: { watchIntervalMs: 300 },
    sim: { hostOptions: (_i, id) => ({ cpu: id === 'sim-5' ? simCpu('Westmere') : simCpu('Skylake-Server') }) },
  });
  t.context.w = w;
});

test.after.always(async (t) => {
  await t.context.w?.close();
});

const zoneRecord = async (w: World, id: string) => (await w.coordinator.store.zones.require(id)).value;
const hostRecord = async (w: World, id: string) => (await w.coordinator.store.hosts.require(id)).value;

async function waitMembers(w: World, zoneId: string, members: string[]) {
  await waitFor(
    `zone ${zoneId} CPU covers ${members.join(',')}`,
    async () => trackingOf(await zoneRecord(w, zoneId)).members.join(',') === [...members].sort().join(','),
    15_000,
    100,
  );
}

/** Enable maintenance, swap the CPU while it is down (new hardware), disable: the host reboots and returns. */
async function cycle(w: World, hostId: string, cpu?: ReturnType<typeof simCpu>) {
  const on = await w.call('EnableMaintenance', { host_id: hostId, stop_unmigratable: false, confirm: true });
  const entered = await waitForOperation(w, on.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  if (entered.state !== 'OPERATION_STATE_SUCCEEDED') throw new Error(`enable ${hostId}: ${entered.state} ${entered.reason}`);
  if (cpu) w.sims.byId(hostId).sim.cpu = cpu;
  const off = await w.call('DisableMaintenance', { host_id: hostId });
  const back = await waitForOperation(w, off.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED']);
  if (back.state !== 'OPERATION_STATE_SUCCEEDED') throw new Error(`disable ${hostId}: ${back.state} ${back.reason}`);
}

test.serial("hosts join an EXTENDED zone: the initial model is libvirt's baseline of them", async (t) => {
  const { w } = t.context;
  await w.call('CreateZone', { zone_id: 'z1', name: 'z1', cpu_mode: 'CPU_MODE_EXTENDED' });
  for (const h of ['sim-1', 'sim-2', 'sim-3', 'sim-4']) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  await waitMembers(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
  const cpu = await w.call('GetZoneCpu', { zone_id: 'z1' });
  t.is(cpu.mode, 'CPU_MODE_EXTENDED');
  t.is(cpu.model, 'Skylake-Server');
  t.is(cpu.vendor, 'Intel');
  t.true(cpu.xml.includes('Skylake-Server'));
  t.is(cpu.history.length, 1, JSON.stringify(cpu.history));
  t.is(cpu.history[0].reason, 'initial');
  t.is(cpu.history[0].to_model, 'Skylake-Server');
  t.deepEqual(cpu.mismatched_hosts, []);
  t.deepEqual(cpu.advice, []);
  const view = zoneHostCpuView(await hostRecord(w, 'sim-2'), await zoneRecord(w, 'z1'));
  t.true(view.compatible);
  t.true((view.default_flags ?? []).includes('avx512f'), "default flags are the zone model's");
  t.deepEqual(view.unmatching_missing_flags, []);
  t.deepEqual(view.unmatching_extra_flags, []);
});

test.serial('an identical host returns from maintenance: the zone model stays', async (t) => {
  const { w } = t.context;
  const before = await zoneRecord(w, 'z1');
  await cycle(w, 'sim-2');
  const after = await zoneRecord(w, 'z1');
  t.is(after.cpu.model, 'Skylake-Server');
  t.is(after.cpu.xml, before.cpu.xml);
  t.is(after.cpu.history.length, before.cpu.history.length, 'no history entry');
  t.deepEqual(after.cpu.advice, []);
});

test.serial('a newer host returns: the zone model stays; its extra flags show as unmatching', async (t) => {
  const { w } = t.context;
  const before = await zoneRecord(w, 'z1');
  await cycle(w, 'sim-3', simCpu('Skylake-Server', ['avx512vnni', 'avx512-bf16']));
  const after = await zoneRecord(w, 'z1');
  t.is(after.cpu.model, 'Skylake-Server');
  t.is(after.cpu.history.length, before.cpu.history.length);
  t.is(trackingOf(after).hosts['sim-3']?.verdict, 'SUPERSET');
  const view = zoneHostCpuView(await hostRecord(w, 'sim-3'), after);
  t.true(view.compatible);
  t.deepEqual(view.unmatching_extra_flags, ['avx512-bf16', 'avx512vnni']);
  t.true((view.host_flags ?? []).includes('avx512vnni') && (view.host_flags ?? []).includes('avx512f'), "the host's full flag list");
  t.deepEqual(view.unmatching_missing_flags, []);
});

test.serial('an older host returns: the zone model is downgraded; the event names the host and the flags lost; host and zone advise moving it', async (t) => {
  const { w } = t.context;
  // Servers on the zone's hosts: the downgrade does not touch them (they keep their CPU until a power cycle).
  w.sims.byId('sim-1').sim.addServer({ name: 'web-1', memoryBytes: 1 * GiB });
  await cycle(w, 'sim-4', simCpu('Haswell-noTSX'));
  const cpu = await w.call('GetZoneCpu', { zone_id: 'z1' });
  t.is(cpu.model, 'Haswell-noTSX');
  const ev = cpu.history.at(-1);
  t.is(ev.reason, 'host-returned');
  t.is(ev.cause_host_id, 'sim-4');
  t.is(ev.from_model, 'Skylake-Server');
  t.is(ev.to_model, 'Haswell-noTSX');
  t.deepEqual(ev.features_lost, AVX512);
  t.deepEqual(ev.features_gained, []);
  t.regex(ev.message, /sim-4/);
  t.regex(ev.message, /avx512f/);
  t.regex(ev.message, /zone matching Haswell-noTSX/);
  t.is(cpu.advice.length, 1, cpu.advice.join(' | '));
  t.regex(cpu.advice[0], /sim-4.*Haswell-noTSX/);
  t.deepEqual(cpu.mismatched_hosts, [], 'after the downgrade every host runs the zone model');
  const zone = await zoneRecord(w, 'z1');
  const view = zoneHostCpuView(await hostRecord(w, 'sim-4'), zone);
  t.regex(view.advice ?? '', /move sim-4 to a zone matching Haswell-noTSX/);
  // The same view through the admin API (GetHost → HostCpuView).
  const api = await w.call('GetHost', { host_id: 'sim-4' });
  t.regex(api.cpu.advice, /move sim-4 to a zone matching Haswell-noTSX/);
  t.true(api.cpu.compatible);
  t.is(api.cpu.model, 'Haswell-noTSX');
  t.deepEqual(api.cpu.default_flags, view.default_flags);
  t.true(view.compatible);
  t.false((view.default_flags ?? []).includes('avx512f'));
  // A Skylake host now has flags beyond the zone.
  const sky = zoneHostCpuView(await hostRecord(w, 'sim-1'), zone);
  t.deepEqual([...(sky.unmatching_extra_flags ?? [])].sort(), AVX512);
  t.deepEqual((await w.call('GetHost', { host_id: 'sim-1' })).cpu.unmatching_extra_flags, AVX512);
  t.is(sky.advice, '');
});

test.serial('a weaker host joins the zone: recomputed on join, downgraded, the join named', async (t) => {
  const { w } = t.context;
  await w.call('UpdateHost', { host_id: 'sim-5', zone_id: 'z1' });
  await waitMembers(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4', 'sim-5']);
  const cpu = await w.call('GetZoneCpu', { zone_id: 'z1' });
  t.is(cpu.model, 'Westmere');
  const ev = cpu.history.at(-1);
  t.is(ev.reason, 'host-joined');
  t.is(ev.cause_host_id, 'sim-5');
  t.is(ev.from_model, 'Haswell-noTSX');
  t.deepEqual(ev.features_lost, ['avx', 'avx2', 'bmi1', 'bmi2', 'fma', 'movbe']);
  t.true(
    cpu.advice.some((a: string) => /move sim-5 to a zone matching Westmere/.test(a)),
    cpu.advice.join(' | '),
  );
  t.true(
    cpu.advice.some((a: string) => /move sim-4 to a zone matching Haswell-noTSX/.test(a)),
    'the earlier advice stays while sim-4 is unchanged',
  );
});

test.serial(
  'RecomputeZoneCpu: a host leaving raises nothing; without allow_upgrade it only reports; with it the model rises and running servers are listed',
  async (t) => {
    const { w } = t.context;
    const running = w.sims.byId('sim-2').sim.addServer({ name: 'db-1', memoryBytes: 1 * GiB });
    w.sims.byId('sim-3').sim.addServer({ name: 'off-1', memoryBytes: 1 * GiB, running: false });
    const web = w.sims
      .byId('sim-1')
      .sim.servers()
      .find((s) => s.name === 'web-1')!;
    await waitFor('servers known', async () => (await w.call('ListServers', {})).servers.length >= 3, 15_000, 100);
    await w.call('CreateZone', { zone_id: 'z2', name: 'z2', cpu_mode: 'CPU_MODE_DEFAULT' });
    await w.call('UpdateHost', { host_id: 'sim-5', zone_id: 'z2' });
    await waitMembers(w, 'z1', ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
    const stayed = await w.call('GetZoneCpu', { zone_id: 'z1' });
    t.is(stayed.model, 'Westmere', 'a raise never happens by itself');

    const histLen = stayed.history.length;
    const dry = await w.call('RecomputeZoneCpu', { zone_id: 'z1', allow_upgrade: false });
    t.is(dry.model, 'Westmere');
    t.is(dry.history.length, histLen);
    t.deepEqual(dry.servers_needing_power_cycle, []);
    const offer = dry.advice.find((a: string) => /upgrade is available/.test(a));
    t.truthy(offer, dry.advice.join(' | '));
    t.regex(offer, /Haswell-noTSX/);
    t.regex(offer, /2 running server/);
    t.is((await w.call('GetZoneCpu', { zone_id: 'z1' })).model, 'Westmere', 'still not raised');

    const up = await w.call('RecomputeZoneCpu', { zone_id: 'z1', allow_upgrade: true });
    t.is(up.model, 'Haswell-noTSX');
    const ev = up.history.at(-1);
    t.is(ev.reason, 'operator-upgrade');
    t.is(ev.cause_host_id, '');
    t.deepEqual(ev.features_gained, ['avx', 'avx2', 'bmi1', 'bmi2', 'fma', 'movbe']);
    t.deepEqual(up.servers_needing_power_cycle, [running.uuid, web.uuid].sort());
    // The list is kept with the change: a later read still has it.
    t.deepEqual(ev.servers_needing_power_cycle, [running.uuid, web.uuid].sort());
    const later = await w.call('GetZoneCpu', { zone_id: 'z1' });
    t.deepEqual(later.servers_needing_power_cycle, [], 'only the upgrade answer lists them at top level');
    t.deepEqual(later.history.at(-1).servers_needing_power_cycle, [running.uuid, web.uuid].sort());
    t.true(
      later.history.slice(0, -1).every((h: { servers_needing_power_cycle: string[] }) => h.servers_needing_power_cycle.length === 0),
      'other changes list none',
    );
    t.deepEqual(up.advice, [], 'every host runs the raised model: earlier advice no longer applies');
    // Nothing more to raise: a second upgrade changes nothing.
    const again = await w.call('RecomputeZoneCpu', { zone_id: 'z1', allow_upgrade: true });
    t.is(again.model, 'Haswell-noTSX');
    t.is(again.history.length, up.history.length);
    t.deepEqual(again.servers_needing_power_cycle, []);
  },
);

test.serial('a mode change recomputes: DEFAULT drops the zone model, EXTENDED again takes a fresh baseline; both recorded', async (t) => {
  const { w } = t.context;
  await w.call('UpdateZone', { zone_id: 'z1', cpu_mode: 'CPU_MODE_DEFAULT' });
  await waitFor('z1 DEFAULT recomputed', async () => trackingOf(await zoneRecord(w, 'z1')).mode === 'DEFAULT', 15_000, 100);
  const def = await w.call('GetZoneCpu', { zone_id: 'z1' });
  t.is(def.model, '');
  t.is(def.history.at(-1).reason, 'mode-changed');
  t.is(def.history.at(-1).from_model, 'Haswell-noTSX');
  await w.call('UpdateZone', { zone_id: 'z1', cpu_mode: 'CPU_MODE_EXTENDED' });
  await waitFor('z1 EXTENDED recomputed', async () => trackingOf(await zoneRecord(w, 'z1')).mode === 'EXTENDED', 15_000, 100);
  const ext = await w.call('GetZoneCpu', { zone_id: 'z1' });
  t.is(ext.model, 'Haswell-noTSX');
  t.is(ext.history.at(-1).reason, 'mode-changed');
  t.is(ext.history.at(-1).to_model, 'Haswell-noTSX');
});

test.serial('errors are typed: unknown zone NOT_FOUND, bad id INVALID_ARGUMENT, no healthy agent UNAVAILABLE', async (t) => {
  const { w } = t.context;
  const err = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e) => e,
    );
  t.is((await err(w.call('GetZoneCpu', { zone_id: 'nope' })))?.code, 5);
  t.is((await err(w.call('RecomputeZoneCpu', { zone_id: 'nope' })))?.code, 5);
  t.is((await err(w.call('RecomputeZoneCpu', { zone_id: '' })))?.code, 3);
  await w.call('CreateZone', { zone_id: 'z3', name: 'z3', cpu_mode: 'CPU_MODE_EXTENDED' });
  await w.call('UpdateHost', { host_id: 'sim-6', zone_id: 'z3' });
  await waitMembers(w, 'z3', ['sim-6']);
  t.is((await w.call('GetZoneCpu', { zone_id: 'z3' })).model, 'Skylake-Server');
  await w.sims.byId('sim-6').stop();
  await waitFor('sim-6 offline', async () => !(await w.call('GetHost', { host_id: 'sim-6' })).online, 15_000, 200);
  const e = await err(w.call('RecomputeZoneCpu', { zone_id: 'z3' }));
  t.is(e?.code, 14, e?.details);
  t.regex(e.details, /no healthy agent/);
  await w.sims.byId('sim-6').start();
});

test.serial("leader change: the new leader's watch picks up a join; the old leader's tracking is not replayed", async (t) => {
  const { w } = t.context;
  const c2 = await w.startCoordinator('c2');
  const call = (method: string, req: object) => c2.admin.call(method, req, { token: 'test-admin-token-0123456789', timeoutMs: 20_000 });
  const z1Before = await zoneRecord(w, 'z1');
  await w.zoneCpu!.stop();
  await w.maintenance.stop();
  await w.coordinator.stop();
  await waitFor('c2 leads', async () => c2.coordinator.leader.isLeader(), 15_000, 100);
  await call('CreateZone', { zone_id: 'z4', name: 'z4', cpu_mode: 'CPU_MODE_EXTENDED' });
  await call('UpdateHost', { host_id: 'sim-6', zone_id: 'z4' });
  await waitFor('z4 covers sim-6', async () => trackingOf((await c2.coordinator.store.zones.require('z4')).value).members.includes('sim-6'), 15_000, 100);
  const cpu = await call('GetZoneCpu', { zone_id: 'z4' });
  t.is(cpu.model, 'Skylake-Server');
  t.is(cpu.history.length, 1);
  const z1After = (await c2.coordinator.store.zones.require('z1')).value;
  t.is(z1After.cpu.history.length, z1Before.cpu.history.length, 'z1 is not recomputed again by the new leader');
  t.is(z1After.cpu.updatedAtMs, z1Before.cpu.updatedAtMs);
});
