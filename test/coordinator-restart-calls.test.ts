// A coordinator that starts while thousands of hosts already heartbeat must
// not call every agent at once (issue 13 target 4: one gRPC channel per agent
// was most of its memory). Hosts whose record already holds the incarnation
// and endpoint of their heartbeat need no call: the reconcile pass compares
// their servers digest. Real nats-server, sim agents, coordinators.
import test, { type ExecutionContext } from 'ava';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestNats } from '../harness/test-nats.ts';
import { startCoordinator } from '../coordinator/coordinator.ts';
import { startSimAgents } from '../harness/sim-cluster.ts';
import { tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { AgentClient } from '../coordinator/agent-client.ts';

const HOSTS = 8;

// The agent calls of the coordinators in this file, counted on their client
// ("facts <host>", "servers <host> all|some"); each test reads its own hosts'.
const calls: string[] = [];
const { getHostFacts, listServers } = AgentClient.prototype;
AgentClient.prototype.getHostFacts = function (this: AgentClient, ...a) {
  calls.push(`facts ${this.hostId}`);
  return getHostFacts.apply(this, a);
};
AgentClient.prototype.listServers = function (this: AgentClient, ...a) {
  calls.push(`servers ${this.hostId} ${a[0]?.length ? 'some' : 'all'}`);
  return listServers.apply(this, a);
};
test.after.always(() => Object.assign(AgentClient.prototype, { getHostFacts, listServers }));
const callsOf = (prefix: string) => calls.filter((c) => c.split(' ')[1]!.startsWith(prefix)).sort();

test('a new leader opens no channel to agents whose records are current; a restarted agent is still refreshed', async (t) => {
  const dir = tempDir('restart-calls');
  const ids = Array.from({ length: HOSTS }, (_, i) => `rc-${i + 1}`);
  const tn = await startTestNats({ dir, hosts: ids });
  const cfg = (id: string) =>
    testConfig({
      id,
      natsServers: tn.urls,
      natsAuth: tn.coordinatorAuth,
      offlineAfter: '3s',
      reconcileInterval: '1s',
      leaderTtl: '2s',
      leaderRenew: '500ms',
      // No host is asked for its share during the test: only the rules under test ask.
      env: { DRYDOCK_COORDINATOR_INVENTORY_FULL_RECONCILE_INTERVAL: '1h' },
    });
  const first = await startCoordinator(cfg('rc-first'));
  const agents = await startSimAgents({ count: HOSTS, hostIds: ids, natsUrl: tn.urls, natsAuth: tn.hostAuth, heartbeatIntervalMs: 300 });
  let second: Awaited<ReturnType<typeof startCoordinator>> | null = null;
  t.teardown(async () => {
    await agents.stop();
    await second?.stop();
    await first.stop();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('every host registered', async () => (await first.store.hosts.keys()).length === HOSTS, 15_000);
  await first.stop();
  second = await startCoordinator(cfg('rc-second'));
  const s = second;
  await waitFor(
    'the second coordinator leads and hears every host',
    () => s.leader.isLeader() && ids.every((id) => s.inventory.hostLiveness(id)?.online),
    15_000,
  );
  await sleep(1000);
  t.true(s.agents.size.open === 0, `${s.agents.size.open} channels open to agents`);

  // A restarted agent (new incarnation) is still fetched at once.
  const a = agents.byId('rc-3');
  await a.restart();
  await waitFor('rc-3 re-registered with its new incarnation', async () => (await s.store.hosts.get('rc-3'))?.value.incarnation === a.incarnation, 10_000);

  // A host whose record is lost (facts missed), heartbeating as usual: the
  // reconcile pass asks it (its digest may agree) and registers it again,
  // long before its next facts (every 30 s).
  await s.store.hosts.deleteIf('rc-5', () => true);
  await waitFor('rc-5 registered again by the reconcile pass', async () => (await s.store.hosts.get('rc-5')) !== null, 10_000);
});

test('hosts that register, and the event syncs after their servers change, leave no channel open once answered', async (t) => {
  // Before: the listing asked after each registration (and after each
  // event) kept its channel until the idle sweep (agents.idleClose, 60 s),
  // so 5,000 agents starting held a channel each for a minute or more.
  const dir = tempDir('register-calls');
  const ids = Array.from({ length: HOSTS }, (_, i) => `rg-${i + 1}`);
  const tn = await startTestNats({ dir, hosts: ids });
  const c = await startCoordinator(
    testConfig({
      id: 'rg-coord',
      natsServers: tn.urls,
      natsAuth: tn.coordinatorAuth,
      reconcileInterval: '1s',
      env: { DRYDOCK_COORDINATOR_INVENTORY_FULL_RECONCILE_INTERVAL: '1h' },
    }),
  );
  const agents = await startSimAgents({ count: HOSTS, hostIds: ids, natsUrl: tn.urls, natsAuth: tn.hostAuth, heartbeatIntervalMs: 300 });
  t.teardown(async () => {
    await agents.stop();
    await c.stop();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('every host registered', async () => (await c.store.hosts.keys()).length === HOSTS, 15_000);
  await waitFor('registration calls answered, their channels closed', () => c.agents.size.open === 0, 5000);

  // A new server on every host: events, then a sync of the servers they name.
  for (const a of agents.agents) a.sim.addServer({ name: `${a.hostId}-vs`, memoryBytes: 2 ** 30, vcpus: 1 });
  await waitFor('every new server recorded', async () => (await c.store.servers.keys()).length === HOSTS, 15_000);
  await waitFor('event syncs answered, their channels closed', () => c.agents.size.open === 0, 5000);
  t.is(c.agents.size.open, 0);
});

test('a coordinator that meets many unregistered hosts at once calls at most 16 of their agents at a time, and registers them all', async (t) => {
  // Before: one refresh per heartbeat of an unregistered host, all at once
  // (2,500 agents starting together: thousands of channels, calls past
  // their deadline). Slow agents (300 ms an answer) keep the calls in flight
  // long enough to count them; no reconcile pass runs, only the message path.
  const N = 40;
  const dir = tempDir('many-calls');
  const ids = Array.from({ length: N }, (_, i) => `mc-${i + 1}`);
  const tn = await startTestNats({ dir, hosts: ids });
  const agents = await startSimAgents({ count: N, hostIds: ids, natsUrl: tn.urls, natsAuth: tn.hostAuth, heartbeatIntervalMs: 300 });
  for (const a of agents.agents) a.sim.faults.setLatency(300);
  let c: Awaited<ReturnType<typeof startCoordinator>> | null = null;
  t.teardown(async () => {
    await agents.stop();
    await c?.stop();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  c = await startCoordinator(testConfig({ id: 'mc-coord', natsServers: tn.urls, natsAuth: tn.coordinatorAuth, reconcileInterval: '1h' }));
  const s = c;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, s.agents.size.open)), 5);
  t.teardown(() => clearInterval(sampler));
  await waitFor('every host registered', async () => (await s.store.hosts.keys()).length === N, 30_000);
  clearInterval(sampler);
  t.true(peak > 0, 'the agents were called');
  t.true(peak <= 16, `${peak} channels open at once`);
});

/**
 * A coordinator on its own nats-server (full reconcile off), then 4 sim
 * agents (ids `<prefix>-1` …) started once its first reconcile pass ran
 * (2.5 s after leadership): from then on only the message path and passes
 * every `reconcileInterval` ask them. Everything stops in the teardown.
 */
async function hostsAfterFirstPass(t: ExecutionContext, prefix: string, reconcileInterval: string) {
  const N = 4;
  const dir = tempDir(`${prefix}-calls`);
  const ids = Array.from({ length: N }, (_, i) => `${prefix}-${i + 1}`);
  const tn = await startTestNats({ dir, hosts: ids });
  const c = await startCoordinator(
    testConfig({
      id: `${prefix}-coord`,
      natsServers: tn.urls,
      natsAuth: tn.coordinatorAuth,
      reconcileInterval,
      env: { DRYDOCK_COORDINATOR_INVENTORY_FULL_RECONCILE_INTERVAL: '1h' },
    }),
  );
  let agents: Awaited<ReturnType<typeof startSimAgents>> | null = null;
  t.teardown(async () => {
    await agents?.stop();
    await c.stop();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('the first reconcile pass ran', () => c.inventory.lastReconcileReport() !== null, 15_000);
  agents = await startSimAgents({ count: N, hostIds: ids, natsUrl: tn.urls, natsAuth: tn.hostAuth, heartbeatIntervalMs: 300 });
  return { N, ids, c, agents };
}

test('a host registered from its facts is asked for its servers once and never for its facts', async (t) => {
  // Before: its first heartbeat, heard before the facts made its record,
  // refreshed it as well: its facts and its servers asked a second time
  // (5,000 agents starting: ~10,000 needless calls, bench/telemetry.ts).
  const { N, ids, c } = await hostsAfterFirstPass(t, 'fc', '1h');
  await waitFor(
    'every host registered and online',
    async () => (await c.store.hosts.keys()).length === N && ids.every((id) => c.inventory.hostLiveness(id)?.online),
    15_000,
  );
  // Past the grace a heartbeat gives the facts (5 s), and the calls it could start.
  await sleep(7000);
  await waitFor('no call in flight', () => c.agents.size.open === 0, 5000);
  t.deepEqual(callsOf('fc-'), ids.map((id) => `servers ${id} all`).sort());
});

test('a reconcile pass leaves a host to the sync its facts or events started: one listing of all its servers per host', async (t) => {
  // Before: a pass (every second here) asked every host whose heartbeat
  // digest differed from its records, while the sync that its own facts
  // started (slow agents: 1.5 s an answer) was recording them.
  const { N, ids, c, agents } = await hostsAfterFirstPass(t, 'pc', '1s');
  for (const a of agents.agents) {
    a.sim.faults.setLatency(1500);
    a.sim.addServer({ name: `${a.hostId}-vs`, memoryBytes: 2 ** 30, vcpus: 1 });
  }
  await waitFor(
    'every host registered, every server recorded',
    async () => (await c.store.hosts.keys()).length === N && (await c.store.servers.keys()).length === N,
    30_000,
  );
  // Passes go on (every second); the heartbeat's grace (5 s) ends.
  await sleep(7000);
  await waitFor('no call in flight', () => c.agents.size.open === 0, 10_000);
  t.deepEqual(
    callsOf('pc-').filter((x) => x.endsWith(' all')),
    ids.map((id) => `servers ${id} all`),
  );
});
