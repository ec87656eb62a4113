// planMaintenance: what enabling maintenance on one host would do, decided
// from a snapshot alone. No I/O and no clock (the snapshot's takenAtMs is
// "now"), so PlanMaintenance, EnableMaintenance and the offline
// `drydock plan --snapshot` all get the same answer from the same input.
import type { InventorySnapshot, ServerRecord } from '../model.ts';
import { DEFAULT_ZONE_POLICY, localDiskBytes, resolvePolicy } from '../model.ts';
import { CPU_NOT_CHECKED, MEMORY_WARN_RATIO, memoryHeadroom } from './checks.ts';
import { cmp } from './compare.ts';
import { concurrentMoves, estimateServerSeconds, estimateTotalSeconds, resolveBandwidth } from './estimate.ts';
import type { InventoryIndex } from './inventory.ts';
import { allocationOf, indexSnapshotFor, isKvmHypervisor } from './inventory.ts';
import { choiceSentence, moveMode, moveSentence, noTargetSentence, reservationFor } from './placement.ts';
import type { Reservation } from './reservations.ts';
import { Reservations } from './reservations.ts';
import type { Plan, PlannedServer, PlanOptions, PlanRefusal, PlanRequest } from './types.ts';
import { DEFAULT_MAX_CANDIDATES } from './types.ts';
import { formatRate } from './units.ts';
import { ZoneCandidates } from './zone-candidates.ts';

/** Names listed in one warning before "and N more". */
const LIST_LIMIT = 10;

export function planMaintenance(snapshot: InventorySnapshot, request: PlanRequest, options: PlanOptions = {}): Plan {
  const { index, servers } = indexSnapshotFor(snapshot, request.hostId);
  const bandwidth = resolveBandwidth(options.measuredBandwidthBps);
  const plan = emptyPlan(snapshot, request, bandwidth);

  const source = index.hostsById.get(request.hostId);
  if (source === undefined) {
    plan.refusals.push({ code: 'host-not-found', message: `host ${request.hostId} is not in the inventory` });
    return plan;
  }
  plan.zoneId = source.zoneId;
  const zone = source.zoneId ? index.zonesById.get(source.zoneId) : undefined;
  plan.refusals.push(...hostRefusals(source, zone !== undefined));
  if (zone === undefined || plan.refusals.length > 0) return plan;
  plan.policy = resolvePolicy(zone.policy);
  if (source.maintenance === 'entering') {
    plan.warnings.push(
      `host ${source.id} is already entering maintenance${source.maintenanceOpId ? ` (operation ${source.maintenanceOpId})` : ''}: the plan covers the servers still on it`,
    );
  }

  // Sizes computed once: the sort compares them O(n log n) times.
  const diskOf = new Map(servers.map((s) => [s.uuid, localDiskBytes(s)]));
  servers.sort((a, b) => b.memoryBytes - a.memoryBytes || diskOf.get(b.uuid)! - diskOf.get(a.uuid)! || cmp(a.uuid, b.uuid));

  // Reservations of running operations count against targets; but a
  // reservation already held by a server we are planning now (a re-plan of
  // a paused or resumed drain) is replaced, not counted twice.
  const reservations = Reservations.from(options.reservations);
  for (const s of servers) reservations.release(s.uuid);

  const planned: Reservation[] = [];
  const perServerSeconds: number[] = [];
  // Every same-zone host is a candidate of every server; the zone view
  // decides them all from per-host numbers and runs the full check chain
  // (reasons included) only on the candidates the plan shows.
  const zoneHosts = new ZoneCandidates({ index, source, zone, policy: plan.policy, reservations, cpuCompatible: options.cpuCompatible });
  const maxShown = options.maxCandidatesPerServer ?? DEFAULT_MAX_CANDIDATES;
  const otherZone = index.hostsSorted.length - zoneHosts.size;
  for (const server of servers) {
    const mode = moveMode(server);
    const { chosen, runnerUp, eligibleCount, shown, total } = zoneHosts.select(server, maxShown);
    const base = {
      serverUuid: server.uuid,
      serverName: server.name,
      memoryBytes: server.memoryBytes,
      localDiskBytes: diskOf.get(server.uuid)!,
      vcpus: server.vcpus,
      state: server.state,
      wasRunning: mode.wasRunning,
      candidates: shown,
      candidatesOmitted: total - shown.length,
    };
    let entry: PlannedServer;
    if (chosen !== undefined) {
      const r = reservationFor(server, index.hostsById.get(chosen.hostId)!);
      reservations.reserve(r);
      zoneHosts.reserved(r.hostId);
      planned.push(r);
      const why = choiceSentence(chosen, runnerUp, eligibleCount, plan.policy);
      entry = { ...base, action: mode.action, targetHostId: chosen.hostId, reason: moveSentence(mode, chosen.hostId, why), estimatedSeconds: 0 };
    } else {
      const considered = zoneHosts.considered(server);
      entry = unplaced(base, noTargetSentence(considered.first, considered.count, otherZone), request.stopUnmigratable, source.id);
    }
    entry.estimatedSeconds = estimateServerSeconds(entry.action, entry.wasRunning, entry.memoryBytes, entry.localDiskBytes, bandwidth.bps);
    if (chosen === undefined && !request.stopUnmigratable) {
      plan.blockers.push(entry);
    } else {
      plan.servers.push(entry);
      perServerSeconds.push(entry.estimatedSeconds);
    }
  }
  plan.reservations = planned;
  plan.estimatedSeconds = estimateTotalSeconds(perServerSeconds, concurrentMoves(plan.policy));
  plan.warnings.push(...planWarnings(plan, servers, index, reservations, options.cpuCompatible !== undefined));
  return plan;
}

