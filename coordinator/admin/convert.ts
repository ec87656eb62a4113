// Stored records → admin proto messages, in this one place (and the few
// request → record conversions of operator input). Enum strings, snake_case
// fields and millisecond numbers as common/proto.ts loads them.
import type { Zone__Input } from '../../common/generated/drydock/admin/v1/Zone.ts';
import type { ZonePolicy, ZonePolicy__Input } from '../../common/generated/drydock/admin/v1/ZonePolicy.ts';
import type { ZoneCpu__Input } from '../../common/generated/drydock/admin/v1/ZoneCpu.ts';
import type { Host__Input } from '../../common/generated/drydock/admin/v1/Host.ts';
import type { HostCpuView__Input } from '../../common/generated/drydock/admin/v1/HostCpuView.ts';
import type { Server__Input } from '../../common/generated/drydock/admin/v1/Server.ts';
import type { CpuMode as ProtoCpuMode } from '../../common/generated/drydock/admin/v1/CpuMode.ts';
import type { MaintenanceState as ProtoMaintenance } from '../../common/generated/drydock/admin/v1/MaintenanceState.ts';
import {
  localDiskBytes,
  resolvePolicy,
  type CpuMode,
  type HostRecord,
  type MaintenanceState,
  type ServerRecord,
  type ZonePolicy as ModelPolicy,
  type ZoneRecord,
} from '../model.ts';
import { notATargetBecause } from '../eligibility.ts';
import { zoneHostCpuView } from '../zone-cpu/host-view.ts';

export const cpuModeToProto = (m: CpuMode): ProtoCpuMode => `CPU_MODE_${m}` as ProtoCpuMode;

const MAINTENANCE: Record<MaintenanceState, ProtoMaintenance> = {
  none: 'MAINTENANCE_STATE_NONE',
  entering: 'MAINTENANCE_STATE_ENTERING',
  in_maintenance: 'MAINTENANCE_STATE_IN_MAINTENANCE',
  returning: 'MAINTENANCE_STATE_RETURNING',
};
export const maintenanceToProto = (m: MaintenanceState): ProtoMaintenance => MAINTENANCE[m] ?? 'MAINTENANCE_STATE_UNSPECIFIED';

/** The effective policy (defaults applied): what the operator sees. */
export function policyToProto(p: Partial<ModelPolicy>): ZonePolicy__Input {
  return policySetToProto(resolvePolicy(p));
}

/** The stored policy as set: 0 / false / UNSPECIFIED where the default applies. */
export function policySetToProto(p: Partial<ModelPolicy>): ZonePolicy__Input {
  return {
    placement: p.placement ? `PLACEMENT_POLICY_${p.placement}` : 'PLACEMENT_POLICY_UNSPECIFIED',
    max_migrations_per_source: p.maxMigrationsPerSource ?? 0,
    max_migrations_per_zone: p.maxMigrationsPerZone ?? 0,
    max_incoming_per_target: p.maxIncomingPerTarget ?? 0,
    stall_timeout_s: p.stallTimeoutS ?? 0,
    timeout_per_gib_s: p.timeoutPerGibS ?? 0,
    min_timeout_s: p.minTimeoutS ?? 0,
    allow_post_copy: p.allowPostCopy ?? false,
    allow_auto_converge: p.allowAutoConverge ?? false,
    cpu_overcommit_ratio: p.cpuOvercommitRatio ?? 0,
    host_memory_reserve_bytes: p.hostMemoryReserveBytes ?? 0,
    max_attempts_per_server: p.maxAttemptsPerServer ?? 0,
    settle_pause_s: p.settlePauseS ?? 0,
  };
}

/**
 * Operator input → stored policy: only fields set (non-zero) are kept, so
 * later changes of the coordinator defaults still reach unset fields.
 * Booleans are kept only when true for the same reason.
 */
export function policyFromProto(p: ZonePolicy): Partial<ModelPolicy> {
  const out: Partial<ModelPolicy> = {};
  if (p.placement === 'PLACEMENT_POLICY_SPREAD' || p.placement === 'PLACEMENT_POLICY_PACK')
    out.placement = p.placement === 'PLACEMENT_POLICY_SPREAD' ? 'SPREAD' : 'PACK';
  const nums: [keyof ZonePolicy, keyof ModelPolicy][] = [
    ['max_migrations_per_source', 'maxMigrationsPerSource'],
    ['max_migrations_per_zone', 'maxMigrationsPerZone'],
    ['max_incoming_per_target', 'maxIncomingPerTarget'],
    ['stall_timeout_s', 'stallTimeoutS'],
    ['timeout_per_gib_s', 'timeoutPerGibS'],
    ['min_timeout_s', 'minTimeoutS'],
    ['cpu_overcommit_ratio', 'cpuOvercommitRatio'],
    ['host_memory_reserve_bytes', 'hostMemoryReserveBytes'],
    ['max_attempts_per_server', 'maxAttemptsPerServer'],
    ['settle_pause_s', 'settlePauseS'],
  ];
  for (const [pk, mk] of nums) {
    const v = Number(p[pk]);
    if (v) (out as Record<string, unknown>)[mk] = v;
  }
  if (p.allow_post_copy) out.allowPostCopy = true;
  if (p.allow_auto_converge) out.allowAutoConverge = true;
  return out;
}

