// Hosts register themselves: the facts an agent reports become its host
// record. Pure functions; the inventory applies them with CAS.
//
// Agent-owned fields (identity, endpoint, CPU, memory, versions, pools) follow
// the facts; operator-owned fields (zone, enabled, storage cluster once set,
// label) and maintenance state are never touched here.
import type { HostFacts } from '../../common/generated/drydock/agent/v1/HostFacts.ts';
import { isValidId } from '../ids.ts';
import { grpcEndpointProblem, libvirtUriProblem } from '../../common/uri.ts';
import type { HostRecord } from '../model.ts';

/** Facts as they arrive on NATS (JSON, proto field names); anything may be missing. */
export type FactsMessage = Partial<HostFacts> & { host_id: string };

export function isFactsMessage(x: unknown): x is FactsMessage {
  const m = x as Partial<HostFacts> | null;
  return !!m && typeof m === 'object' && typeof m.host_id === 'string' && isValidId(m.host_id);
}

/**
 * Why these facts must not become a host record, or '' if they may. The
 * migration URI reaches `virsh` on other hosts (as root) and the endpoint is
 * dialled by the coordinator, so a host that reports an unacceptable one
 * (common/uri.ts) is not registered and its record is not updated.
 */
export function factsProblem(f: FactsMessage): string {
  const uri = libvirtUriProblem(f.migration_uri);
  if (uri) return `migration_uri: ${uri}`;
  const ep = grpcEndpointProblem(f.grpc_endpoint);
  if (ep) return `grpc_endpoint: ${ep}`;
  if (f.storage_cluster !== undefined && f.storage_cluster !== '' && !(typeof f.storage_cluster === 'string' && isValidId(f.storage_cluster))) {
    return 'storage_cluster: not an id';
  }
  return '';
}

function agentFields(
  f: FactsMessage,
  nowMs: number,
): Omit<HostRecord, 'id' | 'zoneId' | 'label' | 'enabled' | 'storageCluster' | 'maintenance' | 'maintenanceOpId' | 'registeredAtMs'> {
  return {
    hostname: f.hostname ?? f.host_id,
    hypervisorType: f.hypervisor_type ?? '',
    grpcEndpoint: f.grpc_endpoint ?? '',
    migrationUri: f.migration_uri ?? '',
    incarnation: f.incarnation ?? '',
    bootId: f.boot_id ?? '',
    cpu: {
      arch: f.cpu?.arch ?? '',
      vendor: f.cpu?.vendor ?? '',
      model: f.cpu?.model ?? '',
      features: [...(f.cpu?.features ?? [])],
      disabled_features: [...(f.cpu?.disabled_features ?? [])],
      xml: f.cpu?.xml ?? '',
    },
    topology: {
      sockets: f.topology?.sockets ?? 0,
      cores_per_socket: f.topology?.cores_per_socket ?? 0,
      threads_per_core: f.topology?.threads_per_core ?? 0,
      logical_cpus: f.topology?.logical_cpus ?? 0,
    },
    memoryTotalBytes: Number(f.memory_total_bytes ?? 0),
    memoryFreeBytes: Number(f.memory_free_bytes ?? 0),
    storagePools: (f.storage_pools ?? []).map((p) => ({
      name: p.name ?? '',
      type: p.type ?? '',
      path: p.path ?? '',
      shared: Boolean(p.shared),
      active: Boolean(p.active),
      capacity_bytes: Number(p.capacity_bytes ?? 0),
      available_bytes: Number(p.available_bytes ?? 0),
    })),
    libvirtVersion: f.libvirt_version ?? '',
    qemuVersion: f.qemu_version ?? '',
    factsAtMs: nowMs,
  };
}

/** Fields that change on every report; alone they do not justify a write. */
const VOLATILE: (keyof HostRecord)[] = ['factsAtMs', 'memoryFreeBytes'];

/**
 * The host record after `facts`, or undefined when nothing that matters
 * changed (free memory and the facts time alone are not worth a KV write:
 * heartbeats carry free memory, kept in memory).
 */
export function applyFacts(current: HostRecord | null, facts: FactsMessage, nowMs: number): HostRecord | undefined {
  const fields = agentFields(facts, nowMs);
  if (!current) {
    return {
      id: facts.host_id,
      zoneId: '',
      label: '',
      enabled: true,
      // The agent's config may name the storage cluster; the operator can change it.
      storageCluster: facts.storage_cluster ?? '',
      maintenance: 'none',
      maintenanceOpId: '',
      registeredAtMs: nowMs,
      ...fields,
    };
  }
  const next: HostRecord = { ...current, ...fields };
  const differs = (Object.keys(fields) as (keyof typeof fields)[]).some((k) => !VOLATILE.includes(k) && JSON.stringify(current[k]) !== JSON.stringify(next[k]));
  return differs ? next : undefined;
}
