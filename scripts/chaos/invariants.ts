// The invariants a chaos trial ends with, checked against what the
// hypervisors themselves say (not what the coordinator believes): pure
// functions of a state snapshot, so a test can feed them a broken world and
// see each violation reported (test/chaos.test.ts).

/** What the hypervisors hold at the end of a trial. */
export interface SimState {
  hosts: {
    hostId: string;
    memoryTotalBytes: number;
    logicalCpus: number;
    servers: { uuid: string; name: string; state: string; memoryBytes: number; vcpus: number }[];
  }[];
  /** Every migration a hypervisor started, in start order. */
  starts: { uuid: string; from: string; to: string; mode: string; startedAtMs: number; result: string }[];
  /** Every migration record of every agent (what the coordinator's migration ids became). */
  agentMigrations: { migrationId: string; serverUuid: string; sourceHostId: string; startedAtMs: number; finishedAtMs: number }[];
}

export interface Expectations {
  /** Every server the world started with and the power state it must still have. */
  servers: { uuid: string; name: string; state: string }[];
  /** Hosts no expected server may be on, and why. */
  forbidden: { hostId: string; reason: string }[];
  /** The zone's host reserve and vCPU overcommit (the planner's capacity rules). */
  memoryReserveBytes: number;
  cpuOvercommitRatio: number;
  /** Hosts whose capacity is not the planner's business (the source holds what it held). */
  capacityExempt: string[];
}

/** An operation as the admin API returns it. */
export interface OperationView {
  id: string;
  state: string;
  reason: string;
}

export interface Violation {
  invariant:
    | 'exactly-one-host'
    | 'lost'
    | 'power-state'
    | 'capacity'
    | 'forbidden-host'
    | 'operation-unfinished'
    | 'migration-started-twice'
    | 'moved-twice'
    | 'unattributed-migration'
    // admin-fuzz: a request answered with the wrong code, the coordinator gone, a KV key changed by a refused request.
    | 'wrong-code'
    | 'crash'
    | 'state-changed';
  detail: string;
}

const FINISHED = new Set(['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_CANCELLED']);

export function checkInvariants(state: SimState, exp: Expectations, operations: OperationView[]): Violation[] {
  const out: Violation[] = [];
  const where = new Map<string, { hostId: string; state: string }[]>();
  for (const h of state.hosts) {
    for (const s of h.servers) {
      const list = where.get(s.uuid) ?? [];
      list.push({ hostId: h.hostId, state: s.state });
      where.set(s.uuid, list);
    }
  }
  const expected = new Map(exp.servers.map((s) => [s.uuid, s]));
  for (const s of exp.servers) {
    const on = where.get(s.uuid) ?? [];
    if (on.length === 0) {
      out.push({ invariant: 'lost', detail: `${s.name} (${s.uuid}) is defined on no host` });
      continue;
    }
    if (on.length > 1)
      out.push({
        invariant: 'exactly-one-host',
        detail: `${s.name} is defined on ${on.length} hosts: ${on.map((o) => `${o.hostId} (${o.state})`).join(', ')}`,
      });
    const running = on.filter((o) => o.state === 'SERVER_STATE_RUNNING');
    if (running.length > 1)
      out.push({ invariant: 'exactly-one-host', detail: `${s.name} runs on ${running.length} hosts: ${running.map((o) => o.hostId).join(', ')}` });
    if (on.length === 1 && on[0]!.state !== s.state)
      out.push({ invariant: 'power-state', detail: `${s.name} is ${on[0]!.state} on ${on[0]!.hostId}, expected ${s.state}` });
    for (const f of exp.forbidden) {
      if (on.some((o) => o.hostId === f.hostId)) out.push({ invariant: 'forbidden-host', detail: `${s.name} is on ${f.hostId}, which is ${f.reason}` });
    }
  }
  for (const [uuid, on] of where) {
    if (!expected.has(uuid) && on.length > 1)
      out.push({ invariant: 'exactly-one-host', detail: `unknown server ${uuid} is defined on ${on.map((o) => o.hostId).join(', ')}` });
  }

  for (const h of state.hosts) {
    if (exp.capacityExempt.includes(h.hostId)) continue;
    // Every defined server counts (shut-off ones start again), as the planner counts them.
    const mem = h.servers.reduce((a, s) => a + s.memoryBytes, 0);
    const limit = h.memoryTotalBytes - exp.memoryReserveBytes;
    if (mem > limit)
      out.push({
        invariant: 'capacity',
        detail: `${h.hostId} holds ${mem} bytes of server memory, more than ${limit} (total ${h.memoryTotalBytes} − reserve ${exp.memoryReserveBytes})`,
      });
    const vcpus = h.servers.reduce((a, s) => a + s.vcpus, 0);
    const vlimit = Math.floor(h.logicalCpus * exp.cpuOvercommitRatio);
    if (vcpus > vlimit) out.push({ invariant: 'capacity', detail: `${h.hostId} holds ${vcpus} vCPUs, more than ${vlimit}` });
  }

  for (const op of operations) {
    if (FINISHED.has(op.state)) continue;
    if (op.state === 'OPERATION_STATE_PAUSED' && op.reason.trim()) continue;
    out.push({ invariant: 'operation-unfinished', detail: `operation ${op.id} is ${op.state}${op.reason ? ` (${op.reason})` : ' without a reason'}` });
  }

  out.push(...checkMigrationStarts(state));
  return out;
}

/**
 * Each hypervisor migration is attributed to the agent migration id that was
 * running for that server on that source when it started (an agent runs one
 * migration of a server at a time, so the window is unambiguous). A
 * migration id with two starts was replayed; a start no id covers was not
 * driven by a persisted migration; a server with two completed moves moved
 * twice.
 */
export function checkMigrationStarts(state: SimState): Violation[] {
  const out: Violation[] = [];
  const perId = new Map<string, number>();
  for (const s of state.starts) {
    const owners = state.agentMigrations.filter(
      (m) => m.serverUuid === s.uuid && m.sourceHostId === s.from && m.startedAtMs <= s.startedAtMs && (m.finishedAtMs <= 0 || s.startedAtMs <= m.finishedAtMs),
    );
    if (owners.length === 0) {
      out.push({
        invariant: 'unattributed-migration',
        detail: `${s.mode} migration of ${s.uuid} ${s.from} → ${s.to} at ${s.startedAtMs} has no agent migration record`,
      });
      continue;
    }
    // The latest-started owner is the one running then (earlier ones finished before it began).
    const owner = owners.reduce((a, b) => (b.startedAtMs > a.startedAtMs ? b : a));
    perId.set(owner.migrationId, (perId.get(owner.migrationId) ?? 0) + 1);
  }
  for (const [id, n] of perId)
    if (n > 1) out.push({ invariant: 'migration-started-twice', detail: `migration id ${id} started ${n} times in the hypervisors` });
  const completed = new Map<string, number>();
  for (const s of state.starts) if (s.result === 'completed') completed.set(s.uuid, (completed.get(s.uuid) ?? 0) + 1);
  for (const [uuid, n] of completed) if (n > 1) out.push({ invariant: 'moved-twice', detail: `server ${uuid} completed ${n} migrations in one trial` });
  return out;
}
