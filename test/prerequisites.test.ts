// The one list of prerequisites (scripts/prerequisites.mjs) against the code:
// every program the sources start is on it, every start whose program is not
// a literal has been looked at, and set-up's check and apt-lock wait work.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEnv, findProgram } from '../common/command-env.mjs';
import { lockHolders, parseProcLocks, waitForAptLocks } from '../scripts/apt-lock.mjs';
import { run } from '../scripts/lab/exec.ts';
import { PRIVATE_DIRS } from '../scripts/lab/libvirtd.ts';
import { DIRECTORIES, PACKAGES, PROGRAMS, STATIC_BUSYBOX } from '../scripts/prerequisites.mjs';
import { scanRepository, scanSource } from './helpers/program-scan.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Calls whose first word is a virsh subcommand, not a program (the runner itself names virsh). */
const VIRSH_RUNNERS: Record<string, RegExp> = {
  'agent/hypervisor/libvirt.ts': /this\.run\(\[/g,
  'test/libvirt-parsers.test.ts': /\bs\.run\(\[/g,
};

/**
 * Every start whose program is not a literal, looked at once: what it may
 * start and why that is covered. A new dynamic start fails the test until it
 * is added here (with the programs it runs added to the list).
 */
const REVIEWED_DYNAMIC: { file: string; call: string; why: string }[] = [
  {
    file: 'agent/agent.ts',
    call: 'execFile(cmd',
    why: 'the configured reboot command: default /usr/bin/systemctl (listed), /bin/true for sim agents (listed)',
  },
  { file: 'agent/hypervisor/virsh.ts', call: 'spawn(cmd!', why: 'virsh, or the configured prefix (nsenter in the lab): both listed' },
  { file: 'common/nats-server.ts', call: 'spawn(spec.binary', why: 'nats-server (natsServerBinary), listed' },
  { file: 'test/coordinator-admission.test.ts', call: 'spawn(natsServerBinary(', why: 'nats-server, listed' },
  { file: 'test/nats-auth.test.ts', call: 'spawn(natsServerBinary(', why: 'nats-server, listed (a rogue route)' },
  { file: 'scripts/gen-proto.ts', call: 'execFileSync( path.join(root', why: 'node_modules/.bin/proto-loader-gen-types: an npm package' },
  { file: 'scripts/guest/proc.mjs', call: 'spawn(cmd', why: "set-up's runner: its callers name literal programs (scanned)" },
  { file: 'scripts/guest/proc.mjs', call: 'spawn(cmdA', why: "set-up's pipe: callers name literal programs (scanned)" },
  { file: 'scripts/guest/proc.mjs', call: 'spawn(cmdB', why: "set-up's pipe: callers name literal programs (scanned)" },
  { file: 'scripts/lab/exec.ts', call: 'execFile(cmd', why: "the lab's runner: callers pass literal argv (scanned)" },
  { file: 'scripts/lab/lab.ts', call: 'spawn(cmd!', why: 'nsenter (host.spawn) or ip netns exec (bridge.spawn), listed' },
  { file: 'scripts/start/demo.ts', call: 'spawn(process.execPath', why: 'node itself' },
  { file: 'bench/admin-reads.ts', call: 'spawn(process.execPath', why: 'node itself (the coordinator in a process of its own, for its RSS and CPU)' },
  { file: 'bench/run.ts', call: 'spawn(process.execPath', why: 'node itself (each benchmark in a process of its own)' },
  { file: 'test/cli-progress.test.ts', call: 'spawn(process.execPath', why: 'node itself' },
  { file: 'test/cli-pty.ts', call: 'execFile(file', why: 'node or python3 (scanned at the caller)' },
  { file: 'test/coordinator-nats.test.ts', call: 'spawn(natsServerBinary(', why: 'nats-server, listed' },
  { file: 'harness/coordinator-process.ts', call: 'spawn(process.execPath', why: 'node itself' },
  {
    file: 'bench/telemetry.ts',
    call: 'spawn(process.execPath',
    why: 'node itself (the sim agents in processes apart from the coordinator, whose CPU and RSS are measured)',
  },
  { file: 'test/migration-store.test.ts', call: 'spawn(process.execPath', why: 'node itself (a record writer killed mid-way)' },
  { file: 'test/lab-subreaper.test.ts', call: 'spawn(process.execPath', why: 'node itself (in a node -e script: a detached child left orphaned)' },
  { file: 'test/agent-listen-security.test.ts', call: 'spawn(process.execPath', why: 'node itself (the real agent process)' },
  { file: 'test/coordinator-auth-flood.test.ts', call: 'spawn(process.execPath', why: 'node itself (flooders and the prober in processes of their own)' },
  { file: 'test/fresh-machine.test.ts', call: 'spawn( unshare', why: 'unshare, found by findProgram, listed' },
  { file: 'test/start-demo.test.ts', call: 'spawn( process.execPath', why: 'node itself' },
];

test('every program the sources start is in scripts/prerequisites.mjs', async (t) => {
  const { uses } = await scanRepository(ROOT, VIRSH_RUNNERS);
  const listed = new Set([...PROGRAMS.map((p) => p.name), STATIC_BUSYBOX.name]);
  const missing = uses.filter((u) => !listed.has(u.program)).map((u) => `${u.program} (${u.file}:${u.line})`);
  t.deepEqual(missing, [], `started but not in the prerequisites list: ${missing.join(', ')}`);
  // The scan saw the programs that matter, through each form.
  const seen = new Set(uses.map((u) => u.program));
  for (const p of ['virsh', 'libvirtd', 'ip', 'nsenter', 'unshare', 'mount', 'apt-get', 'nats-server', 'openssl', 'python3', 'systemctl'])
    t.true(seen.has(p), `scan found ${p}`);
  t.log(`${uses.length} starts of ${seen.size} programs, all listed`);
});

test('every start whose program is not a literal has been reviewed', async (t) => {
  const { dynamic } = await scanRepository(ROOT, VIRSH_RUNNERS);
  // Spacing after the parenthesis is the formatter's, not the call's.
  const key = (d: { file: string; call: string }) => `${d.file} ${d.call.replace(/\(\s+/, '(')}`;
  const reviewed = new Set(REVIEWED_DYNAMIC.map(key));
  const unreviewed = dynamic.filter((d) => !reviewed.has(key(d))).map((d) => `${d.file}:${d.line} ${d.call}`);
  t.deepEqual(unreviewed, [], 'add each to REVIEWED_DYNAMIC with what it runs, and list those programs');
  const found = new Set(dynamic.map(key));
  t.deepEqual(REVIEWED_DYNAMIC.filter((r) => !found.has(key(r))).map(key), [], 'a reviewed entry no longer in the code: remove it');
});

test('the scan reads every form of program start (so the check above can fail)', (t) => {
  const src = [
    "execFile('alpha', ['x']);",
    "spawn('beta', [], {});",
    "await run('gamma', ['-q']);",
    "await run(['delta', 'netns', 'list']);",
    "host.exec(['epsilon', '--all']);",
    "nsenterArgv(rec.nsPid, ['zeta', '-p', target]);",
    "['ip', 'netns', 'exec', netns, 'eta', '--mount'];",
    "['nsenter', '-t', pid, '--', 'theta'];",
    "new Virsh({ prefix: ['iota', '-c'] });",
    "const cmd = ['/usr/sbin/kappa', 'x'];",
    'spawn(someBinary, args);',
    "c.run('h1', async () => {});",
    'this.spawn(op, leadership);',
  ].join('\n');
  const { uses, dynamic } = scanSource('x.ts', src);
  t.deepEqual(uses.map((u) => u.program).sort(), ['alpha', 'beta', 'delta', 'epsilon', 'eta', 'gamma', 'iota', 'kappa', 'theta', 'zeta'].sort());
  t.deepEqual(
    dynamic.map((d) => d.call),
    ['spawn(someBinary'],
  );
});

test('set-up installs a Debian package for every listed program it does not take from the machine', (t) => {
  for (const p of PROGRAMS) {
    const fromMachine = ['apt', 'dpkg', 'libc-bin', 'passwd', 'coreutils', 'mount', 'tar', 'gzip', 'bash', 'dash', 'npm'].includes(p.pkg);
    t.is(PACKAGES.includes(p.pkg), !fromMachine, `${p.name}: ${p.pkg}`);
  }
  t.true(PACKAGES.includes(STATIC_BUSYBOX.pkg));
});

test('every directory the lab binds over is listed, and made by the lab or already on every machine', (t) => {
  const listed = new Map(DIRECTORIES.map((d) => [d.path, d.createdBy]));
  for (const target of Object.values(PRIVATE_DIRS)) {
    if (target === '/run') continue; // a mount on every Linux machine
    t.is(listed.get(target), 'lab', target);
  }
});

test('npm run setup -- --check passes here with PATH=/usr/bin:/bin and a German LANGUAGE', async (t) => {
  const env = { PATH: '/usr/bin:/bin', LANGUAGE: 'de_DE:de', LANG: 'de_DE.UTF-8', HOME: process.env.HOME ?? '/root' };
  const { stdout } = await run([process.execPath, path.join(ROOT, 'scripts', 'setup.mjs'), '--check'], { env, timeoutMs: 60_000 });
  t.regex(stdout, /check: all \d+ prerequisites present/);
});

test('commandEnv forces the C locale and the sbin directories over what the caller has', (t) => {
  const env = commandEnv({ LANGUAGE: 'de', LC_ALL: 'de_DE.UTF-8', PATH: '/usr/bin:/bin' });
  t.is(env.LC_ALL, 'C');
  t.is(env.LANGUAGE, 'C');
  t.true(env.PATH!.split(':').includes('/usr/sbin'));
  t.is(env.PATH!.split(':')[0], '/usr/bin', "the caller's own entries first");
  t.truthy(findProgram('ip'), 'ip is found although it lives in /usr/sbin');
});

test('parseProcLocks reads holders and skips waiters and OFD locks', (t) => {
  const text = [
    '1: POSIX  ADVISORY  WRITE 4242 fd:01:131090 0 EOF',
    '1: -> POSIX  ADVISORY  WRITE 4343 fd:01:131090 0 EOF',
    '2: OFDLCK ADVISORY  READ  -1 00:17:12 0 EOF',
    '3: FLOCK  ADVISORY  WRITE 77 08:02:99 0 EOF',
  ].join('\n');
  t.deepEqual(parseProcLocks(text), [
    { pid: 4242, major: 0xfd, minor: 1, inode: 131090 },
    { pid: 77, major: 8, minor: 2, inode: 99 },
  ]);
});

test('set-up waits for a held apt/dpkg lock, names its holder, and gives up after its bound', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-aptlock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lock = path.join(dir, 'lock-frontend');
  writeFileSync(lock, '');
  const flock = findProgram('flock');
  if (!flock) return t.fail('flock missing: npm run setup');
  // A stand-in for unattended-upgrades: holds the lock for 1.5 s.
  const holder = spawn(flock, [lock, 'sleep', '1.5'], { stdio: 'ignore' });
  t.teardown(() => {
    if (holder.exitCode === null) holder.kill('SIGKILL');
  });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  for (let i = 0; i < 100 && (await lockHolders([lock])).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const held = await lockHolders([lock]);
  t.is(held.length, 1, 'the lock is seen as held');

  // Too short a bound: a clear error naming the file and the holder.
  const err = await t.throwsAsync(waitForAptLocks({ files: [lock], timeoutMs: 200, pollMs: 50 }));
  t.regex(err!.message, /apt\/dpkg is still busy after/);
  t.true(err!.message.includes(lock));
  t.regex(err!.message, /held by pid \d+/);

  // A long enough bound: it waits, says so, and returns once the holder is gone.
  const lines: string[] = [];
  const t0 = Date.now();
  await waitForAptLocks({ files: [lock], timeoutMs: 20_000, pollMs: 50, log: (m) => lines.push(m) });
  await exited;
  t.true(Date.now() - t0 >= 500, 'it waited for the holder');
  t.regex(lines[0] ?? '', /waiting for apt\/dpkg: .*held by pid \d+/);
  t.deepEqual(await lockHolders([lock]), []);
});
