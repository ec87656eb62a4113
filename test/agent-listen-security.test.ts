// The real drydock-agent process (agent/main.ts, sim hypervisor) on a
// non-loopback address (0.0.0.0): without mutual TLS it does not start,
// naming the options; with grpc.insecure it starts and says INSECURE at
// warn level; with mutual TLS it starts quietly and refuses a client
// without a certificate. Nothing but loopback traffic: the tests call the
// agent at 127.0.0.1 only.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { AgentClient } from '../coordinator/agent-client.ts';
import { ensureCoordinatorCert, ensureHostCert, type IssuedCert } from '../scripts/pki.mjs';
import { agentClient, callError } from './agent-helpers.ts';

interface Ctx {
  dir: string;
  children: ChildProcess[];
  host: IssuedCert;
  coordinator: IssuedCert;
}
const test = anyTest.serial as TestFn<Ctx>;
const REPO = path.resolve(import.meta.dirname, '..');

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-listen-'));
  t.context = { dir, children: [] } as unknown as Ctx;
  const pki = { dir: path.join(dir, 'pki') };
  [t.context.host, t.context.coordinator] = await Promise.all([ensureHostCert('wild-1', pki), ensureCoordinatorCert(pki)]);
});

test.after.always((t) => {
  for (const c of t.context.children ?? []) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  port: number;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal). */
  exited: Promise<number | string>;
  /** Waits until the output matches (or the process ends / time runs out). */
  waitFor(re: RegExp, ms?: number): Promise<boolean>;
}

async function startAgentProcess(t: { context: Ctx }, name: string, extra: Record<string, unknown>): Promise<Run> {
  const port = await freePort();
  const stateDir = path.join(t.context.dir, `state-${name}`);
  const file = path.join(t.context.dir, `${name}.yaml`);
  writeFileSync(
    file,
    toYaml({
      hostId: 'wild-1',
      hypervisor: 'sim',
      ...extra,
      grpc: { listenAddress: `0.0.0.0:${port}`, advertisedEndpoint: `127.0.0.1:${port}`, ...(extra.grpc as object) },
      stateDir,
      rebootCommand: ['/bin/true'],
      logLevel: 'info',
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', '--config', file], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  t.context.children.push(child);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    port,
    output: () => out,
    exited,
    waitFor: (re, ms = 30_000) =>
      new Promise<boolean>((resolve) => {
        const check = () => {
          if (!re.test(out)) return;
          done(true);
        };
        const timer = setTimeout(() => done(false), ms);
        const done = (v: boolean) => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(v);
        };
        listeners.add(check);
        void exited.then(() => setTimeout(() => done(re.test(out)), 50));
        check();
      }),
  };
}

async function stop(run: Run): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run.exited;
}

/** The JSON log lines of a run. */
function logLines(run: Run): { level: number; msg: string }[] {
  return run
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

test('0.0.0.0 without mutual TLS: the agent does not start and names the options', async (t) => {
  const run = await startAgentProcess(t, 'plain', {});
  const exit = await Promise.race([run.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
  await stop(run);
  t.is(exit, 2, run.output());
  t.regex(run.output(), /grpc\.listenAddress: 0\.0\.0\.0:\d+ is not a loopback address/);
  for (const option of ['tls.certFile', 'tls.keyFile', 'tls.clientCaFile', 'grpc.insecure']) t.true(run.output().includes(option), `names ${option}`);
});

test('0.0.0.0 with grpc.insecure: the agent starts and logs an INSECURE warning', async (t) => {
  const run = await startAgentProcess(t, 'insecure', { grpc: { insecure: true } });
  t.teardown(() => stop(run));
  t.true(await run.waitFor(/"msg":"agent started"/), run.output());
  const warning = logLines(run).find((l) => l.msg.startsWith('INSECURE:'));
  t.truthy(warning, run.output());
  t.true(warning!.level >= 40, 'warn level or above');
  t.regex(warning!.msg, /without mutual TLS: anyone who reaches this port can .*reboot this host/);
  // And it does serve, in plaintext.
  const c = agentClient(`127.0.0.1:${run.port}`);
  t.teardown(() => c.close());
  t.is((await callError(c, 'GetMigration', { migration_id: 'nope' })).code, grpc.status.NOT_FOUND);
});

test('0.0.0.0 with mutual TLS: the agent starts without a warning; a client without a certificate is refused', async (t) => {
  const { host, coordinator } = t.context;
  const run = await startAgentProcess(t, 'mtls', { tls: { certFile: host.certFile, keyFile: host.keyFile, clientCaFile: host.caFile } });
  t.teardown(() => stop(run));
  t.true(await run.waitFor(/"msg":"agent started"/), run.output());
  t.false(run.output().includes('INSECURE'));
  const endpoint = `127.0.0.1:${run.port}`;
  // The coordinator's certificate, checking the host id: served.
  const good = new AgentClient('wild-1', endpoint, {
    callTimeoutMs: 5000,
    tls: { caFile: coordinator.caFile, certFile: coordinator.certFile, keyFile: coordinator.keyFile },
  });
  t.teardown(() => good.close());
  t.is((await good.getHostFacts()).host_id, 'wild-1');
  // TLS without a client certificate, and plaintext: refused at the handshake.
  const noCert = new AgentClient('wild-1', endpoint, { callTimeoutMs: 5000, tls: { caFile: coordinator.caFile, certFile: '', keyFile: '' } });
  t.teardown(() => noCert.close());
  await t.throwsAsync(noCert.rebootHost({ allow_running_servers: true, reason: 'anonymous' }), { name: 'UnavailableError' });
  const plain = agentClient(endpoint);
  t.teardown(() => plain.close());
  t.is((await callError(plain, 'RebootHost', { allow_running_servers: true })).code, grpc.status.UNAVAILABLE);
  t.false(run.output().includes('running the reboot command'));
});
