// `drydock plan --snapshot`: the coordinator's planner run on a snapshot file
// (commands/snapshot.ts), offline, with no coordinator.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import type { Ctx } from '../context.ts';
import { CliError, EXIT, type ExitCode } from '../exit.ts';
import { formatPlan, parseSnapshot, planMaintenance, planToProto } from '../../coordinator/planner/index.ts';
import type { InventorySnapshot } from '../../coordinator/model.ts';

interface PlanOptions {
  snapshot: string;
  host: string;
  explain?: boolean;
  stopUnmigratable?: boolean;
}

export function registerPlanCommand(program: Command, act: Act): void {
  program
    .command('plan')
    .description('plan a maintenance offline from a snapshot file (no coordinator needed)')
    .requiredOption('--snapshot <file>', 'inventory snapshot (from drydock snapshot)')
    .requiredOption('--host <host>', 'the host to plan maintenance for')
    .option('--stop-unmigratable', 'plan as enable --stop-unmigratable would (servers that fit nowhere are stopped)')
    .option('--explain', 'show every candidate target and its checks')
    .action(act(async (ctx, opts: PlanOptions) => offlinePlanCommand(ctx, opts)));
}

async function offlinePlanCommand(ctx: Ctx, opts: PlanOptions): Promise<ExitCode> {
  let text: string;
  try {
    text = readFileSync(opts.snapshot, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${opts.snapshot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "check the path; 'drydock snapshot -o FILE' writes one",
      EXIT.USAGE,
    );
  }
  let snapshot: InventorySnapshot;
  try {
    snapshot = parseSnapshot(text);
  } catch (err) {
    throw new CliError(`${opts.snapshot}: ${(err as Error).message}`, 'fix the field named above, or take a fresh one with drydock snapshot', EXIT.USAGE);
  }
  if (!snapshot.hosts.some((h) => h.id === opts.host)) {
    const known = snapshot.hosts
      .map((h) => h.id)
      .slice(0, 10)
      .join(', ');
    throw new CliError(`host ${JSON.stringify(opts.host)} is not in ${opts.snapshot}`, `pick one of: ${known || '(the file has no hosts)'}`, EXIT.NOT_FOUND);
  }
  const plan = planMaintenance(snapshot, { hostId: opts.host, stopUnmigratable: Boolean(opts.stopUnmigratable) });
  ctx.show(planToProto(plan), () => formatPlan(plan, { candidates: Boolean(opts.explain) }));
  return EXIT.OK;
}
