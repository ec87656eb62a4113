// The chaos suite's world: a real nats-server (or 3-node cluster) admitting
// nkey identities only, sim agents in this process (real gRPC servers and
// NATS clients over one SimFabric), and coordinators as real child processes
// (so a SIGKILL is a real one). The only file of the suite that imports the
// sim hypervisor and the sim cluster: when they move, this is the one place
// to change.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { startSimAgents, type SimAgents } from '../../harness/sim-cluster.ts';
import type { SimHost } from '../../harness/sim/host.ts';
import { startTestNats, type TestNats } from '../../harness/test-nats.ts';
import { spawnCoordinator, type CoordinatorProcess } from '../../harness/coordinator-process.ts';
import { TestAdminClient, tempDir, waitFor } from '../../harness/coordinator-helpers.ts';
import { ADMIN_TOKEN, writeTokenFile } from '../../harness/maintenance-world.ts';
import type { Expectations, SimState } from './invariants.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export const SOURCE = 'sim-1';
/** In the zone, disabled: must never receive a server (and is the roomiest host, so SPREAD would pick it first). */
export const DISABLED = 'sim-disabled';
/** Another zone: must never receive a server of the drained zone. */
export const FOREIGN = 'sim-foreign';
export const ZONE = 'z1';
export const OTHER_ZONE = 'z2';
const RESERVE = GiB;

export interface WorldOptions {
  /** Servers on the source host. */
  servers: number;
  /** Target hosts in the zone. */
  targets?: number;
  /** Coordinator processes (the first one leads). */
  coordinators?: number;
  /** NATS cluster size (omitted: one node). */
  natsCluster?: number;
  /** JetStream file store limit (bytes) of a single node. */
  maxFileStoreBytes?: number;
  /** The coordinators' audit stream bound (JetStream reserves it against the store limit), e.g. "8MiB". */
  auditMaxBytes?: string;
  /** Migration bandwidth (bytes/s). */
  bandwidthBps?: number;
  /** Zone policy overrides (admin API field names). */
  policy?: Record<string, unknown>;
  /** Per-host agent migration settings. */
  agentStallTimeoutMs?: number;
  random: () => number;
}

export interface Coordinator {
  id: string;
  proc: CoordinatorProcess;
  client: TestAdminClient;
  call<T = any>(method: string, req: object, timeoutMs?: number): Promise<T>;
}

export interface ServerSpec {
  uuid: string;
  name: string;
  state: string;
  memoryBytes: number;
}

export interface World {
  dir: string;
  nats: TestNats;
  sims: SimAgents;
  coordinators: Coordinator[];
  servers: ServerSpec[];
  /** The drained host (SOURCE). */
  source: string;
  /** True while the sim fabric runs a migration. */
  migrating(): boolean;
  /** Calls the admin API on any live coordinator (the first that answers). */
  call<T = any>(method: string, req: object, timeoutMs?: number): Promise<T>;
  startCoordinator(id: string): Promise<Coordinator>;
  /** The sim host of a host id (fault injection). */
  host(hostId: string): SimHost;
  /** Every sim host. */
  hosts(): SimHost[];
  /** What the hypervisors say now (and the agents' migration records). */
  simState(): SimState;
  expectations(opts: { drained: boolean }): Expectations;
  close(): Promise<void>;
}

