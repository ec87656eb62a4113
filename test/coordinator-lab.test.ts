// The inventory against the real lab: 3 KVM hosts (scripts/lab: namespaces,
// one libvirtd each), one real drydock-agent process per host
// (harness/lab-agents.ts), a real nats-server on the lab's root address, and a
// coordinator. Hosts register themselves from their agents' facts, their
// libvirt guests become server records, a host whose agent stops goes
// offline (and stays registered), and comes back with a new incarnation.
import anyTest, { type TestFn } from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLab, type Lab, type LabHost } from '../scripts/lab/index.ts';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { labCoordinatorTls, startLabAgents, type LabAgent } from '../harness/lab-agents.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';

const LAB = { name: 'ddco', subnet: 47 };
const TOKEN = 'lab-inventory-token';

interface Ctx {
  dir: string;
  lab: Lab;
  nats: NatsNode;
  coord: Coordinator;
  agents: LabAgent[];
  admin: TestAdminClient;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('coord-lab');
  const ctx = { dir, agents: [] as LabAgent[] } as Partial<Ctx>;
  t.context = ctx as Ctx;
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  ctx.lab = await createLab({ hosts: 3, name: LAB.name, subnet: LAB.subnet });
  const [h1, h2] = ctx.lab.hosts as [LabHost, LabHost, LabHost];
  // NATS where the lab hosts can reach it: the root side of the lab network.
  const tn = await startTestNats({ dir, host: ctx.lab.rootIp, hosts: ctx.lab.hosts.map((h) => h.name) });
  ctx.nats = tn.node;
  ctx.coord = await startCoordinator(
    testConfig({
      id: 'coord-lab',
      natsServers: [ctx.nats.url],
      natsAuth: tn.coordinatorAuth,
      tokenFile,
      offlineAfter: '6s',
      reconcileInterval: '3s',
      agentsTls: await labCoordinatorTls(),
    }),
  );
  ctx.admin = new TestAdminClient(ctx.coord.port);
  await Promise.all([
    ctx.lab.defineGuest(h1, { name: 'co-off', memoryMiB: 128, fillMiB: 8, start: false }),
    ctx.lab.defineGuest(h2, { name: 'co-run', memoryMiB: 128, fillMiB: 16 }),
  ]);
  ctx.agents = await startLabAgents(ctx.lab, { dir, natsUrl: ctx.nats.url, natsAuth: tn.hostAuth });
});

test.after.always(async (t) => {
  t.context.admin?.close();
  await Promise.allSettled((t.context.agents ?? []).map((a) => a.stop()));
  await t.context.coord?.stop();
  await t.context.nats?.stop();
  await t.context.lab?.destroy();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

type Host = {
  id: string;
  online: boolean;
  last_heartbeat_ms: number;
  hypervisor_type: string;
  grpc_endpoint: string;
  incarnation: string;
  memory_total_bytes: number;
  cpu: { model: string };
};
type Server = { name: string; host_id: string; state: string };
const call = <T = any>(t: { context: Ctx }, method: string, req: object) => t.context.admin.call<T>(method, req, { token: TOKEN });

test('lab hosts register themselves from their agents and are online; their guests are servers', async (t) => {
  const hosts = await waitFor(
    '3 lab hosts online',
    async () => {
      const l = (await call<{ hosts: Host[] }>(t, 'ListHosts', {})).hosts;
      return l.length === 3 && l.every((h) => h.online) ? l : null;
    },
    30_000,
  );
  for (const h of t.context.lab.hosts) {
    const rec = hosts.find((x) => x.id === h.name)!;
    t.truthy(rec, h.name);
    t.is(rec.grpc_endpoint, t.context.agents.find((a) => a.host.name === h.name)!.endpoint);
    t.true(['kvm', 'qemu'].includes(rec.hypervisor_type));
    t.true(rec.memory_total_bytes > 0);
    t.truthy(rec.cpu.model);
  }
  const servers = await waitFor(
    'both lab guests listed',
    async () => {
      const s = (await call<{ servers: Server[] }>(t, 'ListServers', {})).servers;
      return s.some((x) => x.name === 'co-off') && s.some((x) => x.name === 'co-run') ? s : null;
    },
    30_000,
  );
  t.like(
    servers.find((s) => s.name === 'co-off'),
    { host_id: 'h1', state: 'shutoff' },
  );
  t.like(
    servers.find((s) => s.name === 'co-run'),
    { host_id: 'h2', state: 'running' },
  );
});

test('a lab host whose agent stops goes offline and stays registered; restarted, it is back with a new incarnation', async (t) => {
  const agent = t.context.agents.find((a) => a.host.name === 'h3')!;
  const before = await call<Host>(t, 'GetHost', { host_id: 'h3' });
  t.true(before.online);
  await agent.stop();
  const off = await waitFor(
    'h3 offline',
    async () => {
      const h = await call<Host>(t, 'GetHost', { host_id: 'h3' });
      return h.online ? null : { ...h, seenAt: Date.now() };
    },
    20_000,
    250,
  );
  // Offline is decided from the last heartbeat (not from the stop): not before the 6 s window.
  t.true(off.seenAt - off.last_heartbeat_ms >= 6000 - 50, `offline ${off.seenAt - off.last_heartbeat_ms} ms after the last heartbeat`);
  t.is(off.id, 'h3');
  t.is((await call<{ hosts: Host[] }>(t, 'ListHosts', {})).hosts.length, 3);
  await agent.start();
  const back = await waitFor(
    'h3 online again',
    async () => {
      const h = await call<Host>(t, 'GetHost', { host_id: 'h3' });
      return h.online && h.incarnation !== before.incarnation ? h : null;
    },
    30_000,
    250,
  );
  t.not(back.incarnation, before.incarnation);
});
