// The lab itself, with real everything: 3 namespaced libvirtds reachable over
// TCP, a real guest printing heartbeats, one plain-virsh live migration
// h1→h2 whose heartbeat counter continues on h2 without a gap.
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createLab, gaps, type Lab } from '../scripts/lab/index.ts';

const execFileP = promisify(execFile);
const test = anyTest as TestFn<{ lab: Lab }>;

// Distinct from the default "dd"/10.99.0.0 so this file can run beside
// other test files that use a lab.
const LAB = { name: 'lt', subnet: 90 };

test.before(async (t) => {
  const t0 = performance.now();
  t.context.lab = await createLab({ hosts: 3, ...LAB, log: (m) => t.log(m) });
  t.log(`createLab(3 hosts): ${Math.round(performance.now() - t0)} ms`);
});

test.after.always(async (t) => {
  const t0 = performance.now();
  await t.context.lab?.destroy();
  t.log(`destroy: ${Math.round(performance.now() - t0)} ms`);
});

test.serial('every libvirtd answers over TCP from the root namespace and locally inside its host', async (t) => {
  const { lab } = t.context;
  t.is(lab.hosts.length, 3);
  for (const h of lab.hosts) {
    const { stdout } = await execFileP('virsh', ['-c', `qemu+tcp://${h.ip}/system`, 'version'], { timeout: 10_000 });
    t.regex(stdout, /Running hypervisor: QEMU/);
    const inside = await h.exec(['virsh', '-c', 'qemu:///system', 'hostname']);
    t.true(inside.stdout.trim().length > 0);
    // Distinct host UUIDs, else libvirt refuses migration as "the same host".
    const sysinfo = await h.virsh(['capabilities']);
    t.true(sysinfo.stdout.includes(`<uuid>${h.hostUuid}</uuid>`));
    const pools = await h.exec(['virsh', '-c', 'qemu:///system', 'pool-list', '--name']);
    t.deepEqual(pools.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort(), ['local', 'shared']);
    // Only the lab subnet is routed: no way out of the lab.
    const routes = await h.exec(['ip', '-j', 'route', 'show']);
    t.deepEqual(
      (JSON.parse(routes.stdout) as { dst: string }[]).map((r) => r.dst),
      [lab.subnet],
    );
  }
});

test.serial('a guest heartbeats and keeps counting across a live migration h1→h2', async (t) => {
  const { lab } = t.context;
  const [h1, h2] = [lab.host('h1'), lab.host('h2')];
  const g = await lab.defineGuest(h1, { name: 'lt-g1', memoryMiB: 128, fillMiB: 32, hotMigration: true, smart: false, start: true });
  const xml = (await h1.virsh(['dumpxml', g.name])).stdout;
  t.regex(xml, /<drydock:server xmlns:drydock="https:\/\/drydock.dev\/xmlns\/server\/1" hot_migration="true" smart="false"\/>/);

  const t0 = performance.now();
  const before = await lab.waitForHeartbeats(g.name, { count: 3, host: 'h1', timeoutMs: 45_000 });
  t.log(`boot to 3rd heartbeat: ${Math.round(performance.now() - t0)} ms`);
  t.deepEqual(gaps(before), []);

  const tm = performance.now();
  await h1.virsh(['migrate', '--live', '--p2p', '--persistent', '--undefinesource', g.name, h2.uri], { timeoutMs: 60_000 });
  t.log(`virsh migrate --live h1→h2: ${Math.round(performance.now() - tm)} ms`);

  const last = before.at(-1)!.n;
  const after = await lab.waitForHeartbeats(g.name, { count: 3, host: 'h2', after: last, timeoutMs: 20_000 });
  const onH1 = after.filter((b) => b.host === 'h1');
  const onH2 = after.filter((b) => b.host === 'h2');
  t.log(`heartbeats: h1 ${onH1[0]?.n}..${onH1.at(-1)?.n}, h2 ${onH2[0]?.n}..${onH2.at(-1)?.n}`);
  t.deepEqual(gaps(after), [], 'no heartbeat missing across the migration');
  t.is(onH2[0]!.n, onH1.at(-1)!.n + 1, 'h2 continues where h1 stopped');
  t.is(new Set(after.map((b) => b.boot)).size, 1, 'same boot: the guest moved alive');

  t.is((await h2.virsh(['domstate', g.name])).stdout.trim(), 'running');
  const onSource = await h1.virsh(['list', '--all', '--name']);
  t.false(onSource.stdout.split('\n').includes(g.name), 'source keeps no definition');
  // The serial log each host wrote is a plain file in the root namespace.
  t.regex(await readFile(lab.serialLogPath(g.name, 'h2'), 'utf8'), /^HB \d+ [0-9a-f]{8}$/m);
});

test.serial('restartHost restarts libvirtd; the guest keeps running and libvirtd re-attaches', async (t) => {
  const { lab } = t.context;
  const h2 = lab.host('h2');
  const oldPid = await h2.libvirtdPid();
  const oldBoot = await h2.bootId();
  const t0 = performance.now();
  const newPid = await lab.restartHost(h2);
  t.log(`restartHost(h2): ${Math.round(performance.now() - t0)} ms`);
  t.not(newPid, oldPid);
  t.not(await h2.bootId(), oldBoot);
  t.is((await h2.virsh(['domstate', 'lt-g1'])).stdout.trim(), 'running');
  const beats = await lab.heartbeats('lt-g1');
  await lab.waitForHeartbeats('lt-g1', { count: 1, host: 'h2', after: beats.at(-1)!.n, timeoutMs: 10_000 });
  t.pass();
});
