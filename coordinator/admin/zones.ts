// Admin methods over compute zones: list, get, create, update.
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors.ts';
import type { CreateZoneRequest } from '../../common/generated/drydock/admin/v1/CreateZoneRequest.ts';
import type { GetZoneRequest } from '../../common/generated/drydock/admin/v1/GetZoneRequest.ts';
import type { UpdateZoneRequest } from '../../common/generated/drydock/admin/v1/UpdateZoneRequest.ts';
import type { ZonePolicy } from '../../common/generated/drydock/admin/v1/ZonePolicy.ts';
import type { CpuMode as ProtoCpuMode } from '../../common/generated/drydock/admin/v1/CpuMode.ts';
import { assertZoneId } from '../ids.ts';
import type { CpuMode, HostRecord, ZoneRecord } from '../model.ts';
import { policyFromProto, zoneToProto } from './convert.ts';
import type { AdminDeps, HandlerGroup } from './context.ts';
import { assertRange, assertText, editing, requireNonEmpty } from './validate.ts';

function cpuModeFromProto(field: string, m: ProtoCpuMode | undefined, dflt: CpuMode): CpuMode {
  switch (m) {
    case undefined:
    case 'CPU_MODE_UNSPECIFIED':
      return dflt;
    case 'CPU_MODE_DEFAULT':
      return 'DEFAULT';
    case 'CPU_MODE_EXTENDED':
      return 'EXTENDED';
    case 'CPU_MODE_PASSTHROUGH':
      return 'PASSTHROUGH';
    default:
      throw new InvalidArgumentError(field, `unknown CPU mode ${JSON.stringify(m)}`);
  }
}

/** Bounds that keep a policy sane; docs/design.md §1.3: settle pause 5-10 min. */
export function validatePolicy(p: ZonePolicy): void {
  const f = (k: keyof ZonePolicy) => `policy.${k}`;
  if (!['PLACEMENT_POLICY_UNSPECIFIED', 'PLACEMENT_POLICY_SPREAD', 'PLACEMENT_POLICY_PACK'].includes(p.placement)) {
    throw new InvalidArgumentError(f('placement'), `unknown placement ${JSON.stringify(p.placement)}`);
  }
  assertRange(f('max_migrations_per_source'), p.max_migrations_per_source, 0, 16);
  assertRange(f('max_migrations_per_zone'), p.max_migrations_per_zone, 0, 256);
  assertRange(f('max_incoming_per_target'), p.max_incoming_per_target, 0, 16);
  assertRange(f('stall_timeout_s'), p.stall_timeout_s, 0, 86_400);
  assertRange(f('timeout_per_gib_s'), p.timeout_per_gib_s, 0, 86_400);
  assertRange(f('min_timeout_s'), p.min_timeout_s, 0, 86_400);
  assertRange(f('cpu_overcommit_ratio'), p.cpu_overcommit_ratio, 0, 64);
  assertRange(f('host_memory_reserve_bytes'), Number(p.host_memory_reserve_bytes), 0, 2 ** 50);
  assertRange(f('max_attempts_per_server'), p.max_attempts_per_server, 0, 20);
  if (p.settle_pause_s !== 0) assertRange(f('settle_pause_s'), p.settle_pause_s, 300, 600);
}

function hostIdsByZone(hosts: HostRecord[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const h of hosts) if (h.zoneId) m.set(h.zoneId, [...(m.get(h.zoneId) ?? []), h.id]);
  return m;
}

export function emptyZoneCpu(): ZoneRecord['cpu'] {
  return { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [], updatedAtMs: 0 };
}

export function zoneHandlers(d: AdminDeps): HandlerGroup {
  const zoneHosts = async (zoneId: string, signal: AbortSignal) => (await d.store.hosts.list(signal)).map((h) => h.value).filter((h) => h.zoneId === zoneId);

  return {
    unary: {
      ListZones: async (_req: unknown, ctx) => {
        const [zones, hosts] = await Promise.all([d.store.zones.list(ctx.signal), d.store.hosts.list(ctx.signal)]);
        const byZone = hostIdsByZone(hosts.map((h) => h.value));
        return { zones: zones.map((z) => zoneToProto(z.value, byZone.get(z.key) ?? [])) };
      },

      GetZone: async (req: GetZoneRequest, ctx) => {
        const id = assertZoneId('zone_id', requireNonEmpty('zone_id', req.zone_id));
        const zone = await d.store.zones.require(id, ctx.signal);
        return zoneToProto(
          zone.value,
          (await zoneHosts(id, ctx.signal)).map((h) => h.id),
        );
      },

      CreateZone: async (req: CreateZoneRequest, ctx) => {
        const id = assertZoneId('zone_id', requireNonEmpty('zone_id', req.zone_id));
        const name = assertText('name', req.name || id, 255);
        const description = assertText('description', req.description, 4096);
        const cpuMode = cpuModeFromProto('cpu_mode', req.cpu_mode, 'DEFAULT');
        if (req.policy) validatePolicy(req.policy);
        const now = Date.now();
        const rec: ZoneRecord = {
          id,
          name,
          description,
          cpuMode,
          policy: req.policy ? policyFromProto(req.policy) : {},
          cpu: emptyZoneCpu(),
          createdAtMs: now,
          updatedAtMs: now,
        };
        const created = await d.store.zones.create(id, rec, ctx.signal);
        return zoneToProto(created.value, []);
      },

      UpdateZone: async (req: UpdateZoneRequest, ctx) => {
        const id = assertZoneId('zone_id', requireNonEmpty('zone_id', req.zone_id));
        if (req.name !== undefined) assertText('name', requireNonEmpty('name', req.name), 255);
        if (req.description !== undefined) assertText('description', req.description, 4096);
        const cpuMode = req.cpu_mode === undefined ? undefined : cpuModeFromProto('cpu_mode', req.cpu_mode, 'DEFAULT');
        if (req.cpu_mode === 'CPU_MODE_UNSPECIFIED') throw new InvalidArgumentError('cpu_mode', 'must name a mode when set');
        if (req.policy) validatePolicy(req.policy);
        if (req.set_extra_cpu_features) {
          for (const [i, f] of req.extra_cpu_features.entries()) {
            if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(f))
              throw new InvalidArgumentError(`extra_cpu_features[${i}]`, `${JSON.stringify(f)} is not a CPU feature name`);
          }
        }
        const hosts = await zoneHosts(id, ctx.signal);
        if (cpuMode === 'PASSTHROUGH') {
          // Passthrough gives servers the host CPU as is: only safe to move between identical CPUs.
          const models = new Set(hosts.map((h) => `${h.cpu.vendor}/${h.cpu.model}/${[...h.cpu.features].sort().join(',')}`));
          if (models.size > 1) {
            throw new FailedPreconditionError(
              `zone ${id} has hosts with different CPUs (${[...new Set(hosts.map((h) => h.cpu.model))].join(', ')}): PASSTHROUGH needs identical CPUs`,
            );
          }
        }
        const now = Date.now();
        const res = await d.store.zones.mutate(
          id,
          editing<ZoneRecord>((z) => {
            if (req.name !== undefined) z.name = req.name;
            if (req.description !== undefined) z.description = req.description;
            if (cpuMode !== undefined) z.cpuMode = cpuMode;
            if (req.policy) z.policy = policyFromProto(req.policy);
            if (req.set_extra_cpu_features) z.cpu.extraFeatures = [...new Set(req.extra_cpu_features)].sort();
          }, now),
          ctx.signal,
        );
        return zoneToProto(
          res.value,
          hosts.map((h) => h.id),
        );
      },
    },
  };
}
