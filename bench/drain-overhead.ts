// What the coordinator adds on top of the migrations themselves: a drain of
// one sim host (real coordinator, real NATS, real gRPC agents; sim
// hypervisor with a fixed bandwidth), timed end to end and compared, in the
// same run, with the sum of the hypervisor's own migration times. Sequential
// per source (the default), so the ideal drain time is that sum.
//
//   npx tsx bench/drain-overhead.ts [servers=20] [hosts=10] [rounds=3]
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';

const servers = Number(process.argv[2] ?? 20);
const hosts = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 3);
const GiB = 1024 ** 3;

const w = await startWorld({ hosts, sim: { fabricOptions: { bandwidthBps: 2 * GiB, setupMs: 200 } } });
try {
  await w.call('CreateZone', { zone_id: 'bench', name: 'bench', cpu_mode: 'CPU_MODE_DEFAULT' });
  for (let i = 1; i <= hosts; i++) await w.call('UpdateHost', { host_id: `sim-${i}`, zone_id: 'bench' });
  const rows: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const src = `sim-${round}`;
    for (let k = 0; k < servers; k++) w.sims.byId(src).sim.addServer({ name: `r${round}-vs${k}`, memoryBytes: GiB });
    await waitFor(
      'servers known',
      async () => (await w.call('ListServers', { host_id: src })).servers.filter((x: { name: string }) => x.name.startsWith(`r${round}-`)).length === servers,
      30_000,
      100,
    );
    const before = w.sims.fabric.migrations.length;
    const t0 = performance.now();
    const op = await w.call('EnableMaintenance', { host_id: src, stop_unmigratable: false, confirm: true });
    const done = await waitForOperation(w, op.id, ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED'], 600_000);
    const wall = (performance.now() - t0) / 1000;
    if (done.state !== 'OPERATION_STATE_SUCCEEDED') throw new Error(`drain ${src}: ${done.state} ${done.reason}`);
    const ms = w.sims.fabric.migrations.slice(before);
    const ideal = ms.reduce((a, m) => a + (m.finishedAtMs - m.startedAtMs), 0) / 1000;
    rows.push(
      `round ${round}: ${servers} servers x 1 GiB from ${src}: drain ${wall.toFixed(2)} s, hypervisor time ${ideal.toFixed(2)} s, ` +
        `ratio ${(wall / ideal).toFixed(3)}, coordinator overhead ${(((wall - ideal) / servers) * 1000).toFixed(0)} ms per server`,
    );
    console.log(rows.at(-1));
  }
} finally {
  await w.close();
}
