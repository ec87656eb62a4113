// The `drydock` program: global flags, help and error output, and the command
// tree assembled from one module per noun (commands/*.ts). Each action does
// one admin call (or a few), prints a table/view for people or the proto
// object with --json, and leaves the exit code to the caller (see exit.ts).
// docs/cli.md mirrors this.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { actionRunner } from './action.ts';
import type { CliIo } from './context.ts';
import { describeError, EXIT, type ExitCode } from './exit.ts';
import { DEFAULT_ADDRESS, ENV } from './settings.ts';
import { registerZoneCommands } from './commands/zones.ts';
import { registerHostCommands } from './commands/hosts.ts';
import { registerServerCommands } from './commands/servers.ts';
import { registerMaintenanceCommands } from './commands/maintenance.ts';
import { registerOpsCommands } from './commands/ops.ts';
import { registerSnapshotCommand } from './commands/snapshot.ts';
import { registerPlanCommand } from './commands/plan.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function buildProgram(io: CliIo, result: { exitCode: ExitCode }): Command {
  const program = new Command('drydock');
  program
    .description('Operate drydock: maintenance mode for KVM compute resources (hosts).')
    .version(VERSION, '-V, --version', 'print the CLI version')
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      outputError: (s, write) => {
        const msg = s.replace(/^error:\s*/i, '').trim();
        write(`drydock: ${msg} — see 'drydock --help' or '<command> --help'\n`);
      },
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addOption(new Option('--address <host:port>', `coordinator admin API (env ${ENV.address}; default ${DEFAULT_ADDRESS})`))
    .addOption(new Option('--token <token>', `bearer token (env ${ENV.token})`))
    .addOption(new Option('--token-file <file>', `file holding the bearer token (env ${ENV.tokenFile})`))
    .addOption(new Option('--ca <file>', `CA of the coordinator certificate; enables TLS (env ${ENV.ca})`))
    .addOption(new Option('--cert <file>', `client certificate for mTLS (env ${ENV.cert})`))
    .addOption(new Option('--key <file>', `client key for mTLS (env ${ENV.key})`))
    .addOption(new Option('--server-name <name>', `name expected in the coordinator certificate (env ${ENV.serverName})`))
    .addOption(new Option('--timeout <duration>', `deadline of each call, e.g. 30s (env ${ENV.timeout}; default 30s)`))
    .addOption(new Option('--config <file>', `CLI config file (env ${ENV.config}; default ~/.config/drydock/cli.yaml)`))
    .addOption(new Option('--insecure', 'send the bearer token without TLS to a non-loopback address (refused otherwise)'))
    .option('--json', 'print the API objects as JSON (events as JSON lines when following)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 server error, 2 usage error, 3 refused (precondition or
missing --confirm), 4 not found, 5 unauthenticated/permission denied,
6 coordinator unavailable or deadline exceeded, 7 followed operation failed
or was cancelled, 130 interrupted (detached from an operation; it goes on).
Reference: docs/cli.md`,
    );

  // The order here is the order of `drydock --help`.
  const act = actionRunner(io, result);
  registerZoneCommands(program, act);
  registerHostCommands(program, act);
  registerServerCommands(program, act);
  registerMaintenanceCommands(program, act);
  registerOpsCommands(program, act);
  registerSnapshotCommand(program, act);
  registerPlanCommand(program, act);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code.
 * Never calls process.exit: the entry point does.
 */
export async function runCli(argv: string[], io: CliIo): Promise<ExitCode> {
  const result: { exitCode: ExitCode } = { exitCode: EXIT.OK };
  const program = buildProgram(io, result);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help: 0. A group without its subcommand ("drydock zone") prints
      // help with a non-zero code, like any other usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const report = describeError(err, { address: DEFAULT_ADDRESS, timeoutMs: 30_000 });
    io.err.write(`${report.line}\n`);
    return report.exitCode;
  }
  return result.exitCode;
}
