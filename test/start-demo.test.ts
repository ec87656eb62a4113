// `npm start` as a newcomer runs it: scripts/start.ts as a subprocess (the
// set-up already ran as this suite's pretest). The demo runs to completion
// and exits 0; a crashed run is cleaned by the next; Ctrl-C tears everything
// down. After each, nothing of it is left: no namespace of its lab, none of
// the processes it reported, no run record.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../scripts/lab/exec.ts';
import { cleanPreviousRun, processRef, readRunRecord, writeRunRecord } from '../scripts/start/run-record.ts';

const REPO = path.resolve(import.meta.dirname, '..');
// A lab of its own: other lab tests use ddag/43, lt/90-91, ddbn/44, ddmt/45, ddcp/46, ddco/47, ddlv/42.
const LAB = { name: 'ddsd', subnet: 48 };

interface StartRun {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

function start(t: ExecutionContext, stateDir: string, extra: string[]): StartRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/start.ts', '--lab', LAB.name, '--subnet', String(LAB.subnet), '--state-dir', stateDir, '--port', '0', ...extra],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    // Only if the test failed half-way: the next run (or clean-leftovers) removes the rest.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  });
  return {
    child,
    out: () => out,
    exited,
    async waitFor(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in the output (exit ${child.exitCode}):\n${out.slice(-4000)}`);
        await sleep(200);
      }
    },
  };
}

/** Pids from a "started pids:" / "ended pids:" line. */
function pidsOf(line: string): number[] {
  return [...line.matchAll(/\d+/g)].map((m) => Number(m[0]));
}

/** Alive and not a zombie (an orphan's zombie waits for a reaper that may never come here). */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function labNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((ns) => ns.startsWith(`${LAB.name}lab-`));
}

async function assertNothingLeft(t: ExecutionContext, stateDir: string, pids: number[]): Promise<void> {
  t.deepEqual(await labNamespaces(), [], 'no namespace of the lab is left');
  t.false(existsSync(`/var/tmp/drydock-lab/${LAB.name}`), 'the lab state directory is gone');
  t.false(existsSync(path.join(stateDir, 'run.json')), 'the run record is gone');
  // nats-server, 3 agents, 3 libvirtds, 4 QEMUs.
  t.true(pids.length >= 11, `pids reported: ${pids.join(' ')}`);
  for (const pid of pids) t.false(alive(pid), `pid ${pid} has ended`);
}

test.serial('npm start -- --demo: the guided round runs to completion, exits 0 and leaves nothing behind', async (t) => {
  t.timeout(300_000);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'drydock-start-demo-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const t0 = Date.now();
  const s = start(t, stateDir, ['--demo']);
  const code = await s.exited;
  const out = s.out();
  t.log(`demo run: ${Math.round((Date.now() - t0) / 1000)} s; ${/ready in [\d.]+ s/.exec(out)?.[0]}; ${/demo finished in \d+ s/.exec(out)?.[0]}`);
  t.is(code, 0, out.slice(-4000));

  // What a newcomer is told to paste works verbatim: address and token are printed.
  t.regex(out, /export DRYDOCK_ADDRESS=127\.0\.0\.1:\d+ DRYDOCK_TOKEN=[0-9a-f]{48}/);
  t.regex(out, /alias drydock='node .*bin\/drydock\.mjs'/);
  // Each step announced and run through the CLI, the live progress printed as lines (no terminal here).
  for (const cmd of [
    'hosts',
    'maintenance plan h1',
    'maintenance enable h1 --confirm --wait',
    'maintenance disable h1 --wait',
    'servers return h1 --wait',
    'ops list',
  ]) {
    t.true(out.includes(`$ drydock ${cmd}\n`), `ran drydock ${cmd}`);
  }
  t.regex(out, /=== Step 7\/7/);
  t.regex(out, /step web-1 live-migrate h1 -> h\d .*done/);
  t.regex(out, /operation op-\S+ succeeded: enable-maintenance of h1, 3\/3 servers done/);
  t.regex(out, /operation op-\S+ succeeded: disable-maintenance of h1/);
  t.regex(out, /operation op-\S+ succeeded: return-servers of h1, 3\/3 servers done/);
  // The demo's own checks in libvirt: live guests moved alive, the cold one rebooted, all came back.
  t.regex(out, /web-1: running on h[23]; same boot, HB 1-\d+ on h1, HB \d+-\d+ on h[23], no heartbeat lost/);
  t.regex(out, /db-1: running on h[23]; same boot, .*no heartbeat lost/);
  t.regex(out, /batch-1: running on h[23]; a new boot/);
  t.regex(out, /libvirt agrees: web-1, db-1, batch-1 run on h1 again/);

  const started = /started pids: (.*)/.exec(out)?.[1] ?? '';
  const ended = /ended pids: (.*)/.exec(out)?.[1] ?? '';
  await assertNothingLeft(t, stateDir, [...new Set([...pidsOf(started), ...pidsOf(ended)])]);
});

test.serial('npm start: a crashed run is cleaned up by the next one; Ctrl-C tears everything down', async (t) => {
  t.timeout(240_000);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'drydock-start-plain-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));

  // A run that dies without tearing down (kill -9): its nats-server, agents and lab stay.
  const first = start(t, stateDir, []);
  const started1 = pidsOf((await first.waitFor(/started pids: (.*)/, 120_000))[1]!);
  await first.waitFor(/Up until Ctrl-C/, 10_000);
  first.child.kill('SIGKILL');
  await first.exited;
  t.true(alive(started1[0]!), 'the crashed run left its nats-server behind');
  t.true((await labNamespaces()).length > 0, 'and its lab');

  const second = start(t, stateDir, []);
  await second.waitFor(/Up until Ctrl-C/, 120_000);
  t.regex(second.out(), new RegExp(`cleaning up after a previous run .*pid ${first.child.pid}`));
  t.regex(second.out(), new RegExp(`nats-server pid ${started1[0]} ended`));
  for (const pid of started1) t.false(alive(pid), `pid ${pid} of the crashed run has ended`);
  const started2 = pidsOf(/started pids: (.*)/.exec(second.out())![1]!);

  // The printed commands work verbatim: the exported address and token, the alias, each read-only command.
  const out = second.out();
  const [, address, token] = /export DRYDOCK_ADDRESS=(\S+) DRYDOCK_TOKEN=(\S+)/.exec(out)!;
  const [, cliPath] = /alias drydock='node (\S+)'/.exec(out)!;
  const cliEnv = { ...process.env, DRYDOCK_ADDRESS: address, DRYDOCK_TOKEN: token, DRYDOCK_CONFIG: '' };
  const readOnly = [...out.matchAll(/^ {2}drydock (zones|hosts|servers|host show \S+|maintenance plan \S+|ops list|zone cpu \S+)\s*$/gm)].map((m) => m[1]!);
  t.true(readOnly.length >= 6, `read-only commands printed: ${readOnly.join(', ')}`);
  for (const cmd of readOnly) {
    const r = await run([process.execPath, cliPath!, ...cmd.split(' ')], { env: cliEnv, timeoutMs: 30_000 }).catch((err: Error) => ({
      stdout: '',
      stderr: err.message,
    }));
    t.not(r.stdout, '', `drydock ${cmd} answered (${r.stderr})`);
  }
  const metricsUrls = [...out.matchAll(/^ {2}curl -s (\S+) \| grep '\^drydock_'/gm)].map((m) => m[1]!);
  t.is(metricsUrls.length, 2, "the coordinator's and an agent's metrics are printed");
  for (const url of metricsUrls) {
    const body = await (await fetch(url)).text();
    t.regex(body, /^drydock_/m, `${url} serves drydock metrics`);
  }
  const hosts = await run([process.execPath, cliPath!, 'hosts'], { env: cliEnv, timeoutMs: 30_000 });
  for (const h of ['h1', 'h2', 'h3']) t.regex(hosts.stdout, new RegExp(`^${h} .* online `, 'm'));

  second.child.kill('SIGINT');
  t.is(await second.exited, 0, 'Ctrl-C is the normal end: exit 0');
  t.regex(second.out(), /SIGINT: tearing everything down/);
  t.regex(second.out(), /torn down in [\d.]+ s/);
  await assertNothingLeft(t, stateDir, started2);
});

/** A process standing in for an owner or a nats-server: `sleep`, ended by pid at teardown. */
function sleeper(t: ExecutionContext): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

test('run record: a live previous run is refused, never touched', async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'drydock-start-rec-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const owner = sleeper(t);
  const nats = sleeper(t);
  await writeRunRecord(stateDir, {
    owner: (await processRef(owner.pid!))!,
    nats: (await processRef(nats.pid!))!,
    lab: 'ddrr',
    address: '127.0.0.1:7443',
    startedAt: new Date().toISOString(),
  });
  await t.throwsAsync(
    cleanPreviousRun(stateDir, () => undefined),
    { message: new RegExp(`another npm start is running \\(pid ${owner.pid}.*127\\.0\\.0\\.1:7443`) },
  );
  t.true(alive(nats.pid!), 'its nats-server is left alone');
  t.truthy(await readRunRecord(stateDir));
});

test("run record: a dead run's nats-server is ended by pid, a reused pid is not", async (t) => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'drydock-start-rec-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const deadOwner = sleeper(t);
  const ownerRef = (await processRef(deadOwner.pid!))!;
  deadOwner.kill('SIGKILL');
  await new Promise((resolve) => deadOwner.once('exit', resolve));
  const nats = sleeper(t);
  const natsRef = (await processRef(nats.pid!))!;
  const lines: string[] = [];
  await writeRunRecord(stateDir, { owner: ownerRef, nats: natsRef, lab: 'ddrr', startedAt: new Date().toISOString() });
  await cleanPreviousRun(stateDir, (m) => lines.push(m));
  await new Promise((resolve) => (nats.exitCode !== null || nats.signalCode !== null ? resolve(null) : nats.once('exit', resolve)));
  t.false(alive(nats.pid!));
  t.true(
    lines.some((l) => l.includes(`nats-server pid ${nats.pid} ended`)),
    lines.join('\n'),
  );
  t.is(await readRunRecord(stateDir), null, 'the record is removed');

  // The recorded pid now belongs to another process (another start time): left alone.
  const other = sleeper(t);
  await writeRunRecord(stateDir, { owner: ownerRef, nats: { pid: other.pid!, start: 1 }, lab: 'ddrr', startedAt: new Date().toISOString() });
  await cleanPreviousRun(stateDir, () => undefined);
  t.true(alive(other.pid!), 'a process that merely reuses the pid is not signalled');
});
