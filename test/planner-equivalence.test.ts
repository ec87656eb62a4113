// The optimised planner must give exactly the answers of the planner it
// replaced: on many seeded random inventories (chaos, several zones, both
// policies, stop_unmigratable on and off, local and shared disks, existing
// reservations, a CPU hook, crowded hosts, ties, hosts without facts, odd
// pools, several candidate limits) its whole Plan deep-equals the one the
// frozen copy in harness/planner-reference/ makes. Same for pickTarget
// and evaluateCandidates, which the executor calls.
import test from 'ava';
import type { InventorySnapshot, ServerRecord } from '../coordinator/model.ts';
import { resolvePolicy } from '../coordinator/model.ts';
import type { CpuCompatibleFn, PlanOptions, Reservation, SnapshotHost } from '../coordinator/planner/index.ts';
import {
  NoValidTargetError,
  Reservations,
  chooseTarget,
  evaluateCandidates,
  indexSnapshot,
  pickTarget,
  planMaintenance,
  trimCandidates,
  GIB,
  TIB,
  crowdHost,
  makePool,
  mulberry32,
  randomSnapshot,
} from '../coordinator/planner/index.ts';
import * as reference from '../harness/planner-reference/index.ts';
import { NoValidTargetError as ReferenceNoValidTargetError } from '../harness/planner-reference/errors.ts';
import { indexSnapshot as referenceIndex } from '../harness/planner-reference/inventory.ts';

const SEEDS = 120;

function randomReservations(s: InventorySnapshot, rand: () => number): Reservation[] {
  const out: Reservation[] = [];
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    const h = s.hosts[Math.floor(rand() * s.hosts.length)]!;
    // Some reservations belong to servers the plan is about to move (a re-plan): they are replaced, not counted.
    const uuid = rand() < 0.2 && s.servers.length > 0 ? s.servers[Math.floor(rand() * s.servers.length)]!.uuid : `ext-${i}`;
    out.push({
      serverUuid: uuid,
      hostId: h.id,
      memoryBytes: Math.floor(rand() * 32) * GIB,
      vcpus: Math.floor(rand() * 12),
      localDisk: rand() < 0.5 ? [{ pool: 'default', bytes: Math.floor(rand() * 600) * GIB }] : [],
      operationId: `op-${i}`,
    });
  }
  return out;
}

