// drydock-coordinator: `tsx coordinator/main.ts --config /etc/drydock/coordinator.yaml`.
// Runs until SIGTERM/SIGINT, then shuts down cleanly (admin server, lease,
// NATS, and the embedded nats-server if it started one). SIGHUP re-reads the
// users file.
import { Command } from 'commander';
import { createLogger } from '../common/logging.ts';
import { errorMessage } from '../common/errors.ts';
import { ConfigError } from '../common/config.ts';
import { DEFAULT_CONFIG_FILE, loadConfig } from './config.ts';
import { startCoordinator } from './coordinator.ts';
import { loadUsersFile } from './auth/tokens.ts';
import { maintenanceModule } from './operations/module.ts';
import { zoneCpuModule } from './zone-cpu/module.ts';

const program = new Command()
  .name('drydock-coordinator')
  .description('drydock coordinator: inventory, admin API, maintenance operations')
  .option('-c, --config <file>', 'configuration file (YAML)', DEFAULT_CONFIG_FILE)
  .option('--check', 'validate the configuration and the users file, then exit')
  .parse();

const { config: file, check } = program.opts<{ config: string; check?: boolean }>();
const boot = createLogger('drydock-coordinator');

async function main(): Promise<void> {
  // The default path may be absent (defaults + environment); an explicit one must exist.
  const config = loadConfig(file, process.env, file !== DEFAULT_CONFIG_FILE);
  if (check) {
    const users = loadUsersFile(config.auth.tokenFile, config.auth.roles);
    process.stdout.write(`configuration OK (${users.users.length} users)\n`);
    return;
  }
  const logger = createLogger('drydock-coordinator', config.logLevel as never);
  // Zone CPU first: the maintenance engine places servers with its CPU rules.
  const zoneCpu = zoneCpuModule({ agentCallTimeoutMs: config.agents.callTimeoutMs, watchIntervalMs: config.zoneCpu.watchIntervalMs });
  const maintenance = maintenanceModule({ cpu: zoneCpu.placement });
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

main().catch((err) => {
  boot.fatal({ err: errorMessage(err) }, 'coordinator failed to start');
  // 2: the configuration is wrong and a restart will not help (as the agent).
  process.exit(err instanceof ConfigError ? 2 : 1);
});
