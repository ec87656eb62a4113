// The CLI never sends its bearer token in clear text off this machine unless
// told --insecure: the decision as pure logic (cli/transport.ts), and the
// real `drydock` (subprocess) against a real coordinator on loopback (works,
// --insecure warns) and against non-loopback addresses (refused before any
// connection: exit 3, one line, at once). Tests only ever connect to
// loopback; the non-loopback runs must not connect at all.
import anyTest, { type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NatsNode } from '../common/nats-server.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { decideTransport, isLoopbackTarget } from '../cli/transport.ts';
import { drydockPipe } from './cli-pty.ts';
import { tempDir, testConfig } from '../harness/coordinator-helpers.ts';
import { startTestNats } from '../harness/test-nats.ts';

const TOKEN = 'cli-insecure-secret-token';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('cli-insecure');
  t.context = { dir } as Ctx;
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${createHash('sha256').update(TOKEN).digest('hex')}", roles: [admin] }\n`, { mode: 0o600 });
  const tn = await startTestNats({ dir });
  t.context.node = tn.node;
  t.context.coord = await startCoordinator(
    testConfig({ id: 'coord-cli-insecure', natsServers: [t.context.node.url], natsAuth: tn.coordinatorAuth, tokenFile }),
  );
});

test.after.always(async (t) => {
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const env = (t: { context: Ctx }, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: t.context.dir,
  DRYDOCK_TOKEN: TOKEN,
  DRYDOCK_TIMEOUT: '60s',
  ...extra,
});

test('loopback or not: which addresses reach only this machine', (t) => {
  for (const a of [
    '127.0.0.1:7443',
    '127.8.9.10:1',
    'localhost:7443',
    'LOCALHOST:1',
    '[::1]:7443',
    '[0:0:0:0:0:0:0:1]:7443',
    '[::ffff:127.0.0.1]:7443',
    'dns:///localhost:7443',
    'dns:127.0.0.1:7443',
    'ipv4:127.0.0.1:1,127.0.0.2:2',
    'ipv6:[::1]:7443',
    'unix:/run/drydock.sock',
    'unix:///run/drydock.sock',
  ]) {
    t.true(isLoopbackTarget(a), a);
  }
  for (const a of [
    '10.255.255.1:7443',
    '0.0.0.0:7443',
    '[::]:7443',
    '[2001:db8::1]:7443',
    '[::ffff:10.0.0.1]:7443',
    'coordinator.example:7443',
    'localhost.evil.example:7443',
    '128.0.0.1:1',
    'dns://8.8.8.8/localhost:7443',
    'ipv4:127.0.0.1:1,10.0.0.1:2',
    'http://127.0.0.1:7443',
    '',
    '127.0.0.1.nip.io:7443',
  ]) {
    t.false(isLoopbackTarget(a), a);
  }
});

test('the decision: a token without TLS goes only to loopback, unless --insecure (which is then reported)', (t) => {
  const remote = { address: '10.255.255.1:7443', token: 't', caFile: '' };
  t.deepEqual(decideTransport(remote), { allowed: false, insecure: false });
  t.deepEqual(decideTransport({ ...remote, insecure: true }), { allowed: true, insecure: true });
  t.deepEqual(decideTransport({ ...remote, caFile: '/ca.pem' }), { allowed: true, insecure: false }, 'TLS');
  t.deepEqual(decideTransport({ ...remote, token: '' }), { allowed: true, insecure: false }, 'no token, nothing to leak');
  t.deepEqual(decideTransport({ ...remote, address: '127.0.0.1:7443' }), { allowed: true, insecure: false });
  t.deepEqual(decideTransport({ ...remote, address: '127.0.0.1:7443', insecure: true }), { allowed: true, insecure: true });
  t.deepEqual(decideTransport({ ...remote, caFile: '/ca.pem', insecure: true }), { allowed: true, insecure: false }, 'TLS: --insecure changes nothing');
});

test('drydock against the loopback coordinator without TLS works; with --insecure it also says loudly that TLS is off', async (t) => {
  const address = `127.0.0.1:${t.context.coord.port}`;
  const plain = await drydockPipe(['zones'], env(t, { DRYDOCK_ADDRESS: address }));
  t.is(plain.code, 0, plain.stderr);
  t.is(plain.stderr, '');
  const loud = await drydockPipe(['--insecure', 'zones'], env(t, { DRYDOCK_ADDRESS: address }));
  t.is(loud.code, 0, loud.stderr);
  t.regex(loud.stderr, /WARNING: --insecure: the bearer token is sent to 127\.0\.0\.1:\d+ without TLS/);
  t.false(loud.stderr.includes(TOKEN), 'the warning does not print the token');
});

test('drydock with a token, without TLS, to a non-loopback address: refused before connecting (exit 3, one line, at once)', async (t) => {
  for (const address of ['10.255.255.1:7443', '[2001:db8::1]:7443']) {
    const started = Date.now();
    // Flag, environment and config file alike: the token source does not matter.
    const r = await drydockPipe(['--address', address, 'zones'], env(t));
    const elapsed = Date.now() - started;
    t.is(r.code, 3, `${address}: ${r.stderr}`);
    t.is(
      r.stderr,
      `drydock: refusing to send the bearer token without TLS to ${address}, which is not a loopback address — pass --ca (the CA of the coordinator certificate) to use TLS, or --insecure to send the token in clear anyway\n`,
    );
    t.is(r.stdout, '');
    t.false(r.stderr.includes(TOKEN));
    // A connection attempt would wait for the 60 s deadline (or fail as unreachable, exit 6).
    t.true(elapsed < 30_000, `took ${elapsed} ms`);
  }
});
