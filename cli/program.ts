// The `drydock` command tree. Each action does one admin call (or a few),
// prints a table/view for people or the proto object with --json, and
// leaves the exit code to the caller (see exit.ts). docs/cli.md mirrors this.
import { Command, CommanderError, Option } from 'commander';
import { AdminApi } from './client.ts';
import { describeError, EXIT, usageError, CliError, type ErrorContext, type ExitCode } from './exit.ts';
import { resolveSettings, DEFAULT_ADDRESS, ENV, type ConnectionFlags } from './settings.ts';
import { decideTransport } from './transport.ts';
import {
  applyPolicyFlags,
  emptyPolicy,
  hasPolicyFlags,
  parseCpuMode,
  parseList,
  POLICY_FLAG_HELP,
  type PolicyFlags,
} from './options.ts';
import {
  hostView,
  hostsTable,
  operationView,
  operationsTable,
  planView,
  serversTable,
  zoneCpuView,
  zoneView,
  zonesTable,
} from './render.ts';
import { followOperation, type FollowMode } from './follow.ts';
import { kindLabel, stateLabel } from './operation-view.ts';
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import type { UpdateZoneRequest__Input } from '../common/generated/drydock/admin/v1/UpdateZoneRequest.ts';
import type { UpdateHostRequest__Input } from '../common/generated/drydock/admin/v1/UpdateHostRequest.ts';
import { snapshotCommand, offlinePlanCommand } from './offline.ts';
import { readFileSync } from 'node:fs';
import { listAllHosts, listAllServers } from './pages.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface CliIo {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C while an operation is followed. */
  interrupt: AbortSignal;
}

interface GlobalFlags extends ConnectionFlags {
  json?: boolean;
}

/** What an action gets: the parsed globals, a lazily built client, output helpers. */
export class Ctx {
  #api: AdminApi | undefined;
  errorContext: Omit<ErrorContext, 'address' | 'timeoutMs'> = {};

  constructor(
    readonly io: CliIo,
    readonly flags: GlobalFlags,
  ) {}

  get json(): boolean {
    return Boolean(this.flags.json);
  }

  get api(): AdminApi {
    if (!this.#api) {
      const settings = resolveSettings(this.flags, this.io.env);
      if (decideTransport(settings).insecure) {
        this.io.err.write(`drydock: WARNING: --insecure: the bearer token is sent to ${settings.address} without TLS; anyone on the path can read and reuse it\n`);
      }
      this.#api = new AdminApi(settings);
    }
    return this.#api;
  }

  /** Address for error advice, without failing if settings are broken. */
  get address(): string {
    try {
      return this.#api?.settings.address ?? resolveSettings(this.flags, this.io.env).address;
    } catch {
      return this.flags.address ?? DEFAULT_ADDRESS;
    }
  }

  get timeoutMs(): number {
    return this.#api?.settings.timeoutMs ?? 30_000;
  }

  get tls(): boolean {
    return Boolean(this.#api?.settings.caFile);
  }

  print(text: string): void {
    this.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The proto object, 2-space indented, keys in proto field order. */
  printJson(value: unknown): void {
    this.io.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Human text, or the object itself with --json. */
  show(value: unknown, human: () => string): void {
    if (this.json) this.printJson(value);
    else this.print(human());
  }

  close(): void {
    this.#api?.close();
  }
}

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

  /** Wraps an action: context, error mapping, exit code. */
  const act =
    <A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<ExitCode | void>, errorContext: Ctx['errorContext'] = {}) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const ctx = new Ctx(io, cmd.optsWithGlobals<GlobalFlags>());
      ctx.errorContext = errorContext;
      try {
        result.exitCode = (await fn(ctx, ...(args.slice(0, -1) as A))) ?? EXIT.OK;
      } catch (err) {
        const report = describeError(err, { ...ctx.errorContext, address: ctx.address, timeoutMs: ctx.timeoutMs, tls: ctx.tls });
        io.err.write(`${report.line}\n`);
        result.exitCode = report.exitCode;
      } finally {
        ctx.close();
      }
    };

  // ------------------------------------------------------------ zones
  program
    .command('zones')
    .description('list compute zones')
    .action(
      act(async (ctx) => {
        const res = await ctx.api.call('ListZones', {});
        ctx.show(res, () => zonesTable(res.zones));
      }),
    );

