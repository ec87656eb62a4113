// The agent's gRPC API over the sim hypervisor: real gRPC servers on port 0,
// three sim hosts sharing one fabric, no NATS (see agent-nats.test.ts).
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimAgents, type SimAgents, type SimAgentHandle } from '../harness/sim-cluster.ts';
import { simCpu } from '../harness/sim/cpu.ts';
import { SimFabric } from '../harness/sim/fabric.ts';
import { FactsSource } from '../agent/facts.ts';
import { AgentClient as CoordinatorAgentClient } from '../coordinator/agent-client.ts';
import { agentClient, call, callError, migrate, migrateError, type AgentClient, type MigrationRun } from './agent-helpers.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';
import type { ListServersResponse } from '../common/generated/drydock/agent/v1/ListServersResponse.ts';
import type { Migration } from '../common/generated/drydock/agent/v1/Migration.ts';
import type { ServerActionResponse } from '../common/generated/drydock/agent/v1/ServerActionResponse.ts';
import type { CompareCpuResponse } from '../common/generated/drydock/agent/v1/CompareCpuResponse.ts';
import type { BaselineCpuResponse } from '../common/generated/drydock/agent/v1/BaselineCpuResponse.ts';
import type { RebootHostResponse } from '../common/generated/drydock/agent/v1/RebootHostResponse.ts';
import { migrationRequest } from '../harness/sim-migrations.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface Ctx {
  cluster: SimAgents;
  h1: SimAgentHandle;
  h2: SimAgentHandle;
  h3: SimAgentHandle;
  clients: AgentClient[];
  client: (h: SimAgentHandle) => AgentClient;
}
const test = anyTest as TestFn<Ctx>;

let seq = 0;
const nextId = (what: string) => `${what}-${process.pid}-${++seq}`;

test.before(async (t) => {
  const cluster = await startSimAgents({
    count: 3,
    fabricOptions: { bandwidthBps: GiB, tickMs: 50, setupMs: 100, shutdownMs: 100 },
    hostOptions: (i) => (i === 2 ? { cpu: simCpu('Haswell-noTSX') } : {}),
    sharedPathPrefixes: ['/shared'],
    migration: { pollIntervalMs: 100, postCopyAfterIterations: 2, reconcileRetryMs: 200 },
  });
  const clients: AgentClient[] = [];
  const byEndpoint = new Map<string, AgentClient>();
  t.context = {
    cluster,
    h1: cluster.agents[0]!,
    h2: cluster.agents[1]!,
    h3: cluster.agents[2]!,
    clients,
    client: (h) => {
      let c = byEndpoint.get(h.endpoint);
      if (!c) {
        c = agentClient(h.endpoint);
        byEndpoint.set(h.endpoint, c);
        clients.push(c);
      }
      return c;
    },
  };
});

test.after.always(async (t) => {
  for (const c of t.context.clients ?? []) c.close();
  await t.context.cluster?.stop();
});

const live = (id: string, uuid: string, target: SimAgentHandle, extra: Record<string, unknown> = {}) => ({
  migration_id: id,
  server_uuid: uuid,
  mode: 'MIGRATION_MODE_LIVE' as const,
  target_host_id: target.hostId,
  target_uri: target.migrationUri,
  ...extra,
});
const cold = (id: string, uuid: string, target: SimAgentHandle, extra: Record<string, unknown> = {}) => ({
  ...live(id, uuid, target, extra),
  mode: 'MIGRATION_MODE_COLD' as const,
});

test.serial('GetHostFacts reports the host, its CPU as libvirt names it, and a per-process incarnation', async (t) => {
  const { h1, h3 } = t.context;
  const f = await call<object, HostFacts>(t.context.client(h1), 'GetHostFacts', {});
  t.is(f.host_id, h1.hostId);
  t.is(f.hypervisor_type, 'kvm');
  t.is(f.cpu?.model, 'Skylake-Server');
  t.is(f.grpc_endpoint, h1.endpoint);
  t.is(f.migration_uri, h1.migrationUri);
  t.is(f.incarnation, h1.incarnation);
  t.truthy(f.boot_id);
  t.true(f.memory_total_bytes > 0 && f.memory_free_bytes <= f.memory_total_bytes);
  t.truthy(f.agent_version);
  t.true((f.topology?.logical_cpus ?? 0) > 0);
  const f3 = await call<object, HostFacts>(t.context.client(h3), 'GetHostFacts', {});
  t.is(f3.cpu?.model, 'Haswell-noTSX');
  t.not(f3.incarnation, f.incarnation);
});

test('a pool on a declared shared path is reported shared: the hypervisor decides (disk-plan.ts), the facts pass it on', async (t) => {
  const pool = (name: string, path: string) => ({ name, type: 'dir', path, shared: false, active: true, capacity_bytes: GiB, available_bytes: GiB });
  const host = new SimFabric().addHost({
    hostId: 'facts-pools',
    sharedPaths: ['/shared'],
    pools: [pool('default', '/var/lib/libvirt/images'), pool('cluster', '/shared/images'), pool('near', '/shared2')],
  });
  const facts = new FactsSource({
    hostId: 'facts-pools',
    hypervisor: host,
    grpcEndpoint: () => '127.0.0.1:1',
    storageCluster: '',
    incarnation: 'i1',
    bootId: async () => 'b1',
    osFacts: async () => ({ hostname: 'facts-pools', os: 'sim', kernel: 'sim', memoryTotalBytes: GiB, memoryFreeBytes: GiB }),
  });
  const f = await facts.gather();
  t.deepEqual(
    f.storage_pools.map((p) => [p.name, p.shared]),
    [
      ['default', false],
      ['cluster', true],
      ['near', false],
    ],
  );
});

test.serial('ListServers lists what the host runs, filters by uuid, validates uuids', async (t) => {
  const { h1 } = t.context;
  const a = h1.sim.addServer({ name: nextId('list-a'), memoryBytes: 256 * MiB, vcpus: 2 });
  const b = h1.sim.addServer({ name: nextId('list-b'), running: false, hotMigration: false, smart: true });
  const all = await call<object, ListServersResponse>(t.context.client(h1), 'ListServers', {});
  t.is(all.host_id, h1.hostId);
  const got = all.servers.find((s) => s.uuid === a.uuid);
  t.is(got?.state, 'SERVER_STATE_RUNNING');
  t.is(got?.vcpus, 2);
  t.is(got?.memory_bytes, 256 * MiB);
  const one = await call<object, ListServersResponse>(t.context.client(h1), 'ListServers', { uuids: [b.uuid] });
  t.deepEqual(
    one.servers.map((s) => [s.uuid, s.state, s.smart, s.hot_migration]),
    [[b.uuid, 'SERVER_STATE_SHUTOFF', true, false]],
  );
  const bad = await callError(t.context.client(h1), 'ListServers', { uuids: ['x; reboot'] });
  t.is(bad.code, status.INVALID_ARGUMENT);
  t.regex(bad.details, /uuids\[0\]/);
  h1.sim.removeServer(a.uuid);
  h1.sim.removeServer(b.uuid);
});