export function zoneCpuToProto(z: ZoneRecord): ZoneCpu__Input {
  return {
    zone_id: z.id,
    mode: cpuModeToProto(z.cpuMode),
    model: z.cpu.model,
    vendor: z.cpu.vendor,
    features: z.cpu.features,
    extra_features: z.cpu.extraFeatures,
    xml: z.cpu.xml,
    history: z.cpu.history.map((h) => ({
      at_ms: h.atMs,
      from_model: h.fromModel,
      to_model: h.toModel,
      features_lost: h.featuresLost,
      features_gained: h.featuresGained,
      cause_host_id: h.causeHostId,
      reason: h.reason,
      message: h.message,
      servers_needing_power_cycle: h.serversNeedingPowerCycle ?? [],
    })),
    advice: z.cpu.advice,
    mismatched_hosts: z.cpu.mismatchedHosts,
    servers_needing_power_cycle: [],
    updated_at_ms: z.cpu.updatedAtMs,
  };
}

export function zoneToProto(z: ZoneRecord, hostIds: string[]): Zone__Input {
  return {
    id: z.id,
    name: z.name,
    description: z.description,
    cpu_mode: cpuModeToProto(z.cpuMode),
    policy: policyToProto(z.policy),
    policy_set: policySetToProto(z.policy),
    cpu: zoneCpuToProto(z),
    host_ids: [...hostIds].sort(),
    created_at_ms: z.createdAtMs,
    updated_at_ms: z.updatedAtMs,
  };
}

/**
 * The host CPU against its zone: the zone CPU work's view, from libvirt's
 * CompareCpu answers and expanded flag lists stored with the zone record
 * (coordinator/zone-cpu/host-view.ts).
 */
export function hostCpuView(h: HostRecord, zone: ZoneRecord | null): HostCpuView__Input {
  return zoneHostCpuView(h, zone);
}

export interface HostView {
  host: HostRecord;
  /** Free memory to show when fresher than the record's (a heartbeat's); passed apart so the record is not copied. */
  memoryFreeBytes?: number;
  zone: ZoneRecord | null;
  online: boolean;
  lastHeartbeatMs: number;
  serverCount: number;
}

export function hostToProto(v: HostView): Host__Input {
  const h = v.host;
  const cpu = hostCpuView(h, v.zone);
  return {
    id: h.id,
    hostname: h.hostname,
    zone_id: h.zoneId,
    label: h.label,
    enabled: h.enabled,
    storage_cluster: h.storageCluster,
    hypervisor_type: h.hypervisorType,
    grpc_endpoint: h.grpcEndpoint,
    migration_uri: h.migrationUri,
    online: v.online,
    last_heartbeat_ms: v.lastHeartbeatMs,
    incarnation: h.incarnation,
    boot_id: h.bootId,
    maintenance: maintenanceToProto(h.maintenance),
    maintenance_operation_id: h.maintenanceOpId,
    memory_total_bytes: h.memoryTotalBytes,
    memory_free_bytes: v.memoryFreeBytes ?? h.memoryFreeBytes,
    logical_cpus: h.topology.logical_cpus,
    server_count: v.serverCount,
    cpu,
    storage_pools_shared: h.storagePools.filter((p) => p.shared).map((p) => p.name),
    libvirt_version: h.libvirtVersion,
    qemu_version: h.qemuVersion,
    registered_at_ms: h.registeredAtMs,
    // The five fields it reads, not a copy of the whole record ({ ...h }): a ListHosts page renders 500.
    not_a_target_because: notATargetBecause(
      { enabled: h.enabled, online: v.online, maintenance: h.maintenance, zoneId: h.zoneId, hypervisorType: h.hypervisorType },
      cpu.compatible ?? true,
    ),
    storage_pools: h.storagePools.map((p) => ({
      name: p.name,
      type: p.type,
      path: p.path,
      shared: p.shared,
      active: p.active,
      capacity_bytes: p.capacity_bytes,
      available_bytes: p.available_bytes,
    })),
  };
}

export function serverToProto(s: ServerRecord): Server__Input {
  return {
    uuid: s.uuid,
    name: s.name,
    host_id: s.hostId,
    state: s.state,
    vcpus: s.vcpus,
    memory_bytes: s.memoryBytes,
    local_disk_bytes: localDiskBytes(s),
    shared_pools: [...new Set(s.disks.filter((d) => d.shared && d.pool).map((d) => d.pool))].sort(),
    hot_migration: s.hotMigration,
    smart: s.smart,
    cpu_mode: s.cpu.mode,
    cpu_model: s.cpu.model,
    updated_at_ms: s.updatedAtMs,
    operation_id: s.operationId,
    disks: s.disks.map((d) => ({
      target: d.target,
      path: d.path,
      pool: d.pool,
      shared: d.shared,
      capacity_bytes: d.capacity_bytes,
      allocation_bytes: d.allocation_bytes,
      format: d.format,
      type: d.type,
      readonly: d.readonly,
    })),
  };
}