  const zone = program.command('zone').description('show, create and change a compute zone');
  zone
    .command('show')
    .argument('<zone>', 'zone id')
    .description('show a zone with its policy and CPU model')
    .action(
      act(async (ctx, id: string) => {
        const z = await ctx.api.call('GetZone', { zone_id: id });
        ctx.show(z, () => zoneView(z, Date.now()));
      }, { listHint: 'drydock zones' }),
    );

  const withPolicyFlags = (c: Command): Command => {
    for (const [flags, help] of POLICY_FLAG_HELP) c.option(flags, help);
    c.option('--allow-post-copy', 'let stalled migrations switch to post-copy').option('--no-allow-post-copy', 'never use post-copy (default)');
    c.option('--allow-auto-converge', 'let migrations throttle the guest CPU').option('--no-allow-auto-converge', 'never auto-converge (default)');
    return c;
  };

  withPolicyFlags(
    zone
      .command('create')
      .argument('<zone>', 'zone id: [a-z0-9][a-z0-9-]{0,62}')
      .description('create a compute zone')
      .option('--name <name>', 'display name (default: the id)')
      .option('--description <text>', 'free text')
      .option('--cpu-mode <mode>', 'default, extended or passthrough', 'default'),
  ).action(
    act(async (ctx, id: string, opts: PolicyFlags & { name?: string; description?: string; cpuMode: string }) => {
      const z = await ctx.api.call('CreateZone', {
        zone_id: id,
        name: opts.name ?? id,
        description: opts.description ?? '',
        cpu_mode: parseCpuMode(opts.cpuMode),
        policy: applyPolicyFlags(emptyPolicy(), opts),
      });
      ctx.show(z, () => `zone ${z.id} created\n\n${zoneView(z, Date.now())}`);
    }),
  );

  withPolicyFlags(
    zone
      .command('update')
      .argument('<zone>', 'zone id')
      .description('change a zone: name, description, CPU mode, extra CPU flags, policy')
      .option('--name <name>', 'display name')
      .option('--description <text>', 'free text')
      .option('--cpu-mode <mode>', 'default, extended or passthrough')
      .option('--extra-cpu-features <flags>', 'EXTENDED: operator-added CPU flags, comma-separated ("" clears them)'),
  ).action(
    act(
      async (ctx, id: string, opts: PolicyFlags & { name?: string; description?: string; cpuMode?: string; extraCpuFeatures?: string }) => {
        const req: UpdateZoneRequest__Input = { zone_id: id };
        if (opts.name !== undefined) req.name = opts.name;
        if (opts.description !== undefined) req.description = opts.description;
        if (opts.cpuMode !== undefined) req.cpu_mode = parseCpuMode(opts.cpuMode);
        if (opts.extraCpuFeatures !== undefined) {
          req.extra_cpu_features = parseList(opts.extraCpuFeatures);
          req.set_extra_cpu_features = true;
        }
        if (hasPolicyFlags(opts)) {
          // The API replaces the whole policy: start from what the operator
          // set (not the effective one, or every default would be stored as
          // chosen and no longer follow the coordinator's defaults).
          const current = await ctx.api.call('GetZone', { zone_id: id });
          req.policy = applyPolicyFlags(current.policy_set ?? current.policy ?? emptyPolicy(), opts);
        }
        if (Object.keys(req).length === 1) throw usageError('nothing to change', `pass at least one of --name, --description, --cpu-mode, --extra-cpu-features or a policy flag (drydock zone update --help)`);
        const z = await ctx.api.call('UpdateZone', req);
        ctx.show(z, () => `zone ${z.id} updated\n\n${zoneView(z, Date.now())}`);
      },
      { listHint: 'drydock zones' },
    ),
  );

  zone
    .command('cpu')
    .argument('<zone>', 'zone id')
    .description("show the zone's CPU baseline, its history and advice")
    .option('--recompute', 'recompute the baseline now (lowers it if needed)')
    .option('--allow-upgrade', 'with --recompute: also allow raising the zone model')
    .action(
      act(
        async (ctx, id: string, opts: { recompute?: boolean; allowUpgrade?: boolean }) => {
          if (opts.allowUpgrade && !opts.recompute) throw usageError('--allow-upgrade only applies with --recompute', `run 'drydock zone cpu ${id} --recompute --allow-upgrade'`);
          const c = opts.recompute
            ? await ctx.api.call('RecomputeZoneCpu', { zone_id: id, allow_upgrade: Boolean(opts.allowUpgrade) })
            : await ctx.api.call('GetZoneCpu', { zone_id: id });
          ctx.show(c, () => zoneCpuView(c, Date.now()));
        },
        { listHint: 'drydock zones' },
      ),
    );