test.serial('ListServers asked about a few uuids reads those servers alone, never the whole host', async (t) => {
  const { h1, h2 } = t.context;
  const a = h1.sim.addServer({ name: nextId('named-a') });
  const b = h1.sim.addServer({ name: nextId('named-b'), running: false });
  const elsewhere = h2.sim.addServer({ name: nextId('named-c') });
  // Counted on the hypervisor the agent uses: a whole-host listing costs a virsh dumpxml per domain on libvirt.
  const listAll = h1.sim.listServers.bind(h1.sim);
  let wholeListings = 0;
  h1.sim.listServers = async () => (wholeListings++, listAll());
  t.teardown(() => {
    h1.sim.listServers = listAll;
    for (const [h, s] of [
      [h1, a],
      [h1, b],
      [h2, elsewhere],
    ] as const)
      h.sim.removeServer(s.uuid);
  });
  const absent = '00000000-0000-4000-8000-0000000000aa';
  const one = await call<object, ListServersResponse>(t.context.client(h1), 'ListServers', {
    uuids: [b.uuid.toUpperCase(), a.uuid, absent, elsewhere.uuid, a.uuid],
  });
  t.deepEqual(one.servers.map((s) => s.uuid).sort(), [a.uuid, b.uuid].sort(), 'the named servers this host holds, each once');
  t.is(one.servers.find((s) => s.uuid === b.uuid)?.state, 'SERVER_STATE_SHUTOFF');
  t.is(wholeListings, 0, 'no whole-host listing for a few uuids');
  const all = await call<object, ListServersResponse>(t.context.client(h1), 'ListServers', {});
  t.true(all.servers.some((s) => s.uuid === a.uuid));
  t.is(wholeListings, 1);
});

test.serial('live migration streams progress with a percent that never decreases, and moves the server', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('live'), memoryBytes: GiB, disks: [{ path: '/shared/live.qcow2', shared: false }] });
  const started = Date.now();
  const run = await migrate(t.context.client(h1), live(nextId('m'), s.uuid, h2));
  const ms = Date.now() - started;
  const phases = run.events.map((e) => e.migration!.phase);
  const percents = run.events.map((e) => e.migration!.percent);
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(run.final.percent, 100);
  t.true(phases.includes('MIGRATION_PHASE_TRANSFERRING'));
  t.true(run.events.filter((e) => e.migration!.phase === 'MIGRATION_PHASE_TRANSFERRING').length >= 5, `few progress events: ${phases}`);
  for (let i = 1; i < percents.length; i++) t.true(percents[i]! >= percents[i - 1]!, `percent went back: ${percents}`);
  t.true(run.events.some((e) => e.migration!.bandwidth_bps > 0 && e.migration!.bytes_processed > 0));
  t.is(run.final.bytes_total, GiB);
  t.is(run.final.source_host_id, h1.hostId);
  t.is(run.final.target_host_id, h2.hostId);
  t.false(run.final.copied_storage, 'a disk under a declared shared path is not copied');
  t.is(cluster.fabric.whereIs(s.uuid), h2.sim);
  t.is(h2.sim.servers().find((x) => x.uuid === s.uuid)?.state, 'SERVER_STATE_RUNNING');
  t.log(`1 GiB at 1 GiB/s: ${ms} ms, ${run.events.length} events`);
});

test.serial('the same migration id is never run twice: a running id attaches, a finished id returns the final record', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('idem'), memoryBytes: GiB });
  const id = nextId('m');
  const client = t.context.client(h1);
  // two concurrent calls with one id: one migration, both streams see it end
  const [a, b] = await Promise.all([
    migrate(client, live(id, s.uuid, h2)),
    (async () => {
      await sleep(300);
      return migrate(client, live(id, s.uuid, h2));
    })(),
  ]);
  t.is(a.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(b.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.true(b.events.length > 1, 'the second call attached to the running migration');
  // after completion: one event with the final record
  const again = await migrate(client, live(id, s.uuid, h2));
  t.is(again.events.length, 1);
  t.is(again.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(again.final.finished_at_ms, a.final.finished_at_ms);
  t.is(cluster.fabric.migrationsOf(s.uuid).length, 1, 'the sim saw one migration');
  const got = await call<object, Migration>(client, 'GetMigration', { migration_id: id });
  t.is(got.phase, 'MIGRATION_PHASE_COMPLETED');
  // the id is bound to its request
  const other = h1.sim.addServer({ name: nextId('idem-other') });
  const conflict = await migrateError(client, live(id, other.uuid, h2));
  t.is(conflict.code, status.ALREADY_EXISTS);
  t.is(cluster.fabric.whereIs(other.uuid), h1.sim);
});

test.serial('two migrations of one server at once: one runs, the other is refused (FAILED_PRECONDITION)', async (t) => {
  const { h1, h2, h3, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('twice'), memoryBytes: GiB });
  const client = t.context.client(h1);
  const results = await Promise.allSettled([migrate(client, live(nextId('m'), s.uuid, h2)), migrate(client, live(nextId('m'), s.uuid, h3))]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  t.is(ok.length, 1);
  t.is(refused.length, 1);
  t.is((refused[0]!.reason as { code: number }).code, status.FAILED_PRECONDITION);
  t.is(cluster.fabric.migrationsOf(s.uuid).length, 1);
});

test.serial(
  'cold migration of a running server without hot migration: shut down, moved, running on the target; local disk moved and removed at the source',
  async (t) => {
    const { h1, h3, cluster } = t.context;
    const disk = `/var/lib/libvirt/images/${nextId('cold')}.qcow2`;
    const s = h1.sim.addServer({ name: nextId('cold-run'), memoryBytes: 512 * MiB, hotMigration: false, disks: [{ path: disk, allocation_bytes: 64 * MiB }] });
    const run = await migrate(t.context.client(h1), cold(nextId('m'), s.uuid, h3));
    const phases = [...new Set(run.events.map((e) => e.migration!.phase))];
    t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(run.final.error));
    t.true(run.final.was_running);
    t.true(run.final.copied_storage);
    t.deepEqual(
      phases.filter((p) => p !== 'MIGRATION_PHASE_PREPARING'),
      ['MIGRATION_PHASE_SHUTTING_DOWN', 'MIGRATION_PHASE_TRANSFERRING', 'MIGRATION_PHASE_STARTING', 'MIGRATION_PHASE_CLEANING_UP', 'MIGRATION_PHASE_COMPLETED'],
    );
    t.is(cluster.fabric.whereIs(s.uuid), h3.sim);
    t.is(h3.sim.servers().find((x) => x.uuid === s.uuid)?.state, 'SERVER_STATE_RUNNING');
    t.true(h3.sim.files.has(disk), 'disk copied to the target');
    t.false(h1.sim.files.has(disk), 'source copy removed');
    t.is(h1.sim.counters.destroys, 0, 'a guest that obeys ACPI is not powered off');
  },
);

