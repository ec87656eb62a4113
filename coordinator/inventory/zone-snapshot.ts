// The placement input of one drain step: what the planner looks at to place
// a server of one host, and nothing more. Every zone and host (a few
// thousand small records; the planner names hosts of other zones in its
// reasons) but only the servers of the hosts in the source's zone, taken
// from the read model's index by host. A whole-inventory snapshot per
// migration cost 40-65 ms at 500 servers and grew with the inventory.
import type { HostRecord, InventorySnapshot, ServerRecord, ZoneRecord } from '../model.ts';
import type { Versioned } from '../store/repository.ts';
import type { HostLiveness } from './liveness.ts';

/** What the read model offers (coordinator/reads/read-model.ts). */
export interface ZoneSnapshotSource {
  zones: { values(): IterableIterator<Versioned<ZoneRecord>> };
  hosts: { values(): IterableIterator<Versioned<HostRecord>>; get(key: string): Versioned<HostRecord> | undefined };
  servers: { readonly revision: number };
  serversOfHost(hostId: string, after: string, limit: number): Versioned<ServerRecord>[];
}

export interface ZoneSnapshot {
  snapshot: InventorySnapshot;
  /**
   * The servers bucket revision the snapshot reflects: every server write
   * at or below it is in. A caller that released a reservation after a
   * write above it must take another (the move is in neither).
   */
  serversRevision: number;
}

type Live = (hostId: string, nowMs: number) => (HostLiveness & { online: boolean }) | null;
type WithLiveness = (h: HostRecord, l: (HostLiveness & { online: boolean }) | null) => InventorySnapshot['hosts'][number];

/**
 * Built synchronously from the read model as it stands (the caller syncs it
 * first). Copies: the snapshot is the caller's to keep. Key order, as
 * Inventory.snapshot() gives it.
 */
export function buildZoneSnapshot(r: ZoneSnapshotSource, sourceHostId: string, live: Live, withLiveness: WithLiveness, nowMs: number): ZoneSnapshot {
  const zoneId = r.hosts.get(sourceHostId)?.value.zoneId ?? '';
  const byKey = <T>(a: Versioned<T>, b: Versioned<T>) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const zones = [...r.zones.values()].sort(byKey).map((z) => structuredClone(z.value));
  const hosts = [...r.hosts.values()].sort(byKey);
  const stored: ServerRecord[] = [];
  for (const h of hosts) {
    // A host without a zone has no zone-mates: only its own servers count.
    if (h.key !== sourceHostId && (zoneId === '' || h.value.zoneId !== zoneId)) continue;
    for (const s of r.serversOfHost(h.key, '', Number.MAX_SAFE_INTEGER)) stored.push(s.value);
  }
  stored.sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  // One clone of them all: a structuredClone call per record was the largest
  // item of a 500-server drain's coordinator CPU at limit 1 (one snapshot per step).
  const servers = structuredClone(stored);
  return {
    snapshot: {
      takenAtMs: nowMs,
      zones,
      hosts: hosts.map((h) => withLiveness(structuredClone(h.value), live(h.key, nowMs))),
      servers,
    },
    serversRevision: r.servers.revision,
  };
}