  // ------------------------------------------------------------ hosts
  program
    .command('hosts')
    .description('list hosts (compute resources)')
    .option('--zone <zone>', 'only hosts of this zone')
    .action(
      act(async (ctx, opts: { zone?: string }) => {
        const res = await listAllHosts(ctx.api, { zone_id: opts.zone ?? '' });
        ctx.show(res, () => hostsTable(res.hosts, Date.now()));
      }, { listHint: 'drydock zones' }),
    );

  const host = program.command('host').description('show a host; set its Enabled switch, zone, storage cluster, label');
  host
    .command('show')
    .argument('<host>', 'host id')
    .description('show a host, its CPU against the zone, and why it is not a target')
    .action(
      act(async (ctx, id: string) => {
        const h = await ctx.api.call('GetHost', { host_id: id });
        ctx.show(h, () => hostView(h, Date.now()));
      }, { listHint: 'drydock hosts' }),
    );

  const setEnabled = (enabled: boolean) =>
    act(
      async (ctx, id: string) => {
        const h = await ctx.api.call('UpdateHost', { host_id: id, enabled });
        ctx.show(h, () =>
          enabled
            ? `host ${h.id} enabled: servers may be installed, booted and migrated onto it`
            : `host ${h.id} disabled: nothing is installed, booted or migrated onto it; its ${h.server_count} server(s) keep running there.\n` +
              `This is not maintenance. To move its servers away: drydock maintenance enable ${h.id} --confirm`,
        );
      },
      { listHint: 'drydock hosts' },
    );
  host
    .command('enable')
    .argument('<host>', 'host id')
    .description('turn the Enabled switch on: the host may receive servers again (not maintenance)')
    .action(setEnabled(true));
  host
    .command('disable')
    .argument('<host>', 'host id')
    .description('turn the Enabled switch off: the host receives no servers; running ones stay (not maintenance)')
    .action(setEnabled(false));
  host
    .command('set')
    .argument('<host>', 'host id')
    .description("change a host's zone, storage cluster or label")
    .option('--zone <zone>', 'move the host to this zone')
    .option('--storage-cluster <id>', 'vStorage / integrated storage cluster ("" = none)')
    .option('--label <text>', 'free-text label')
    .action(
      act(
        async (ctx, id: string, opts: { zone?: string; storageCluster?: string; label?: string }) => {
          const req: UpdateHostRequest__Input = { host_id: id };
          if (opts.zone !== undefined) req.zone_id = opts.zone;
          if (opts.storageCluster !== undefined) req.storage_cluster = opts.storageCluster;
          if (opts.label !== undefined) req.label = opts.label;
          if (Object.keys(req).length === 1) throw usageError('nothing to change', 'pass --zone, --storage-cluster and/or --label');
          const h = await ctx.api.call('UpdateHost', req);
          ctx.show(h, () => `host ${h.id} updated\n\n${hostView(h, Date.now())}`);
        },
        { listHint: 'drydock hosts' },
      ),
    );

  // ------------------------------------------------------------ servers
  const servers = program
    .command('servers')
    .description('list virtual servers; `servers return` moves them back after maintenance')
    .option('--host <host>', 'only servers on this host')
    .option('--zone <zone>', 'only servers in this zone')
    .action(
      act(async (ctx, opts: { host?: string; zone?: string }) => {
        const res = await listAllServers(ctx.api, { host_id: opts.host ?? '', zone_id: opts.zone ?? '' });
        ctx.show(res, () => serversTable(res.servers));
      }, { listHint: 'drydock hosts' }),
    );

  const followFlags = (c: Command): Command =>
    c
      .option('--wait', 'follow the operation to its end (default on a terminal)')
      .addOption(new Option('--detach', 'print the operation and return at once').conflicts('wait'));

