// Zone CPU at the size of a real zone: 50 sim hosts (real gRPC agents, real
// nats-server and coordinator) in one EXTENDED zone of three CPU
// generations. Measures the first baseline, an operator recompute (every
// answer cached), a drain plan with CPU checks on 49 targets, and the size
// of the zone record the fits add.
import test from 'ava';
import { simCpu } from '../harness/sim/cpu.ts';
import { startWorld } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { trackingOf } from '../coordinator/zone-cpu/tracking.ts';

const GiB = 1024 ** 3;
const N = 50;
const cpuOf = (i: number) => (i % 10 === 9 ? simCpu('Haswell-noTSX') : i % 10 === 8 ? simCpu('Skylake-Server', ['avx512vnni']) : simCpu('Skylake-Server'));

test('50 hosts in one EXTENDED zone: baseline, cached recompute, CPU-checked plan, record size', async (t) => {
  const w = await startWorld({ hosts: N, zoneCpu: { watchIntervalMs: 300 }, sim: { hostOptions: (i) => ({ cpu: cpuOf(i) }) } });
  t.teardown(() => w.close());
  await w.call('CreateZone', { zone_id: 'big', name: 'big', cpu_mode: 'CPU_MODE_EXTENDED' });
  const t0 = Date.now();
  await Promise.all(w.sims.agents.map((a) => w.call('UpdateHost', { host_id: a.hostId, zone_id: 'big' })));
  await waitFor('all 50 covered', async () => trackingOf((await w.coordinator.store.zones.require('big')).value).members.length === N, 30_000, 100);
  const joinedMs = Date.now() - t0;
  const cpu = await w.call('GetZoneCpu', { zone_id: 'big' });
  t.is(cpu.model, 'Haswell-noTSX');
  t.deepEqual(cpu.mismatched_hosts, []);

  const cache = w.zoneCpu!.cache();
  const calls = cache.calls;
  const t1 = Date.now();
  const again = await w.call('RecomputeZoneCpu', { zone_id: 'big' });
  const recomputeMs = Date.now() - t1;
  t.is(again.model, 'Haswell-noTSX');
  t.is(cache.calls, calls, 'every CompareCpu answer came from the cache');

  const src = w.sims.byId('sim-1').sim;
  for (let k = 0; k < 10; k++) src.addServer({ name: `vs-${k}`, memoryBytes: 1 * GiB });
  await waitFor('servers known', async () => (await w.call('ListServers', {})).servers.length >= 10, 20_000, 100);
  const t2 = Date.now();
  const plan = await w.call('PlanMaintenance', { host_id: 'sim-1' });
  const planMs = Date.now() - t2;
  t.is(plan.servers.length, 10);
  t.true(plan.servers.every((s: any) => s.candidates.every((c: any) => c.checks.some((x: any) => x.check === 'cpu-compatible'))));

  const rec = await w.coordinator.store.zones.require('big');
  const bytes = Buffer.byteLength(JSON.stringify(rec.value));
  t.true(bytes < 256 * 1024, `${bytes} bytes`);
  t.log(
    `50 hosts joined and covered: ${joinedMs} ms; cached recompute: ${recomputeMs} ms; plan of 10 servers × 49 targets: ${planMs} ms (${cache.calls} CompareCpu calls in all); zone record ${bytes} bytes`,
  );
});
