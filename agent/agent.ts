// One agent: migration manager (records reconciled first), gRPC server, NATS
// publisher, wired to one Hypervisor. main.ts runs one per process with the
// libvirt hypervisor; harness/sim-cluster.ts runs many in one process with sims.
import { AgentMetrics } from './metrics.ts';
import { startMetricsServer } from '../common/metrics-server.ts';
import { execFile } from 'node:child_process';
import type { Logger } from '../common/logging.ts';
import { createLogger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import type { ServingServer } from '../common/grpc-server.ts';
import type { AgentConfig } from './config.ts';
import type { Hypervisor } from './hypervisor/hypervisor.ts';
import { FactsSource, newIncarnation, readBootId, type OsFacts } from './facts.ts';
import { MigrationManager } from './migrations/manager.ts';
import { NatsPublisher } from './nats-publisher.ts';
import { startAgentGrpcServer, type AgentServiceDeps } from './server.ts';

export interface StartAgentOptions {
  config: AgentConfig;
  hypervisor: Hypervisor;
  log?: Logger;
  /** Boot id source (the sim supplies its own). */
  bootId?: () => Promise<string>;
  /** OS facts source (the sim reports the sim host, not this machine). */
  osFacts?: () => Promise<OsFacts>;
  /** Free memory for heartbeats (the sim reports its own). */
  memoryFree?: (signal?: AbortSignal) => Promise<number>;
  /** What RebootHost does after answering. Default: run config.rebootCommand. */
  reboot?: (reason: string) => void;
  /** Upper bound of the NATS reconnect backoff. */
  natsMaxBackoffMs?: number;
}

export interface AgentHandle {
  hostId: string;
  /** host:port the coordinator dials (advertised). */
  endpoint: string;
  port: number;
  /** Bound port of the Prometheus endpoint (0 = disabled). */
  metricsPort: number;
  incarnation: string;
  hypervisor: Hypervisor;
  facts: FactsSource;
  migrations: MigrationManager;
  grpc: ServingServer;
  /** null when no NATS servers are configured. */
  publisher: NatsPublisher | null;
  /** Stops serving, lets migrations finish (up to graceMs, then cancels them), closes NATS. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs the configured reboot command (argv, no shell), logs its outcome, then calls `done(ok)`. */
export function runRebootCommand(argv: string[], log: Logger, done?: (ok: boolean) => void): void {
  const [cmd, ...args] = argv;
  if (!cmd) return;
  execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
    if (err) log.error({ err: errorMessage(err), stderr: String(stderr).slice(-2000) }, 'reboot command failed');
    else log.info({ stdout: String(stdout).slice(-2000) }, 'reboot command ran');
    done?.(!err);
  });
}