test.serial('clean-up after a move removes exactly the moved disk: a file of the same name in the pool directory above stays', async (t) => {
  const { h1, h3, cluster } = t.context;
  const base = `${nextId('same-name')}.qcow2`;
  const nested = `/var/lib/libvirt/images/tenant-a/${base}`;
  const top = `/var/lib/libvirt/images/${base}`;
  const neighbour = h1.sim.addServer({ name: nextId('neighbour'), running: false, disks: [{ path: top, allocation_bytes: 32 * MiB }] });
  const s = h1.sim.addServer({ name: nextId('tenant'), memoryBytes: 256 * MiB, hotMigration: false, disks: [{ path: nested, allocation_bytes: 64 * MiB }] });
  const run = await migrate(t.context.client(h1), cold(nextId('m'), s.uuid, h3));
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(run.final.error));
  t.is(cluster.fabric.whereIs(s.uuid), h3.sim);
  t.false(h1.sim.files.has(nested), 'the moved disk is removed from the source');
  t.true(h1.sim.files.has(top), "the neighbour's disk of the same base name stays");
  t.false(
    run.events.some((e) => /left behind/.test(e.message)),
    run.events.map((e) => e.message).join(' | '),
  );
  await h1.sim.start(neighbour.uuid);
  t.is(h1.sim.servers().find((x) => x.uuid === neighbour.uuid)?.state, 'SERVER_STATE_RUNNING', 'the neighbour still starts');
  h1.sim.removeServer(neighbour.uuid);
});

test.serial('the sim removes a local disk by the libvirt rule: only from local pool storage, only a normalized path', async (t) => {
  const { h1 } = t.context;
  const outside = `/srv/not-a-pool/${nextId('disk')}.qcow2`;
  h1.sim.files.set(outside, MiB);
  try {
    t.is((await t.throwsAsync(h1.sim.removeLocalDisk(outside)))?.name, 'InvalidArgumentError');
    t.true(h1.sim.files.has(outside), 'a file outside the local pools is never removed');
    const dotted = `/var/lib/libvirt/images/../images/${nextId('disk')}.qcow2`;
    h1.sim.files.set(dotted, MiB);
    t.is((await t.throwsAsync(h1.sim.removeLocalDisk(dotted)))?.name, 'InvalidArgumentError');
    t.true(h1.sim.files.has(dotted));
    h1.sim.files.delete(dotted);
  } finally {
    h1.sim.files.delete(outside);
  }
});