  /** Follows an operation in the mode stdout calls for; resolves to the exit code. */
  const followById = async (ctx: Ctx, id: string): Promise<ExitCode> => {
    const mode: FollowMode = ctx.json ? 'json' : ctx.io.out.isTTY ? 'bars' : 'lines';
    ctx.errorContext = { ...ctx.errorContext, listHint: 'drydock ops list' };
    const res = await followOperation({ api: ctx.api, operationId: id, mode, out: ctx.io.out, err: ctx.io.err, signal: ctx.io.interrupt });
    return res.exitCode;
  };

  /** After a call that started an operation: follow it, or print it and return. */
  const startOperation = async (ctx: Ctx, op: Operation, opts: { wait?: boolean; detach?: boolean }): Promise<ExitCode> => {
    const follow = opts.wait || (!opts.detach && Boolean(ctx.io.out.isTTY) && !ctx.json);
    if (!follow) {
      ctx.show(op, () => `operation ${op.id} started: ${kindLabel(op.kind)} of ${op.host_id} (${stateLabel(op.state)})\nfollow it: drydock ops watch ${op.id}`);
      return EXIT.OK;
    }
    return followById(ctx, op.id);
  };

  followFlags(
    servers
      .command('return')
      .argument('<host>', 'the host the servers were moved away from')
      .argument('[uuids...]', 'only these servers (default: all the last maintenance moved away)')
      .description('move the servers a maintenance moved away back to their host'),
  ).action(
    act(
      async (ctx, hostId: string, uuids: string[], opts: { wait?: boolean; detach?: boolean }) => {
        const op = await ctx.api.call('ReturnServers', { host_id: hostId, server_uuids: uuids });
        return startOperation(ctx, op, opts);
      },
      { listHint: 'drydock hosts', preconditionHint: 'check the host is back in service (drydock host show) and the servers were moved away by its last maintenance' },
    ),
  );

  program
    .command('server')
    .description('change a virtual server')
    .command('set')
    .argument('<uuid>', 'server uuid')
    .description('set how a server may move: hot migration, smart')
    .option('--hot-migration', 'move it live')
    .option('--no-hot-migration', 'move it cold (shut down, move, start)')
    .option('--smart', 'a smart server (always moves cold)')
    .option('--no-smart', 'not a smart server')
    .action(
      act(
        async (ctx, uuid: string, opts: { hotMigration?: boolean; smart?: boolean }) => {
          if (opts.hotMigration === undefined && opts.smart === undefined) {
            throw usageError('nothing to change', 'pass --hot-migration/--no-hot-migration and/or --smart/--no-smart');
          }
          const s = await ctx.api.call('UpdateServer', { uuid, hot_migration: opts.hotMigration, smart: opts.smart });
          ctx.show(s, () => `server ${s.name || s.uuid} updated: hot migration ${s.hot_migration ? 'on' : 'off'}, smart ${s.smart ? 'on' : 'off'}\n\n${serversTable([s])}`);
        },
        { listHint: 'drydock servers' },
      ),
    );

  // ------------------------------------------------------------ maintenance
  const maintenance = program.command('maintenance').description('plan, enable and disable maintenance mode of a host');
  maintenance
    .command('plan')
    .argument('<host>', 'host id')
    .description('dry run: what enabling maintenance would do now (changes nothing)')
    .option('--explain', 'show every candidate target and the checks that ruled it out')
    .action(
      act(async (ctx, hostId: string, opts: { explain?: boolean }) => {
        const plan = await ctx.api.call('PlanMaintenance', { host_id: hostId });
        ctx.show(plan, () => planView(plan, Boolean(opts.explain)));
      }, { listHint: 'drydock hosts' }),
    );

  followFlags(
    maintenance
      .command('enable')
      .argument('<host>', 'host id')
      .description('drain the host: move its servers to other hosts of the zone, then mark it in maintenance')
      .option('--confirm', 'required: you confirm the host is to be drained')
      .option('--stop-unmigratable', 'stop servers that fit nowhere (without it, any such server refuses the whole request)'),
  ).action(
    act(
      async (ctx, hostId: string, opts: { confirm?: boolean; stopUnmigratable?: boolean; wait?: boolean; detach?: boolean }) => {
        if (!opts.confirm) {
          throw new CliError(
            `refusing to enable maintenance on ${hostId} without --confirm`,
            `review 'drydock maintenance plan ${hostId}', then re-run with --confirm (add --stop-unmigratable to stop servers that cannot move)`,
            EXIT.REFUSED,
          );
        }
        const op = await ctx.api.call('EnableMaintenance', { host_id: hostId, confirm: true, stop_unmigratable: Boolean(opts.stopUnmigratable) });
        return startOperation(ctx, op, opts);
      },
      {
        listHint: 'drydock hosts',
        preconditionHint: `see 'drydock maintenance plan <host> --explain'; add --stop-unmigratable to stop servers that cannot move`,
      },
    ),
  );

