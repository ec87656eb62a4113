// The lab itself, with real everything: 3 namespaced libvirtds reachable over
// TCP, a real guest printing heartbeats, one plain-virsh live migration
// h1→h2 whose heartbeat counter continues on h2 without a gap.
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beatsOfBoot, createLab, domainXml, gaps, libvirtdConf, parseSerialLogs, qemuConf, resolveGuest, type Lab } from '../scripts/lab/index.ts';

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
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
    t.deepEqual(
      pools.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .sort(),
      ['local', 'shared'],
    );
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

  // The command an agent inside a lab host runs for RebootHost.
  const h3 = lab.host('h3');
  const before = await h3.libvirtdPid();
  const { stdout } = await h3.exec([process.execPath, '--import', 'tsx', 'scripts/lab/reboot-host.ts', LAB.name, 'h3'], { cwd: REPO, timeoutMs: 30_000 });
  const out = JSON.parse(stdout) as { host: string; libvirtdPid: number; bootId: string };
  t.is(out.host, 'h3');
  t.not(out.libvirtdPid, before ?? -1);
  t.is(out.libvirtdPid as number | null, await h3.libvirtdPid());
  t.is(out.bootId, await h3.bootId());
  t.regex((await h3.virsh(['version'])).stdout, /Running hypervisor: QEMU/);
});

test.serial('a lab left behind by a killed process is cleaned by the next createLab', async (t) => {
  const name = 'lc';
  const subnet = 91;
  // A process that creates a 1-host lab and dies without cleaning up.
  const script = `import { createLab } from './scripts/lab/index.ts';
await createLab({ hosts: 1, name: '${name}', subnet: ${subnet} });
process.kill(process.pid, 'SIGKILL');`;
  await execFileP(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, timeout: 60_000 }).catch(() => {});
  const { stdout: nsBefore } = await execFileP('ip', ['netns', 'list']);
  t.regex(nsBefore, new RegExp(`^${name}lab-h1\\b`, 'm'), 'the dead process left its namespaces');
  const holders = (await execFileP('ip', ['netns', 'pids', `${name}lab-h1`])).stdout.trim().split('\n').filter(Boolean);
  t.true(holders.length >= 2, 'and its holder and libvirtd');

  const lines: string[] = [];
  const lab = await createLab({ hosts: 1, name, subnet, log: (m) => lines.push(m) });
  try {
    t.true(lines.some((l) => l.startsWith(`cleaning leftover lab ${name}`)));
    // Gone, or a zombie: the dead owner's children are reparented to an init
    // that may not reap them, which is harmless.
    const running = async (pid: string) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      return stat !== null && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    };
    for (const pid of holders) t.false(await running(pid), `pid ${pid} gone`);
    t.regex((await lab.hosts[0]!.virsh(['version'])).stdout, /Running hypervisor: QEMU/);
  } finally {
    await lab.destroy();
  }
  const { stdout: nsAfter } = await execFileP('ip', ['netns', 'list']);
  t.notRegex(nsAfter, new RegExp(`^${name}lab-`, 'm'));
  const { stdout: links } = await execFileP('ip', ['-br', 'link']);
  t.notRegex(links, new RegExp(`^${name}lab-rt`, 'm'));
});

// Pure parts, no lab needed.

test('serial logs: records per host, split lines joined, gaps found', (t) => {
  const boot = '0a1b2c3d';
  const recs = parseSerialLogs([
    { host: 'h1', text: `[    0.1] kernel noise\nBOOT ${boot} fill=32 disk=none\nHB 1 ${boot}\nHB 2 ${boot}\nHB 3` },
    { host: 'h2', text: ` ${boot}\nHB 4 ${boot}\nW 9 ${boot}\nHB 5 ${boot}\n` },
  ]);
  const beats = beatsOfBoot(recs, boot);
  t.deepEqual(
    beats.map((b) => `${b.host}:${b.n}`),
    ['h1:1', 'h1:2', 'h2:3', 'h2:4', 'h2:5'],
  );
  t.deepEqual(gaps(beats), []);
  t.deepEqual(gaps([{ n: 1 }, { n: 2 }, { n: 5 }]), [3, 4]);
  t.true(recs.some((r) => r.kind === 'W' && r.n === 9));
  t.true(recs.some((r) => r.kind === 'BOOT' && r.boot === boot));
});

