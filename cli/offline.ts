// `drydock snapshot` and `drydock plan --snapshot`: the inventory as a file,
// and the planner run on it offline.
import type { Ctx } from './program.ts';
import { CliError, EXIT, type ExitCode } from './exit.ts';

export async function snapshotCommand(_ctx: Ctx, _opts: { output?: string }): Promise<ExitCode> {
  throw new CliError('snapshots are not available in this build', 'coordinator/planner/snapshot-file.ts has not landed yet', EXIT.SERVER_ERROR);
}

export async function offlinePlanCommand(_ctx: Ctx, _opts: { snapshot: string; host: string; explain?: boolean }): Promise<ExitCode> {
  throw new CliError('offline planning is not available in this build', 'coordinator/planner/snapshot-file.ts has not landed yet', EXIT.SERVER_ERROR);
}
