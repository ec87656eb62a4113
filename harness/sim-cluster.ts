// N sim agents in ONE process, for tests with many hosts: each a real gRPC
// server on 127.0.0.1:0 and a real NATS client, each with its own SimHost on
// a shared SimFabric (so servers migrate between them and exist on exactly
// one host at a time). The handles expose the SimHost for fault injection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/logging.ts';
import { createLogger, silentLogger } from '../common/logging.ts';
import { compileAgentConfig, type AgentConfig } from '../agent/config.ts';
import { SimFabric } from './sim/fabric.ts';
import type { SimHost } from './sim/host.ts';
import type { SimFabricOptions, SimHostOptions } from './sim/model.ts';
import { startAgent, type AgentHandle } from '../agent/agent.ts';
import type { MigrationSettings } from '../agent/migrations/manager.ts';
import type { NatsAuth } from '../common/nats-auth.ts';

export interface SimAgentsOptions {
  /** Number of agents (hosts). */
  count: number;
  /** NATS server URL(s); omitted = agents do not publish. */
  natsUrl?: string | string[];
  /**
   * Each host's NATS credentials (its own identity, e.g. a TestNats's
   * hostAuth), or { insecureNoAuth: true } for a server without auth.
   * Required with natsUrl: the agent refuses anonymous NATS.
   */
  natsAuth?: (hostId: string) => NatsAuth & { insecureNoAuth?: boolean };
  /** Share an existing fabric (e.g. to add hosts later); default: a new one. */
  fabric?: SimFabric;
  fabricOptions?: SimFabricOptions;
  /** Host ids: explicit list, or `${prefix}-${i+1}` (prefix default "sim"). */
  hostIds?: string[];
  hostIdPrefix?: string;
  /** Base directory for the agents' state dirs (default: a new temp dir, removed by stop()). */
  stateDir?: string;
  /** Per-host sim options (CPU, memory, bandwidth, pools). */
  hostOptions?: (index: number, hostId: string) => Partial<SimHostOptions>;
  /** Storage cluster of each host ("" = none). */
  storageCluster?: (index: number, hostId: string) => string;
  heartbeatIntervalMs?: number;
  factsIntervalMs?: number;
  /** Migration settings (durations in ms); defaults are test-friendly (poll 100 ms). */
  migration?: Partial<MigrationSettings>;
  /** Declared shared path prefixes (all hosts). */
  sharedPathPrefixes?: string[];
  /** TLS for the gRPC servers (mTLS tests): one for all, or per host (each certificate names its host). */
  tls?: AgentConfig['tls'] | ((hostId: string) => AgentConfig['tls']);
  log?: Logger;
  /** Log level when no logger is given (default silent). */
  logLevel?: string;
  natsMaxBackoffMs?: number;
}

export interface SimAgentHandle {
  hostId: string;
  /** 127.0.0.1:PORT — stable across restart(). */
  endpoint: string;
  /** The sim host's libvirt-like URI (what MigrateServer.target_uri takes). */
  migrationUri: string;
  /** The in-memory hypervisor: add servers, inject faults, inspect. */
  sim: SimHost;
  /** The running agent (changes on restart()). */
  readonly agent: AgentHandle;
  readonly incarnation: string;
  readonly running: boolean;
  /** Stops the agent (the sim host and its servers stay: like the agent process dying). */
  stop(graceMs?: number): Promise<void>;
  /** Starts it again on the same port and state dir, with a new incarnation. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** How RebootHost behaves here: sim host reboots (servers stop, new boot id), agent restarts. */
  rebootCount: number;
}

export interface SimAgents {
  fabric: SimFabric;
  agents: SimAgentHandle[];
  byId(hostId: string): SimAgentHandle;
  stateDir: string;
  /** Stops every agent and the fabric's jobs; removes the temp state dir if we made it. */
  stop(): Promise<void>;
}

const TEST_MIGRATION: MigrationSettings = {
  stallTimeoutMs: 10_000,
  deadlinePerGiBMs: 150_000,
  minDeadlineMs: 120_000,
  shutdownTimeoutMs: 5_000,
  pollIntervalMs: 100,
  maxConcurrent: 2,
  postCopyAfterIterations: 5,
  recordRetentionMs: 0,
  guestWatchMs: 0,
};

/** What every agent of one startSimAgents call shares. */
interface SimAgentsContext {
  opts: SimAgentsOptions;
  fabric: SimFabric;
  stateDir: string;
  natsServers: string[];
  log: Logger;
}

