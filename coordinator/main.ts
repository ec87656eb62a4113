// drydock-coordinator: `tsx coordinator/main.ts --config /etc/drydock/coordinator.yaml`.
// Runs until SIGTERM/SIGINT, then shuts down cleanly (admin server, lease,
// NATS, and the embedded nats-server if it started one). SIGHUP re-reads the
// users file. Subcommands manage the NATS identities of hosts and
// coordinators (coordinator/nats-credentials-cli.ts).
import { Command } from 'commander';
import { createLogger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import { ConfigError } from '../common/config.ts';
import { DEFAULT_CONFIG_FILE, loadConfig } from './config.ts';
import { startCoordinator } from './coordinator.ts';
import { loadUsersFile } from './auth/tokens.ts';
import { maintenanceModule } from './operations/module.ts';
import { zoneCpuModule } from './zone-cpu/module.ts';
import { issueCoordinatorCredentials, issueHostCredentials, listAdmittedHosts, natsAuthorization, revokeHostCredentials } from './nats-credentials-cli.ts';

const boot = createLogger('drydock-coordinator');
const print = (line: string) => process.stdout.write(`${line}\n`);

/** The configuration of the --config option (the default path may be absent: defaults + environment; an explicit one must exist). */
function configOf(cmd: Command) {
  const { config: file } = cmd.optsWithGlobals<{ config: string }>();
  return loadConfig(file, process.env, file !== DEFAULT_CONFIG_FILE);
}

/** A one-shot subcommand: exit 0 when done, 2 on a configuration error, 1 otherwise. */
const oneShot =
  (fn: (...args: any[]) => Promise<unknown> | unknown) =>
  async (...args: unknown[]) => {
    try {
      await fn(...args);
      process.exit(0);
    } catch (err) {
      process.stderr.write(`drydock-coordinator: ${errorMessage(err)}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
  };

const program = new Command()
  .name('drydock-coordinator')
  .description('drydock coordinator: inventory, admin API, maintenance operations')
  .option('-c, --config <file>', 'configuration file (YAML)', DEFAULT_CONFIG_FILE)
  .option('--check', 'validate the configuration and the users file, then exit')
  .action((_opts, cmd: Command) => {
    const { check } = cmd.opts<{ check?: boolean }>();
    main(configOf(cmd), Boolean(check)).catch(failedToStart);
  });
program
  .command('issue-host-credentials')
  .description("issue a host's NATS identity (an nkey that may publish on the host's subjects only) and admit the host")
  .argument('<host-id>')
  .option('-o, --out <file>', 'where to write the seed (0600; never overwritten)', '')
  .action(oneShot(async (hostId: string, o: { out: string }, cmd: Command) => issueHostCredentials(configOf(cmd), hostId, o.out || `${hostId}.nk`, print)));
program
  .command('revoke-host-credentials')
  .description('revoke a host: its messages are dropped, and the embedded nats-server closes its connections')
  .argument('<host-id>')
  .action(oneShot(async (hostId: string, _o: unknown, cmd: Command) => revokeHostCredentials(configOf(cmd), hostId, print)));
program
  .command('admitted-hosts')
  .description('list the admitted hosts (id, public key, admitted at, by)')
  .action(oneShot(async (_o: unknown, cmd: Command) => listAdmittedHosts(configOf(cmd), print)));
program
  .command('issue-coordinator-credentials')
  .description("issue the coordinators' NATS identity for a production cluster (prints its users entry)")
  .option('-o, --out <file>', 'where to write the seed (0600; never overwritten)', 'coordinator.nk')
  .action(oneShot((o: { out: string }) => issueCoordinatorCredentials(o.out, print)));
program
  .command('nats-authorization')
  .description("print the users list of a production cluster's nats-server config: the coordinators and every admitted host")
  .action(oneShot(async (_o: unknown, cmd: Command) => natsAuthorization(configOf(cmd), print)));

async function main(config: ReturnType<typeof loadConfig>, check: boolean): Promise<void> {
  if (check) {
    const users = loadUsersFile(config.auth.tokenFile, config.auth.roles);
    process.stdout.write(`configuration OK (${users.users.length} users)\n`);
    return;
  }
  const logger = createLogger('drydock-coordinator', config.logLevel as never);
  // Zone CPU first: the maintenance engine places servers with its CPU rules.
  const zoneCpu = zoneCpuModule({ agentCallTimeoutMs: config.agents.callTimeoutMs, watchIntervalMs: config.zoneCpu.watchIntervalMs });
  const maintenance = maintenanceModule({
    cpu: zoneCpu.placement,
    archiveAfterMs: config.operations.archiveAfterMs,
    watchLimits: { maxPerCaller: config.operations.maxWatchesPerCaller, maxTotal: config.operations.maxWatches },
  });
  const coordinator = await startCoordinator(config, { logger, modules: [maintenance, zoneCpu] });
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down');
    // A stuck shutdown must not keep the unit in "deactivating" forever.
    const hard = setTimeout(() => {
      logger.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    hard.unref();
    coordinator.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // systemctl reload: re-read the users file (rotate or revoke tokens without
  // a restart). A broken file is logged and refused; the process keeps running.
  process.on('SIGHUP', () => {
    try {
      coordinator.reloadUsers();
    } catch {
      // reloadUsers logged why; the users in force stay.
    }
  });
}

function failedToStart(err: unknown): never {
  boot.fatal({ err: errorMessage(err) }, 'coordinator failed to start');
  // 2: the configuration is wrong and a restart will not help (as the agent).
  process.exit(err instanceof ConfigError ? 2 : 1);
}

try {
  program.parse();
} catch (err) {
  failedToStart(err);
}