test.serial('cold migration of a shut-off server keeps it off; a guest ignoring ACPI is powered off after the deadline', async (t) => {
  const { h1, h2, cluster } = t.context;
  const off = h1.sim.addServer({ name: nextId('cold-off'), running: false });
  const run = await migrate(t.context.client(h1), cold(nextId('m'), off.uuid, h2));
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.false(run.final.was_running);
  t.false(run.events.some((e) => e.migration!.phase === 'MIGRATION_PHASE_SHUTTING_DOWN' || e.migration!.phase === 'MIGRATION_PHASE_STARTING'));
  t.is(cluster.fabric.whereIs(off.uuid), h2.sim);
  t.is(h2.sim.servers().find((x) => x.uuid === off.uuid)?.state, 'SERVER_STATE_SHUTOFF');

  const stubborn = h1.sim.addServer({ name: nextId('cold-stubborn'), ignoreShutdown: true });
  const destroysBefore = h1.sim.counters.destroys;
  const run2 = await migrate(t.context.client(h1), cold(nextId('m'), stubborn.uuid, h2, { shutdown_timeout_ms: 500 }));
  t.is(run2.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(h1.sim.counters.destroys, destroysBefore + 1);
  t.true(run2.events.some((e) => /powered off/.test(e.message)));
  t.is(h2.sim.servers().find((x) => x.uuid === stubborn.uuid)?.state, 'SERVER_STATE_RUNNING');
});

test.serial('a failed or aborted cold move gives the server back its power state on the source', async (t) => {
  const { h1, h2, cluster } = t.context;
  const client = t.context.client(h1);
  // the offline move fails after a clean shutdown: started again here
  const a = h1.sim.addServer({ name: nextId('cold-fail'), hotMigration: false });
  h1.sim.faults.failNextMigration();
  const failed = await migrate(client, cold(nextId('m'), a.uuid, h2));
  t.is(failed.final.phase, 'MIGRATION_PHASE_FAILED');
  t.is(cluster.fabric.whereIs(a.uuid), h1.sim);
  t.is(h1.sim.servers().find((x) => x.uuid === a.uuid)?.state, 'SERVER_STATE_RUNNING');
  // aborted while waiting for a guest that ignores ACPI: it keeps running here
  const b = h1.sim.addServer({ name: nextId('cold-abort'), ignoreShutdown: true });
  const destroysBefore = h1.sim.counters.destroys;
  const id = nextId('m');
  let asked = false;
  const aborted = await migrate(client, cold(id, b.uuid, h2, { shutdown_timeout_ms: 5000 }), {
    onEvent: (ev) => {
      if (!asked && ev.migration!.phase === 'MIGRATION_PHASE_SHUTTING_DOWN') {
        asked = true;
        void call(client, 'AbortMigration', { migration_id: id });
      }
    },
  });
  t.is(aborted.final.phase, 'MIGRATION_PHASE_ABORTED');
  t.is(cluster.fabric.whereIs(b.uuid), h1.sim);
  t.is(h1.sim.servers().find((x) => x.uuid === b.uuid)?.state, 'SERVER_STATE_RUNNING');
  t.is(h1.sim.counters.destroys, destroysBefore, 'not powered off');
});

test.serial(
  'a cold move that fails before the definition moves removes its disk copies on the target; a file already there is never overwritten',
  async (t) => {
    const { h1, h2, cluster } = t.context;
    const client = t.context.client(h1);
    const disk = (name: string, n: string) => ({ path: `/var/lib/libvirt/images/${name}-${n}.qcow2`, pool: 'default', allocation_bytes: 128 * MiB });
    // Aborted after the first of two disks was copied: the copy goes again.
    const aName = nextId('copies');
    const a = h1.sim.addServer({ name: aName, running: false, disks: [disk(aName, 'a'), disk(aName, 'b')] });
    const [pa, pb] = a.disks.map((d) => d.path) as [string, string];
    const id = nextId('m');
    let asked = false;
    const aborted = await migrate(client, cold(id, a.uuid, h2), {
      onEvent: (ev) => {
        if (!asked && ev.message === `copied ${pa}`) {
          asked = true;
          void call(client, 'AbortMigration', { migration_id: id });
        }
      },
    });
    t.true(asked);
    t.is(aborted.final.phase, 'MIGRATION_PHASE_ABORTED');
    t.true(
      aborted.events.some((e) => e.message === `removed the copy of ${pa} on ${h2.hostId}`),
      aborted.events.map((e) => e.message).join(' | '),
    );
    t.false(h2.sim.files.has(pa), 'the finished copy is gone from the target');
    t.false(h2.sim.files.has(pb), 'the interrupted copy never landed');
    t.true(h1.sim.files.has(pa) && h1.sim.files.has(pb), 'the source keeps its disks');
    t.is(cluster.fabric.whereIs(a.uuid), h1.sim);

    // The target already holds a file at the second disk's path (another
    // server's, say): refused, that file untouched, the first copy removed.
    h2.sim.files.set(pb, 4242);
    const refused = await migrate(client, cold(nextId('m'), a.uuid, h2));
    t.is(refused.final.phase, 'MIGRATION_PHASE_FAILED');
    t.is(refused.final.error?.code, status.FAILED_PRECONDITION);
    t.regex(refused.final.error?.message ?? '', /already exists on/);
    t.is(h2.sim.files.get(pb), 4242, 'never overwritten, never removed');
    t.false(h2.sim.files.has(pa));
    t.is(cluster.fabric.whereIs(a.uuid), h1.sim);

    // Once the target is clear, the move goes through.
    h2.sim.files.delete(pb);
    const done = await migrate(client, cold(nextId('m'), a.uuid, h2));
    t.is(done.final.phase, 'MIGRATION_PHASE_COMPLETED');
    t.true(h2.sim.files.has(pa) && h2.sim.files.has(pb));
    t.is(cluster.fabric.whereIs(a.uuid), h2.sim);
  },
);

test.serial('a finished migration frees its slot before its terminal event goes out: the next one is accepted at once', async (t) => {
  // The coordinator starts the next move of a drain the moment it sees one
  // end; with the limit full, that start must not be refused as over it.
  const { h1, h2, cluster } = t.context;
  const client = t.context.client(h1);
  for (let round = 0; round < 5; round++) {
    const short = h1.sim.addServer({ name: nextId('slot-a'), memoryBytes: 256 * MiB });
    const long = h1.sim.addServer({ name: nextId('slot-b'), memoryBytes: GiB });
    const third = h1.sim.addServer({ name: nextId('slot-c'), memoryBytes: 256 * MiB });
    let next: Promise<MigrationRun> | null = null;
    const longRun = migrate(client, live(nextId('m'), long.uuid, h2));
    const shortRun = await migrate(client, live(nextId('m'), short.uuid, h2), {
      onEvent: (ev) => {
        if (!next && ev.migration!.phase === 'MIGRATION_PHASE_COMPLETED') next = migrate(client, live(nextId('m'), third.uuid, h2));
      },
    });
    t.is(shortRun.final.phase, 'MIGRATION_PHASE_COMPLETED');
    t.truthy(next, 'the terminal event was seen');
    const thirdRun = await next!;
    t.is(thirdRun.final.phase, 'MIGRATION_PHASE_COMPLETED', `round ${round}: the next migration ran`);
    t.is((await longRun).final.phase, 'MIGRATION_PHASE_COMPLETED');
    t.is(cluster.fabric.whereIs(third.uuid), h2.sim);
  }
});

test.serial('AbortMigration mid-migration: ABORTED, the guest keeps running on the source', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('abort'), memoryBytes: 4 * GiB });
  const id = nextId('m');
  const client = t.context.client(h1);
  let asked = false;
  const run = await migrate(client, live(id, s.uuid, h2), {
    onEvent: (ev) => {
      if (!asked && ev.migration!.percent > 10) {
        asked = true;
        void call<object, Migration>(client, 'AbortMigration', { migration_id: id, reason: 'test' });
      }
    },
  });
  t.true(asked);
  t.is(run.final.phase, 'MIGRATION_PHASE_ABORTED');
  t.is(run.final.error?.code, status.ABORTED);
  t.is(cluster.fabric.whereIs(s.uuid), h1.sim);
  t.is(h1.sim.servers().find((x) => x.uuid === s.uuid)?.state, 'SERVER_STATE_RUNNING');
  const rec = await call<object, Migration>(client, 'GetMigration', { migration_id: id });
  t.is(rec.phase, 'MIGRATION_PHASE_ABORTED');
  // aborting a finished migration changes nothing
  const again = await call<object, Migration>(client, 'AbortMigration', { migration_id: id });
  t.is(again.phase, 'MIGRATION_PHASE_ABORTED');
});

test.serial('a stalled migration is aborted by the monitor after the stall timeout (FAILED, stays on source)', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('stall'), memoryBytes: GiB });
  h1.sim.faults.stallNextMigration({ atFraction: 0.2 });
  const run = await migrate(t.context.client(h1), live(nextId('m'), s.uuid, h2, { stall_timeout_ms: 800 }));
  t.is(run.final.phase, 'MIGRATION_PHASE_FAILED');
  t.is(run.final.error?.kind, 'MigrationStalledError');
  t.is(run.final.error?.code, status.DEADLINE_EXCEEDED);
  t.is(cluster.fabric.whereIs(s.uuid), h1.sim);
});

test.serial('an injected hypervisor failure ends FAILED with its kind; the server stays on the source', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('fail'), memoryBytes: GiB });
  h1.sim.faults.failNextMigration({ atFraction: 0.3 });
  const run = await migrate(t.context.client(h1), live(nextId('m'), s.uuid, h2));
  t.is(run.final.phase, 'MIGRATION_PHASE_FAILED');
  t.is(run.final.error?.kind, 'LibvirtError');
  t.is(cluster.fabric.whereIs(s.uuid), h1.sim);
});

test.serial('post-copy: a guest dirtying memory faster than the link switches to post-copy when allowed; abort is then refused', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('pc'), memoryBytes: 512 * MiB, dirtyRateBps: 2 * GiB });
  const id = nextId('m');
  const client = t.context.client(h1);
  let refused: { code: number } | null = null;
  const run = await migrate(client, live(id, s.uuid, h2, { allow_post_copy: true }), {
    onEvent: (ev) => {
      if (!refused && ev.migration!.phase === 'MIGRATION_PHASE_POST_COPY') {
        refused = { code: -1 };
        void callError(client, 'AbortMigration', { migration_id: id }).then((e) => (refused = e));
      }
    },
  });
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.true(run.events.some((e) => e.migration!.phase === 'MIGRATION_PHASE_POST_COPY'));
  await sleep(50);
  t.is((refused as { code: number } | null)?.code, status.FAILED_PRECONDITION);
  t.is(cluster.fabric.whereIs(s.uuid), h2.sim);
});

