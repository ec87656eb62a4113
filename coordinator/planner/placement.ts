// Choosing a target: run the check chain over every host, keep the eligible
// ones, pick by the zone's policy, and say why. Used by the planner for a
// whole host and by the executor (pickTarget) to retry one server elsewhere
// after a failed migration.
import type { InventorySnapshot, ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import { localDiskBytes, resolvePolicy } from '../model.ts';
import type { CheckContext, TargetCheck } from './checks.ts';
import { TARGET_CHECKS, candidateVerdict, checkNotAttempted, placeLocalDisks } from './checks.ts';
import { cmp } from './compare.ts';
import { NoValidTargetError } from './errors.ts';
import type { InventoryIndex } from './inventory.ts';
import { allocationOf, indexSnapshot, isActiveState } from './inventory.ts';
import type { Reservation } from './reservations.ts';
import { Reservations } from './reservations.ts';
import type { CandidateVerdict, CpuCompatibleFn, ServerAction, SnapshotHost } from './types.ts';
import { formatBytes } from './units.ts';

/** How a server moves, from its flags and power state (docs/design.md §1.1). */
export interface MoveMode {
  action: Extract<ServerAction, 'LIVE_MIGRATE' | 'COLD_MIGRATE'>;
  wasRunning: boolean;
  why: string;
}

export function moveMode(server: ServerRecord): MoveMode {
  const active = isActiveState(server.state);
  if (!active) return { action: 'COLD_MIGRATE', wasRunning: false, why: `${server.state}: definition and local disks move cold` };
  if (server.smart) return { action: 'COLD_MIGRATE', wasRunning: true, why: 'smart server: cold, started again after the move' };
  if (!server.hotMigration) return { action: 'COLD_MIGRATE', wasRunning: true, why: 'hot migration off: cold, started again after the move' };
  return { action: 'LIVE_MIGRATE', wasRunning: true, why: `${server.state}, hot migration on: live` };
}

/** "<how>; to <host>: <why that host>". */
export function moveReason(mode: MoveMode, chosen: CandidateVerdict, candidates: readonly CandidateVerdict[], policy: ZonePolicy): string {
  return moveSentence(mode, chosen.hostId, choiceReason(chosen, candidates, policy));
}

export function moveSentence(mode: MoveMode, targetHostId: string, whyThisHost: string): string {
  return `${mode.why}; to ${targetHostId}: ${whyThisHost}`;
}

export interface EvaluateInput {
  index: InventoryIndex;
  server: ServerRecord;
  source: SnapshotHost;
  zone: ZoneRecord;
  policy: ZonePolicy;
  reservations: Reservations;
  attempted?: ReadonlySet<string>;
  cpuCompatible?: CpuCompatibleFn | undefined;
}

const NONE_ATTEMPTED: ReadonlySet<string> = new Set();

/**
 * Verdicts of every host of the server's zone (sorted by id). Hosts of other
 * zones are never candidates (docs/design.md invariant 2), so they are not evaluated at
 * all: listing them would bury the answer in a large inventory, and the CPU
 * hook is never asked about a host the server cannot go to anyway.
 * checkSameZone stays in the chain for evaluateTarget, where the target is
 * given by the caller.
 */
export function evaluateCandidates(input: EvaluateInput): CandidateVerdict[] {
  const attempted = input.attempted ?? NONE_ATTEMPTED;
  const checks: readonly TargetCheck[] = attempted.size > 0 ? [checkNotAttempted, ...TARGET_CHECKS] : TARGET_CHECKS;
  const out: CandidateVerdict[] = [];
  for (const target of input.index.hostsSorted) {
    if (target.zoneId !== input.zone.id) continue;
    const ctx: CheckContext = {
      server: input.server,
      source: input.source,
      zone: input.zone,
      policy: input.policy,
      target,
      allocation: allocationOf(input.index, target.id),
      reserved: input.reservations.onHost(target.id),
      attempted,
      nowMs: input.index.snapshot.takenAtMs,
      cpuCompatible: input.cpuCompatible,
    };
    out.push(candidateVerdict(ctx, checks));
  }
  return out;
}

/**
 * SPREAD: most free memory after placement; PACK: least free memory that
 * still fits (fills hosts, keeps others empty). Ties by host id either way,
 * so the choice never depends on input order.
 */
export function chooseTarget(candidates: readonly CandidateVerdict[], policy: ZonePolicy): CandidateVerdict | undefined {
  let best: CandidateVerdict | undefined;
  for (const c of candidates) {
    if (!c.eligible) continue;
    if (best === undefined) {
      best = c;
      continue;
    }
    const better = policy.placement === 'PACK' ? c.memoryFreeAfterBytes < best.memoryFreeAfterBytes : c.memoryFreeAfterBytes > best.memoryFreeAfterBytes;
    if (better || (c.memoryFreeAfterBytes === best.memoryFreeAfterBytes && cmp(c.hostId, best.hostId) < 0)) best = c;
  }
  return best;
}

/**
 * At most `max` verdicts (0 = all), the most telling first: the chosen host,
 * the runners-up in policy order, then hosts that failed on this server's
 * needs (capacity, CPU, storage), then hosts that are no candidates at all.
 * Returned in host-id order. A plan for a big zone would otherwise carry
 * servers × hosts × checks results, too much for an API answer or a screen.
 */
export function trimCandidates(
  candidates: readonly CandidateVerdict[],
  chosen: CandidateVerdict | undefined,
  policy: ZonePolicy,
  max: number,
): CandidateVerdict[] {
  if (max <= 0 || candidates.length <= max) return [...candidates];
  // Ranked once per candidate, not in the comparator (which would rescan checks O(n log n) times).
  const ranked = candidates.map((c) => ({ c, rank: c === chosen ? 0 : c.eligible ? 1 : c.checks.some((r) => r.verdict === 'skip') ? 3 : 2 }));
  const byPolicy = (a: CandidateVerdict, b: CandidateVerdict): number => {
    const d = policy.placement === 'PACK' && a.eligible ? a.memoryFreeAfterBytes - b.memoryFreeAfterBytes : b.memoryFreeAfterBytes - a.memoryFreeAfterBytes;
    return d !== 0 ? Math.sign(d) : cmp(a.hostId, b.hostId);
  };
  return ranked
    .sort((a, b) => a.rank - b.rank || byPolicy(a.c, b.c))
    .slice(0, max)
    .map((r) => r.c)
    .sort((a, b) => cmp(a.hostId, b.hostId));
}

/** One sentence: why this host, against the runner-up. */
export function choiceReason(chosen: CandidateVerdict, candidates: readonly CandidateVerdict[], policy: ZonePolicy): string {
  const eligible = candidates.filter((c) => c.eligible);
  const next =
    eligible.length > 1
      ? chooseTarget(
          eligible.filter((c) => c !== chosen),
          policy,
        )
      : undefined;
  return choiceSentence(chosen, next, eligible.length, policy);
}

/** The sentence of choiceReason from what it needs: the chosen host, the runner-up in policy order, how many were eligible. */
export function choiceSentence(chosen: RankedHost, next: RankedHost | undefined, eligibleCount: number, policy: ZonePolicy): string {
  const rule = policy.placement === 'PACK' ? 'PACK: least free memory that still fits' : 'SPREAD: most free memory after placement';
  const free = `${formatBytes(chosen.memoryFreeAfterBytes)} free after`;
  if (eligibleCount === 1 || next === undefined) return `${rule}; only eligible host (${free})`;
  const tie = next.memoryFreeAfterBytes === chosen.memoryFreeAfterBytes ? ', tie broken by host id' : '';
  return `${rule} (${free}; next ${next.hostId} ${formatBytes(next.memoryFreeAfterBytes)}${tie}; ${eligibleCount} eligible)`;
}

/** A host in a placement order: its id and the memory it would have left. */
export type RankedHost = Pick<CandidateVerdict, 'hostId' | 'memoryFreeAfterBytes'>;

/** Hosts named in a "fits nowhere" reason; the rest are counted. */
export const NO_TARGET_HOSTS_SHOWN = 4;

/** Why no host qualified: the first non-ok check of each candidate, a few hosts at most. */
export function noTargetReason(candidates: readonly CandidateVerdict[], otherZoneHosts: number): string {
  const considered = candidates.filter((c) => !c.checks.some((r) => r.check === 'not-source' && r.verdict !== 'ok'));
  return noTargetSentence(considered.slice(0, NO_TARGET_HOSTS_SHOWN), considered.length, otherZoneHosts);
}

/**
 * The sentence of noTargetReason from the first NO_TARGET_HOSTS_SHOWN
 * candidates that are not the source (host-id order) and how many there are.
 */
export function noTargetSentence(firstConsidered: readonly CandidateVerdict[], consideredCount: number, otherZoneHosts: number): string {
  if (consideredCount === 0) {
    return `no other host in the zone${otherZoneHosts > 0 ? ` (${otherZoneHosts} host(s) of other zones are never targets)` : ''}`;
  }
  const parts = firstConsidered.slice(0, NO_TARGET_HOSTS_SHOWN).map((c) => {
    const failed = c.checks.filter((r) => r.verdict === 'skip' || r.verdict === 'block');
    return `${c.hostId}: ${failed.map((r) => `${r.check} ${r.reason}`).join(', ')}`;
  });
  const more = consideredCount > NO_TARGET_HOSTS_SHOWN ? `; and ${consideredCount - NO_TARGET_HOSTS_SHOWN} more` : '';
  return `fits nowhere (${parts.join('; ')}${more})`;
}

/** What a move onto `target` takes from it. */
export function reservationFor(server: ServerRecord, target: SnapshotHost, operationId = ''): Reservation {
  const disks = placeLocalDisks(server, target);
  return {
    serverUuid: server.uuid,
    hostId: target.id,
    memoryBytes: server.memoryBytes,
    vcpus: server.vcpus,
    localDisk: [...disks.byPool].sort((a, b) => cmp(a[0], b[0])).map(([pool, bytes]) => ({ pool, bytes })),
    operationId,
  };
}

export interface PickTargetOptions {
  cpuCompatible?: CpuCompatibleFn;
  /** Put on the returned reservation. */
  operationId?: string;
  /** A prebuilt index of the same snapshot (saves a pass when called in a loop). */
  index?: InventoryIndex;
}

export interface PickedTarget {
  hostId: string;
  action: MoveMode['action'];
  wasRunning: boolean;
  reason: string;
  candidates: CandidateVerdict[];
  /** Hold this (reservations.reserve) while the migration runs; release it when it ends or fails. */
  reservation: Reservation;
}

/**
 * The next best target for one server after failed attempts (Nova's
 * attempted-hosts list): hosts in `excludedHostIds` are skipped, and once
 * their number reaches the zone's maxAttemptsPerServer the answer is
 * NoValidTargetError whatever else is free, so retries are bounded.
 *
 * Pure: `reservations` is not changed. The server's own reservation, if it
 * holds one (from the failed attempt), is left out of the computation: the
 * caller releases it and reserves the returned one.
 */
export function pickTarget(
  snapshot: InventorySnapshot,
  server: ServerRecord,
  sourceHostId: string,
  excludedHostIds: readonly string[],
  reservations: Reservations | readonly Reservation[],
  options: PickTargetOptions = {},
): PickedTarget {
  const index = options.index ?? indexSnapshot(snapshot);
  const attempted = [...new Set(excludedHostIds)];
  const fail = (msg: string, candidates: CandidateVerdict[] = []) =>
    new NoValidTargetError(server.uuid, attempted, candidates, `server ${server.name || server.uuid}: ${msg}`);
  const source = index.hostsById.get(sourceHostId);
  if (source === undefined) throw fail(`source host ${sourceHostId} is not in the inventory`);
  const zone = index.zonesById.get(source.zoneId);
  if (zone === undefined) throw fail(source.zoneId ? `zone ${source.zoneId} is not in the inventory` : `source host ${sourceHostId} has no zone`);
  const policy = resolvePolicy(zone.policy);
  if (attempted.length >= policy.maxAttemptsPerServer) {
    throw fail(`no valid target: ${attempted.length} attempt(s) failed (${attempted.join(', ')}), the zone allows ${policy.maxAttemptsPerServer}`);
  }
  const view = Reservations.from(reservations);
  view.release(server.uuid);
  const candidates = evaluateCandidates({
    index,
    server,
    source,
    zone,
    policy,
    reservations: view,
    attempted: new Set(attempted),
    cpuCompatible: options.cpuCompatible,
  });
  const chosen = chooseTarget(candidates, policy);
  const otherZone = index.hostsSorted.length - candidates.length;
  if (chosen === undefined) throw fail(`no valid target: ${noTargetReason(candidates, otherZone)}`, candidates);
  const mode = moveMode(server);
  const target = index.hostsById.get(chosen.hostId)!;
  return {
    hostId: chosen.hostId,
    action: mode.action,
    wasRunning: mode.wasRunning,
    reason: moveReason(mode, chosen, candidates, policy),
    candidates,
    reservation: reservationFor(server, target, options.operationId ?? ''),
  };
}

export interface EvaluatedTarget {
  verdict: CandidateVerdict;
  action: MoveMode['action'];
  wasRunning: boolean;
  /** What to hold if the move goes ahead (only meaningful when verdict.eligible). */
  reservation: Reservation;
}

/**
 * The full chain for one given target, e.g. ReturnServers moving a server
 * back to the host it came from: same checks, no choice. The server's own
 * reservation, if any, is left out as in pickTarget. Throws
 * NoValidTargetError when the server's current host, its zone or the target
 * is not in the inventory.
 */
export function evaluateTarget(
  snapshot: InventorySnapshot,
  server: ServerRecord,
  targetHostId: string,
  reservations: Reservations | readonly Reservation[],
  options: Omit<PickTargetOptions, 'index'> & { index?: InventoryIndex } = {},
): EvaluatedTarget {
  const index = options.index ?? indexSnapshot(snapshot);
  const fail = (msg: string) => new NoValidTargetError(server.uuid, [], [], `server ${server.name || server.uuid}: ${msg}`);
  const source = index.hostsById.get(server.hostId);
  if (source === undefined) throw fail(`its host ${server.hostId} is not in the inventory`);
  const zone = index.zonesById.get(source.zoneId);
  if (zone === undefined) throw fail(source.zoneId ? `zone ${source.zoneId} is not in the inventory` : `host ${source.id} has no zone`);
  const target = index.hostsById.get(targetHostId);
  if (target === undefined) throw fail(`target ${targetHostId} is not in the inventory`);
  const view = Reservations.from(reservations);
  view.release(server.uuid);
  const policy = resolvePolicy(zone.policy);
  const ctx: CheckContext = {
    server,
    source,
    zone,
    policy,
    target,
    allocation: allocationOf(index, target.id),
    reserved: view.onHost(target.id),
    attempted: NONE_ATTEMPTED,
    nowMs: snapshot.takenAtMs,
    cpuCompatible: options.cpuCompatible,
  };
  const mode = moveMode(server);
  return {
    verdict: candidateVerdict(ctx),
    action: mode.action,
    wasRunning: mode.wasRunning,
    reservation: reservationFor(server, target, options.operationId ?? ''),
  };
}

/** Sort key of the planner: largest memory, then largest local disk, then uuid. */
export function largestFirst(a: ServerRecord, b: ServerRecord): number {
  if (a.memoryBytes !== b.memoryBytes) return b.memoryBytes - a.memoryBytes;
  const da = localDiskBytes(a);
  const db = localDiskBytes(b);
  if (da !== db) return db - da;
  return cmp(a.uuid, b.uuid);
}
