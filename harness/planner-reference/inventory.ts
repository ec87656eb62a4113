// FROZEN REFERENCE: verbatim copy of coordinator/planner/inventory.ts as of commit 9738019,
// before the planner was optimised. Imported only by tests (test/planner-equivalence.test.ts)
// and bench/planner.ts to prove the optimised planner gives the same answers. Do not edit;
// only the import paths were adjusted to this directory.
// One pass over the snapshot to build the lookups every check needs, so the
// chain (servers × candidates × checks) never rescans the inventory.
import type { InventorySnapshot, ServerRecord, ZoneRecord } from '../../coordinator/model.ts';
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import { cmp } from './compare.ts';
import type { SnapshotHost } from './types.ts';

/** What the servers the snapshot places on a host have been given. */
export interface HostAllocation {
  /** Memory of every server defined on the host, shut-off ones included. */
  memoryBytes: number;
  vcpus: number;
  servers: number;
}

export interface InventoryIndex {
  snapshot: InventorySnapshot;
  hostsById: ReadonlyMap<string, SnapshotHost>;
  zonesById: ReadonlyMap<string, ZoneRecord>;
  /** All hosts, sorted by id: candidate order, hence tie order. */
  hostsSorted: readonly SnapshotHost[];
  allocation: ReadonlyMap<string, HostAllocation>;
  serversByHost: ReadonlyMap<string, readonly ServerRecord[]>;
}

const NO_ALLOCATION: HostAllocation = Object.freeze({ memoryBytes: 0, vcpus: 0, servers: 0 });

export function indexSnapshot(snapshot: InventorySnapshot): InventoryIndex {
  const hostsById = new Map(snapshot.hosts.map((h) => [h.id, h]));
  const zonesById = new Map(snapshot.zones.map((z) => [z.id, z]));
  const allocation = new Map<string, HostAllocation>();
  const serversByHost = new Map<string, ServerRecord[]>();
  for (const s of snapshot.servers) {
    const a = allocation.get(s.hostId) ?? { memoryBytes: 0, vcpus: 0, servers: 0 };
    a.memoryBytes += s.memoryBytes;
    a.vcpus += s.vcpus;
    a.servers += 1;
    allocation.set(s.hostId, a);
    const list = serversByHost.get(s.hostId) ?? [];
    list.push(s);
    serversByHost.set(s.hostId, list);
  }
  const hostsSorted = [...snapshot.hosts].sort((a, b) => cmp(a.id, b.id));
  return { snapshot, hostsById, zonesById, hostsSorted, allocation, serversByHost };
}

export function allocationOf(index: InventoryIndex, hostId: string): HostAllocation {
  return index.allocation.get(hostId) ?? NO_ALLOCATION;
}

/** "kvm" (hardware) and "qemu" (TCG) are both KVM compute resources (agent.proto HostFacts). */
export function isKvmHypervisor(hypervisorType: string): boolean {
  return hypervisorType === 'kvm' || hypervisorType === 'qemu';
}

/** A disk a move must copy: on the source's own storage. */
export function isLocalDisk(d: Disk): boolean {
  return !d.shared && d.type !== 'network';
}

/** Bytes a local disk occupies, counted the way model.ts localDiskBytes counts them. */
export function diskBytes(d: Disk): number {
  return Number(d.allocation_bytes || d.capacity_bytes || 0);
}

/**
 * libvirt states in which the guest is alive (memory in use, a cold move
 * must shut it down and start it again). Unknown states count as active:
 * assuming a guest is off when it is not would lose its power state.
 */
export function isActiveState(state: string): boolean {
  return state !== 'shutoff' && state !== 'crashed';
}
