// `drydock maintenance plan|enable|disable`.
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import { CliError, EXIT } from '../exit.ts';
import { planView } from '../render.ts';
import { startOperation, withFollowFlags } from './operation-start.ts';

export function registerMaintenanceCommands(program: Command, act: Act): void {
  const maintenance = program.command('maintenance').description('plan, enable and disable maintenance mode of a host');
  maintenance
    .command('plan')
    .argument('<host>', 'host id')
    .description('dry run: what enabling maintenance would do now (changes nothing)')
    .option('--explain', 'show every candidate target and the checks that ruled it out')
    .action(
      act(
        async (ctx, hostId: string, opts: { explain?: boolean }) => {
          const plan = await ctx.api.call('PlanMaintenance', { host_id: hostId });
          ctx.show(plan, () => planView(plan, Boolean(opts.explain)));
        },
        { listHint: 'drydock hosts' },
      ),
    );
  registerMaintenanceEnable(maintenance, act);
  registerMaintenanceDisable(maintenance, act);
}

function registerMaintenanceEnable(maintenance: Command, act: Act): void {
  withFollowFlags(
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
}

function registerMaintenanceDisable(maintenance: Command, act: Act): void {
  withFollowFlags(
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
}
