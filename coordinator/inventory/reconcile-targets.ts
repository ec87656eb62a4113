// Which agents a reconcile pass asks for their servers. Asking every online
// host every 30 s cost 5,000 gRPC calls per pass at 5,000 hosts, a channel
// kept open to every agent (hundreds of MB resident) and a walk of every
// server record. Instead a pass asks:
//   - the hosts not registered as they heartbeat (no record, or another
//     incarnation or endpoint: their facts were missed);
//   - the hosts whose heartbeat digest of their servers (uuids and states,
//     common/servers-digest.ts) differs from the same digest of their records,
//     or that send none (older agents): something changed that the events did
//     not bring, or has not been applied yet;
//   - the hosts a move must hear from (another host reports a server recorded
//     on them: a host speaks only for itself, docs/design.md invariant 8);
//   - and, oldest first, enough of the others that every online host is asked
//     at least every fullEveryMs (what a digest does not cover: names, sizes,
//     disks; and a digest that agrees by accident).
// The records compared and changed are those of the hosts asked (and of the
// servers they report), from the read model, not a copy of every record.
import type { Server as AgentServer } from '../../common/generated/drydock/agent/v1/Server.ts';
import { serversDigest } from '../../common/servers-digest.ts';
import type { ReadModel } from '../reads/read-model.ts';
import type { ServerRecord } from '../model.ts';
import type { ServerChange } from './reconcile.ts';

export interface OnlineHost {
  hostId: string;
  /** The digest of its last heartbeat ("" = none sent). */
  digest: string;
  /** Its record is missing, or holds another incarnation or endpoint than its heartbeat (facts missed): asked every pass until registered. */
  unregistered?: boolean;
}

export type VersionedRecords = Map<string, { value: ServerRecord; revision: number }>;

export class ReconcileTargets {
  /** Online host → when its listing was last applied (ms); hosts that go offline are dropped. */
  private readonly checkedAt = new Map<string, number>();
  /** Hosts the next pass asks whatever their digest. */
  private readonly required = new Set<string>();
  /** Hosts owed to the full-period share, carried between passes. */
  private credit = 0;

  constructor(private readonly fullEveryMs: number) {}

  /**
   * The hosts this pass asks, of `online`, for passes every intervalMs.
   * `recordsDigest` gives the digest of a host's records now. A `busy` host
   * is being asked already (its facts, heartbeat or events started a sync
   * of its servers): this pass leaves it out, and what it owes (a move
   * waiting for its word, a digest that still differs after that sync)
   * waits for the next. While thousands of agents register, a pass
   * otherwise asked each of them a second time, for the servers its own
   * sync was about to record.
   */
  pick(online: OnlineHost[], recordsDigest: (hostId: string) => string, intervalMs: number, busy: (hostId: string) => boolean = () => false): string[] {
    const ids = new Set(online.map((h) => h.hostId));
    for (const id of this.checkedAt.keys()) if (!ids.has(id)) this.checkedAt.delete(id);
    const out = new Set<string>();
    for (const h of online) {
      if (busy(h.hostId)) continue;
      if (h.unregistered || this.required.has(h.hostId) || !h.digest || h.digest !== recordsDigest(h.hostId)) out.add(h.hostId);
    }
    for (const id of this.required) if (!busy(id)) this.required.delete(id);
    // Fractional shares carry over: 8 hosts with a 10-minute period ask one host every 75 s, not one a pass.
    this.credit += (online.length * intervalMs) / this.fullEveryMs;
    const budget = Math.floor(this.credit + 1e-9);
    this.credit -= budget;
    const rest = online.filter((h) => !out.has(h.hostId) && !busy(h.hostId)).map((h) => ({ id: h.hostId, at: this.checkedAt.get(h.hostId) ?? -1 }));
    rest.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    for (const r of rest.slice(0, budget)) out.add(r.id);
    return [...out].sort();
  }

  /** The hosts whose listing a pass applied at `nowMs`. */
  checked(hostIds: Iterable<string>, nowMs: number): void {
    for (const id of hostIds) this.checkedAt.set(id, nowMs);
  }

  /** The next pass asks this host whatever its digest. */
  require(hostId: string): void {
    this.required.add(hostId);
  }

  get size(): number {
    return this.checkedAt.size;
  }
}

/** The digest of a host's records, as its agent would compute it from its servers. */
export function recordsDigest(reads: ReadModel, hostId: string): string {
  return serversDigest(reads.serversOfHost(hostId, '', Number.MAX_SAFE_INTEGER).map((v) => v.value));
}

/** The records of these hosts' servers with their revisions (read before the agents are asked: CAS deletes use them). */
export function recordsOfHosts(reads: ReadModel, hostIds: Iterable<string>): VersionedRecords {
  const out: VersionedRecords = new Map();
  for (const id of hostIds) for (const v of reads.serversOfHost(id, '', Number.MAX_SAFE_INTEGER)) out.set(v.key, { value: v.value, revision: v.revision });
  return out;
}

/** Adds the records of reported servers recorded elsewhere (moves and create races are decided on them). */
export function addReported(reads: ReadModel, records: VersionedRecords, reports: Map<string, AgentServer[]>): void {
  for (const list of reports.values()) {
    for (const s of list) {
      if (records.has(s.uuid)) continue;
      const v = reads.servers.get(s.uuid);
      if (v) records.set(s.uuid, { value: v.value, revision: v.revision });
    }
  }
}

/**
 * Drops the moves away from a host that is online and was not asked in
 * this pass (it did not get to say whether it still has the server), and
 * has the next pass ask it. Moves from an offline host, or one asked, stand.
 */
export function movesHeardFromBothSides(
  changes: ServerChange[],
  records: VersionedRecords,
  asked: ReadonlySet<string>,
  isOnline: (hostId: string) => boolean,
  targets: ReconcileTargets,
): ServerChange[] {
  return changes.filter((c) => {
    if (c.kind !== 'update') return true;
    const owner = records.get(c.uuid)?.value.hostId;
    if (owner === undefined || owner === c.hostId || asked.has(owner) || !isOnline(owner)) return true;
    targets.require(owner);
    return false;
  });
}
