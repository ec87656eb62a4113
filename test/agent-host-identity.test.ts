// Certificates name host ids (common/identity.mjs): the coordinator's client
// of host h1 accepts only a server certificate naming h1, so an endpoint
// that leads to another host's agent fails the TLS handshake and no call
// runs there. Real sim agents with real gRPC servers on 127.0.0.1:0, and the
// lab PKI module (scripts/pki.mjs, openssl) in a temp dir.
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { AgentClient, AgentClientPool, type AgentClientOptions } from '../coordinator/agent-client.ts';
import { COORDINATOR_IDENTITY, hostIdentity } from '../common/identity.mjs';
import { ensureCoordinatorCert, ensureHostCert, type IssuedCert } from '../scripts/pki.mjs';
import { ConfigError } from '../common/config.ts';

interface Ctx {
  dir: string;
  certs: { h1: IssuedCert; h2: IssuedCert; coordinator: IssuedCert };
  /** h1 and h2 with mTLS (each its own certificate); p1 plaintext on loopback. */
  agents: SimAgents[];
  clients: { close(): void }[];
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-host-identity-'));
  t.context = { dir, agents: [], clients: [] } as unknown as Ctx;
  const pki = { dir: path.join(dir, 'pki') };
  const [h1, h2, coordinator] = await Promise.all([ensureHostCert('h1', pki), ensureHostCert('h2', pki), ensureCoordinatorCert(pki)]);
  t.context.certs = { h1, h2, coordinator };
  for (const id of ['h1', 'h2'] as const) {
    const c = t.context.certs[id];
    t.context.agents.push(
      await startSimAgents({
        count: 1,
        hostIds: [id],
        tls: { certFile: c.certFile, keyFile: c.keyFile, clientCaFile: c.caFile, allowedClientIdentities: [COORDINATOR_IDENTITY] },
      }),
    );
  }
  t.context.agents.push(await startSimAgents({ count: 1, hostIds: ['p1'] }));
});

test.after.always(async (t) => {
  for (const c of t.context.clients ?? []) c.close();
  await Promise.allSettled((t.context.agents ?? []).map((a) => a.stop()));
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

function agent(t: { context: Ctx }, id: string) {
  for (const a of t.context.agents) if (a.agents[0]!.hostId === id) return a.agents[0]!;
  throw new Error(`no agent ${id}`);
}

function coordinatorOptions(t: { context: Ctx }, cert: IssuedCert = t.context.certs.coordinator): AgentClientOptions {
  return { callTimeoutMs: 5000, tls: { caFile: cert.caFile, certFile: cert.certFile, keyFile: cert.keyFile } };
}

function client(t: { context: Ctx }, hostId: string, endpoint: string, opts = coordinatorOptions(t)): AgentClient {
  const c = new AgentClient(hostId, endpoint, opts);
  t.context.clients.push(c);
  return c;
}

test("calling h1 at an endpoint served by h2's certificate fails at the handshake: the reboot is not run", async (t) => {
  const h2 = agent(t, 'h2');
  const wrong = client(t, 'h1', h2.endpoint);
  const err = await t.throwsAsync(wrong.rebootHost({ allow_running_servers: true, reason: 'endpoint hijack' }));
  t.is(err!.name, 'UnavailableError', err!.message);
  t.regex(err!.message, /does not name host h1/);
  t.true(err!.message.includes(hostIdentity('h2')), 'says which host the certificate names');
  await t.throwsAsync(wrong.getHostFacts(), { name: 'UnavailableError' });
  t.is(h2.rebootCount, 0);
  // The same endpoint called as the host it serves works.
  t.is((await client(t, 'h2', h2.endpoint).getHostFacts()).host_id, 'h2');
});

test('calling h1 at its own endpoint works', async (t) => {
  const h1 = agent(t, 'h1');
  const facts = await client(t, 'h1', h1.endpoint).getHostFacts();
  t.is(facts.host_id, 'h1');
  t.is(h1.rebootCount, 0);
});

test('the client pool keys by host and endpoint: one endpoint asked for as two hosts is checked for each', async (t) => {
  const pool = new AgentClientPool(coordinatorOptions(t));
  t.context.clients.push({ close: () => pool.closeAll() });
  const endpoint = agent(t, 'h2').endpoint;
  // The right host first: a channel that works must not be reused for another host.
  t.is((await pool.forHost('h2', endpoint).getHostFacts()).host_id, 'h2');
  t.not(pool.forHost('h1', endpoint), pool.forHost('h2', endpoint));
  await t.throwsAsync(pool.forHost('h1', endpoint).listServers(), { name: 'UnavailableError', message: /does not name host h1/ });
  t.is(pool.forHost('h2', endpoint), pool.forHost('h2', endpoint));
});

test("a host certificate is no coordinator certificate: h2's certificate cannot call h1", async (t) => {
  const h1 = agent(t, 'h1');
  const err = await t.throwsAsync(
    client(t, 'h1', h1.endpoint, coordinatorOptions(t, t.context.certs.h2)).rebootHost({ allow_running_servers: true, reason: 'lateral' }),
  );
  // Refused at the handshake (serverAuth-only certificate) or by identity.
  t.regex(err!.name, /UnavailableError|PermissionDeniedError/, err!.message);
  t.is(h1.rebootCount, 0);
});

test('an agent does not start with a certificate that names another host', async (t) => {
  const c = t.context.certs.h1;
  const err = await t.throwsAsync(
    startSimAgents({
      count: 1,
      hostIds: ['h3'],
      tls: { certFile: c.certFile, keyFile: c.keyFile, clientCaFile: c.caFile, allowedClientIdentities: [COORDINATOR_IDENTITY] },
    }),
    { instanceOf: ConfigError },
  );
  t.regex(err!.message, /tls\.certFile: .* needs the URI SAN spiffe:\/\/drydock\/host\/h3 \(has spiffe:\/\/drydock\/host\/h1\)/);
});

test('without agents.tls the coordinator calls only loopback endpoints, unless agents.insecure', async (t) => {
  const p1 = agent(t, 'p1');
  const plain: AgentClientOptions = { callTimeoutMs: 5000, tls: { caFile: '', certFile: '', keyFile: '' } };
  t.is((await client(t, 'p1', p1.endpoint, plain).getHostFacts()).host_id, 'p1');
  // 0.0.0.0 is not a loopback address by the rule (common/loopback.ts), yet
  // Linux connects it to this machine: the refusal is ours, no packet leaves.
  const remote = p1.endpoint.replace('127.0.0.1', '0.0.0.0');
  const err = await t.throwsAsync(client(t, 'p1', remote, plain).rebootHost({ allow_running_servers: true, reason: 'plaintext' }), {
    name: 'UnavailableError',
  });
  t.regex(err!.message, /agents\.tls.*agents\.insecure/);
  t.is(p1.rebootCount, 0);
  t.is((await client(t, 'p1', remote, { ...plain, insecure: true }).getHostFacts()).host_id, 'p1');
});
