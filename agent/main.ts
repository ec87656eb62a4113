// drydock-agent entry point: `tsx agent/main.ts --config /etc/drydock/agent.yaml`.
// Loads the config, builds the hypervisor, runs the agent until SIGTERM or
// SIGINT, then shuts down gracefully (running migrations get a grace period,
// then are cancelled: the guests stay on this host).
import { existsSync } from 'node:fs';
import { createLogger } from '../common/logging.ts';
import { ConfigError } from '../common/config.ts';
import { errorMessage } from '../common/errors.ts';
import { configFileFrom, loadAgentConfig, type AgentConfig } from './config.ts';
import type { Hypervisor } from './hypervisor/hypervisor.ts';
import { LibvirtHypervisor } from './hypervisor/libvirt.ts';
import { runRebootCommand, startAgent } from './agent.ts';
import { redactUrls } from '../common/redact.ts';

const USAGE = `usage: drydock-agent [--config FILE]

  --config FILE   YAML config (default /etc/drydock/agent.yaml, or $DRYDOCK_AGENT_CONFIG)
  --check         validate the config, print it as JSON (secrets hidden) and exit
  --help          this text

Every option can be overridden by an environment variable DRYDOCK_AGENT_<OPTION>,
e.g. DRYDOCK_AGENT_GRPC_LISTEN_ADDRESS=10.0.0.5:7400. See deploy/examples/agent.yaml.`;

// `hypervisor: sim` (tests only) takes the sim from the test harnesses
// (harness/), which an installed tree does not have (deploy/install.sh): the
// agent loads it only when configured, so production code never imports a
// harness, and refuses the setting plainly where it is missing.
const SIM_HYPERVISOR = new URL('../harness/sim/fabric.ts', import.meta.url);

function assertSimAvailable(config: AgentConfig): void {
  if (config.hypervisor === 'sim' && !existsSync(SIM_HYPERVISOR)) {
    throw new ConfigError('hypervisor', '"sim" is a test harness (harness/sim/) that this installed tree does not include; use "libvirt"');
  }
}

async function buildHypervisor(config: AgentConfig): Promise<Hypervisor> {
  if (config.hypervisor === 'sim') {
    const { SimFabric } = await import('../harness/sim/fabric.ts');
    // A lone sim host: only useful to try the API without libvirt.
    return new SimFabric().addHost({ hostId: config.hostId, sharedPaths: config.storage.sharedPathPrefixes });
  }
  return new LibvirtHypervisor({
    uri: config.libvirt.uri,
    migrationUri: config.libvirt.migrationUri,
    callTimeoutMs: config.libvirt.callTimeoutMs,
    sharedPaths: config.storage.sharedPathPrefixes,
    localDiskDirs: config.storage.localPoolDirs,
    virtType: config.libvirt.virtType || undefined,
  });
}

function redacted(config: AgentConfig): unknown {
  return {
    ...config,
    nats: { ...config.nats, servers: redactUrls(config.nats.servers), password: config.nats.password ? '***' : '', token: config.nats.token ? '***' : '' },
  };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { file, explicit } = configFileFrom(argv, process.env);
  const config = loadAgentConfig({ file, required: explicit });
  assertSimAvailable(config);
  if (argv.includes('--check')) {
    process.stdout.write(`${JSON.stringify(redacted(config), null, 2)}\n`);
    return 0;
  }
  const log = createLogger('drydock-agent', config.logLevel as never);
  let exitCode = 0;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const agent = await startAgent({
    config,
    hypervisor: await buildHypervisor(config),
    log,
    reboot: (reason) => {
      log.warn({ reason, argv: config.rebootCommand }, 'running the reboot command');
      runRebootCommand(config.rebootCommand, log, (ok) => {
        if (ok && config.rebootRestartsAgent) {
          // 75 (EX_TEMPFAIL): the supervisor starts a new incarnation.
          log.warn('reboot done; exiting so the agent comes back as a new incarnation');
          exitCode = 75;
          wake();
        }
      });
    },
  });

  const onSignal = (sig: NodeJS.Signals) => {
    log.info({ signal: sig }, 'shutting down');
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // A second signal while stopping ends the process at once.
  const hard = () => process.exit(130);
  process.once('SIGTERM', hard);
  process.once('SIGINT', hard);
  await agent.stop(30_000);
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError) process.stderr.write(`drydock-agent: ${err.message}\n`);
    else process.stderr.write(`drydock-agent: ${errorMessage(err)}\n${(err as Error)?.stack ?? ''}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