test.serial('bad input gets the right code and changes nothing', async (t) => {
  const { h1, h2, cluster } = t.context;
  const client = t.context.client(h1);
  const s = h1.sim.addServer({ name: nextId('bad') });
  const migrationsBefore = cluster.fabric.migrations.length;
  const cases: Array<[string, Record<string, unknown>, status, RegExp?]> = [
    ['unknown server', live(nextId('m'), '00000000-0000-4000-8000-000000000000', h2), status.NOT_FOUND],
    ['target = self (id)', live(nextId('m'), s.uuid, h1), status.INVALID_ARGUMENT, /target_host_id/],
    ['target = self (uri)', { ...live(nextId('m'), s.uuid, h2), target_uri: h1.migrationUri }, status.INVALID_ARGUMENT, /target_uri/],
    ['shell metacharacters in the server', live(nextId('m'), 'vm1; rm -rf /', h2), status.INVALID_ARGUMENT, /server_uuid/],
    ['option-looking server name', live(nextId('m'), '--help', h2), status.INVALID_ARGUMENT, /server_uuid/],
    [
      'metacharacters in the target uri',
      { ...live(nextId('m'), s.uuid, h2), target_uri: 'qemu+tcp://$(reboot)/system' },
      status.INVALID_ARGUMENT,
      /target_uri/,
    ],
    ['metacharacters in the migration id', live('m;id', s.uuid, h2), status.INVALID_ARGUMENT, /migration_id/],
    ['no mode', { ...live(nextId('m'), s.uuid, h2), mode: 'MIGRATION_MODE_UNSPECIFIED' }, status.INVALID_ARGUMENT, /mode/],
    ['live of a shut-off server', live(nextId('m'), h1.sim.addServer({ name: nextId('bad-off'), running: false }).uuid, h2), status.FAILED_PRECONDITION],
  ];
  for (const [what, req, code, re] of cases) {
    const e = await migrateError(client, req);
    t.is(e.code, code, `${what}: ${e.details}`);
    if (re) t.regex(e.details, re, what);
    t.is(e.events, 0, what);
    const id = req.migration_id as string;
    if (/^[A-Za-z0-9_-]+$/.test(id)) t.is((await callError(client, 'GetMigration', { migration_id: id })).code, status.NOT_FOUND, `${what}: no record`);
  }
  // unreachable target
  h2.sim.faults.setUnreachable(true);
  try {
    const id = nextId('m');
    const e = await migrateError(client, live(id, s.uuid, h2));
    t.is(e.code, status.UNAVAILABLE, e.details);
    t.is((await callError(client, 'GetMigration', { migration_id: id })).code, status.NOT_FOUND);
  } finally {
    h2.sim.faults.setUnreachable(false);
  }
  t.is(cluster.fabric.migrations.length, migrationsBefore, 'no migration started');
  t.is(cluster.fabric.whereIs(s.uuid), h1.sim);
  t.is(h1.sim.servers().find((x) => x.uuid === s.uuid)?.state, 'SERVER_STATE_RUNNING');
  // other methods
  t.is((await callError(client, 'GetMigration', { migration_id: '../etc' })).code, status.INVALID_ARGUMENT);
  t.is((await callError(client, 'StopServer', { server_uuid: '`reboot`' })).code, status.INVALID_ARGUMENT);
  t.is((await callError(client, 'StartServer', { server_uuid: '00000000-0000-4000-8000-000000000001' })).code, status.NOT_FOUND);
  t.is((await callError(client, 'CompareCpu', { cpu_xml: 'not xml' })).code, status.INVALID_ARGUMENT);
  t.is((await callError(client, 'BaselineCpu', { cpu_xmls: [] })).code, status.INVALID_ARGUMENT);
  t.is((await callError(client, 'AbortMigration', { migration_id: 'never-seen' })).code, status.NOT_FOUND);
});

test.serial('a cancelled MigrateServer call detaches without aborting the migration', async (t) => {
  const { h1, h2, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('detach'), memoryBytes: 2 * GiB });
  const id = nextId('m');
  const client = t.context.client(h1);
  await new Promise<void>((resolve, reject) => {
    const stream = client.MigrateServer(live(id, s.uuid, h2));
    stream.on('data', (ev) => {
      if (ev.migration.percent > 5) stream.cancel();
    });
    stream.on('error', (e: { code: number }) => (e.code === status.CANCELLED ? resolve() : reject(e)));
    stream.on('end', () => reject(new Error('ended')));
  });
  const mid = await call<object, Migration>(client, 'GetMigration', { migration_id: id });
  t.is(mid.phase, 'MIGRATION_PHASE_TRANSFERRING');
  await sleep(50);
  t.is(h1.agent.migrations.listenerCount(id), 0, 'the cancelled call left no listener behind');
  const final = await h1.agent.migrations.wait(id);
  t.is(final.phase, 'MIGRATION_PHASE_COMPLETED');
  t.is(cluster.fabric.whereIs(s.uuid), h2.sim);
});

test.serial('StopServer and StartServer change the power state once; repeats report no change', async (t) => {
  const { h1 } = t.context;
  const client = t.context.client(h1);
  const s = h1.sim.addServer({ name: nextId('power') });
  const stop = await call<object, ServerActionResponse>(client, 'StopServer', { server_uuid: s.uuid });
  t.true(stop.changed);
  t.is(stop.server?.state, 'SERVER_STATE_SHUTOFF');
  t.false((await call<object, ServerActionResponse>(client, 'StopServer', { server_uuid: s.uuid })).changed);
  const start = await call<object, ServerActionResponse>(client, 'StartServer', { server_uuid: s.name });
  t.true(start.changed);
  t.is(start.server?.state, 'SERVER_STATE_RUNNING');
  t.false((await call<object, ServerActionResponse>(client, 'StartServer', { server_uuid: s.uuid })).changed);
  // a guest that ignores ACPI: DEADLINE_EXCEEDED without force, powered off with it
  h1.sim.tuneServer(s.uuid, { ignoreShutdown: true });
  t.is((await callError(client, 'StopServer', { server_uuid: s.uuid, timeout_ms: 300 })).code, status.DEADLINE_EXCEEDED);
  const forced = await call<object, ServerActionResponse>(client, 'StopServer', { server_uuid: s.uuid, timeout_ms: 300, force: true });
  t.is(forced.server?.state, 'SERVER_STATE_SHUTOFF');
});

