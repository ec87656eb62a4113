// Property-style: seeded random inventories (hand-rolled PRNG, so a failing
// seed reproduces anywhere), random existing reservations, random requests;
// every plan is checked against docs/design.md invariant 2 by a verifier written
// independently of the planner's own checks.
import test from 'ava';
import type { InventorySnapshot } from '../coordinator/model.ts';
import { resolvePolicy } from '../coordinator/model.ts';
import type { Plan, Reservation } from '../coordinator/planner/index.ts';
import { planMaintenance, GIB, mulberry32, randomSnapshot, shuffle } from '../coordinator/planner/index.ts';

const SEEDS = 150;

function randomReservations(s: InventorySnapshot, rand: () => number): Reservation[] {
  const out: Reservation[] = [];
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const h = s.hosts[Math.floor(rand() * s.hosts.length)]!;
    out.push({
      serverUuid: `ext-${i}`,
      hostId: h.id,
      memoryBytes: Math.floor(rand() * 16) * GIB,
      vcpus: Math.floor(rand() * 8),
      localDisk: rand() < 0.5 ? [{ pool: 'default', bytes: Math.floor(rand() * 100) * GIB }] : [],
      operationId: `op-${i}`,
    });
  }
  return out;
}

function cpuOk(serverUuid: string, hostId: string): boolean {
  let h = 2166136261;
  for (const c of `${serverUuid}/${hostId}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (h >>> 0) % 3 !== 0;
}

/** Returns every violation found (empty = the plan holds the invariants). */
function violations(s: InventorySnapshot, p: Plan, existing: readonly Reservation[], stopUnmigratable: boolean): string[] {
  const bad: string[] = [];
  const source = s.hosts.find((h) => h.id === p.hostId)!;
  const onHost = s.servers.filter((x) => x.hostId === p.hostId);
  const seen = [...p.servers, ...p.blockers].map((x) => x.serverUuid);
  // Every server of the host exactly once across moves, stops and blockers.
  if (seen.length !== new Set(seen).size) bad.push('a server appears twice');
  if (
    [...seen].sort().join() !==
    onHost
      .map((x) => x.uuid)
      .sort()
      .join()
  )
    bad.push('servers missing or foreign');
  if (stopUnmigratable && p.blockers.length > 0) bad.push('blockers with stop_unmigratable');
  if (!stopUnmigratable && p.servers.some((x) => x.action === 'STOP' || x.action === 'NONE')) bad.push('stop without stop_unmigratable');
  if (p.blockers.some((x) => x.targetHostId !== '')) bad.push('a blocker with a target');

  const policy = resolvePolicy(s.zones.find((z) => z.id === source.zoneId)!.policy);
  const moves = p.servers.filter((x) => x.action === 'LIVE_MIGRATE' || x.action === 'COLD_MIGRATE');
  const used = new Map<string, { mem: number; vcpu: number; disk: Map<string, number> }>();
  const add = (hostId: string, mem: number, vcpu: number, disks: { pool: string; bytes: number }[]) => {
    const u = used.get(hostId) ?? { mem: 0, vcpu: 0, disk: new Map() };
    u.mem += mem;
    u.vcpu += vcpu;
    for (const d of disks) u.disk.set(d.pool, (u.disk.get(d.pool) ?? 0) + d.bytes);
    used.set(hostId, u);
  };
  for (const r of existing) if (!onHost.some((x) => x.uuid === r.serverUuid)) add(r.hostId, r.memoryBytes, r.vcpus, r.localDisk);
  for (const m of moves) {
    const server = onHost.find((x) => x.uuid === m.serverUuid)!;
    const target = s.hosts.find((h) => h.id === m.targetHostId);
    if (!target) {
      bad.push(`${m.serverName}: unknown target ${m.targetHostId}`);
      continue;
    }
    const tag = `${m.serverName} → ${target.id}`;
    if (target.id === source.id) bad.push(`${tag}: the source`);
    if (target.zoneId !== source.zoneId) bad.push(`${tag}: other zone`);
    if (target.hypervisorType !== 'kvm' && target.hypervisorType !== 'qemu') bad.push(`${tag}: not KVM`);
    if (server.domainType === 'kvm' && target.hypervisorType !== 'kvm') bad.push(`${tag}: kvm domain on TCG host`);
    if (!target.enabled) bad.push(`${tag}: disabled`);
    if (!target.online) bad.push(`${tag}: offline`);
    if (target.maintenance !== 'none') bad.push(`${tag}: ${target.maintenance}`);
    for (const d of server.disks.filter((x) => x.shared || x.type === 'network')) {
      if (!target.storagePools.some((pl) => pl.shared && pl.active && (pl.name === d.pool || (pl.path && d.path.startsWith(`${pl.path}/`)))))
        bad.push(`${tag}: cannot reach ${d.pool}`);
    }
    const r = p.reservations.find((x) => x.serverUuid === m.serverUuid);
    if (!r || r.hostId !== target.id || r.memoryBytes !== server.memoryBytes) bad.push(`${tag}: reservation missing or wrong`);
    else add(target.id, r.memoryBytes, r.vcpus, r.localDisk);
    const chosen = m.candidates.find((c) => c.hostId === target.id);
    if (!chosen?.eligible) bad.push(`${tag}: chosen candidate not eligible`);
  }
  if (p.reservations.length !== moves.length) bad.push('reservations ≠ moves');
  // Capacity after all reservations: memory (both views, minus the reserve), vCPU, local pools.
  for (const [hostId, u] of used) {
    const h = s.hosts.find((x) => x.id === hostId)!;
    if (!moves.some((m) => m.targetHostId === hostId)) continue;
    const alloc = s.servers.filter((x) => x.hostId === hostId);
    const allocMem = alloc.reduce((a, x) => a + x.memoryBytes, 0);
    const allocCpu = alloc.reduce((a, x) => a + x.vcpus, 0);
    if (allocMem + u.mem > h.memoryTotalBytes - policy.hostMemoryReserveBytes) bad.push(`${hostId}: memory overcommitted (allocation)`);
    if (u.mem > h.memoryFreeBytes - policy.hostMemoryReserveBytes) bad.push(`${hostId}: memory overcommitted (reported free)`);
    if (allocCpu + u.vcpu > Math.floor(h.topology.logical_cpus * policy.cpuOvercommitRatio)) bad.push(`${hostId}: vCPUs overcommitted`);
    const planned = new Set(p.reservations.filter((r) => r.hostId === hostId).flatMap((r) => r.localDisk.filter((d) => d.bytes > 0).map((d) => d.pool)));
    for (const [pool, bytes] of u.disk) {
      if (!planned.has(pool)) continue; // an existing reservation alone may exceed it; the plan added nothing there
      const pl = h.storagePools.find((x) => x.name === pool && !x.shared);
      if (pl && bytes > pl.available_bytes) bad.push(`${hostId}: pool ${pool} overfilled`);
    }
  }
  // Policy: nothing eligible beats the chosen host at the time of choice.
  for (const m of moves) {
    const chosen = m.candidates.find((c) => c.hostId === m.targetHostId)!;
    for (const c of m.candidates.filter((x) => x.eligible && x !== chosen)) {
      const better = policy.placement === 'PACK' ? c.memoryFreeAfterBytes < chosen.memoryFreeAfterBytes : c.memoryFreeAfterBytes > chosen.memoryFreeAfterBytes;
      const tieLost = c.memoryFreeAfterBytes === chosen.memoryFreeAfterBytes && c.hostId < chosen.hostId;
      if (better || tieLost) bad.push(`${m.serverName}: ${c.hostId} should have won over ${chosen.hostId}`);
    }
  }
  // Unplaced servers really had no eligible candidate.
  for (const x of [...p.servers, ...p.blockers].filter((y) => y.targetHostId === '')) {
    if (x.candidates.some((c) => c.eligible)) bad.push(`${x.serverName}: left behind with an eligible candidate`);
  }
  return bad;
}

test(`invariants hold on ${SEEDS} seeded random inventories`, (t) => {
  let moves = 0;
  let stops = 0;
  let blockers = 0;
  let refused = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = mulberry32(seed * 7919);
    const s = randomSnapshot(seed, {
      hosts: 5 + Math.floor(rand() * 25),
      serversPerHost: 1 + Math.floor(rand() * 15),
      zones: 1 + Math.floor(rand() * 3),
      placement: rand() < 0.5 ? 'SPREAD' : 'PACK',
    });
    const existing = randomReservations(s, rand);
    const host = s.hosts[Math.floor(rand() * s.hosts.length)]!;
    const stopUnmigratable = rand() < 0.5;
    // A CPU hook that rejects a pseudo-random third of (server, host) pairs.
    const cpuCompatible = rand() < 0.5 ? undefined : (sv: { uuid: string }, h: { id: string }) => ({ ok: cpuOk(sv.uuid, h.id), reason: 'fixture' });
    const p = planMaintenance(
      s,
      { hostId: host.id, stopUnmigratable },
      { reservations: existing, cpuCompatible, measuredBandwidthBps: rand() < 0.5 ? undefined : 50e6 + rand() * 1e9 },
    );
    if (p.refusals.length > 0) {
      refused++;
      t.deepEqual(p.servers, [], `seed ${seed}: refused plans move nothing`);
      continue;
    }
    const bad = violations(s, p, existing, stopUnmigratable);
    if (cpuCompatible)
      for (const m of p.servers.filter((x) => x.targetHostId))
        if (!cpuOk(m.serverUuid, m.targetHostId)) bad.push(`${m.serverName} → ${m.targetHostId}: CPU-incompatible`);
    if (bad.length > 0) t.fail(`seed ${seed} (host ${host.id}): ${bad.slice(0, 5).join('; ')}`);
    moves += p.servers.filter((x) => x.targetHostId !== '').length;
    stops += p.servers.filter((x) => x.action === 'STOP' || x.action === 'NONE').length;
    blockers += p.blockers.length;
    // Same inventory in another order: the same plan.
    const r2 = mulberry32(seed);
    const shuffled = { ...s, hosts: shuffle(s.hosts, r2), servers: shuffle(s.servers, r2), zones: shuffle(s.zones, r2) };
    const again = planMaintenance(
      shuffled,
      { hostId: host.id, stopUnmigratable },
      { reservations: shuffle(existing, r2), cpuCompatible, measuredBandwidthBps: p.bandwidthAssumed ? undefined : p.assumedBandwidthBps },
    );
    t.deepEqual(again, p, `seed ${seed}: order-independent`);
  }
  t.log(`${moves} moves, ${stops} stops/stays, ${blockers} blockers, ${refused} refused plans`);
  t.true(moves > 100 && stops + blockers > 10, 'the generator exercises both outcomes');
});

test('every host of a crowded inventory, planned one after another with the previous plans held as reservations', (t) => {
  // Several drains at once: each later plan must respect what earlier ones reserved.
  const s = randomSnapshot(99, { hosts: 25, serversPerHost: 12, chaos: false });
  const held: Reservation[] = [];
  for (const h of s.hosts.slice(0, 5)) {
    const p = planMaintenance(s, { hostId: h.id, stopUnmigratable: true }, { reservations: held });
    const bad = violations(s, p, held, true);
    t.deepEqual(bad, [], h.id);
    held.push(...p.reservations.map((r) => ({ ...r, operationId: `drain-${h.id}` })));
  }
});