  followFlags(
    maintenance
      .command('disable')
      .argument('<host>', 'host id')
      .description('reboot the host, wait until it is healthy, and return it to service (servers do not move back)')
      .option('--skip-reboot', 'the host was already rebooted by hand'),
  ).action(
    act(
      async (ctx, hostId: string, opts: { skipReboot?: boolean; wait?: boolean; detach?: boolean }) => {
        const op = await ctx.api.call('DisableMaintenance', { host_id: hostId, skip_reboot: Boolean(opts.skipReboot) });
        return startOperation(ctx, op, opts);
      },
      { listHint: 'drydock hosts', preconditionHint: `check the host's maintenance state with 'drydock host show <host>'` },
    ),
  );

  // ------------------------------------------------------------ operations
  const ops = program.command('ops').description('list, show, follow and cancel maintenance operations');
  ops
    .command('list')
    .description('list operations, newest first')
    .option('--host <host>', 'only operations on this host')
    .option('--active', 'only operations not yet finished')
    .option('--limit <n>', 'at most this many', (v) => {
      if (!/^\d+$/.test(v)) throw usageError(`--limit ${JSON.stringify(v)} is not a whole number`, 'pass e.g. --limit 20');
      return Number(v);
    })
    .action(
      act(async (ctx, opts: { host?: string; active?: boolean; limit?: number }) => {
        const res = await ctx.api.call('ListOperations', { host_id: opts.host ?? '', active_only: Boolean(opts.active), limit: opts.limit ?? 0 });
        ctx.show(res, () => operationsTable(res.operations, Date.now()));
      }, { listHint: 'drydock hosts' }),
    );
  ops
    .command('show')
    .argument('<operation>', 'operation id')
    .description('show an operation with its per-server steps')
    .action(
      act(async (ctx, id: string) => {
        const op = await ctx.api.call('GetOperation', { operation_id: id });
        ctx.show(op, () => operationView(op, Date.now()));
      }, { listHint: 'drydock ops list' }),
    );
  ops
    .command('watch')
    .argument('<operation>', 'operation id')
    .description('follow an operation: progress bars on a terminal, one line per event otherwise; Ctrl-C detaches')
    .action(act(async (ctx, id: string) => followById(ctx, id), { listHint: 'drydock ops list' }));
  ops
    .command('cancel')
    .argument('<operation>', 'operation id')
    .description('cancel an operation: the running migration is aborted, the server stays where it is')
    .option('--reason <text>', 'recorded with the cancellation')
    .action(
      act(
        async (ctx, id: string, opts: { reason?: string }) => {
          const op = await ctx.api.call('CancelOperation', { operation_id: id, reason: opts.reason ?? '' });
          ctx.show(op, () => `operation ${op.id} ${stateLabel(op.state)}${op.reason ? `: ${op.reason}` : ''}\nthe host stays excluded from placement until you decide (drydock maintenance enable|disable ${op.host_id})`);
        },
        { listHint: 'drydock ops list', preconditionHint: 'the operation has already finished (drydock ops show <id>)' },
      ),
    );

  // ------------------------------------------------------------ offline
  program
    .command('snapshot')
    .description('write an inventory snapshot (zones, hosts, servers) for offline planning')
    .option('-o, --output <file>', 'write here instead of stdout')
    .action(act(async (ctx, opts: { output?: string }) => snapshotCommand(ctx, opts)));

  program
    .command('plan')
    .description('plan a maintenance offline from a snapshot file (no coordinator needed)')
    .requiredOption('--snapshot <file>', 'inventory snapshot (from drydock snapshot)')
    .requiredOption('--host <host>', 'the host to plan maintenance for')
    .option('--stop-unmigratable', 'plan as enable --stop-unmigratable would (servers that fit nowhere are stopped)')
    .option('--explain', 'show every candidate target and its checks')
    .action(act(async (ctx, opts: { snapshot: string; host: string; explain?: boolean; stopUnmigratable?: boolean }) => offlinePlanCommand(ctx, opts)));

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