test('serial logs: a line cut off on a host the guest came back to is joined too', (t) => {
  const b = 'deadbeef';
  const recs = parseSerialLogs([
    { host: 'h1', text: `HB 1 ${b}\nHB 2 ${b}\nHB 3 ${b}\nHB 4HB 9 ${b}\n` },
    { host: 'h2', text: ` ${b}\nHB 5 ${b}\nHB 6 ${b}\nHB 7 ${b}\nHB 8 ${b}\n` },
  ]);
  t.deepEqual(gaps(beatsOfBoot(recs, b)), []);
  t.is(beatsOfBoot(recs, b).length, 9);
});

test('domain XML: TCG, qemu64 forbid fallback, direct kernel boot, drydock metadata, disks, file serial', (t) => {
  const g = resolveGuest(
    { name: 'vs-1', memoryMiB: 256, fillMiB: 100, hotMigration: false, smart: true, localDiskMiB: 64, sharedDiskMiB: 32 },
    '/var/tmp/drydock-lab/dd/shared',
  );
  const xml = domainXml(g, { kernel: '/k/vmlinuz', initrd: '/k/initrd.gz', cmdline: 'console=ttyS0' });
  t.regex(xml, /<domain type='qemu'>/);
  t.regex(xml, /<cpu mode='custom' match='exact'>\s*<model fallback='forbid'>qemu64<\/model>/);
  t.regex(xml, /<drydock:server xmlns:drydock="https:\/\/drydock.dev\/xmlns\/server\/1" hot_migration="false" smart="true"\/>/);
  t.regex(xml, /<kernel>\/k\/vmlinuz<\/kernel>\s*<initrd>\/k\/initrd.gz<\/initrd>\s*<cmdline>console=ttyS0 drydock.fill=100<\/cmdline>/);
  t.regex(xml, /<source file='\/var\/lib\/libvirt\/images\/vs-1.qcow2'\/>\s*<target dev='vda' bus='virtio'\/>/);
  t.regex(xml, /<source file='\/var\/tmp\/drydock-lab\/dd\/shared\/vs-1.qcow2'\/>\s*<target dev='vdb' bus='virtio'\/>/);
  t.regex(xml, /<serial type='file'>\s*<source path='\/var\/log\/libvirt\/qemu\/vs-1.serial.log' append='on'\/>/);
  t.regex(xml, /<memballoon model='none'\/>/);
  t.notRegex(xml, /<video|<graphics/);
  t.throws(() => resolveGuest({ name: 'x; rm -rf /' }, '/s'));
  t.throws(() => resolveGuest({ name: 'ok', memoryMiB: 64, fillMiB: 60 }, '/s'));
});

test('libvirt configs carry what docs/field-notes.md requires', (t) => {
  const d = libvirtdConf('10.99.0.11', '3b0f1c1e-0000-4000-8000-000000000001');
  for (const line of [
    'listen_tcp = 1',
    'listen_tls = 0',
    'listen_addr = "10.99.0.11"',
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    'host_uuid = "3b0f1c1e-0000-4000-8000-000000000001"',
  ]) {
    t.true(d.split('\n').includes(line), line);
  }
  const q = qemuConf('10.99.0.11');
  for (const line of [
    'stdio_handler = "file"',
    'user = "root"',
    'group = "root"',
    'security_driver = "none"',
    'cgroup_controllers = [ ]',
    'namespaces = [ ]',
    'remember_owner = 0',
    'migration_address = "10.99.0.11"',
    'migration_host = "10.99.0.11"',
  ]) {
    t.true(q.split('\n').includes(line), line);
  }
});
