// Secrets never reach a log line: NATS URLs with credentials
// (nats://user:password@host, nats://token@host) and bearer tokens. The
// daemons' logger redacts every line (common/logging.ts), and the places
// that log NATS servers redact them themselves (checked here with a bare
// pino logger, without that net): the coordinator's connection to an
// unreachable NATS, a real agent connecting to a real nats-server, and
// config errors naming a bad server URL. Output is captured, not printed.
import test from 'ava';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { createLogger } from '../common/logging.ts';
import { redactText } from '../common/redact.ts';
import { freePort, startNatsServer } from '../common/nats-server.ts';
import { connectNats } from '../coordinator/nats.ts';
import { compileConfig } from '../coordinator/config.ts';
import { compileAgentConfig } from '../agent/config.ts';
import { startSimAgents } from '../harness/sim-cluster.ts';
import { tempDir, waitFor } from '../harness/coordinator-helpers.ts';

const execFileP = promisify(execFile);
const SECRETS = ['s3cretPassw0rd', 'tok3nValue', 'hunter2hunter2', 'b3arerToken.xyz'];

/** A pino logger without any redaction of its own, writing into `lines`. */
function bareLogger(lines: string[]): Logger {
  return pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
}

function assertNoSecret(t: { false: (v: boolean, m?: string) => void }, text: string): void {
  for (const s of SECRETS) t.false(text.includes(s), `"${s}" leaked into: ${text.slice(0, 300)}`);
}

test('redactText: user-info of any URL and bearer tokens become ***', (t) => {
  t.is(redactText('nats://alice:s3cretPassw0rd@10.0.0.1:4222'), 'nats://***@10.0.0.1:4222');
  t.is(redactText('tls://tok3nValue@nats.example:4222,nats://h:4222'), 'tls://***@nats.example:4222,nats://h:4222');
  t.is(redactText('authorization: Bearer b3arerToken.xyz'), 'authorization: Bearer ***');
  t.is(redactText('nats://h:4222 and user@example.com'), 'nats://h:4222 and user@example.com', 'no URL user-info: unchanged');
});

test("the daemons' logger: no secret in any field, nested value, error or message", (t) => {
  const lines: string[] = [];
  const log = createLogger('test', 'info', { write: (l: string) => void lines.push(l) });
  log.info(
    {
      servers: ['nats://alice:s3cretPassw0rd@10.0.0.1:4222'],
      nested: { url: 'nats://tok3nValue@h:4222' },
      err: new Error('connect to nats://bob:hunter2hunter2@h failed'),
    },
    'connecting to nats://alice:s3cretPassw0rd@h:4222 with Bearer b3arerToken.xyz',
  );
  log.child({ component: 'x' }).warn({ url: 'wss://alice:s3cretPassw0rd@h' }, 'child');
  log.warn('plain message nats://tok3nValue@h');
  t.is(lines.length, 3);
  for (const l of lines) assertNoSecret(t, l);
  const first = JSON.parse(lines[0]!) as { servers: string[]; msg: string; err: { message: string } };
  t.deepEqual(first.servers, ['nats://***@10.0.0.1:4222'], 'the rest of the URL stays readable');
  t.regex(first.msg, /nats:\/\/\*\*\*@h:4222 with Bearer \*\*\*/);
  t.regex(first.err.message, /nats:\/\/\*\*\*@h failed/);
});

test('coordinator: an unreachable NATS with credentials in its URL — neither the log nor the error carries them', async (t) => {
  const lines: string[] = [];
  const port = await freePort();
  const url = `nats://alice:s3cretPassw0rd@127.0.0.1:${port}`;
  const err = await t.throwsAsync(
    connectNats({ servers: [url, `nats://tok3nValue@127.0.0.1:${port}`], dataDir: '/nonexistent', name: 't', logger: bareLogger(lines), timeoutMs: 1200 }),
  );
  t.is(err?.name, 'UnavailableError');
  assertNoSecret(t, err!.message);
  t.regex(err!.message, /nats:\/\/\*\*\*@127\.0\.0\.1/);
  t.true(lines.length > 0, 'the retry was logged');
  for (const l of lines) assertNoSecret(t, l);
});

test('agent: connecting to a real nats-server with credentials in the URL logs the server without them', async (t) => {
  const dir = tempDir('log-redaction');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // No authorization, asked for by name: the server accepts and ignores the URL's user and password.
  const node = await startNatsServer({ dir: path.join(dir, 'nats'), auth: 'insecure-no-auth' });
  t.teardown(() => node.stop());
  const lines: string[] = [];
  // The server has no auth configured: it accepts and ignores the URL's user and password.
  const agents = await startSimAgents({
    count: 1,
    natsUrl: `nats://alice:s3cretPassw0rd@127.0.0.1:${node.port}`,
    log: bareLogger(lines),
    heartbeatIntervalMs: 200,
  });
  t.teardown(() => agents.stop());
  await waitFor('connected to NATS logged', () => lines.some((l) => l.includes('connected to NATS')), 10_000);
  await node.stop(); // disconnect and reconnect attempts log too
  await node.restart();
  await waitFor('NATS reconnected logged', () => lines.some((l) => l.includes('NATS reconnected')), 15_000);
  for (const l of lines) assertNoSecret(t, l);
});

test('config errors name a bad NATS URL without its credentials', (t) => {
  const coord = t.throws(() => compileConfig({ nats: { servers: ['http://alice:s3cretPassw0rd@h:4222'] } }, {}));
  t.regex(coord!.message, /nats\.servers/);
  assertNoSecret(t, coord!.message);
  const agent = t.throws(() =>
    compileAgentConfig({
      hostId: 'h',
      libvirt: { migrationUri: 'qemu+tcp://10.0.0.1/system' },
      grpc: { listenAddress: '127.0.0.1:7400', advertisedEndpoint: '10.0.0.1:7400' },
      nats: { servers: ['nats://alice:s3cretPassw0rd@h:4222/x'] },
    }),
  );
  t.regex(agent!.message, /nats\.servers/);
  assertNoSecret(t, agent!.message);
});

test('agent --check prints its configuration without the credentials in NATS URLs', async (t) => {
  const dir = tempDir('agent-check');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    'hostId: h1\nhypervisor: sim\nstateDir: /tmp/drydock-check-unused\ngrpc: { listenAddress: "127.0.0.1:0" }\nlibvirt: { migrationUri: "qemu+tcp://10.0.0.1/system" }\n' +
      'nats: { servers: ["nats://alice:s3cretPassw0rd@10.0.0.1:4222", "tls://tok3nValue@10.0.0.2:4222"] }\n',
    { mode: 0o600 },
  );
  const { stdout } = await execFileP(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, '..', 'agent', 'main.ts'), '--config', file, '--check'],
    {
      env: { PATH: process.env.PATH, HOME: dir },
      timeout: 60_000,
    },
  );
  const printed = JSON.parse(stdout) as { nats: { servers: string[] } };
  t.deepEqual(printed.nats.servers, ['nats://***@10.0.0.1:4222', 'tls://***@10.0.0.2:4222']);
  assertNoSecret(t, stdout);
});