function emptyPlan(snapshot: InventorySnapshot, request: PlanRequest, bandwidth: { bps: number; assumed: boolean }): Plan {
  return {
    hostId: request.hostId,
    zoneId: '',
    stopUnmigratable: request.stopUnmigratable,
    servers: [],
    blockers: [],
    refusals: [],
    warnings: [],
    estimatedSeconds: 0,
    assumedBandwidthBps: bandwidth.bps,
    bandwidthAssumed: bandwidth.assumed,
    plannedAtMs: snapshot.takenAtMs,
    policy: { ...DEFAULT_ZONE_POLICY },
    reservations: [],
  };
}

/**
 * A server that fits nowhere. Active ones are stopped; shut-off ones simply
 * stay defined on the host, unusable until it returns. Either way the
 * operator must have said so (stop_unmigratable).
 */
function unplaced(
  base: Omit<PlannedServer, 'action' | 'targetHostId' | 'reason' | 'estimatedSeconds'>,
  why: string,
  stopUnmigratable: boolean,
  sourceId: string,
): PlannedServer {
  const action = base.wasRunning ? 'STOP' : 'NONE';
  const reason = !stopUnmigratable
    ? `${why}; would be ${action === 'STOP' ? 'stopped' : `left shut off on ${sourceId}`} with stop_unmigratable`
    : action === 'STOP'
      ? `stopped: ${why}`
      : `stays shut off on ${sourceId}, unusable until the host returns: ${why}`;
  return { ...base, action, targetHostId: '', reason, estimatedSeconds: 0 };
}

/** Host-level reasons the host cannot enter maintenance, all of them at once. */
function hostRefusals(host: InventorySnapshot['hosts'][number], zoneKnown: boolean): PlanRefusal[] {
  const out: PlanRefusal[] = [];
  if (!isKvmHypervisor(host.hypervisorType)) {
    out.push({
      code: 'not-kvm',
      message: `host ${host.id} runs ${JSON.stringify(host.hypervisorType || 'unknown')}: maintenance mode is for KVM compute resources only`,
    });
  }
  if (host.zoneId === '') out.push({ code: 'no-zone', message: `host ${host.id} is not assigned to a compute zone: there is nowhere to move its servers` });
  else if (!zoneKnown) out.push({ code: 'zone-not-found', message: `zone ${host.zoneId} of host ${host.id} is not in the inventory` });
  if (host.maintenance === 'in_maintenance') out.push({ code: 'in-maintenance', message: `host ${host.id} is already in maintenance` });
  if (host.maintenance === 'returning')
    out.push({ code: 'returning', message: `host ${host.id} is returning from maintenance: wait until it is back in service` });
  if (!host.online) out.push({ code: 'offline', message: `host ${host.id} is offline: its agent cannot migrate anything` });
  return out;
}

