// The admin API's zones, hosts and servers as the records of an inventory
// snapshot (coordinator/planner's snapshot format), for `drydock snapshot`
// (commands/snapshot.ts). Older coordinators send less: hostRecordFromProto
// and disksFromProto say how the gaps are filled.
import { policyFromProto } from '../coordinator/admin/convert.ts';
import type { CpuMode, InventorySnapshot, MaintenanceState, ServerRecord, ZoneRecord } from '../coordinator/model.ts';
import type { Zone } from '../common/generated/drydock/admin/v1/Zone.ts';
import type { Host } from '../common/generated/drydock/admin/v1/Host.ts';
import type { Server } from '../common/generated/drydock/admin/v1/Server.ts';

const MAINTENANCE: Record<string, MaintenanceState> = {
  MAINTENANCE_STATE_NONE: 'none',
  MAINTENANCE_STATE_ENTERING: 'entering',
  MAINTENANCE_STATE_IN_MAINTENANCE: 'in_maintenance',
  MAINTENANCE_STATE_RETURNING: 'returning',
};

function cpuMode(m: string): CpuMode {
  const short = m.replace(/^CPU_MODE_/, '');
  return short === 'EXTENDED' || short === 'PASSTHROUGH' ? short : 'DEFAULT';
}

export function zoneRecordFromProto(z: Zone): ZoneRecord {
  const c = z.cpu;
  return {
    id: z.id,
    name: z.name,
    description: z.description,
    cpuMode: cpuMode(z.cpu_mode),
    policy: z.policy ? policyFromProto(z.policy) : {},
    cpu: {
      model: c?.model ?? '',
      vendor: c?.vendor ?? '',
      features: c?.features ?? [],
      extraFeatures: c?.extra_features ?? [],
      xml: c?.xml ?? '',
      history: (c?.history ?? []).map((h) => ({
        atMs: h.at_ms,
        fromModel: h.from_model,
        toModel: h.to_model,
        featuresLost: h.features_lost,
        featuresGained: h.features_gained,
        causeHostId: h.cause_host_id,
        reason: h.reason as ZoneRecord['cpu']['history'][number]['reason'],
        message: h.message,
        serversNeedingPowerCycle: h.servers_needing_power_cycle ?? [],
      })),
      advice: c?.advice ?? [],
      mismatchedHosts: c?.mismatched_hosts ?? [],
      updatedAtMs: c?.updated_at_ms ?? 0,
    },
    createdAtMs: z.created_at_ms,
    updatedAtMs: z.updated_at_ms,
  };
}

/**
 * Hosts carry every pool (storage_pools). An older coordinator lists shared
 * pools by name only: then they stand in as active, with no capacity figure
 * (the planner only checks their reach), and local pools are unknown.
 */
export function hostRecordFromProto(h: Host): InventorySnapshot['hosts'][number] {
  return {
    id: h.id,
    hostname: h.hostname,
    zoneId: h.zone_id,
    label: h.label,
    enabled: h.enabled,
    storageCluster: h.storage_cluster,
    hypervisorType: h.hypervisor_type,
    grpcEndpoint: h.grpc_endpoint,
    migrationUri: h.migration_uri,
    incarnation: h.incarnation,
    bootId: h.boot_id,
    cpu: { arch: '', vendor: h.cpu?.vendor ?? '', model: h.cpu?.model ?? '', features: h.cpu?.host_flags ?? [], disabled_features: [], xml: '' },
    topology: { sockets: 0, cores_per_socket: 0, threads_per_core: 0, logical_cpus: h.logical_cpus },
    memoryTotalBytes: h.memory_total_bytes,
    memoryFreeBytes: h.memory_free_bytes,
    storagePools:
      h.storage_pools?.length > 0
        ? h.storage_pools.map((p) => ({
            name: p.name,
            type: p.type,
            path: p.path,
            shared: p.shared,
            active: p.active,
            capacity_bytes: Number(p.capacity_bytes),
            available_bytes: Number(p.available_bytes),
          }))
        : h.storage_pools_shared.map((name) => ({ name, type: 'shared', path: '', shared: true, active: true, capacity_bytes: 0, available_bytes: 0 })),
    libvirtVersion: h.libvirt_version,
    qemuVersion: h.qemu_version,
    maintenance: MAINTENANCE[h.maintenance] ?? 'none',
    maintenanceOpId: h.maintenance_operation_id,
    registeredAtMs: h.registered_at_ms,
    factsAtMs: h.last_heartbeat_ms,
    online: h.online,
    lastHeartbeatMs: h.last_heartbeat_ms,
  };
}

/**
 * The server's disks as reported. An older coordinator only summarises them:
 * one local disk of the local bytes, one shared disk per shared pool.
 */
function disksFromProto(s: Server): ServerRecord['disks'] {
  if (s.disks?.length > 0) {
    return s.disks.map((d) => ({
      target: d.target,
      path: d.path,
      pool: d.pool,
      shared: d.shared,
      capacity_bytes: Number(d.capacity_bytes),
      allocation_bytes: Number(d.allocation_bytes),
      format: d.format,
      type: d.type,
      readonly: d.readonly,
    }));
  }
  const disks: ServerRecord['disks'] = [];
  if (s.local_disk_bytes > 0) {
    disks.push({
      target: 'local',
      path: '',
      capacity_bytes: s.local_disk_bytes,
      allocation_bytes: s.local_disk_bytes,
      pool: '',
      shared: false,
      format: '',
      type: 'file',
      readonly: false,
    });
  }
  for (const pool of s.shared_pools) {
    disks.push({ target: `shared:${pool}`, path: '', capacity_bytes: 0, allocation_bytes: 0, pool, shared: true, format: '', type: 'file', readonly: false });
  }
  return disks;
}

export function serverRecordFromProto(s: Server): ServerRecord {
  const disks = disksFromProto(s);
  return {
    uuid: s.uuid,
    name: s.name,
    hostId: s.host_id,
    state: s.state,
    vcpus: s.vcpus,
    memoryBytes: s.memory_bytes,
    disks,
    cpu: { mode: s.cpu_mode, model: s.cpu_model, features: [], xml: '' },
    domainType: 'kvm',
    hotMigration: s.hot_migration,
    smart: s.smart,
    flagsSetByOperator: false,
    operationId: s.operation_id,
    updatedAtMs: s.updated_at_ms,
  };
}
