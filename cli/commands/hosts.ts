// `drydock hosts` and `drydock host show|enable|disable|set`.
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import { usageError } from '../exit.ts';
import { hostView, hostsTable } from '../render.ts';
import type { UpdateHostRequest__Input } from '../../common/generated/drydock/admin/v1/UpdateHostRequest.ts';
import { listAllHosts } from '../pages.ts';

export function registerHostCommands(program: Command, act: Act): void {
  program
    .command('hosts')
    .description('list hosts (compute resources)')
    .option('--zone <zone>', 'only hosts of this zone')
    .action(
      act(
        async (ctx, opts: { zone?: string }) => {
          const res = await listAllHosts(ctx.api, { zone_id: opts.zone ?? '' });
          ctx.show(res, () => hostsTable(res.hosts, Date.now()));
        },
        { listHint: 'drydock zones' },
      ),
    );

  const host = program.command('host').description('show a host; set its Enabled switch, zone, storage cluster, label');
  host
    .command('show')
    .argument('<host>', 'host id')
    .description('show a host, its CPU against the zone, and why it is not a target')
    .action(
      act(
        async (ctx, id: string) => {
          const h = await ctx.api.call('GetHost', { host_id: id });
          ctx.show(h, () => hostView(h, Date.now()));
        },
        { listHint: 'drydock hosts' },
      ),
    );
  registerHostEnabled(host, act);
  registerHostSet(host, act);
}

/** `host enable` and `host disable`: the Enabled switch, which is not maintenance. */
function registerHostEnabled(host: Command, act: Act): void {
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
}

function registerHostSet(host: Command, act: Act): void {
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
}
