// `drydock snapshot` and `drydock plan --snapshot`: the inventory as a file
// (coordinator/planner's snapshot format), and the same planner run on it
// offline, with no coordinator, for what-if questions and change reviews.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Ctx } from './program.ts';
import { CliError, EXIT, type ExitCode } from './exit.ts';
import { formatPlan, parseSnapshot, planMaintenance, serializeSnapshot } from '../coordinator/planner/index.ts';
import { planToProto } from '../coordinator/planner/to-proto.ts';
import { policyFromProto } from '../coordinator/admin/convert.ts';
import type { CpuMode, InventorySnapshot, MaintenanceState, ServerRecord, ZoneRecord } from '../coordinator/model.ts';
import type { Zone } from '../common/generated/drydock/admin/v1/Zone.ts';
import type { Host } from '../common/generated/drydock/admin/v1/Host.ts';
import type { Server } from '../common/generated/drydock/admin/v1/Server.ts';
import { listAllHosts, listAllServers } from './pages.ts';

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
        ? h.storage_pools.map((p) => ({ name: p.name, type: p.type, path: p.path, shared: p.shared, active: p.active, capacity_bytes: Number(p.capacity_bytes), available_bytes: Number(p.available_bytes) }))
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
      target: d.target, path: d.path, pool: d.pool, shared: d.shared, capacity_bytes: Number(d.capacity_bytes), allocation_bytes: Number(d.allocation_bytes), format: d.format, type: d.type, readonly: d.readonly,
    }));
  }
  const disks: ServerRecord['disks'] = [];
  if (s.local_disk_bytes > 0) {
    disks.push({ target: 'local', path: '', capacity_bytes: s.local_disk_bytes, allocation_bytes: s.local_disk_bytes, pool: '', shared: false, format: '', type: 'file', readonly: false });
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

export async function snapshotCommand(ctx: Ctx, opts: { output?: string }): Promise<ExitCode> {
  const takenAtMs = Date.now();
  const [zones, hosts, servers] = await Promise.all([
    ctx.api.call('ListZones', {}),
    listAllHosts(ctx.api, { zone_id: '' }),
    listAllServers(ctx.api, { host_id: '', zone_id: '' }),
  ]);
  const snapshot: InventorySnapshot = {
    takenAtMs,
    zones: zones.zones.map(zoneRecordFromProto),
    hosts: hosts.hosts.map(hostRecordFromProto),
    // A server whose host is not listed (mid-registration) would make the file invalid.
    servers: servers.servers.filter((s) => hosts.hosts.some((h) => h.id === s.host_id)).map(serverRecordFromProto),
  };
  const text = serializeSnapshot(snapshot);
  parseSnapshot(text); // what we write must read back
  if (!opts.output || opts.output === '-') {
    ctx.io.out.write(text);
  } else {
    // Write then rename: an interrupted run never leaves half a file.
    const tmp = path.join(path.dirname(opts.output), `.${path.basename(opts.output)}.${process.pid}.tmp`);
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, opts.output);
    ctx.io.err.write(`wrote ${opts.output}: ${snapshot.zones.length} zone(s), ${snapshot.hosts.length} host(s), ${snapshot.servers.length} server(s)\n`);
  }
  // An older coordinator sends no pools: say what that means for local disks.
  const poolless = hosts.hosts.filter((h) => !(h.storage_pools?.length > 0)).map((h) => h.id);
  if (poolless.length > 0 && snapshot.servers.some((s) => s.disks.some((d) => !d.shared))) {
    ctx.io.err.write(
      `note: host(s) ${poolless.join(', ')} list no storage pools (an older coordinator does not send them); offline plans block servers with local disks unless you add storagePools to those hosts in the file\n`,
    );
  }
  return EXIT.OK;
}

export async function offlinePlanCommand(
  ctx: Ctx,
  opts: { snapshot: string; host: string; explain?: boolean; stopUnmigratable?: boolean },
): Promise<ExitCode> {
  let text: string;
  try {
    text = readFileSync(opts.snapshot, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${opts.snapshot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, "check the path; 'drydock snapshot -o FILE' writes one", EXIT.USAGE);
  }
  let snapshot: InventorySnapshot;
  try {
    snapshot = parseSnapshot(text);
  } catch (err) {
    throw new CliError(`${opts.snapshot}: ${(err as Error).message}`, 'fix the field named above, or take a fresh one with drydock snapshot', EXIT.USAGE);
  }
  if (!snapshot.hosts.some((h) => h.id === opts.host)) {
    const known = snapshot.hosts.map((h) => h.id).slice(0, 10).join(', ');
    throw new CliError(`host ${JSON.stringify(opts.host)} is not in ${opts.snapshot}`, `pick one of: ${known || '(the file has no hosts)'}`, EXIT.NOT_FOUND);
  }
  const plan = planMaintenance(snapshot, { hostId: opts.host, stopUnmigratable: Boolean(opts.stopUnmigratable) });
  ctx.show(planToProto(plan), () => formatPlan(plan, { candidates: Boolean(opts.explain) }));
  return EXIT.OK;
}