export async function startAgent(opts: StartAgentOptions): Promise<AgentHandle> {
  const { config, hypervisor } = opts;
  const log = (opts.log ?? createLogger('drydock-agent', config.logLevel as never)).child({ hostId: config.hostId });
  const incarnation = newIncarnation();
  let endpoint = config.grpc.advertisedEndpoint;

  const metrics = new AgentMetrics(config.hostId, hypervisor, config.metrics.serversMaxAgeMs);
  const migrations = new MigrationManager({
    onEnded: (mode, result, seconds, bytes) => metrics.migrationEnded(mode, result, seconds, bytes),
    hostId: config.hostId,
    hypervisor,
    stateDir: config.stateDir,
    settings: config.migration,
    log,
  });
  await migrations.open();

  const facts = new FactsSource({
    hostId: config.hostId,
    hypervisor,
    grpcEndpoint: () => endpoint,
    storageCluster: config.storage.clusterId,
    incarnation,
    bootId: opts.bootId ?? (() => readBootId(config.bootIdFile)),
    osFacts: opts.osFacts,
    memoryFree: opts.memoryFree,
  });

  const reboot =
    opts.reboot ??
    ((reason: string) => {
      log.warn({ reason, argv: config.rebootCommand }, 'running the reboot command');
      runRebootCommand(config.rebootCommand, log);
    });
  warnInsecureModes(config, log);

  const { grpc, metricsServer } = await startListeners(
    config,
    { hostId: config.hostId, hypervisor, migrations, facts, shutdownTimeoutMs: config.migration.shutdownTimeoutMs, reboot, log },
    metrics,
  );
  if (!endpoint) {
    const host = config.grpc.listenAddress.replace(/:\d+$/, '');
    endpoint = `${host}:${grpc.port}`;
  }

  const publisher = startPublisher(config, { hypervisor, facts, grpcEndpoint: () => endpoint, log, maxBackoffMs: opts.natsMaxBackoffMs });
  log.info({ endpoint, incarnation, hypervisor: hypervisor.kind, migrationUri: hypervisor.migrationUri }, 'agent started');

  let stopping: Promise<void> | null = null;
  return {
    hostId: config.hostId,
    get endpoint() {
      return endpoint;
    },
    port: grpc.port,
    metricsPort: metricsServer?.port ?? 0,
    incarnation,
    hypervisor,
    facts,
    migrations,
    grpc,
    publisher,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        grpc.setServing('NOT_SERVING');
        await migrations.close(graceMs);
        await grpc.close(1000);
        await publisher?.stop();
        await metricsServer?.close();
        log.info('agent stopped');
      })();
      return stopping;
    },
  };
}

/**
 * Insecure modes are asked for by name in the config (agent/config.ts
 * refuses them otherwise); said at every start, at warn level, so they are
 * never forgotten.
 */
function warnInsecureModes(config: AgentConfig, log: Logger): void {
  if (config.grpc.insecure) {
    log.warn(
      { listen: config.grpc.listenAddress, option: 'grpc.insecure' },
      `INSECURE: the agent API on ${config.grpc.listenAddress} is served without mutual TLS: anyone who reaches this port can migrate and stop its servers and reboot this host`,
    );
  }
  if (config.metrics.insecure && config.metrics.listen) {
    log.warn(
      { listen: config.metrics.listen, option: 'metrics.insecure' },
      `INSECURE: metrics on ${config.metrics.listen} are plain HTTP without authentication`,
    );
  }
}

/** The gRPC API and the metrics endpoint; on a failure, what started is closed again (and the migrations). */
async function startListeners(
  config: AgentConfig,
  deps: AgentServiceDeps,
  metrics: AgentMetrics,
): Promise<{ grpc: ServingServer; metricsServer: Awaited<ReturnType<typeof startMetricsServer>> }> {
  let grpc: ServingServer;
  try {
    grpc = await startAgentGrpcServer(deps, { address: config.grpc.listenAddress, tls: config.tls });
  } catch (err) {
    await deps.migrations.close(0);
    throw err;
  }
  try {
    return { grpc, metricsServer: await startMetricsServer(config.metrics.listen, metrics.registry, deps.log) };
  } catch (err) {
    await grpc.close(0);
    await deps.migrations.close(0);
    throw err;
  }
}

/** Heartbeats and facts on NATS; null when no NATS servers are configured. */
function startPublisher(
  config: AgentConfig,
  deps: { hypervisor: Hypervisor; facts: FactsSource; grpcEndpoint: () => string; log: Logger; maxBackoffMs?: number },
): NatsPublisher | null {
  if (!config.nats.servers.length) return null;
  const publisher = new NatsPublisher({
    servers: config.nats.servers,
    auth: config.nats,
    hostId: config.hostId,
    hypervisor: deps.hypervisor,
    facts: deps.facts,
    grpcEndpoint: deps.grpcEndpoint,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    factsIntervalMs: config.factsIntervalMs,
    log: deps.log,
    maxBackoffMs: deps.maxBackoffMs,
  });
  publisher.start();
  return publisher;
}