test.serial('CompareCpu and BaselineCpu (sim set logic over libvirt-shaped CPU XML)', async (t) => {
  const { h1, h3 } = t.context;
  const skylake = simCpu('Skylake-Server').xml;
  const haswell = simCpu('Haswell-noTSX').xml;
  const onHaswellHost = await call<object, CompareCpuResponse>(t.context.client(h3), 'CompareCpu', { cpu_xml: skylake });
  t.is(onHaswellHost.result, 'CPU_COMPARE_RESULT_INCOMPATIBLE');
  t.true(onHaswellHost.missing_features.includes('avx512f'));
  const onSkylakeHost = await call<object, CompareCpuResponse>(t.context.client(h1), 'CompareCpu', { cpu_xml: haswell });
  t.is(onSkylakeHost.result, 'CPU_COMPARE_RESULT_SUPERSET');
  t.is((await call<object, CompareCpuResponse>(t.context.client(h1), 'CompareCpu', { cpu_xml: skylake })).result, 'CPU_COMPARE_RESULT_IDENTICAL');
  const base = await call<object, BaselineCpuResponse>(t.context.client(h1), 'BaselineCpu', { cpu_xmls: [skylake, haswell] });
  t.is(base.cpu?.model, 'Haswell-noTSX');
  const withWestmere = await call<object, BaselineCpuResponse>(t.context.client(h1), 'BaselineCpu', { cpu_xmls: [skylake, haswell, simCpu('Westmere').xml] });
  t.is(withWestmere.cpu?.model, 'Westmere');
});

test.serial('records survive an agent restart: a finished id is not run again; an unfinished one is reconciled', async (t) => {
  const { h1, h2, h3, cluster } = t.context;
  const s = h1.sim.addServer({ name: nextId('persist'), memoryBytes: 256 * MiB });
  const id = nextId('m');
  const first = await migrate(t.context.client(h1), live(id, s.uuid, h2));
  t.is(first.final.phase, 'MIGRATION_PHASE_COMPLETED');

  // A record the previous process left mid-flight, for a server that in fact reached the target.
  const ghost = h2.sim.addServer({ name: nextId('ghost') });
  const ghostId = nextId('m');
  const rec = structuredClone(first.final);
  Object.assign(rec, {
    migration_id: ghostId,
    server_uuid: ghost.uuid,
    server_name: ghost.name,
    phase: 'MIGRATION_PHASE_TRANSFERRING',
    percent: 40,
    finished_at_ms: 0,
    guest_health: 'GUEST_HEALTH_UNSPECIFIED',
    guest_health_detail: '',
  });
  // ...and whose kernel crashed there while no agent watched (pvpanic: crashed (panicked)).
  await h2.sim.destroy(ghost.uuid);
  h2.sim.faults.crashNextArrival({ kind: 'crash', afterMs: 0 });
  await h2.sim.start(ghost.uuid);
  await sleep(50);
  const request = migrationRequest(ghostId, ghost.uuid, h2);
  writeFileSync(
    path.join(cluster.stateDir, h1.hostId, 'migrations', `${ghostId}.json`),
    JSON.stringify({ version: 1, migration: rec, request, localDisks: [] }),
  );

  const stopped = h1.sim.addServer({ name: nextId('halted'), running: false });
  const haltedId = nextId('m');
  Object.assign(rec, {
    migration_id: haltedId,
    mode: 'MIGRATION_MODE_COLD',
    server_uuid: stopped.uuid,
    server_name: stopped.name,
    phase: 'MIGRATION_PHASE_TRANSFERRING',
    was_running: true,
  });
  writeFileSync(
    path.join(cluster.stateDir, h1.hostId, 'migrations', `${haltedId}.json`),
    JSON.stringify({
      version: 1,
      migration: rec,
      request: { ...request, migration_id: haltedId, server_uuid: stopped.uuid, mode: 'MIGRATION_MODE_COLD' },
      localDisks: [],
    }),
  );

  // A record for a server that is on an unreachable target: undecided until the target answers.
  const limbo = h3.sim.addServer({ name: nextId('limbo') });
  const limboId = nextId('m');
  const toH3 = { target_host_id: h3.hostId, target_uri: h3.migrationUri };
  Object.assign(rec, {
    migration_id: limboId,
    mode: 'MIGRATION_MODE_LIVE',
    server_uuid: limbo.uuid,
    server_name: limbo.name,
    phase: 'MIGRATION_PHASE_TRANSFERRING',
    was_running: true,
    ...toH3,
  });
  writeFileSync(
    path.join(cluster.stateDir, h1.hostId, 'migrations', `${limboId}.json`),
    JSON.stringify({ version: 1, migration: rec, request: { ...request, migration_id: limboId, server_uuid: limbo.uuid, ...toH3 }, localDisks: [] }),
  );
  h3.sim.faults.setUnreachable(true);

  const before = h1.incarnation;
  await h1.restart();
  t.not(h1.incarnation, before);
  const client = agentClient(h1.endpoint);
  try {
    const again = await migrate(client, live(id, s.uuid, h2));
    t.is(again.events.length, 1);
    t.is(again.final.phase, 'MIGRATION_PHASE_COMPLETED');
    t.is(cluster.fabric.migrationsOf(s.uuid).length, 1);
    const reconciled = await call<object, Migration>(client, 'GetMigration', { migration_id: ghostId });
    t.is(reconciled.phase, 'MIGRATION_PHASE_COMPLETED');
    t.is(reconciled.percent, 100);
    // The reconcile judges the guest too: not reported as moved alive.
    t.is(reconciled.guest_health, 'GUEST_HEALTH_CRASHED', reconciled.guest_health_detail);
    // A cold move interrupted after the shutdown: still here, so back to its old power state, ABORTED.
    const halted = await call<object, Migration>(client, 'GetMigration', { migration_id: haltedId });
    t.is(halted.phase, 'MIGRATION_PHASE_ABORTED');
    t.is(h1.sim.servers().find((x) => x.uuid === stopped.uuid)?.state, 'SERVER_STATE_RUNNING', 'restarted: the power state it had');
    t.is(cluster.fabric.whereIs(stopped.uuid), h1.sim);
    // Undecided while the target is silent; decided once it answers.
    t.is((await call<object, Migration>(client, 'GetMigration', { migration_id: limboId })).phase, 'MIGRATION_PHASE_TRANSFERRING');
    h3.sim.faults.setUnreachable(false);
    const until = Date.now() + 5000;
    let limboRec = await call<object, Migration>(client, 'GetMigration', { migration_id: limboId });
    while (limboRec.phase !== 'MIGRATION_PHASE_COMPLETED' && Date.now() < until) {
      await sleep(100);
      limboRec = await call<object, Migration>(client, 'GetMigration', { migration_id: limboId });
    }
    t.is(limboRec.phase, 'MIGRATION_PHASE_COMPLETED');
  } finally {
    h3.sim.faults.setUnreachable(false);
    client.close();
  }
});

