// `drydock zones` and `drydock zone show|create|update|cpu`.
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import { usageError } from '../exit.ts';
import { applyPolicyFlags, emptyPolicy, hasPolicyFlags, parseCpuMode, parseList, POLICY_FLAG_HELP, type PolicyFlags } from '../options.ts';
import { zoneCpuView, zoneView, zonesTable } from '../render.ts';
import type { UpdateZoneRequest__Input } from '../../common/generated/drydock/admin/v1/UpdateZoneRequest.ts';

export function registerZoneCommands(program: Command, act: Act): void {
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
      act(
        async (ctx, id: string) => {
          const z = await ctx.api.call('GetZone', { zone_id: id });
          ctx.show(z, () => zoneView(z, Date.now()));
        },
        { listHint: 'drydock zones' },
      ),
    );
  registerZoneCreate(zone, act);
  registerZoneUpdate(zone, act);
  registerZoneCpu(zone, act);
}

/** The policy flags shared by `zone create` and `zone update`. */
function withPolicyFlags(c: Command): Command {
  for (const [flags, help] of POLICY_FLAG_HELP) c.option(flags, help);
  c.option('--allow-post-copy', 'let stalled migrations switch to post-copy').option('--no-allow-post-copy', 'never use post-copy (default)');
  c.option('--allow-auto-converge', 'let migrations throttle the guest CPU').option('--no-allow-auto-converge', 'never auto-converge (default)');
  return c;
}

function registerZoneCreate(zone: Command, act: Act): void {
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
}

function registerZoneUpdate(zone: Command, act: Act): void {
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
        if (Object.keys(req).length === 1)
          throw usageError(
            'nothing to change',
            `pass at least one of --name, --description, --cpu-mode, --extra-cpu-features or a policy flag (drydock zone update --help)`,
          );
        const z = await ctx.api.call('UpdateZone', req);
        ctx.show(z, () => `zone ${z.id} updated\n\n${zoneView(z, Date.now())}`);
      },
      { listHint: 'drydock zones' },
    ),
  );
}

function registerZoneCpu(zone: Command, act: Act): void {
  zone
    .command('cpu')
    .argument('<zone>', 'zone id')
    .description("show the zone's CPU baseline, its history and advice")
    .option('--recompute', 'recompute the baseline now (lowers it if needed)')
    .option('--allow-upgrade', 'with --recompute: also allow raising the zone model')
    .action(
      act(
        async (ctx, id: string, opts: { recompute?: boolean; allowUpgrade?: boolean }) => {
          if (opts.allowUpgrade && !opts.recompute)
            throw usageError('--allow-upgrade only applies with --recompute', `run 'drydock zone cpu ${id} --recompute --allow-upgrade'`);
          const c = opts.recompute
            ? await ctx.api.call('RecomputeZoneCpu', { zone_id: id, allow_upgrade: Boolean(opts.allowUpgrade) })
            : await ctx.api.call('GetZoneCpu', { zone_id: id });
          ctx.show(c, () => zoneCpuView(c, Date.now()));
        },
        { listHint: 'drydock zones' },
      ),
    );
}
