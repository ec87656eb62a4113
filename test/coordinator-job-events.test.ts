// A host's job-progress events (migration-iteration, job-completed,
// block-job: common/host-events.ts) say nothing about a server's state or
// definition: the coordinator does not ask the host about its servers for
// them, while a lifecycle event about the same server does. A real
// coordinator, a real nats-server, a real sim agent; the full reconcile is
// set far out so only events can bring the record up to date.
import test from 'ava';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { subjects, type HostEventMessage } from '../common/subjects.ts';
import { startCoordinator } from '../coordinator/coordinator.ts';
import { startSimAgents } from '../harness/sim-cluster.ts';
import { tempDir, testConfig, waitFor } from '../harness/coordinator-helpers.ts';
import { startTestNats } from '../harness/test-nats.ts';

test('job-progress events do not make the coordinator ask the host; a lifecycle event does', async (t) => {
  const dir = tempDir('job-events');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tn = await startTestNats({ dir, hosts: ['h1'] });
  t.teardown(() => tn.node.stop());
  const coord = await startCoordinator(
    testConfig({ id: 'coord-je', natsServers: [tn.node.url], natsAuth: tn.coordinatorAuth, reconcileInterval: '10m', leaderTtl: '3s', leaderRenew: '500ms' }),
  );
  t.teardown(() => coord.stop());
  await waitFor('leadership', () => coord.leader.isLeader(), 10_000);
  const agents = await startSimAgents({ count: 1, natsUrl: tn.node.url, natsAuth: tn.hostAuth, hostIds: ['h1'], heartbeatIntervalMs: 300 });
  t.teardown(() => agents.stop());
  const h1 = agents.byId('h1');
  const s = h1.sim.addServer({ name: 'je-vm', vcpus: 2 });
  await waitFor('the record', async () => (await coord.store.servers.get(s.uuid))?.value.vcpus === 2, 10_000);
  const before = (await coord.store.servers.get(s.uuid))!;

  // The host's report changes without an event of its own (reached into the sim: a test-only change).
  h1.sim.fabric.placement.get(s.uuid)!.sim.server.vcpus = 4;
  // As the host would publish them (the coordinator's own connection may publish on any subject).
  const nc = await tn.connect();
  t.teardown(() => nc.close());
  const event = (name: string, detail: string): HostEventMessage => ({
    host_id: 'h1',
    incarnation: h1.incarnation,
    event: name,
    server_uuid: s.uuid,
    server_name: 'je-vm',
    detail,
    at_ms: Date.now(),
  });
  const publish = (m: HostEventMessage) => nc.publish(subjects.hostEvents('h1'), new TextEncoder().encode(JSON.stringify(m)));
  for (const [name, detail] of [
    ['migration-iteration', 'iteration 3'],
    ['job-completed', 'completed'],
    ['block-job', 'Block Copy'],
  ] as const)
    publish(event(name, detail));
  await nc.flush();
  await sleep(1500); // several event batches' worth
  const after = (await coord.store.servers.get(s.uuid))!;
  t.is(after.revision, before.revision, 'no sync for job progress: the record is as it was');
  t.is(after.value.vcpus, 2);

  publish(event('lifecycle', 'Resumed Unpaused'));
  await nc.flush();
  await waitFor('the lifecycle event brings the record up to date', async () => (await coord.store.servers.get(s.uuid))?.value.vcpus === 4, 10_000);
});