/** A pure CPU hook rejecting a pseudo-random share of (server, host) pairs. */
function cpuHook(salt: number): CpuCompatibleFn {
  return (server, target) => {
    let h = 2166136261 ^ salt;
    for (const c of `${server.uuid}/${target.id}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    const ok = (h >>> 0) % 4 !== 0;
    return { ok, reason: ok ? '' : `fixture says no (${(h >>> 0) % 97})` };
  };
}

/**
 * Mutations the generator does not make on its own: ties in free memory,
 * hosts without facts, inactive and oddly named pools, local pools that are
 * full, a policy with another reserve and overcommit; with `odd`, records
 * missing a memory figure (NaN in every comparison).
 */
function perturb(s: InventorySnapshot, rand: () => number, odd: boolean): InventorySnapshot {
  const hosts: SnapshotHost[] = s.hosts.map((h) => {
    const r = rand();
    const copy: SnapshotHost = { ...h, storagePools: h.storagePools.map((p) => ({ ...p })), topology: { ...h.topology } };
    if (r < 0.25) {
      // Identical hosts: equal free memory, decided by host id.
      copy.memoryTotalBytes = 128 * GIB;
      copy.memoryFreeBytes = 128 * GIB;
    } else if (r < 0.28) copy.memoryTotalBytes = 0;
    else if (r < 0.31) copy.topology.logical_cpus = 0;
    else if (r < 0.36) copy.storagePools = copy.storagePools.map((p) => (p.shared ? p : { ...p, active: false }));
    else if (r < 0.4) copy.storagePools = copy.storagePools.filter((p) => p.shared);
    else if (r < 0.45) copy.storagePools = copy.storagePools.map((p) => (p.shared ? { ...p, active: false } : p));
    else if (r < 0.5)
      copy.storagePools = [...copy.storagePools, makePool('default', { available_bytes: 5 * TIB }), makePool('images', { path: '/var/lib/libvirt' })];
    else if (r < 0.55) copy.storagePools = copy.storagePools.map((p) => (p.shared ? p : { ...p, available_bytes: Math.floor(rand() * 30) * GIB }));
    // A record without its free-memory figure: arithmetic on it gives NaN.
    else if (r < 0.56 && odd) copy.memoryFreeBytes = undefined as unknown as number;
    return copy;
  });
  // And a server without its memory size.
  const servers = odd ? s.servers.map((x) => (rand() < 0.02 ? { ...x, memoryBytes: undefined as unknown as number } : x)) : s.servers;
  // A host listed twice (two records, one id): both are candidates, as before.
  if (odd && hosts.length > 2) {
    const twin = hosts[Math.floor(rand() * hosts.length)]!;
    hosts.push({ ...twin, memoryFreeBytes: Math.floor(rand() * 64) * GIB, enabled: rand() < 0.8 });
  }
  const zones = s.zones.map((z, i) => (i % 2 === 1 ? { ...z, policy: { ...z.policy, hostMemoryReserveBytes: 4 * GIB, cpuOvercommitRatio: 1.5 } } : z));
  return { ...s, hosts, zones, servers };
}

interface Case {
  seed: number;
  snapshot: InventorySnapshot;
  hostId: string;
  stopUnmigratable: boolean;
  /** Reservations as a plain list, so both planners (each with its own Reservations class) take them. */
  options: Omit<PlanOptions, 'reservations'> & { reservations: Reservation[] };
  label: string;
}

function makeCase(seed: number): Case {
  const rand = mulberry32(seed * 104729);
  const big = rand() < 0.15;
  const hosts = big ? 100 + Math.floor(rand() * 300) : 3 + Math.floor(rand() * 60);
  const chaos = rand() < 0.8;
  let snapshot = randomSnapshot(seed, {
    hosts,
    serversPerHost: Math.floor(rand() * 16),
    zones: 1 + Math.floor(rand() * 3),
    placement: rand() < 0.5 ? 'SPREAD' : 'PACK',
    chaos,
  });
  if (rand() < 0.5) snapshot = perturb(snapshot, rand, rand() < 0.3);
  let host = snapshot.hosts[Math.floor(rand() * snapshot.hosts.length)]!;
  // A crowded host: more servers than the zone can take, so stops, blockers and "fits nowhere" reasons show up.
  if (rand() < 0.4) snapshot = crowdHost(snapshot, host.id, 20 + Math.floor(rand() * 120));
  if (rand() < 0.05) host = { ...host, id: 'no-such-host' };
  // Odd limits too: PlanOptions is public, and trimCandidates took any number.
  const limits = [undefined, undefined, undefined, 0, 1, 2, 3, 7, 50, 2.5, 0.5, Number.NaN, -1];
  const options: Case['options'] = {
    reservations: randomReservations(snapshot, rand),
    maxCandidatesPerServer: limits[Math.floor(rand() * limits.length)],
    measuredBandwidthBps: rand() < 0.5 ? undefined : 50e6 + rand() * 1e9,
  };
  if (rand() < 0.5) options.cpuCompatible = cpuHook(seed);
  const stopUnmigratable = rand() < 0.5;
  const z = snapshot.zones.find((x) => x.id === host.zoneId);
  const label = `seed ${seed}: ${hosts} hosts, ${snapshot.servers.length} servers, ${z ? resolvePolicy(z.policy).placement : '-'}, chaos ${chaos}, stop ${stopUnmigratable}, max ${options.maxCandidatesPerServer}, cpu ${options.cpuCompatible !== undefined}`;
  return { seed, snapshot, hostId: host.id, stopUnmigratable, options, label };
}

test(`planMaintenance answers exactly as the pre-optimisation planner on ${SEEDS} random inventories`, (t) => {
  let servers = 0;
  let moved = 0;
  let unplaced = 0;
  let trimmed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const c = makeCase(seed);
    const request = { hostId: c.hostId, stopUnmigratable: c.stopUnmigratable };
    const want = reference.planMaintenance(c.snapshot, request, c.options);
    const got = planMaintenance(c.snapshot, request, c.options);
    t.deepEqual(got, want, c.label);
    for (const p of [...want.servers, ...want.blockers]) {
      servers++;
      if (p.targetHostId) moved++;
      else unplaced++;
      if (p.candidatesOmitted > 0) trimmed++;
    }
  }
  t.log(`${servers} servers planned: ${moved} moved, ${unplaced} fit nowhere, ${trimmed} with trimmed candidate lists`);
  // The cases must exercise every branch the comparison is about.
  t.true(moved > 1000 && unplaced > 100 && trimmed > 1000, 'the generator covers moves, unplaceable servers and trimming');
});

test('both policies, with and without a CPU hook, on one crowded 400-host zone', (t) => {
  const base = randomSnapshot(7, { hosts: 400, serversPerHost: 10, chaos: true });
  for (const placement of ['SPREAD', 'PACK'] as const) {
    const s0 = { ...base, zones: base.zones.map((z) => ({ ...z, policy: { placement } })) };
    const s = crowdHost(s0, 'h001', 150);
    for (const cpuCompatible of [undefined, cpuHook(3)]) {
      for (const stopUnmigratable of [true, false]) {
        const options = cpuCompatible ? { cpuCompatible } : {};
        const request = { hostId: 'h001', stopUnmigratable };
        t.deepEqual(
          planMaintenance(s, request, options),
          reference.planMaintenance(s, request, options),
          `${placement}, cpu ${cpuCompatible !== undefined}, stop ${stopUnmigratable}`,
        );
      }
    }
  }
});

test('pickTarget and evaluateCandidates answer as before (attempted hosts, reservations, no valid target)', (t) => {
  let picked = 0;
  let refused = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const c = makeCase(seed + 1000);
    const rand = mulberry32(seed);
    const s = c.snapshot;
    const index = indexSnapshot(s);
    const refIndex = referenceIndex(s);
    for (let k = 0; k < 5 && s.servers.length > 0; k++) {
      const server: ServerRecord = s.servers[Math.floor(rand() * s.servers.length)]!;
      const excluded = s.hosts.filter(() => rand() < 0.1).map((h) => h.id);
      const reservations = c.options.reservations;
      const run = <T>(fn: () => T): { ok: T } | { error: { name: string; message: string; candidates: unknown; attempted: unknown } } => {
        try {
          return { ok: fn() };
        } catch (e) {
          if (!(e instanceof NoValidTargetError) && !(e instanceof ReferenceNoValidTargetError)) throw e;
          return { error: { name: e.constructor.name, message: e.message, candidates: e.candidates, attempted: e.attemptedHostIds } };
        }
      };
      const opts = c.options.cpuCompatible ? { cpuCompatible: c.options.cpuCompatible } : {};
      const got = run(() => pickTarget(s, server, server.hostId, excluded, reservations, { ...opts, index }));
      const want = run(() => reference.pickTarget(s, server, server.hostId, excluded, reservations, { ...opts, index: refIndex }));
      t.deepEqual(got, want, `${c.label}, server ${server.uuid}`);
      if ('ok' in want) picked++;
      else refused++;

      const source = index.hostsById.get(server.hostId)!;
      const zone = index.zonesById.get(source.zoneId);
      if (zone === undefined) continue;
      const policy = resolvePolicy(zone.policy);
      const attempted = new Set(excluded);
      const verdicts = evaluateCandidates({
        index,
        server,
        source,
        zone,
        policy,
        reservations: Reservations.from(reservations),
        attempted,
        cpuCompatible: c.options.cpuCompatible,
      });
      const refVerdicts = reference.evaluateCandidates({
        index: refIndex,
        server,
        source,
        zone,
        policy,
        reservations: reference.Reservations.from(reservations),
        attempted,
        cpuCompatible: c.options.cpuCompatible,
      });
      t.deepEqual(verdicts, refVerdicts);
      // trimCandidates is exported on its own too.
      for (const max of [0, 1, 3, 20]) {
        t.deepEqual(
          trimCandidates(verdicts, chooseTarget(verdicts, policy), policy, max),
          reference.trimCandidates(refVerdicts, reference.chooseTarget(refVerdicts, policy), policy, max),
        );
      }
    }
  }
  t.log(`${picked} targets picked, ${refused} no valid target`);
  t.true(picked > 50 && refused > 10, 'both outcomes exercised');
});
