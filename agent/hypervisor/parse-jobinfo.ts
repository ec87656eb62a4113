// `virsh domjobinfo --rawstats`: "Job type: N" then "key: value" lines with
// libvirt's typed-parameter names. In the first ~1 s of a migration only
// time_elapsed is non-zero; the caller must not read zeros as "no progress".
import type { JobStats } from './hypervisor.ts';
import { int, keyValues } from './parse-xml.ts';

/** virDomainJobType numbers. */
const JOB_TYPES = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'] as const;

/** virDomainJobOperation numbers (libvirt ≥ 3.3). */
const JOB_OPERATIONS = [
  'unknown',
  'start',
  'save',
  'restore',
  'migration-in',
  'migration-out',
  'snapshot',
  'snapshot-revert',
  'dump',
  'backup',
  'snapshot-delete',
] as const;

export interface ParsedJobInfo {
  stats: JobStats;
  /** "migration-out", "migration-in", "dump", ... ("" if not reported). */
  operation: string;
  raw: Map<string, string>;
}

/**
 * Parses --rawstats output. `postCopy` is passed in: libvirt does not put it in
 * job stats; the caller learns it from the domain state reason ("post-copy").
 */
export function parseDomJobInfo(stdout: string, postCopy = false): ParsedJobInfo {
  const raw = keyValues(stdout, ':');
  const typeText = raw.get('Job type') ?? '';
  const typeNum = Number(typeText);
  const type = Number.isInteger(typeNum) ? (JOB_TYPES[typeNum] ?? `unknown-${typeNum}`) : typeText.toLowerCase() || 'none';
  raw.delete('Job type');
  const n = (k: string) => int(raw.get(k) ?? '');
  const op = raw.get('operation');
  return {
    operation: op === undefined ? '' : (JOB_OPERATIONS[int(op)] ?? `unknown-${op}`),
    raw,
    stats: {
      type,
      postCopy,
      timeElapsedMs: n('time_elapsed'),
      dataProcessed: n('data_processed'),
      dataRemaining: n('data_remaining'),
      dataTotal: n('data_total'),
      memoryProcessed: n('memory_processed'),
      memoryRemaining: n('memory_remaining'),
      memoryTotal: n('memory_total'),
      diskProcessed: n('disk_processed'),
      diskRemaining: n('disk_remaining'),
      diskTotal: n('disk_total'),
      memoryBandwidth: n('memory_bps'),
      diskBandwidth: n('disk_bps'),
      iteration: n('memory_iteration'),
      downtimeMs: n('downtime'),
      dirtyRate: n('memory_dirty_rate'),
    },
  };
}
