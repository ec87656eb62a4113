// Wires one coordinator instance: NATS (embedded or configured), the KV
// store, leader election, inventory, the agent client pool and the admin
// gRPC server. main.ts runs it as a process; tests start several in one.
import { mkdirSync } from 'node:fs';
import { CoordinatorMetrics } from './metrics.ts';
import { startMetricsServer } from '../common/metrics-server.ts';
import { redactUrls } from '../common/redact.ts';
import { createLogger, type Logger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import { startGrpcServer, type ServingServer } from '../common/grpc-server.ts';
import type { CoordinatorConfig } from './config.ts';
import { connectNats, type CoordinatorNats } from './nats.ts';
import { openStore, type Store } from './store/store.ts';
import { LeaderElection } from './leader.ts';
import { housekeepingLoop } from './store/housekeeping.ts';
import { Inventory } from './inventory/inventory.ts';
import { ReadModel } from './reads/read-model.ts';
import { Admission } from './admission.ts';
import { AgentClientPool } from './agent-client.ts';
import { Authenticator } from './auth/authenticate.ts';
import { loadUsersFile, TokenVerifier } from './auth/tokens.ts';
import { FailureLimiter } from './auth/failure-limiter.ts';
import { ADMIN_SERVICE_NAME, buildAdminService, defaultHandlerGroups } from './admin/service.ts';
import { adminServerCredentials } from './admin/credentials.ts';
import type { AdminDeps, HandlerGroup } from './admin/context.ts';

export interface Coordinator {
  config: CoordinatorConfig;
  logger: Logger;
  nats: CoordinatorNats;
  store: Store;
  leader: LeaderElection;
  inventory: Inventory;
  /** The admin reads' in-memory copy of zones, hosts and servers. */
  reads: ReadModel;
  /** The admitted hosts (coordinator/admission.ts). */
  admission: Admission;
  agents: AgentClientPool;
  admin: ServingServer;
  metrics: CoordinatorMetrics;
  /** Bound port of the metrics endpoint (0 = disabled). */
  metricsPort: number;
  /** The bound admin port (listen on port 0 in tests). */
  port: number;
  /**
   * Re-reads the users file (auth.tokenFile): added, changed and removed
   * tokens apply to the next call. A file that does not parse throws
   * ConfigError and the users in force stay. Resolves with the user count.
   */
  reloadUsers(): { users: number };
  /** Stops serving, leaves the lease, closes NATS (and the embedded server). */
  stop(): Promise<void>;
}

/**
 * A part that plugs into a coordinator (the maintenance engine, zone CPU):
 * started before the admin server serves, its handler groups registered
 * over the stubs, stopped after the admin server and before the lease and
 * the inventory go away.
 */
export interface CoordinatorModule {
  beforeServe?: (deps: AdminDeps) => Promise<void> | void;
  handlerGroups?: (deps: AdminDeps) => HandlerGroup[];
  /** Ends the module's long-lived streams: runs first on shutdown, before the admin server waits for its calls to end. */
  endStreams?: () => Promise<void>;
  stop?: () => Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /**
   * Extra admin handler groups, registered after the defaults (so they
   * replace the stubs of the same methods): the maintenance engine's hook.
   */
  handlerGroups?: (deps: AdminDeps) => HandlerGroup[];
  /** Called after the parts exist and before serving (start the engine here). */
  beforeServe?: (deps: AdminDeps) => Promise<void> | void;
  /** Modules, started in order after beforeServe, stopped in reverse order. */
  modules?: CoordinatorModule[];
}

/** Shutdown steps, pushed as each part starts and run in reverse by stop() or a failed start. */
type Cleanup = (() => Promise<void> | void)[];

export async function startCoordinator(config: CoordinatorConfig, opts: StartOptions = {}): Promise<Coordinator> {
  const logger = (opts.logger ?? createLogger('drydock-coordinator', config.logLevel as never)).child({ coordinatorId: config.coordinatorId });
  const metrics = new CoordinatorMetrics();
  // Read the users file first: a broken file must fail start-up, not the first call.
  const { verifier, auth } = buildAuthenticator(config, metrics);

  const nats = await connectCoordinatorNats(config, logger);
  const cleanup: Cleanup = [() => nats.close()];
  const unwind = async () => {
    for (const f of cleanup.reverse())
      await Promise.resolve()
        .then(f)
        .catch((err) => logger.warn({ err: String(err) }, 'shutdown step failed'));
  };
  try {
    const { store, reads, leader, agents, admission, inventory } = await startStateParts(config, nats, logger, cleanup);
    metrics.bind(store, inventory);
    const metricsServer = await startMetricsServer(config.metrics.listen, metrics.registry, logger);
    if (metricsServer) cleanup.push(() => metricsServer.close());
    const deps: AdminDeps = { coordinatorId: config.coordinatorId, store, reads, inventory, leader, agents, logger, metrics };
    const admin = await serveAdmin(config, deps, auth, opts, cleanup);
    logger.info(
      {
        listen: config.admin.listen,
        port: admin.port,
        nats: redactUrls(nats.servers),
        embedded: Boolean(nats.embedded),
        replicas: config.nats.kvReplicas,
        leaseInstance: leader.instance,
      },
      'coordinator serving',
    );
    let stopping: Promise<void> | null = null;
    return {
      config,
      logger,
      nats,
      store,
      leader,
      inventory,
      reads,
      admission,
      agents,
      admin,
      metrics,
      metricsPort: metricsServer?.port ?? 0,
      port: admin.port,
      reloadUsers: usersReloader(config, verifier, logger),
      stop: () => (stopping ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** The token verifier (users file, scrypt limits) and the authenticator with its failure limiter. */
function buildAuthenticator(config: CoordinatorConfig, metrics: CoordinatorMetrics): { verifier: TokenVerifier; auth: Authenticator } {
  const a = config.auth;
  const verifier = new TokenVerifier(loadUsersFile(a.tokenFile, a.roles), {
    hashConcurrency: a.hashConcurrency,
    hashQueue: a.hashQueue,
    onHash: () => metrics.tokenHashes.inc(),
  });
  const auth = new Authenticator(verifier, a.roles, new FailureLimiter({ burst: a.failureBurst, refillMs: a.failureIntervalMs }));
  return { verifier, auth };
}

/** Connects to the configured NATS servers, or starts the embedded one (its data directory created first). */
async function connectCoordinatorNats(config: CoordinatorConfig, logger: Logger): Promise<CoordinatorNats> {
  if (config.nats.servers.length === 0) mkdirSync(config.nats.dataDir, { recursive: true });
  const n = config.nats;
  return connectNats({
    servers: n.servers,
    dataDir: n.dataDir,
    name: `drydock-coordinator ${config.coordinatorId}`,
    logger,
    timeoutMs: 30_000,
    auth: { nkeySeedFile: n.nkeySeedFile, credsFile: n.credsFile, user: n.user, password: n.password, token: n.token, tlsCaFile: n.tlsCaFile },
    insecureNoAuth: n.insecureNoAuth,
  });
}

/**
 * The store and the parts that keep state: agent clients, admission,
 * inventory, housekeeping and the leader election, each registered in
 * `cleanup` as soon as it runs.
 */
async function startStateParts(config: CoordinatorConfig, nats: CoordinatorNats, logger: Logger, cleanup: Cleanup) {
  const store = await openStore(nats.nc, {
    replicas: config.nats.kvReplicas,
    timeoutMs: config.nats.requestTimeoutMs,
    auditLimits: { maxBytes: config.audit.maxBytes, maxAgeMs: config.audit.maxAgeMs, maxMessages: config.audit.maxMessages },
  });
  const leader = new LeaderElection(store.leader, {
    id: config.coordinatorId,
    ttlMs: config.leader.ttlMs,
    renewIntervalMs: config.leader.renewIntervalMs,
    logger,
  });
  const agents = new AgentClientPool(
    { tls: config.agents.tls, insecure: config.agents.insecure, callTimeoutMs: config.agents.callTimeoutMs },
    config.agents.idleCloseMs,
  );
  if (config.agents.insecure) {
    logger.warn(
      { option: 'agents.insecure' },
      "INSECURE: agents are called in plaintext: whoever answers at a host's advertised endpoint is believed to be that host",
    );
  }
  cleanup.push(() => agents.closeAll());
  // Admitted hosts first: the inventory starts with the set in place, and
  // the embedded server lets exactly those hosts in, following every change.
  const admission = new Admission(store.admittedHosts, nats.nc, logger);
  await admission.start();
  cleanup.push(() => admission.stop());
  const reloadNats = (hosts: ReturnType<Admission['list']>) =>
    nats.setAdmittedHosts(hosts).catch((err) => logger.error({ err: errorMessage(err) }, 'embedded nats-server not reloaded with the admitted hosts'));
  admission.onChange((hosts) => void reloadNats(hosts));
  await reloadNats(admission.list());
  // Loaded before the inventory and the admin API start: both read from here.
  const reads = new ReadModel(store, logger);
  cleanup.push(() => reads.stop());
  await reads.start();
  const inventory = new Inventory({
    nc: nats.nc,
    store,
    reads,
    leader,
    agents,
    admission,
    logger,
    offlineAfterMs: config.inventory.offlineAfterMs,
    reconcileIntervalMs: config.inventory.reconcileIntervalMs,
    fullReconcileIntervalMs: config.inventory.fullReconcileIntervalMs,
    reconcileConcurrency: config.inventory.reconcileConcurrency,
    agentCallTimeoutMs: config.agents.callTimeoutMs,
  });
  inventory.start();
  cleanup.push(() => inventory.stop());
  const unhookHousekeeping = leader.onLeadership((signal) => housekeepingLoop(store.kvs, logger.child({ component: 'housekeeping' }), signal));
  cleanup.push(() => unhookHousekeeping());
  leader.start();
  // Stopped before the inventory (cleanup runs in reverse), so no leader work outlives it.
  cleanup.push(() => leader.stop());
  return { store, reads, leader, agents, admission, inventory };
}

/** Starts the modules, then serves the admin API with every handler group registered. */
async function serveAdmin(config: CoordinatorConfig, deps: AdminDeps, auth: Authenticator, opts: StartOptions, cleanup: Cleanup): Promise<ServingServer> {
  await opts.beforeServe?.(deps);
  for (const m of opts.modules ?? []) {
    // Registered before it starts: a module that fails half-way is still stopped.
    if (m.stop) cleanup.push(() => m.stop!());
    await m.beforeServe?.(deps);
  }
  const groups = [...defaultHandlerGroups(deps), ...(opts.handlerGroups?.(deps) ?? []), ...(opts.modules ?? []).flatMap((m) => m.handlerGroups?.(deps) ?? [])];
  const parts = buildAdminService(deps, auth, groups, { refusalWindowMs: config.audit.refusalWindowMs, refusalEntries: config.audit.refusalEntries });
  // Runs after the server stopped (cleanup is in reverse) and before NATS closes.
  cleanup.push(() => parts.stop());
  const admin = await startGrpcServer({
    address: config.admin.listen,
    credentials: adminServerCredentials(config.admin.tls),
    packageDefinition: parts.packageDefinition,
    serviceName: ADMIN_SERVICE_NAME,
    service: parts.service,
    implementation: parts.implementation,
  });
  cleanup.push(() => admin.close(3000));
  // Runs before admin.close (reverse order): open streams end with UNAVAILABLE instead of holding the shutdown.
  cleanup.push(async () => {
    await Promise.all((opts.modules ?? []).map((m) => m.endStreams?.()));
  });
  if (config.admin.insecure) {
    deps.logger.warn(
      { listen: config.admin.listen, option: 'admin.insecure' },
      'INSECURE: the admin API serves a non-loopback address without mutual TLS: anyone who reaches the port can try tokens, and without TLS they travel in clear',
    );
  }
  return admin;
}

/** Coordinator.reloadUsers: a users file that does not parse changes nothing and throws. */
function usersReloader(config: CoordinatorConfig, verifier: TokenVerifier, logger: Logger): () => { users: number } {
  return () => {
    try {
      verifier.replace(loadUsersFile(config.auth.tokenFile, config.auth.roles));
    } catch (err) {
      logger.error({ file: config.auth.tokenFile, err: errorMessage(err), users: verifier.userCount }, 'users file not reloaded: the users in force stay');
      throw err;
    }
    logger.info({ file: config.auth.tokenFile, users: verifier.userCount }, 'users file reloaded');
    return { users: verifier.userCount };
  };
}