export async function startSimAgents(opts: SimAgentsOptions): Promise<SimAgents> {
  const fabric = opts.fabric ?? new SimFabric(opts.fabricOptions);
  const ownDir = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'drydock-sim-agents-'));
  const log = opts.log ?? (opts.logLevel ? createLogger('drydock-sim-agents', opts.logLevel as never) : silentLogger());
  const natsServers = opts.natsUrl === undefined ? [] : Array.isArray(opts.natsUrl) ? opts.natsUrl : [opts.natsUrl];
  const ids = opts.hostIds ?? Array.from({ length: opts.count }, (_, i) => `${opts.hostIdPrefix ?? 'sim'}-${i + 1}`);
  if (ids.length !== opts.count) throw new Error(`hostIds has ${ids.length} ids for count ${opts.count}`);

  const ctx: SimAgentsContext = { opts, fabric, stateDir, natsServers, log };
  const agents = ids.map((hostId, index) => simAgentHandle(ctx, hostId, index));
  try {
    // Bounded parallelism: 50 gRPC servers and NATS connections at once is fine, 500 is not.
    for (let i = 0; i < agents.length; i += 16) await Promise.all(agents.slice(i, i + 16).map((a) => a.start()));
  } catch (err) {
    await Promise.allSettled(agents.map((a) => a.stop(0)));
    fabric.close();
    if (ownDir) rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  const byId = new Map(agents.map((a) => [a.hostId, a]));
  return {
    fabric,
    agents,
    stateDir,
    byId(hostId) {
      const a = byId.get(hostId);
      if (!a) throw new Error(`no sim agent ${hostId}`);
      return a;
    },
    async stop() {
      await Promise.allSettled(agents.map((a) => a.stop(0)));
      fabric.close();
      if (ownDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The agent config of one sim host, listening on `port` (0 = any, then the same one across restarts). */
function simAgentConfig(ctx: SimAgentsContext, hostId: string, index: number, port: number): AgentConfig {
  const { opts, stateDir, natsServers } = ctx;
  const c = compileAgentConfig(
    {
      hostId,
      hypervisor: 'sim',
      grpc: { listenAddress: `127.0.0.1:${port}` },
      stateDir: path.join(stateDir, hostId),
      storage: { clusterId: opts.storageCluster?.(index, hostId) ?? '', sharedPathPrefixes: opts.sharedPathPrefixes ?? [] },
      nats: { servers: natsServers, ...(natsServers.length ? opts.natsAuth?.(hostId) : {}) },
      heartbeatInterval: opts.heartbeatIntervalMs ?? 2000,
      factsInterval: opts.factsIntervalMs ?? 30_000,
      rebootCommand: ['/bin/true'],
      logLevel: 'silent',
    },
    {},
  );
  c.migration = { ...TEST_MIGRATION, ...opts.migration, recordRetentionMs: opts.migration?.recordRetentionMs ?? 0 };
  if (opts.tls) c.tls = typeof opts.tls === 'function' ? opts.tls(hostId) : opts.tls;
  return c;
}

/** Starts the agent of one sim host (its RebootHost reboots the sim host and restarts the agent through `handle`). */
function startSimAgent(ctx: SimAgentsContext, handle: SimAgentHandle, config: AgentConfig): Promise<AgentHandle> {
  const { hostId, sim } = handle;
  const { log } = ctx;
  return startAgent({
    config,
    hypervisor: sim,
    log,
    bootId: async () => sim.bootId,
    osFacts: async () => {
      const f = await sim.facts();
      return { hostname: hostId, os: 'Simulated Linux', kernel: 'sim', memoryTotalBytes: f.memoryTotalBytes, memoryFreeBytes: f.memoryFreeBytes };
    },
    memoryFree: async () => (await sim.facts()).memoryFreeBytes,
    reboot: () => {
      handle.rebootCount++;
      // Like a real reboot: the agent goes away, the host's guests stop, the agent comes back new.
      void (async () => {
        await handle.stop(0);
        sim.reboot();
        await sleep(100);
        await handle.start();
      })().catch((err) => log.error({ hostId, err: String(err) }, 'sim reboot failed'));
    },
    natsMaxBackoffMs: ctx.opts.natsMaxBackoffMs ?? 1000,
  });
}

/** One sim host on the fabric and the handle of its (not yet started) agent. */
function simAgentHandle(ctx: SimAgentsContext, hostId: string, index: number): SimAgentHandle {
  const sim = ctx.fabric.addHost({ hostId, sharedPaths: ctx.opts.sharedPathPrefixes, ...ctx.opts.hostOptions?.(index, hostId) });
  let agent: AgentHandle | null = null;
  let port = 0;
  const handle: SimAgentHandle = {
    hostId,
    endpoint: '',
    migrationUri: sim.migrationUri,
    sim,
    rebootCount: 0,
    get agent() {
      if (!agent) throw new Error(`sim agent ${hostId} is stopped`);
      return agent;
    },
    get incarnation() {
      return agent?.incarnation ?? '';
    },
    get running() {
      return agent !== null;
    },
    async start() {
      if (agent) return;
      agent = await startSimAgent(ctx, handle, simAgentConfig(ctx, hostId, index, port));
      port = agent.port;
      handle.endpoint = agent.endpoint;
    },
    async stop(graceMs = 0) {
      const a = agent;
      agent = null;
      await a?.stop(graceMs);
    },
    async restart() {
      await handle.stop(0);
      await handle.start();
    },
  };
  return handle;
}
