// mTLS on the agent: only the coordinator's certificate identity may call.
// A real agent (sim hypervisor) on 127.0.0.1:0 with a test PKI (openssl).
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makePki, type CertFiles, type TestPki } from './helpers/tls.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { certificateIdentities } from '../common/peer-identity.ts';
import { hostIdentity } from '../common/identity.mjs';
import { agentClient, call, callError, migrateError, type AgentClient } from './agent-helpers.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';

interface Ctx {
  dir: string;
  pki: TestPki;
  certs: Record<string, CertFiles>;
  cluster: SimAgents;
  clients: AgentClient[];
}
const test = anyTest as TestFn<Ctx>;
const COORDINATOR = 'drydock-coordinator';

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-mtls-'));
  t.context = { dir, clients: [], certs: {} } as unknown as Ctx;
  const pki = await makePki(dir);
  mkdirSync(path.join(dir, 'other'));
  const otherCa = await makePki(path.join(dir, 'other'), 'other-ca');
  t.context.pki = pki;
  t.context.certs = {
    agent: await pki.issue('agent', { server: true, dns: ['agent.test'], uri: [hostIdentity('sim-1')] }),
    coordinator: await pki.issue('coordinator', { cn: COORDINATOR }),
    bySan: await pki.issue('coordinator-san', { cn: 'coordinator-2.example', dns: [COORDINATOR] }),
    intruder: await pki.issue('intruder', { cn: 'some-admin' }),
    foreign: await otherCa.issue('foreign', { cn: COORDINATOR }),
  };
  t.context.cluster = await startSimAgents({
    count: 1,
    tls: { ...t.context.certs.agent!, clientCaFile: pki.caFile, allowedClientIdentities: [COORDINATOR] },
  });
});

test.after.always((t) => {
  for (const c of t.context.clients ?? []) c.close();
  return (async () => {
    await t.context.cluster?.stop();
    if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
  })();
});

function client(t: { context: Ctx }, who: string | null, ca = t.context.pki.caFile): AgentClient {
  const cert = who ? t.context.certs[who]! : null;
  const creds = grpc.credentials.createSsl(readFileSync(ca), cert ? readFileSync(cert.keyFile) : null, cert ? readFileSync(cert.certFile) : null);
  // The certificate names agent.test; we dial 127.0.0.1 (an IP is no valid TLS server name).
  const c = agentClient(t.context.cluster.agents[0]!.endpoint, creds, {
    'grpc.ssl_target_name_override': 'agent.test',
    'grpc.default_authority': 'agent.test',
  });
  t.context.clients.push(c);
  return c;
}

test('the coordinator identity (CN) is served, unary and streaming', async (t) => {
  const c = client(t, 'coordinator');
  const f = await call<object, HostFacts>(c, 'GetHostFacts', {});
  t.is(f.host_id, t.context.cluster.agents[0]!.hostId);
  // Past authentication the stream reaches validation: NOT_FOUND for an unknown server.
  const e = await migrateError(c, {
    migration_id: 'mtls-1',
    server_uuid: '00000000-0000-4000-8000-000000000000',
    mode: 'MIGRATION_MODE_LIVE',
    target_host_id: 'x',
    target_uri: 'qemu+tcp://x.sim/system',
  });
  t.is(e.code, grpc.status.NOT_FOUND);
});

test('the coordinator identity as a DNS SAN is served', async (t) => {
  const f = await call<object, HostFacts>(client(t, 'bySan'), 'GetHostFacts', {});
  t.truthy(f.incarnation);
});

test('another certificate of the same CA gets PERMISSION_DENIED, unary and streaming', async (t) => {
  const c = client(t, 'intruder');
  const e = await callError(c, 'GetHostFacts', {});
  t.is(e.code, grpc.status.PERMISSION_DENIED);
  t.regex(e.details, /some-admin/);
  const s = await migrateError(c, {
    migration_id: 'mtls-2',
    server_uuid: '00000000-0000-4000-8000-000000000000',
    mode: 'MIGRATION_MODE_LIVE',
    target_host_id: 'x',
    target_uri: 'qemu+tcp://x.sim/system',
  });
  t.is(s.code, grpc.status.PERMISSION_DENIED);
  t.is((await callError(c, 'RebootHost', { allow_running_servers: true })).code, grpc.status.PERMISSION_DENIED);
  t.is(t.context.cluster.agents[0]!.rebootCount, 0);
});

test('no client certificate, a foreign CA, or plaintext: refused at the handshake', async (t) => {
  for (const c of [client(t, null), client(t, 'foreign')]) {
    const e = await callError(c, 'GetHostFacts', {});
    t.is(e.code, grpc.status.UNAVAILABLE, e.details);
  }
  const plain = agentClient(t.context.cluster.agents[0]!.endpoint);
  t.context.clients.push(plain);
  t.is((await callError(plain, 'GetHostFacts', {})).code, grpc.status.UNAVAILABLE);
});

test('certificate identities: CN and DNS/URI SANs, not IPs', (t) => {
  t.deepEqual(certificateIdentities({ subject: { CN: 'a' } as never, subjectaltname: 'DNS:b, URI:spiffe://x/y, IP Address:10.0.0.1, email:c@d' }), [
    'a',
    'b',
    'spiffe://x/y',
    'c@d',
  ]);
  t.deepEqual(certificateIdentities(undefined), []);
});
