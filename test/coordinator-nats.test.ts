// The coordinator's NATS connection: embedded nats-server started and
// stopped with it; configured servers with user/password auth; deadlines
// when NATS is unreachable or refuses the credentials.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, natsServerBinary } from '../common/nats-server.ts';
import { silentLogger } from '../common/logging.ts';
import { UnavailableError } from '../common/errors.ts';
import { connectNats } from '../coordinator/nats.ts';
import { compileConfig } from '../coordinator/config.ts';
import { ConfigError } from '../common/config.ts';
import { tempDir } from './helpers/coordinator.ts';

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
  const child = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'js'), '--user', 'drydock', '--pass', 's3cret', '-l', log], { stdio: 'ignore' });
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
  await n.close();
  t.throws(() => process.kill(pid, 0), undefined, 'the child is gone');
  t.true(n.nc.isClosed());
});

test('configured servers with user/password; wrong credentials fail within the deadline', async (t) => {
  const dir = tempDir('nats-auth');
  dirs.push(dir);
  const url = await natsWithAuth(dir);
  const ok = await connectNats({ servers: [url], dataDir: dir, name: 't', logger: silentLogger(), timeoutMs: 10_000, auth: { user: 'drydock', password: 's3cret' } });
  t.is(ok.embedded, null);
  await ok.nc.jetstream().views.kv('probe');
  await ok.close();
  const t0 = Date.now();
  await t.throwsAsync(connectNats({ servers: [url], dataDir: dir, name: 't', logger: silentLogger(), timeoutMs: 1500, auth: { user: 'drydock', password: 'wrong' } }), { instanceOf: UnavailableError });
  t.true(Date.now() - t0 < 8000);
});

test('unreachable NATS: start-up fails with UNAVAILABLE after the deadline, not never', async (t) => {
  const port = await freePort();
  const t0 = Date.now();
  await t.throwsAsync(connectNats({ servers: [`nats://127.0.0.1:${port}`], dataDir: '/nonexistent', name: 't', logger: silentLogger(), timeoutMs: 1000 }), { instanceOf: UnavailableError });
  t.true(Date.now() - t0 < 6000);
});

test('config: NATS credentials are alternatives and need configured servers', (t) => {
  const c = compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u', password: 'p' } }, { DRYDOCK_COORDINATOR_NATS_PASSWORD: 'from-env' });
  t.is(c.nats.password, 'from-env');
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u', password: 'p', token: 't' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { servers: ['nats://a:4222'], user: 'u' } }, {}), { instanceOf: ConfigError });
  t.throws(() => compileConfig({ nats: { token: 't' } }, {}), { instanceOf: ConfigError, message: /embedded/ });
});
