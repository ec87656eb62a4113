// Parsers for command-line values: each turns operator text into the proto
// value or fails with a usage error naming the flag and the accepted forms.
import { parseBytes, parseDuration } from '../common/config.ts';
import type { CpuMode } from '../common/generated/drydock/admin/v1/CpuMode.ts';
import type { PlacementPolicy } from '../common/generated/drydock/admin/v1/PlacementPolicy.ts';
import type { ZonePolicy } from '../common/generated/drydock/admin/v1/ZonePolicy.ts';
import { usageError } from './exit.ts';

export function parseCpuMode(raw: string, flag = '--cpu-mode'): CpuMode {
  const v = raw
    .trim()
    .toUpperCase()
    .replace(/^CPU_MODE_/, '');
  if (v === 'DEFAULT' || v === 'EXTENDED' || v === 'PASSTHROUGH') return `CPU_MODE_${v}`;
  throw usageError(`${flag} ${JSON.stringify(raw)} is not a CPU mode`, `use one of: default, extended, passthrough`);
}

export function parsePlacement(raw: string): PlacementPolicy {
  const v = raw
    .trim()
    .toUpperCase()
    .replace(/^PLACEMENT_POLICY_/, '');
  if (v === 'SPREAD' || v === 'PACK') return `PLACEMENT_POLICY_${v}`;
  throw usageError(`--placement ${JSON.stringify(raw)} is not a placement policy`, 'use spread or pack');
}

export function parseCount(raw: string, flag: string, min = 0): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min)
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a whole number${min ? ` >= ${min}` : ''}`, `pass e.g. ${flag} ${Math.max(min, 2)}`);
  return n;
}

export function parseSeconds(raw: string, flag: string): number {
  let ms: number;
  try {
    ms = parseDuration(raw, flag);
  } catch {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a duration`, `pass e.g. ${flag} 150s or ${flag} 5m (a bare number is milliseconds)`);
  }
  return Math.round(ms / 1000);
}

export function parseSize(raw: string, flag: string): number {
  try {
    return parseBytes(raw, flag);
  } catch {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a size`, `pass e.g. ${flag} 1GiB or ${flag} 512MiB`);
  }
}

export function parseRatio(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${flag} ${JSON.stringify(raw)} is not a positive number`, `pass e.g. ${flag} 4`);
  return n;
}

export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Zone policy flags as commander collects them. */
export interface PolicyFlags {
  placement?: string;
  maxMigrationsPerSource?: string;
  maxMigrationsPerZone?: string;
  maxIncomingPerTarget?: string;
  stallTimeout?: string;
  timeoutPerGib?: string;
  minTimeout?: string;
  allowPostCopy?: boolean;
  allowAutoConverge?: boolean;
  cpuOvercommitRatio?: string;
  hostMemoryReserve?: string;
  maxAttemptsPerServer?: string;
  settlePause?: string;
}

export const POLICY_FLAG_HELP: Array<[string, string]> = [
  ['--placement <policy>', 'spread (most free memory first) or pack'],
  ['--max-migrations-per-source <n>', 'migrations at once from one host (default 1)'],
  ['--max-migrations-per-zone <n>', 'migrations at once in the zone (default 2)'],
  ['--max-incoming-per-target <n>', 'migrations at once into one host (default 1)'],
  ['--stall-timeout <duration>', 'abort a migration whose progress stalls this long (default 150s)'],
  ['--timeout-per-gib <duration>', 'completion timeout per GiB to copy (default 150s)'],
  ['--min-timeout <duration>', 'minimum completion timeout (default 120s)'],
  ['--settle-pause <duration>', 'pause between storage-cluster returns, 5m-10m (default 5m)'],
  ['--cpu-overcommit-ratio <x>', 'vCPUs per logical CPU (default 4)'],
  ['--host-memory-reserve <size>', 'memory kept free on every host (default 1GiB)'],
  ['--max-attempts-per-server <n>', 'targets tried per server (default 3)'],
];

/** True when any policy flag was given. */
export function hasPolicyFlags(f: PolicyFlags): boolean {
  return Object.values(pickPolicyFlags(f)).some((v) => v !== undefined);
}

function pickPolicyFlags(f: PolicyFlags): PolicyFlags {
  const {
    placement,
    maxMigrationsPerSource,
    maxMigrationsPerZone,
    maxIncomingPerTarget,
    stallTimeout,
    timeoutPerGib,
    minTimeout,
    allowPostCopy,
    allowAutoConverge,
    cpuOvercommitRatio,
    hostMemoryReserve,
    maxAttemptsPerServer,
    settlePause,
  } = f;
  return {
    placement,
    maxMigrationsPerSource,
    maxMigrationsPerZone,
    maxIncomingPerTarget,
    stallTimeout,
    timeoutPerGib,
    minTimeout,
    allowPostCopy,
    allowAutoConverge,
    cpuOvercommitRatio,
    hostMemoryReserve,
    maxAttemptsPerServer,
    settlePause,
  };
}

/** A policy with every field zero ("coordinator default"). */
export function emptyPolicy(): ZonePolicy {
  return {
    placement: 'PLACEMENT_POLICY_UNSPECIFIED',
    max_migrations_per_source: 0,
    max_migrations_per_zone: 0,
    max_incoming_per_target: 0,
    stall_timeout_s: 0,
    timeout_per_gib_s: 0,
    min_timeout_s: 0,
    allow_post_copy: false,
    allow_auto_converge: false,
    cpu_overcommit_ratio: 0,
    host_memory_reserve_bytes: 0,
    max_attempts_per_server: 0,
    settle_pause_s: 0,
  };
}

/** `base` with the given flags applied (UpdateZone replaces the whole policy). */
export function applyPolicyFlags(base: ZonePolicy, f: PolicyFlags): ZonePolicy {
  const p = { ...base };
  if (f.placement !== undefined) p.placement = parsePlacement(f.placement);
  if (f.maxMigrationsPerSource !== undefined) p.max_migrations_per_source = parseCount(f.maxMigrationsPerSource, '--max-migrations-per-source', 1);
  if (f.maxMigrationsPerZone !== undefined) p.max_migrations_per_zone = parseCount(f.maxMigrationsPerZone, '--max-migrations-per-zone', 1);
  if (f.maxIncomingPerTarget !== undefined) p.max_incoming_per_target = parseCount(f.maxIncomingPerTarget, '--max-incoming-per-target', 1);
  if (f.stallTimeout !== undefined) p.stall_timeout_s = parseSeconds(f.stallTimeout, '--stall-timeout');
  if (f.timeoutPerGib !== undefined) p.timeout_per_gib_s = parseSeconds(f.timeoutPerGib, '--timeout-per-gib');
  if (f.minTimeout !== undefined) p.min_timeout_s = parseSeconds(f.minTimeout, '--min-timeout');
  if (f.settlePause !== undefined) p.settle_pause_s = parseSeconds(f.settlePause, '--settle-pause');
  if (f.allowPostCopy !== undefined) p.allow_post_copy = f.allowPostCopy;
  if (f.allowAutoConverge !== undefined) p.allow_auto_converge = f.allowAutoConverge;
  if (f.cpuOvercommitRatio !== undefined) p.cpu_overcommit_ratio = parseRatio(f.cpuOvercommitRatio, '--cpu-overcommit-ratio');
  if (f.hostMemoryReserve !== undefined) p.host_memory_reserve_bytes = parseSize(f.hostMemoryReserve, '--host-memory-reserve');
  if (f.maxAttemptsPerServer !== undefined) p.max_attempts_per_server = parseCount(f.maxAttemptsPerServer, '--max-attempts-per-server', 1);
  return p;
}
