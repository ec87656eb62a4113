// The coordinator's NATS connection: embedded nats-server started and
// stopped with it, admitting only the coordinator's generated key (no
// anonymous client) unless the insecure mode is asked for by name, which
// says so loudly; configured servers with user/password auth; deadlines
// when NATS is unreachable or refuses the credentials.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsError } from 'nats';
import { pino } from 'pino';
import { freePort, natsServerBinary } from '../common/nats-server.ts';
import { silentLogger } from '../common/logging.ts';
import { UnavailableError } from '../common/errors.ts';
import { connectNats, embeddedAuthPaths, INSECURE_NATS_WARNING } from '../coordinator/nats.ts';
import { compileConfig } from '../coordinator/config.ts';
import { ConfigError } from '../common/config.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
test.after.always(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A nats-server requiring user/password (common/nats-server.ts has no auth options). */
async function natsWithAuth(dir: string): Promise<string> {
  const port = await freePort();
  const log = path.join(dir, 'nats.log');
  mkdirSync(path.join(dir, 'js'), { recursive: true });
  const child = spawn(
    natsServerBinary(),
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'js'), '--user', 'drydock', '--pass', 's3cret', '-l', log],
    { stdio: 'ignore' },
  );
  children.push(child);
  for (let i = 0; i < 100; i++) {
    if (existsSync(log) && readFileSync(log, 'utf8').includes('Server is ready')) return `nats://127.0.0.1:${port}`;
    await sleep(50);
  }
  throw new Error('nats-server with auth did not start');
}

test('embedded: no servers configured → a nats-server child with JetStream, stopped on close', async (t) => {
  const dir = tempDir('nats-embedded');
  dirs.push(dir);
  const n = await connectNats({ servers: [], dataDir: dir, name: 't', logger: silentLogger(), timeoutMs: 10_000 });
  t.truthy(n.embedded);
  const pid = n.embedded!.pid;
  const kv = await n.nc.jetstream().views.kv('probe');
  await kv.put('k', 'v');
  // Nobody else gets in: no anonymous client, so no KV write without credentials.
  const anon = await t.throwsAsync(connect({ servers: n.servers, reconnect: false }));
  t.is((anon as NatsError).code, 'AUTHORIZATION_VIOLATION');
  t.regex(readFileSync(embeddedAuthPaths(dir).coordinatorSeedFile, 'utf8'), /^SU/);
  t.is((await kv.get('k'))!.string(), 'v');
  await n.close();
  t.throws(() => process.kill(pid, 0), undefined, 'the child is gone');
  t.true(n.nc.isClosed());
});

test('configured servers with user/password; wrong credentials fail within the deadline', async (t) => {
  const dir = tempDir('nats-auth');
  dirs.push(dir);
  const url = await natsWithAuth(dir);
  const ok = await connectNats({
    servers: [url],
    dataDir: dir,
    name: 't',
    logger: silentLogger(),
    timeoutMs: 10_000,
    auth: { user: 'drydock', password: 's3cret' },
  });
  t.is(ok.embedded, null);
  await ok.nc.jetstream().views.kv('probe');
  await ok.close();
  const t0 = Date.now();
  await t.throwsAsync(
    connectNats({ servers: [url], dataDir: dir, name: 't', logger: silentLogger(), timeoutMs: 1500, auth: { user: 'drydock', password: 'wrong' } }),
    { instanceOf: UnavailableError },
  );
  t.true(Date.now() - t0 < 8000);
});

test('unreachable NATS: start-up fails with UNAVAILABLE after the deadline, not never', async (t) => {
  const port = await freePort();
  const t0 = Date.now();
  await t.throwsAsync(connectNats({ servers: [`nats://127.0.0.1:${port}`], dataDir: '/nonexistent', name: 't', logger: silentLogger(), timeoutMs: 1000 }), {
    instanceOf: UnavailableError,
  });
  t.true(Date.now() - t0 < 6000);
});

/** A logger whose lines the test reads. */
function capturingLogger(): { logger: ReturnType<typeof silentLogger>; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

test('insecure mode, asked for by name: the embedded server takes anonymous clients, and the start says so as an error', async (t) => {
  const dir = tempDir('nats-insecure');
  dirs.push(dir);
  const { logger, lines } = capturingLogger();
  const n = await connectNats({ servers: [], dataDir: dir, name: 't', logger, timeoutMs: 10_000, insecureNoAuth: true });
  t.teardown(() => n.close());
  const anon = await connect({ servers: n.servers, reconnect: false });
  await anon.close();
  t.true(
    lines.some((l) => l.level >= 50 && l.msg === INSECURE_NATS_WARNING),
    'logged at error level',
  );
  // And the secure default says nothing of the kind.
  const quiet = capturingLogger();
  const secure = await connectNats({ servers: [], dataDir: tempDir('nats-secure'), name: 't', logger: quiet.logger, timeoutMs: 10_000 });
  await secure.close();
  t.false(quiet.lines.some((l) => /INSECURE/.test(l.msg)));
});

test('config: configured servers need credentials; anonymous NATS only with nats.insecureNoAuth', (t) => {
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'] } }, {}), { instanceOf: ConfigError, message: /insecureNoAuth/ });
  t.is(
    compileConfig({ nats: { servers: ['nats://a:4222'], nkeySeedFile: '/etc/drydock/nats/coordinator.nk' } }, {}).nats.nkeySeedFile,
    '/etc/drydock/nats/coordinator.nk',
  );
  t.true(compileConfig({ nats: { servers: ['nats://a:4222'], insecureNoAuth: true } }, {}).nats.insecureNoAuth);
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], insecureNoAuth: true, token: 't' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], nkeySeedFile: '/x.nk', token: 't' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { nkeySeedFile: '/x.nk' } }, {}), { instanceOf: ConfigError, message: /embedded/ });
  t.false(compileConfig({}, {}).nats.insecureNoAuth, 'secure by default');
});

test('config: NATS credentials are alternatives and need configured servers', (t) => {
  const c = compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u', password: 'p' } }, { DRYDOCK_COORDINATOR_NATS_PASSWORD: 'from-env' });
  t.is(c.nats.password, 'from-env');
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u', password: 'p', token: 't' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { token: 't' } }, {}), { instanceOf: ConfigError, message: /embedded/ });
});