test.serial(
  'an agent restarted mid-migration follows the job libvirt still runs (no abort before the deadline, decided when it ends); past the deadline it aborts',
  async (t) => {
    const { h1, h2, cluster } = t.context;
    const dir = path.join(cluster.stateDir, h1.hostId, 'migrations');
    // What a killed agent leaves: the record (mid-transfer) and libvirt's job, which runs on without it.
    const leftBehind = (uuid: string, name: string, id: string, deadlineAtMs: number) => {
      const request = migrationRequest(id, uuid, h2);
      const migration = {
        migration_id: id,
        server_uuid: uuid,
        server_name: name,
        source_host_id: h1.hostId,
        target_host_id: h2.hostId,
        target_uri: h2.migrationUri,
        mode: 'MIGRATION_MODE_LIVE',
        phase: 'MIGRATION_PHASE_TRANSFERRING',
        percent: 10,
        bytes_total: 0,
        bytes_processed: 0,
        bytes_remaining: 0,
        bandwidth_bps: 0,
        started_at_ms: Date.now(),
        updated_at_ms: Date.now(),
        finished_at_ms: 0,
        error: null,
        downtime_ms: 0,
        iteration: 0,
        copied_storage: false,
        was_running: true,
      };
      writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ version: 1, migration, request, localDisks: [], deadlineAtMs }));
    };
    const libvirtJob = (uuid: string) =>
      h1.sim.migrateLive({
        uuid,
        targetUri: h2.migrationUri,
        disks: { local: [], declared: false },
        copyStorage: false,
        unsafe: false,
        postCopy: false,
        autoConverge: false,
        bandwidthMiBps: 0,
        signal: new AbortController().signal,
      });

    const s = h1.sim.addServer({ name: nextId('follow'), memoryBytes: 6 * GiB });
    const id = nextId('m');
    await h1.stop();
    leftBehind(s.uuid, s.name, id, Date.now() + 120_000);
    const job = libvirtJob(s.uuid);
    await h1.start();
    const client = agentClient(h1.endpoint);
    try {
      const during = await call<object, Migration>(client, 'GetMigration', { migration_id: id });
      t.is(during.phase, 'MIGRATION_PHASE_TRANSFERRING', 'followed, not aborted');
      t.truthy(await h1.sim.jobStats(s.uuid), 'the job still runs');
      const busy = await migrateError(client, live(nextId('m'), s.uuid, h2));
      t.is(busy.code, status.FAILED_PRECONDITION);
      t.regex(busy.details, /still being followed/);
      await job;
      const deadline = Date.now() + 10_000;
      let rec = during;
      while (rec.phase === 'MIGRATION_PHASE_TRANSFERRING' && Date.now() < deadline) {
        await sleep(200);
        rec = await call<object, Migration>(client, 'GetMigration', { migration_id: id });
      }
      t.is(rec.phase, 'MIGRATION_PHASE_COMPLETED', 'decided once the job ended');
      t.is(cluster.fabric.whereIs(s.uuid), h2.sim);
      t.is(cluster.fabric.migrationsOf(s.uuid).length, 1, 'one migration: nothing re-run');

      // Past its deadline, the left-over job is aborted: the server stays here.
      const late = h1.sim.addServer({ name: nextId('late'), memoryBytes: 8 * GiB });
      const lateId = nextId('m');
      await h1.stop();
      leftBehind(late.uuid, late.name, lateId, Date.now() - 1);
      const lateJob = libvirtJob(late.uuid).then(
        () => 'completed',
        () => 'failed',
      );
      await h1.start();
      t.is(await lateJob, 'failed', 'the job was aborted');
      const aborted = await call<object, Migration>(client, 'GetMigration', { migration_id: lateId });
      t.is(aborted.phase, 'MIGRATION_PHASE_ABORTED');
      t.is(cluster.fabric.whereIs(late.uuid), h1.sim);
      t.is(h1.sim.servers().find((x) => x.uuid === late.uuid)?.state, 'SERVER_STATE_RUNNING');
    } finally {
      client.close();
    }
  },
);

