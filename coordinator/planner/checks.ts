// The named target checks (Nova's conductor checks, kubectl drain's filter
// chain): each answers one question about one candidate host for one server
// with {check, verdict, reason}, and none does I/O. The chain runs every
// check on every candidate, so the plan can show the operator why each host
// was or was not chosen. docs/design.md invariant 2 is exactly this list.
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import type { StoragePool } from '../../common/generated/drydock/agent/v1/StoragePool.ts';
import type { ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import type { HostAllocation } from './inventory.ts';
import { diskBytes, isKvmHypervisor, isLocalDisk } from './inventory.ts';
import type { HostReservedTotals } from './reservations.ts';
import type { CandidateVerdict, CheckResult, CpuCompatibleFn, SnapshotHost } from './types.ts';
import { cmp } from './compare.ts';
import { formatBytes } from './units.ts';

/** Above this share of its memory in use after placement, a target earns a warning. */
export const MEMORY_WARN_RATIO = 0.9;

export const CPU_NOT_CHECKED = 'not checked';

/** Everything a check may look at: one server, one candidate, what is already promised there. */
export interface CheckContext {
  server: ServerRecord;
  source: SnapshotHost;
  zone: ZoneRecord;
  policy: ZonePolicy;
  target: SnapshotHost;
  /** Servers the snapshot already has on the target. */
  allocation: HostAllocation;
  /** Reservations on the target: existing operations' and this plan's so far. */
  reserved: HostReservedTotals;
  /** Hosts a previous attempt for this server already failed on. */
  attempted: ReadonlySet<string>;
  /** The snapshot's time: "now" for any age shown in a reason. */
  nowMs: number;
  cpuCompatible?: CpuCompatibleFn | undefined;
}

export type TargetCheck = (ctx: CheckContext) => CheckResult;

export function checkNotSource(ctx: CheckContext): CheckResult {
  return ctx.target.id === ctx.source.id
    ? { check: 'not-source', verdict: 'skip', reason: 'the host being drained' }
    : { check: 'not-source', verdict: 'ok', reason: 'not the source' };
}

/** Nova's attempted-hosts list: a host a migration of this server already failed on is not tried again. */
export function checkNotAttempted(ctx: CheckContext): CheckResult {
  return ctx.attempted.has(ctx.target.id)
    ? { check: 'not-attempted', verdict: 'skip', reason: 'an earlier attempt to this host failed' }
    : { check: 'not-attempted', verdict: 'ok', reason: 'not tried before' };
}

export function checkSameZone(ctx: CheckContext): CheckResult {
  if (ctx.target.zoneId === ctx.zone.id) return { check: 'same-zone', verdict: 'ok', reason: `zone ${ctx.zone.id}` };
  const where = ctx.target.zoneId === '' ? 'no zone' : `zone ${ctx.target.zoneId}`;
  return { check: 'same-zone', verdict: 'skip', reason: `${where}, not ${ctx.zone.id}` };
}

/**
 * KVM servers move only to KVM hosts; and a domain of type "kvm" needs
 * hardware virtualisation, which a "qemu" (TCG-only) host does not have.
 */
export function checkKvm(ctx: CheckContext): CheckResult {
  const type = ctx.target.hypervisorType;
  if (!isKvmHypervisor(type)) return { check: 'kvm', verdict: 'skip', reason: `hypervisor ${JSON.stringify(type)} is not KVM` };
  if (ctx.server.domainType === 'kvm' && type !== 'kvm') {
    return { check: 'kvm', verdict: 'block', reason: `domain type kvm needs hardware virtualisation; host runs ${type} (TCG)` };
  }
  return { check: 'kvm', verdict: 'ok', reason: `hypervisor ${type}` };
}

/** The operator's Enabled switch: off means nothing is migrated onto the host. */
export function checkEnabled(ctx: CheckContext): CheckResult {
  return ctx.target.enabled
    ? { check: 'enabled', verdict: 'ok', reason: 'enabled' }
    : { check: 'enabled', verdict: 'skip', reason: 'disabled by the operator' };
}

export function checkOnline(ctx: CheckContext): CheckResult {
  return ctx.target.online
    ? { check: 'online', verdict: 'ok', reason: 'online' }
    : { check: 'online', verdict: 'skip', reason: offlineReason(ctx.target.lastHeartbeatMs, ctx.nowMs) };
}

function offlineReason(lastHeartbeatMs: number, nowMs: number): string {
  if (lastHeartbeatMs <= 0) return 'offline (no heartbeat yet)';
  return `offline (last heartbeat ${Math.max(0, Math.round((nowMs - lastHeartbeatMs) / 1000))} s before the snapshot)`;
}

/** In, entering or returning from maintenance: the host receives nothing. */
export function checkNotInMaintenance(ctx: CheckContext): CheckResult {
  const m = ctx.target.maintenance;
  if (m === 'none') return { check: 'not-in-maintenance', verdict: 'ok', reason: 'in service' };
  const what =
    m === 'in_maintenance'
      ? 'in maintenance'
      : m === 'entering'
        ? 'entering maintenance'
        : m === 'returning'
          ? 'returning from maintenance'
          : `maintenance state ${m}`;
  const op = ctx.target.maintenanceOpId ? ` (operation ${ctx.target.maintenanceOpId})` : '';
  return { check: 'not-in-maintenance', verdict: 'skip', reason: what + op };
}

/**
 * Memory the target can still promise, host reserve deducted, before this
 * server. Conservative: the smaller of two views.
 *  - allocation: total − memory of every server defined there (shut-off ones
 *    too: they will start again) − reservations;
 *  - report: the free memory the agent last reported − reservations (catches
 *    what drydock does not account: host processes, QEMU overhead, guests it
 *    does not know).
 * Reservations are subtracted from both because a reserved server is in
 * neither view yet.
 */
export function memoryHeadroom(ctx: Pick<CheckContext, 'target' | 'allocation' | 'reserved' | 'policy'>): number {
  const { target, allocation, reserved, policy } = ctx;
  const byAllocation = target.memoryTotalBytes - allocation.memoryBytes - reserved.memoryBytes;
  const byReport = target.memoryFreeBytes - reserved.memoryBytes;
  return Math.min(byAllocation, byReport) - policy.hostMemoryReserveBytes;
}

export function memoryFreeAfter(ctx: CheckContext): number {
  return memoryHeadroom(ctx) - ctx.server.memoryBytes;
}

export function checkMemory(ctx: CheckContext): CheckResult {
  const need = ctx.server.memoryBytes;
  const headroom = memoryHeadroom(ctx);
  const reserve = formatBytes(ctx.policy.hostMemoryReserveBytes);
  if (ctx.target.memoryTotalBytes <= 0) return { check: 'memory', verdict: 'block', reason: 'memory size unknown (no facts yet)' };
  if (need > headroom) {
    return {
      check: 'memory',
      verdict: 'block',
      reason: `needs ${formatBytes(need)}, ${formatBytes(Math.max(0, headroom))} free after reservations and the ${reserve} host reserve`,
    };
  }
  const after = headroom - need;
  const usedRatio = 1 - (after + ctx.policy.hostMemoryReserveBytes) / ctx.target.memoryTotalBytes;
  const pct = Math.round(usedRatio * 100);
  if (usedRatio > MEMORY_WARN_RATIO) {
    return { check: 'memory', verdict: 'warn', reason: `fits, but the host will be ${pct}% full (${formatBytes(after)} left)` };
  }
  return { check: 'memory', verdict: 'ok', reason: `${formatBytes(after)} free after (${pct}% used)` };
}

/** vCPUs of every server defined there plus reservations, against logical CPUs × the zone's overcommit ratio. */
export function checkVcpu(ctx: CheckContext): CheckResult {
  const logical = ctx.target.topology?.logical_cpus ?? 0;
  if (logical <= 0) return { check: 'vcpu', verdict: 'block', reason: 'CPU count unknown (no facts yet)' };
  const limit = Math.floor(logical * ctx.policy.cpuOvercommitRatio);
  const used = ctx.allocation.vcpus + ctx.reserved.vcpus;
  const after = used + ctx.server.vcpus;
  const detail = `${after}/${limit} vCPUs (${logical} CPUs × ${ctx.policy.cpuOvercommitRatio})`;
  return after > limit
    ? { check: 'vcpu', verdict: 'block', reason: `needs ${ctx.server.vcpus}, would be ${detail}` }
    : { check: 'vcpu', verdict: 'ok', reason: detail };
}

/** Where a disk file of the source lands on the target: the pool of the same name, else the pool whose path holds it. */
export function findPool(pools: readonly StoragePool[], disk: Disk, shared: boolean): StoragePool | undefined {
  const candidates = pools.filter((p) => p.shared === shared);
  if (disk.pool) {
    const byName = candidates.find((p) => p.name === disk.pool);
    if (byName) return byName;
  }
  if (!disk.path) return undefined;
  let best: StoragePool | undefined;
  for (const p of candidates) {
    if (!p.path) continue;
    const dir = p.path.endsWith('/') ? p.path : `${p.path}/`;
    if (disk.path.startsWith(dir) && (best === undefined || p.path.length > best.path.length)) best = p;
  }
  return best;
}

export interface LocalDiskPlacement {
  /** Target pool name → bytes this server puts there. */
  byPool: Map<string, number>;
  /** Disks with no pool on the target to hold them. */
  unplaced: Disk[];
  /** Pools found but not active. */
  inactive: { disk: Disk; pool: string }[];
}

/**
 * The agent copies a local disk to the same path on the target
 * (copy-storage / copyDiskTo), so a pool there must hold that path; its
 * available bytes are the capacity we can promise.
 */
export function placeLocalDisks(server: ServerRecord, target: SnapshotHost): LocalDiskPlacement {
  const out: LocalDiskPlacement = { byPool: new Map(), unplaced: [], inactive: [] };
  for (const d of server.disks) {
    if (!isLocalDisk(d)) continue;
    const bytes = diskBytes(d);
    if (bytes === 0 && !d.path) continue; // an empty drive: nothing to copy, nowhere to put it
    const pool = findPool(target.storagePools, d, false);
    if (pool === undefined) out.unplaced.push(d);
    else if (!pool.active) out.inactive.push({ disk: d, pool: pool.name });
    else out.byPool.set(pool.name, (out.byPool.get(pool.name) ?? 0) + bytes);
  }
  return out;
}

export function checkLocalDisk(ctx: CheckContext): CheckResult {
  const placement = placeLocalDisks(ctx.server, ctx.target);
  if (placement.byPool.size === 0 && placement.unplaced.length === 0 && placement.inactive.length === 0) {
    return { check: 'local-disk', verdict: 'ok', reason: 'no local disks' };
  }
  const problems: string[] = [];
  for (const d of placement.unplaced) problems.push(`no local pool for ${d.target || d.path}${d.pool ? ` (pool ${d.pool})` : ''} at ${d.path || '?'}`);
  for (const { disk, pool } of placement.inactive) problems.push(`pool ${pool} for ${disk.target || disk.path} is inactive`);
  const fits: string[] = [];
  for (const [poolName, need] of [...placement.byPool].sort((a, b) => cmp(a[0], b[0]))) {
    const pool = ctx.target.storagePools.find((p) => p.name === poolName && !p.shared)!;
    const free = Number(pool.available_bytes) - (ctx.reserved.diskByPool.get(poolName) ?? 0);
    if (need > free) problems.push(`pool ${poolName} needs ${formatBytes(need)}, ${formatBytes(Math.max(0, free))} available after reservations`);
    else fits.push(`${formatBytes(need)} into ${poolName} (${formatBytes(free - need)} left)`);
  }
  return problems.length > 0
    ? { check: 'local-disk', verdict: 'block', reason: problems.join('; ') }
    : { check: 'local-disk', verdict: 'ok', reason: fits.join('; ') };
}

/** Every shared disk's pool must be reachable from the target: a shared, active pool of that name or path there. */
export function checkSharedStorage(ctx: CheckContext): CheckResult {
  const shared = ctx.server.disks.filter((d) => !isLocalDisk(d));
  if (shared.length === 0) return { check: 'shared-storage', verdict: 'ok', reason: 'no shared disks' };
  const missing: string[] = [];
  const unverifiable: string[] = [];
  const reached = new Set<string>();
  for (const d of shared) {
    const name = d.target || d.path || d.pool;
    if (!d.pool && !d.path) {
      unverifiable.push(name || 'a network disk');
      continue;
    }
    const pool = findPool(ctx.target.storagePools, d, true);
    if (pool === undefined) missing.push(`${name}: no shared pool ${d.pool || d.path}`);
    else if (!pool.active) missing.push(`${name}: shared pool ${pool.name} inactive`);
    else reached.add(pool.name);
  }
  if (missing.length > 0) return { check: 'shared-storage', verdict: 'block', reason: missing.join('; ') };
  if (unverifiable.length > 0) {
    return { check: 'shared-storage', verdict: 'warn', reason: `cannot verify reach of ${unverifiable.join(', ')} (no pool or path)` };
  }
  return { check: 'shared-storage', verdict: 'ok', reason: `reaches ${[...reached].sort(cmp).join(', ')}` };
}

/** Delegates to the zone-CPU logic (issue 5). Without it, every host passes as "not checked" and the plan warns. */
export function checkCpuCompatible(ctx: CheckContext): CheckResult {
  if (ctx.cpuCompatible === undefined) return { check: 'cpu-compatible', verdict: 'ok', reason: CPU_NOT_CHECKED };
  const r = ctx.cpuCompatible(ctx.server, ctx.target, ctx.zone);
  return { check: 'cpu-compatible', verdict: r.ok ? 'ok' : 'block', reason: r.reason || (r.ok ? 'compatible' : 'incompatible') };
}

/**
 * The chain, cheapest and most structural first. Order only affects how
 * verdicts are listed: every check always runs.
 */
export const TARGET_CHECKS: readonly TargetCheck[] = [
  checkNotSource,
  checkSameZone,
  checkKvm,
  checkEnabled,
  checkOnline,
  checkNotInMaintenance,
  checkMemory,
  checkVcpu,
  checkLocalDisk,
  checkSharedStorage,
  checkCpuCompatible,
];

export function runChecks(ctx: CheckContext, checks: readonly TargetCheck[] = TARGET_CHECKS): CheckResult[] {
  return checks.map((c) => c(ctx));
}

export function isEligible(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.verdict === 'ok' || r.verdict === 'warn');
}

/** One candidate's verdict: every check of the chain, eligibility and the memory it would have left. */
export function candidateVerdict(ctx: CheckContext, checks: readonly TargetCheck[] = TARGET_CHECKS): CandidateVerdict {
  const results = runChecks(ctx, checks);
  return { hostId: ctx.target.id, eligible: isEligible(results), checks: results, memoryFreeAfterBytes: memoryFreeAfter(ctx) };
}
