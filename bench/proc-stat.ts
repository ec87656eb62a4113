// A process's CPU time and resident memory from /proc (Linux), for the
// benches that measure the coordinator as a process of its own.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** User + system CPU time so far (s). */
  cpuS: number;
  /** Resident set now (MiB). */
  rssMiB: number;
  /** Peak resident set of the process's life (MiB). */
  hwmMiB: number;
}

export function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks (100/s on Linux).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { cpuS, rssMiB: kb('VmRSS'), hwmMiB: kb('VmHWM') };
}
