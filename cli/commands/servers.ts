// `drydock servers`, `drydock servers return` and `drydock server set`.
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import { usageError } from '../exit.ts';
import { serversTable } from '../render.ts';
import { startOperation, withFollowFlags } from './operation-start.ts';
import { listAllServers } from '../pages.ts';

export function registerServerCommands(program: Command, act: Act): void {
  const servers = program
    .command('servers')
    .description('list virtual servers; `servers return` moves them back after maintenance')
    .option('--host <host>', 'only servers on this host')
    .option('--zone <zone>', 'only servers in this zone')
    .action(
      act(
        async (ctx, opts: { host?: string; zone?: string }) => {
          const res = await listAllServers(ctx.api, { host_id: opts.host ?? '', zone_id: opts.zone ?? '' });
          ctx.show(res, () => serversTable(res.servers));
        },
        { listHint: 'drydock hosts' },
      ),
    );

  withFollowFlags(
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
      {
        listHint: 'drydock hosts',
        preconditionHint: 'check the host is back in service (drydock host show) and the servers were moved away by its last maintenance',
      },
    ),
  );

  registerServerSet(program, act);
}

function registerServerSet(program: Command, act: Act): void {
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
          ctx.show(
            s,
            () =>
              `server ${s.name || s.uuid} updated: hot migration ${s.hot_migration ? 'on' : 'off'}, smart ${s.smart ? 'on' : 'off'}\n\n${serversTable([s])}`,
          );
        },
        { listHint: 'drydock servers' },
      ),
    );
}
