// The agent and stale definitions (issue 12, defect 1): before a migration
// starts, a definition of the server on the target is cleaned when it is
// stale (shut off while the server runs here), the other way round the
// agent's own shut-off copy of a server the target runs, and two copies of
// which neither is known stale are refused and left alone. Real gRPC agents
// on port 0 over the sim hypervisor.
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { startSimAgents, type SimAgents, type SimAgentHandle } from '../harness/sim-cluster.ts';
import { DomainRunningError } from '../agent/hypervisor/errors.ts';
import { agentClient, migrate, migrateError, type AgentClient } from './agent-helpers.ts';

const GiB = 1024 ** 3;
const test = anyTest as TestFn<{ cluster: SimAgents; h1: SimAgentHandle; h2: SimAgentHandle; client: AgentClient }>;

let seq = 0;
const nextId = (what: string) => `${what}-${process.pid}-${++seq}`;

test.before(async (t) => {
  const cluster = await startSimAgents({
    count: 2,
    fabricOptions: { bandwidthBps: GiB, tickMs: 50, setupMs: 50, shutdownMs: 50 },
    migration: { pollIntervalMs: 50 },
  });
  t.context = { cluster, h1: cluster.agents[0]!, h2: cluster.agents[1]!, client: agentClient(cluster.agents[0]!.endpoint) };
});

test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
});

const request = (uuid: string, target: SimAgentHandle, mode: 'MIGRATION_MODE_LIVE' | 'MIGRATION_MODE_COLD') => ({
  migration_id: nextId('m'),
  server_uuid: uuid,
  mode,
  target_host_id: target.hostId,
  target_uri: target.migrationUri,
});

/** Every host's definitions of one server: [host, state]. */
const definitions = (c: SimAgents, uuid: string) =>
  c.agents.flatMap((a) =>
    a.sim
      .servers()
      .filter((s) => s.uuid === uuid)
      .map((s) => [a.hostId, s.state]),
  );

test.serial('a stale shut-off copy on the target is undefined (only the definition), said in the record, and the move goes on', async (t) => {
  const { cluster, h1, h2, client } = t.context;
  const vs = h1.sim.addServer({ name: nextId('web'), memoryBytes: GiB / 4, disks: [{ path: '/shared/web.qcow2', shared: true }] });
  h2.sim.leaveDefinitionOf(vs.uuid);
  const undefinesBefore = h2.sim.counters.undefines;
  const run = await migrate(client, request(vs.uuid, h2, 'MIGRATION_MODE_LIVE'));
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(run.final.error));
  t.regex(
    run.final.stale_definition_removed,
    new RegExp(`removed the stale shut-off definition of ${vs.uuid} on ${h2.hostId} \\(the server runs on ${h1.hostId}\\); its disk files were kept`),
  );
  t.truthy(run.events[0]?.migration?.stale_definition_removed, 'the first event already says so');
  t.is(h2.sim.counters.undefines - undefinesBefore, 1);
  t.deepEqual(definitions(cluster, vs.uuid), [[h2.hostId, 'SERVER_STATE_RUNNING']]);
  t.deepEqual(
    cluster.fabric.migrationsOf(vs.uuid).map((m) => [m.mode, m.result]),
    [['live', 'completed']],
  );
});

test.serial("the agent's own shut-off copy of a server the target runs is undefined and the call refused: nothing is left to move", async (t) => {
  const { cluster, h1, h2, client } = t.context;
  const vs = h2.sim.addServer({ name: nextId('db'), memoryBytes: GiB / 4 });
  h1.sim.leaveDefinitionOf(vs.uuid);
  const err = await migrateError(client, request(vs.uuid, h2, 'MIGRATION_MODE_COLD'));
  t.is(err.code, status.FAILED_PRECONDITION);
  t.regex(err.details, new RegExp(`runs on ${h2.hostId}: removed the stale shut-off definition of ${vs.uuid} on ${h1.hostId}.*nothing left to move`));
  t.is(err.events, 0);
  t.deepEqual(definitions(cluster, vs.uuid), [[h2.hostId, 'SERVER_STATE_RUNNING']], 'the running copy untouched');
  t.is(cluster.fabric.migrationsOf(vs.uuid).length, 0);
  t.is(h2.sim.counters.shutdowns + h2.sim.counters.destroys, 0, 'the running copy was never stopped');
});

test.serial('two copies of which neither is known stale (both shut off, both running) are refused and left alone', async (t) => {
  const { cluster, h1, h2, client } = t.context;
  const off = h1.sim.addServer({ name: nextId('off'), running: false });
  h2.sim.leaveDefinitionOf(off.uuid);
  const on = h1.sim.addServer({ name: nextId('on') });
  h2.sim.leaveDefinitionOf(on.uuid);
  await h2.sim.start(on.uuid); // a second instance running: never for the agent to pick
  const undefines = h1.sim.counters.undefines + h2.sim.counters.undefines;
  const e1 = await migrateError(client, request(off.uuid, h2, 'MIGRATION_MODE_COLD'));
  t.is(e1.code, status.FAILED_PRECONDITION);
  t.is(e1.kind, 'ServerDefinedTwiceError');
  t.regex(e1.details, /defined on both .*\(SERVER_STATE_SHUTOFF\) and .*\(SERVER_STATE_SHUTOFF\): which copy is current cannot be told/);
  const e2 = await migrateError(client, request(on.uuid, h2, 'MIGRATION_MODE_LIVE'));
  t.is(e2.code, status.FAILED_PRECONDITION);
  t.regex(e2.details, /both copies are active/);
  t.is(h1.sim.counters.undefines + h2.sim.counters.undefines, undefines, 'nothing undefined');
  t.deepEqual(definitions(cluster, off.uuid), [
    [h1.hostId, 'SERVER_STATE_SHUTOFF'],
    [h2.hostId, 'SERVER_STATE_SHUTOFF'],
  ]);
  t.deepEqual(definitions(cluster, on.uuid), [
    [h1.hostId, 'SERVER_STATE_RUNNING'],
    [h2.hostId, 'SERVER_STATE_RUNNING'],
  ]);
  t.is(cluster.fabric.migrationsOf(off.uuid).length + cluster.fabric.migrationsOf(on.uuid).length, 0);
  for (const [h, u] of [
    [h2, off.uuid],
    [h2, on.uuid],
  ] as const) {
    await h.sim.destroy(u).catch(() => undefined);
    h.sim.removeServer(u);
  }
});

test('the hypervisor undefines only a shut-off definition: a running one is refused and stays', async (t) => {
  const { h1, h2 } = t.context;
  const vs = h1.sim.addServer({ name: nextId('keep') });
  const err = await t.throwsAsync(h2.sim.undefineShutOff(vs.uuid, h1.migrationUri));
  t.true(err instanceof DomainRunningError, String(err));
  t.is(h1.sim.servers().find((s) => s.uuid === vs.uuid)?.state, 'SERVER_STATE_RUNNING');
  await h1.sim.destroy(vs.uuid);
  await h1.sim.undefineShutOff(vs.uuid);
  t.is(
    h1.sim.servers().find((s) => s.uuid === vs.uuid),
    undefined,
  );
});
