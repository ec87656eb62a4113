// `drydock ops list|show|watch|cancel`.
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import { usageError } from '../exit.ts';
import { operationView, operationsTable } from '../render.ts';
import { stateLabel } from '../operation-view.ts';
import { followById } from './operation-start.ts';
import { listAllOperations } from '../pages.ts';

export function registerOpsCommands(program: Command, act: Act): void {
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
      act(
        async (ctx, opts: { host?: string; active?: boolean; limit?: number }) => {
          const res = await listAllOperations(ctx.api, { host_id: opts.host ?? '', active_only: Boolean(opts.active), limit: opts.limit ?? 0 });
          ctx.show(res, () => operationsTable(res.operations, Date.now()));
        },
        { listHint: 'drydock hosts' },
      ),
    );
  ops
    .command('show')
    .argument('<operation>', 'operation id')
    .description('show an operation with its per-server steps')
    .action(
      act(
        async (ctx, id: string) => {
          const op = await ctx.api.call('GetOperation', { operation_id: id });
          ctx.show(op, () => operationView(op, Date.now()));
        },
        { listHint: 'drydock ops list' },
      ),
    );
  ops
    .command('watch')
    .argument('<operation>', 'operation id')
    .description('follow an operation: progress bars on a terminal, one line per event otherwise; Ctrl-C detaches')
    .action(act(async (ctx, id: string) => followById(ctx, id), { listHint: 'drydock ops list' }));
  registerOpsCancel(ops, act);
}

function registerOpsCancel(ops: Command, act: Act): void {
  ops
    .command('cancel')
    .argument('<operation>', 'operation id')
    .description('cancel an operation: the running migration is aborted, the server stays where it is')
    .option('--reason <text>', 'recorded with the cancellation')
    .action(
      act(
        async (ctx, id: string, opts: { reason?: string }) => {
          const op = await ctx.api.call('CancelOperation', { operation_id: id, reason: opts.reason ?? '' });
          ctx.show(
            op,
            () =>
              `operation ${op.id} ${stateLabel(op.state)}${op.reason ? `: ${op.reason}` : ''}\nthe host stays excluded from placement until you decide (drydock maintenance enable|disable ${op.host_id})`,
          );
        },
        { listHint: 'drydock ops list', preconditionHint: 'the operation has already finished (drydock ops show <id>)' },
      ),
    );
}
