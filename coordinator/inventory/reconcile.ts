// What the server records should become, given what agents report now.
// Pure: the inventory applies the result with CAS writes.
//
// Rules (a missed event must never leave a lie, and no step may lose or
// duplicate a server):
//  - reported, no record → create;
//  - reported by its recorded host → refresh the agent-owned fields;
//  - reported by another host → move the record there, unless an operation
//    owns the server (the maintenance engine moves it on completion) — and
//    during a migration both hosts may list it: the running copy wins;
//  - not reported by any host that answered, and its recorded host answered
//    → delete (gone behind our back). A record whose host did not answer is
//    kept: silence is not absence.
import type { Server as AgentServer } from '../../common/generated/drydock/agent/v1/Server.ts';
import { serverFromAgent, type ServerRecord } from '../model.ts';
import { isUuid } from '../../common/names.ts';

export type ServerChange =
  | { kind: 'create'; record: ServerRecord }
  | { kind: 'update'; uuid: string; hostId: string; report: AgentServer }
  | { kind: 'delete'; uuid: string; hostId: string };

/**
 * The servers of an agent's report that can name a record: a uuid (any
 * case, as libvirt may print it) keyed in lower case, as records are. An
 * entry with another uuid spelling must not open a second record of one
 * server beside the one its host holds.
 */
export function wellFormedReport(reported: AgentServer[]): AgentServer[] {
  return reported.filter((s) => typeof s?.uuid === 'string' && isUuid(s.uuid)).map((s) => ({ ...s, uuid: s.uuid.toLowerCase() }));
}

const isRunning = (s: AgentServer) => s.state === 'SERVER_STATE_RUNNING' || s.state === 'SERVER_STATE_PAUSED';

/** The record after an agent report, or undefined if nothing changed. */
export function mergeReport(cur: ServerRecord, hostId: string, s: AgentServer, nowMs: number): ServerRecord | undefined {
  const fresh = serverFromAgent(hostId, s, nowMs);
  const next: ServerRecord = {
    ...cur,
    name: fresh.name,
    hostId,
    state: fresh.state,
    vcpus: fresh.vcpus,
    memoryBytes: fresh.memoryBytes,
    disks: fresh.disks,
    cpu: fresh.cpu,
    domainType: fresh.domainType,
    // Operator settings win once made; before that the domain XML's metadata seeds them.
    hotMigration: cur.flagsSetByOperator ? cur.hotMigration : fresh.hotMigration,
    smart: cur.flagsSetByOperator ? cur.smart : fresh.smart,
  };
  const { updatedAtMs: _a, ...a } = cur;
  const { updatedAtMs: _b, ...b } = next;
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  next.updatedAtMs = nowMs;
  return next;
}

/** Changes after one host's report (events, registration): never deletes. */
export function syncOneHost(hostId: string, reported: AgentServer[], records: Map<string, ServerRecord>, nowMs: number): ServerChange[] {
  const out: ServerChange[] = [];
  for (const s of reported) {
    const cur = records.get(s.uuid);
    if (!cur) {
      out.push({ kind: 'create', record: serverFromAgent(hostId, s, nowMs) });
    } else if (cur.hostId === hostId) {
      if (mergeReport(cur, hostId, s, nowMs)) out.push({ kind: 'update', uuid: s.uuid, hostId, report: s });
    } else if (!cur.operationId && (isRunning(s) || cur.state !== 'running')) {
      // Seen elsewhere, running here (or not running anywhere we know): it moved.
      out.push({ kind: 'update', uuid: s.uuid, hostId, report: s });
    }
  }
  return out;
}

/**
 * Changes after a full pass: `reports` holds the hosts that answered
 * (hostId → their servers).
 */
export function syncAllHosts(reports: Map<string, AgentServer[]>, records: Map<string, ServerRecord>, nowMs: number): ServerChange[] {
  const seenOn = new Map<string, { hostId: string; s: AgentServer }[]>();
  for (const [hostId, list] of reports) {
    for (const s of list) {
      const arr = seenOn.get(s.uuid) ?? [];
      arr.push({ hostId, s });
      seenOn.set(s.uuid, arr);
    }
  }
  const out: ServerChange[] = [];
  for (const [uuid, where] of seenOn) {
    const cur = records.get(uuid);
    const owner = pickOwner(where, cur);
    if (!cur) {
      out.push({ kind: 'create', record: serverFromAgent(owner.hostId, owner.s, nowMs) });
      continue;
    }
    if (cur.hostId !== owner.hostId && cur.operationId) continue;
    if (mergeReport(cur, owner.hostId, owner.s, nowMs)) out.push({ kind: 'update', uuid, hostId: owner.hostId, report: owner.s });
  }
  for (const [uuid, cur] of records) {
    if (!seenOn.has(uuid) && reports.has(cur.hostId) && !cur.operationId) out.push({ kind: 'delete', uuid, hostId: cur.hostId });
  }
  return out;
}

function pickOwner(where: { hostId: string; s: AgentServer }[], cur: ServerRecord | undefined): { hostId: string; s: AgentServer } {
  if (where.length === 1) return where[0]!;
  const running = where.filter((w) => isRunning(w.s));
  const pool = running.length > 0 ? running : where;
  return pool.find((w) => w.hostId === cur?.hostId) ?? [...pool].sort((a, b) => (a.hostId < b.hostId ? -1 : 1))[0]!;
}