test.serial(
  'start-up reconcile asks the target first: never starts the source copy while the target runs the server (the stale copy is undefined instead), touches neither of two shut-off copies, and waits for a silent target',
  async (t) => {
    const { h1, h2, h3, cluster } = t.context;
    const dir = path.join(cluster.stateDir, h1.hostId, 'migrations');
    // What an agent killed mid cold move leaves: the record (was running, not finished).
    const leftBehind = (uuid: string, name: string, id: string, target: SimAgentHandle) => {
      const request = migrationRequest(id, uuid, target, { mode: 'MIGRATION_MODE_COLD' });
      const migration = {
        migration_id: id,
        server_uuid: uuid,
        server_name: name,
        source_host_id: h1.hostId,
        target_host_id: target.hostId,
        target_uri: target.migrationUri,
        mode: 'MIGRATION_MODE_COLD',
        phase: 'MIGRATION_PHASE_STARTING',
        percent: 95,
        bytes_total: 0,
        bytes_processed: 0,
        bytes_remaining: 0,
        bandwidth_bps: 0,
        started_at_ms: Date.now(),
        updated_at_ms: Date.now(),
        finished_at_ms: 0,
        error: null,
        downtime_ms: 0,
        iteration: 0,
        copied_storage: false,
        was_running: true,
      };
      writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ version: 1, migration, request, localDisks: [] }));
    };
    const stateOn = (h: SimAgentHandle, uuid: string) => h.sim.servers().find((x) => x.uuid === uuid)?.state;

    // 1. The move got as far as starting the server on the target, but the
    //    source kept a (shut-off) definition: the target runs it.
    const runs = h2.sim.addServer({ name: nextId('twice-running') });
    h1.sim.leaveDefinitionOf(runs.uuid);
    const runsId = nextId('m');
    // 1b. The reverse: still running here, a shut-off definition left on the target.
    const stays = h1.sim.addServer({ name: nextId('stale-on-target') });
    h2.sim.leaveDefinitionOf(stays.uuid);
    const staysId = nextId('m');
    // 2. Both hosts hold a shut-off definition: which copy is current is not the agent's to guess.
    const idle = h2.sim.addServer({ name: nextId('twice-idle'), running: false });
    h1.sim.leaveDefinitionOf(idle.uuid);
    const idleId = nextId('m');
    // 3. Shut off here, target silent: it may be running there.
    const silent = h1.sim.addServer({ name: nextId('target-silent'), running: false });
    const silentId = nextId('m');

    await h1.stop();
    leftBehind(runs.uuid, runs.name, runsId, h2);
    leftBehind(stays.uuid, stays.name, staysId, h2);
    leftBehind(idle.uuid, idle.name, idleId, h2);
    leftBehind(silent.uuid, silent.name, silentId, h3);
    h3.sim.faults.setUnreachable(true);
    const startsBefore = h1.sim.counters.starts;
    await h1.start();
    const client = agentClient(h1.endpoint);
    try {
      const get = (id: string) => call<object, Migration>(client, 'GetMigration', { migration_id: id });
      // The source's shut-off copy beside the running one is stale: undefined, never started; the move is complete.
      const moved1 = await get(runsId);
      t.is(moved1.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(moved1.error));
      t.is(stateOn(h1, runs.uuid), undefined, 'the stale source copy was undefined, not started');
      t.is(stateOn(h2, runs.uuid), 'SERVER_STATE_RUNNING', 'the target copy runs on, untouched');
      t.is(cluster.fabric.whereIs(runs.uuid), h2.sim);

      // The target's shut-off copy beside the one running here is stale: undefined; the server stays here.
      const stayed = await get(staysId);
      t.is(stayed.phase, 'MIGRATION_PHASE_ABORTED');
      t.regex(stayed.error?.message ?? '', new RegExp(`removed the stale shut-off definition of ${stays.uuid} on ${h2.hostId}`));
      t.is(stateOn(h1, stays.uuid), 'SERVER_STATE_RUNNING');
      t.is(stateOn(h2, stays.uuid), undefined);

      const idleRec = await get(idleId);
      t.is(idleRec.phase, 'MIGRATION_PHASE_FAILED');
      t.is(idleRec.error?.kind, 'ServerDefinedTwiceError');
      t.is(idleRec.error?.code, status.FAILED_PRECONDITION);
      t.regex(idleRec.error?.message ?? '', new RegExp(`defined on both ${h1.hostId} \\(SERVER_STATE_SHUTOFF\\) and ${h2.hostId} \\(SERVER_STATE_SHUTOFF\\)`));
      t.is(stateOn(h1, idle.uuid), 'SERVER_STATE_SHUTOFF');
      t.is(stateOn(h2, idle.uuid), 'SERVER_STATE_SHUTOFF');

      t.is((await get(silentId)).phase, 'MIGRATION_PHASE_STARTING', 'undecided while the target is silent');
      t.is(stateOn(h1, silent.uuid), 'SERVER_STATE_SHUTOFF', 'not started blind');
      t.is(h1.sim.counters.starts, startsBefore, 'nothing started on the source so far');
      t.is(h1.sim.counters.undefines + h2.sim.counters.undefines, 2, 'exactly the two stale copies undefined');

      // The target answers, without the server: back to its power state here.
      h3.sim.faults.setUnreachable(false);
      const until = Date.now() + 5000;
      let rec = await get(silentId);
      while (rec.phase === 'MIGRATION_PHASE_STARTING' && Date.now() < until) {
        await sleep(100);
        rec = await get(silentId);
      }
      t.is(rec.phase, 'MIGRATION_PHASE_ABORTED');
      t.is(stateOn(h1, silent.uuid), 'SERVER_STATE_RUNNING', 'restarted once the target said it does not have it');

      // The coordinator retrying elsewhere must not move either shut-off copy (one may be current).
      const moveStale = await migrateError(client, cold(nextId('m'), idle.uuid, h3));
      t.is(moveStale.code, status.FAILED_PRECONDITION);
      t.regex(moveStale.details, /defined on both/);
      t.is(cluster.fabric.migrationsOf(idle.uuid).length, 0);
      t.is(cluster.fabric.migrationsOf(runs.uuid).length, 0);

      // Once an operator undefines the target's copy, this copy may move again.
      h2.sim.removeServer(idle.uuid);
      const moved = await migrate(client, cold(nextId('m'), idle.uuid, h3));
      t.is(moved.final.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(moved.final.error));
    } finally {
      h3.sim.faults.setUnreachable(false);
      client.close();
      for (const [h, uuid] of [
        [h1, runs.uuid],
        [h2, runs.uuid],
        [h1, silent.uuid],
        [h1, stays.uuid],
        [h2, stays.uuid],
      ] as const) {
        if (h.sim.servers().some((x) => x.uuid === uuid)) h.sim.removeServer(uuid);
      }
    }
  },
);

test.serial('RebootHost is refused while servers run, accepted when drained; the host returns with a new incarnation', async (t) => {
  const { h3 } = t.context;
  const client = agentClient(h3.endpoint);
  try {
    h3.sim.addServer({ name: nextId('reboot-blocker') });
    const refused = await callError(client, 'RebootHost', { reason: 'test', host_id: h3.hostId });
    t.is(refused.code, status.FAILED_PRECONDITION);
    t.regex(refused.details, /running/);
    const before = h3.incarnation;
    // A call meant for another host (an endpoint now served by this one), or naming none: refused, nothing rebooted.
    const misrouted = await callError(client, 'RebootHost', { reason: 'test', allow_running_servers: true, host_id: 'some-other-host' });
    t.is(misrouted.code, status.FAILED_PRECONDITION);
    t.regex(misrouted.details, new RegExp(`this agent is host ${h3.hostId}, not some-other-host`));
    t.is((await callError(client, 'RebootHost', { reason: 'test', allow_running_servers: true })).code, status.INVALID_ARGUMENT);
    // The coordinator's client names the host it was made for: one for another host, pointed at this endpoint, is refused.
    const stale = new CoordinatorAgentClient('some-other-host', h3.endpoint, { callTimeoutMs: 5000, tls: { caFile: '', certFile: '', keyFile: '' } });
    t.teardown(() => stale.close());
    await t.throwsAsync(stale.rebootHost({ reason: 'test', allow_running_servers: true }), { name: 'FailedPreconditionError' });
    await sleep(300); // a reboot runs 200 ms after its answer
    t.is(h3.rebootCount, 0);
    t.is(h3.incarnation, before);
    const res = await call<object, RebootHostResponse>(client, 'RebootHost', { reason: 'test', allow_running_servers: true, host_id: h3.hostId });
    t.true(res.accepted);
    t.is(res.previous_incarnation, before);
    const deadline = Date.now() + 10_000;
    while ((h3.rebootCount === 0 || !h3.running || h3.incarnation === before) && Date.now() < deadline) await sleep(50);
    t.not(h3.incarnation, before);
    const facts = await call<object, HostFacts>(client, 'GetHostFacts', {});
    t.not(facts.boot_id, res.previous_boot_id);
    t.is(facts.incarnation, h3.incarnation);
    t.true(h3.sim.servers().every((s) => s.state === 'SERVER_STATE_SHUTOFF'));
  } finally {
    client.close();
  }
});