function names(list: readonly { serverName: string; serverUuid: string }[]): string {
  const shown = list.slice(0, LIST_LIMIT).map((s) => s.serverName || s.serverUuid);
  return shown.join(', ') + (list.length > LIST_LIMIT ? ` and ${list.length - LIST_LIMIT} more` : '');
}

function planWarnings(plan: Plan, servers: readonly ServerRecord[], index: InventoryIndex, reservations: Reservations, cpuChecked: boolean): string[] {
  const out: string[] = [];
  const all = [...plan.servers, ...plan.blockers];
  if (!cpuChecked && all.length > 0) {
    out.push(`CPU compatibility ${CPU_NOT_CHECKED}: targets were chosen without the zone CPU configuration`);
  }
  if (plan.bandwidthAssumed && all.length > 0) {
    out.push(`no migration bandwidth measured yet: the estimate assumes ${formatRate(plan.assumedBandwidthBps)}`);
  }
  const byState = (st: string) => all.filter((p) => p.state === st);
  const paused = byState('paused');
  if (paused.length > 0) out.push(`paused: ${names(paused)} (a live move keeps them paused; a cold move starts them running)`);
  const crashed = byState('crashed');
  if (crashed.length > 0) out.push(`crashed: ${names(crashed)} (moved as shut-off servers; check them)`);
  const odd = all.filter((p) => !['running', 'paused', 'shutoff', 'crashed', 'blocked'].includes(p.state));
  if (odd.length > 0)
    out.push(
      `unusual state: ${odd
        .map((p) => `${p.serverName || p.serverUuid} (${p.state || 'unknown'})`)
        .slice(0, LIST_LIMIT)
        .join(', ')}: treated as running`,
    );
  const busy = servers.filter((s) => s.operationId !== '');
  if (busy.length > 0)
    out.push(
      `already part of another operation: ${busy
        .slice(0, LIST_LIMIT)
        .map((s) => `${s.name || s.uuid} (${s.operationId})`)
        .join(', ')}`,
    );
  const coldRunning = plan.servers.filter((p) => p.action === 'COLD_MIGRATE' && p.wasRunning);
  if (coldRunning.length > 0) out.push(`${coldRunning.length} running server(s) move cold (shut down, moved, started again: downtime): ${names(coldRunning)}`);
  const stops = plan.servers.filter((p) => p.action === 'STOP');
  if (stops.length > 0) out.push(`${stops.length} server(s) fit nowhere and will be stopped: ${names(stops)}`);
  const stay = plan.servers.filter((p) => p.action === 'NONE');
  if (stay.length > 0) out.push(`${stay.length} shut-off server(s) fit nowhere and stay on ${plan.hostId} until it returns: ${names(stay)}`);
  if (plan.blockers.length > 0) out.push(`${plan.blockers.length} server(s) cannot move: maintenance needs stop_unmigratable`);

  // Targets that end up above the warning threshold with everything placed.
  const targets = [...new Set(plan.servers.map((p) => p.targetHostId).filter((id) => id !== ''))].sort(cmp);
  for (const id of targets) {
    const target = index.hostsById.get(id)!;
    const headroom = memoryHeadroom({ target, allocation: allocationOf(index, id), reserved: reservations.onHost(id), policy: plan.policy });
    const used = 1 - (headroom + plan.policy.hostMemoryReserveBytes) / target.memoryTotalBytes;
    if (used > MEMORY_WARN_RATIO) out.push(`target ${id} will be ${Math.round(used * 100)}% full in memory after this plan`);
  }
  return out;
}
