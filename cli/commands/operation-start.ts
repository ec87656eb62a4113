// What the commands that start an operation (maintenance enable|disable,
// servers return) and `ops watch` share: the --wait/--detach flags, and
// following an operation in the mode stdout calls for.
import { Option, type Command } from 'commander';
import type { Ctx } from '../context.ts';
import { EXIT, type ExitCode } from '../exit.ts';
import { followOperation, type FollowMode } from '../follow.ts';
import { kindLabel, stateLabel } from '../operation-view.ts';
import type { Operation } from '../../common/generated/drydock/admin/v1/Operation.ts';

export function withFollowFlags(c: Command): Command {
  return c
    .option('--wait', 'follow the operation to its end (default on a terminal)')
    .addOption(new Option('--detach', 'print the operation and return at once').conflicts('wait'));
}

/** Follows an operation in the mode stdout calls for; resolves to the exit code. */
export async function followById(ctx: Ctx, id: string): Promise<ExitCode> {
  const mode: FollowMode = ctx.json ? 'json' : ctx.io.out.isTTY ? 'bars' : 'lines';
  ctx.errorContext = { ...ctx.errorContext, listHint: 'drydock ops list' };
  const res = await followOperation({ api: ctx.api, operationId: id, mode, out: ctx.io.out, err: ctx.io.err, signal: ctx.io.interrupt });
  return res.exitCode;
}

/** After a call that started an operation: follow it, or print it and return. */
export async function startOperation(ctx: Ctx, op: Operation, opts: { wait?: boolean; detach?: boolean }): Promise<ExitCode> {
  const follow = opts.wait || (!opts.detach && Boolean(ctx.io.out.isTTY) && !ctx.json);
  if (!follow) {
    ctx.show(op, () => `operation ${op.id} started: ${kindLabel(op.kind)} of ${op.host_id} (${stateLabel(op.state)})\nfollow it: drydock ops watch ${op.id}`);
    return EXIT.OK;
  }
  return followById(ctx, op.id);
}
