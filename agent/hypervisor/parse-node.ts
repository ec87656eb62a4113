// Host-level text outputs: `virsh version`, `nodeinfo`, `nodememstats`,
// `freecell --all`. Labels are virsh's, stable across releases (C locale).
import { int, keyValues } from './parse-xml.ts';

export interface VersionInfo {
  /** "9.0.0" (the library the daemon uses). */
  libvirt: string;
  /** Hypervisor name as virsh prints it ("QEMU"). */
  hypervisor: string;
  /** "7.2.22". */
  hypervisorVersion: string;
}

export function parseVersion(stdout: string): VersionInfo {
  const lib = stdout.match(/^Using library: libvirt (\S+)/m)?.[1] ?? stdout.match(/^Compiled against library: libvirt (\S+)/m)?.[1] ?? '';
  const hv = stdout.match(/^Running hypervisor: (\S+) (\S+)/m);
  return { libvirt: lib, hypervisor: hv?.[1] ?? '', hypervisorVersion: hv?.[2] ?? '' };
}

export interface NodeInfo {
  cpuModel: string;
  cpus: number;
  mhz: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  numaCells: number;
  memoryBytes: number;
}

export function parseNodeInfo(stdout: string): NodeInfo {
  const kv = keyValues(stdout, ':');
  const n = (k: string) => int((kv.get(k) ?? '').split(/\s+/)[0] ?? '');
  return {
    cpuModel: kv.get('CPU model') ?? '',
    cpus: n('CPU(s)'),
    mhz: n('CPU frequency'),
    sockets: n('CPU socket(s)'),
    coresPerSocket: n('Core(s) per socket'),
    threadsPerCore: n('Thread(s) per core'),
    numaCells: n('NUMA cell(s)'),
    memoryBytes: n('Memory size') * 1024,
  };
}

export interface NodeMemStats {
  totalBytes: number;
  freeBytes: number;
  buffersBytes: number;
  cachedBytes: number;
  /** free + buffers + cached: what new guests can use without swapping. */
  availableBytes: number;
}

/** `virsh nodememstats`: "total  :  24683656 KiB". */
export function parseNodeMemStats(stdout: string): NodeMemStats {
  const kv = keyValues(stdout, ':');
  const kib = (k: string) => int((kv.get(k) ?? '').split(/\s+/)[0] ?? '') * 1024;
  const total = kib('total');
  const free = kib('free');
  const buffers = kib('buffers');
  const cached = kib('cached');
  return { totalBytes: total, freeBytes: free, buffersBytes: buffers, cachedBytes: cached, availableBytes: Math.min(total, free + buffers + cached) };
}

export interface FreeCells {
  cells: { cell: number; freeBytes: number }[];
  totalFreeBytes: number;
}

/** `virsh freecell --all`: "    0:    4158736 KiB" lines and "Total:    4158736 KiB". */
export function parseFreeCell(stdout: string): FreeCells {
  const cells: { cell: number; freeBytes: number }[] = [];
  let total = 0;
  for (const line of stdout.split('\n')) {
    const c = line.match(/^\s*(\d+):\s+(\d+) KiB/);
    if (c) cells.push({ cell: int(c[1] ?? ''), freeBytes: int(c[2] ?? '') * 1024 });
    const t = line.match(/^\s*Total:\s+(\d+) KiB/);
    if (t) total = int(t[1] ?? '') * 1024;
  }
  return { cells, totalFreeBytes: total || cells.reduce((s, c) => s + c.freeBytes, 0) };
}