/** A world with a zone ready to drain SOURCE: every server known to the coordinator. */
export async function startWorld(o: WorldOptions): Promise<World> {
  const dir = tempDir('chaos');
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const f of cleanup.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
    cleanup.length = 0;
  };
  try {
    const targets = Array.from({ length: o.targets ?? 4 }, (_, i) => `sim-${i + 2}`);
    const hostIds = [SOURCE, ...targets, DISABLED, FOREIGN];
    // Capacity is tight on purpose: the servers fill about 80% of what the targets can take after the reserve.
    const memories = servers(o.servers, o.random);
    const total = memories.reduce((s, m) => s + m.memoryBytes, 0);
    const perTarget = Math.ceil((total * 1.25) / targets.length / MiB) * MiB + RESERVE;
    const nats = await startTestNats({ dir, hosts: hostIds, cluster: o.natsCluster, maxFileStoreBytes: o.maxFileStoreBytes });
    cleanup.push(() => nats.stop());
    const sims = await startSimAgents({
      count: hostIds.length,
      hostIds,
      natsUrl: nats.urls,
      natsAuth: nats.hostAuth,
      heartbeatIntervalMs: 500,
      fabricOptions: { bandwidthBps: o.bandwidthBps ?? GiB, tickMs: 50, setupMs: 100, shutdownMs: 100 },
      hostOptions: (_i, id) => ({ memoryTotalBytes: id === SOURCE || id === DISABLED || id === FOREIGN ? 4 * total + 64 * GiB : perTarget }),
      migration: { maxConcurrent: 4, ...(o.agentStallTimeoutMs ? { stallTimeoutMs: o.agentStallTimeoutMs } : {}) },
    });
    cleanup.push(() => sims.stop());
    const tokenFile = writeTokenFile(dir);
    const coordinators: Coordinator[] = [];
    const startCoordinator = async (id: string): Promise<Coordinator> => {
      const configFile = path.join(dir, `${id}.yaml`);
      writeFileSync(
        configFile,
        toYaml({
          coordinatorId: id,
          admin: { listen: '127.0.0.1:0' },
          auth: { tokenFile },
          nats: { servers: nats.urls, ...nats.coordinatorAuth, kvReplicas: o.natsCluster ? 3 : 1, requestTimeout: '3s' },
          leader: { ttl: '2s', renewInterval: '300ms' },
          inventory: { offlineAfter: '5s', reconcileInterval: '2s' },
          agents: { callTimeout: '5s' },
          ...(o.auditMaxBytes ? { audit: { maxBytes: o.auditMaxBytes } } : {}),
          logLevel: 'info',
        }),
        { mode: 0o600 },
      );
      const proc = await spawnCoordinator(configFile);
      const client = new TestAdminClient(proc.port);
      cleanup.push(async () => {
        client.close();
        await proc.stop(3000);
      });
      const c: Coordinator = { id, proc, client, call: (m, r, t = 20_000) => client.call(m, r, { token: ADMIN_TOKEN, timeoutMs: t }) };
      coordinators.push(c);
      return c;
    };
    for (let i = 0; i < (o.coordinators ?? 1); i++) await startCoordinator(`c${i + 1}`);
    const call = async <T = any>(method: string, req: object, timeoutMs?: number): Promise<T> => {
      let last: unknown = new Error('no coordinator is running');
      for (const c of coordinators) {
        if (c.proc.exited) continue;
        try {
          return await c.call<T>(method, req, timeoutMs);
        } catch (err) {
          last = err;
          // Only "cannot reach it" moves on to the next coordinator; an answer is an answer.
          if ((err as { code?: number }).code !== 14 && (err as { code?: number }).code !== 4) throw err;
        }
      }
      throw last;
    };
    await waitFor(
      `${hostIds.length} hosts online`,
      async () => (await call('ListHosts', {})).hosts.filter((h: any) => h.online).length === hostIds.length,
      60_000,
      200,
    );
    await call('CreateZone', { zone_id: ZONE, name: ZONE, cpu_mode: 'CPU_MODE_DEFAULT', policy: zonePolicy(o.policy) });
    await call('CreateZone', { zone_id: OTHER_ZONE, name: OTHER_ZONE, cpu_mode: 'CPU_MODE_DEFAULT', policy: zonePolicy(o.policy) });
    for (const h of [SOURCE, ...targets, DISABLED]) await call('UpdateHost', { host_id: h, zone_id: ZONE });
    await call('UpdateHost', { host_id: DISABLED, enabled: false });
    await call('UpdateHost', { host_id: FOREIGN, zone_id: OTHER_ZONE });

    const src = sims.byId(SOURCE).sim;
    const specs: ServerSpec[] = memories.map((m, i) => {
      const s = src.addServer({ name: `vs-${String(i + 1).padStart(3, '0')}`, memoryBytes: m.memoryBytes, hotMigration: m.hot, running: m.running, vcpus: 1 });
      return { uuid: s.uuid, name: s.name, state: s.state, memoryBytes: s.memory_bytes };
    });
    await waitFor(`${specs.length} servers known`, async () => (await call('ListServers', { host_id: SOURCE })).servers.length === specs.length, 60_000, 200);
    // The leader must be resuming/serving operations before the drain is asked for.
    await coordinators[0]!.proc.waitForLog((l) => l.msg === 'leading: resuming unfinished operations', 30_000);

    const world: World = {
      dir,
      nats,
      sims,
      coordinators,
      servers: specs,
      source: SOURCE,
      migrating: () => sims.fabric.migrations.some((m) => m.result === 'running'),
      call,
      startCoordinator,
      host: (id) => sims.byId(id).sim,
      hosts: () => sims.agents.map((a) => a.sim),
      simState: () => ({
        hosts: sims.agents.map((a) => ({
          hostId: a.hostId,
          memoryTotalBytes: a.sim.memoryTotalBytes,
          logicalCpus: a.sim.topology.logical_cpus,
          servers: a.sim.servers().map((s) => ({ uuid: s.uuid, name: s.name, state: s.state, memoryBytes: s.memory_bytes, vcpus: s.vcpus })),
        })),
        starts: sims.fabric.migrations.map((m) => ({ uuid: m.uuid, from: m.from, to: m.to, mode: m.mode, startedAtMs: m.startedAtMs, result: m.result })),
        agentMigrations: sims.agents.flatMap((a) =>
          a.running
            ? a.agent.migrations.list().map((m) => ({
                migrationId: m.migration_id,
                serverUuid: m.server_uuid,
                sourceHostId: a.hostId,
                startedAtMs: Number(m.started_at_ms),
                finishedAtMs: Number(m.finished_at_ms),
              }))
            : [],
        ),
      }),
      expectations: ({ drained }) => ({
        servers: specs.map((s) => ({ uuid: s.uuid, name: s.name, state: s.state })),
        forbidden: [
          { hostId: DISABLED, reason: 'disabled' },
          { hostId: FOREIGN, reason: `in zone ${OTHER_ZONE}` },
          ...(drained ? [{ hostId: SOURCE, reason: 'in maintenance' }] : []),
        ],
        memoryReserveBytes: RESERVE,
        cpuOvercommitRatio: 4,
        capacityExempt: [SOURCE, DISABLED, FOREIGN],
      }),
      close,
    };
    return world;
  } catch (err) {
    await close();
    throw err;
  }
}

/** The zone policy: limits that let a drain run several migrations at once, and the caller's overrides. */
function zonePolicy(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { max_migrations_per_source: 4, max_migrations_per_zone: 8, max_incoming_per_target: 2, max_attempts_per_server: 3, ...over };
}

/** The servers of the source: mostly live-migratable running ones, some cold (hot migration off), some shut off. */
function servers(n: number, random: () => number): { memoryBytes: number; hot: boolean; running: boolean }[] {
  return Array.from({ length: n }, () => {
    const r = random();
    return { memoryBytes: (128 + Math.floor(random() * 4) * 64) * MiB, hot: r >= 0.15, running: r < 0.15 || r >= 0.3 };
  });
}

export { ADMIN_TOKEN };
