// HostFacts: what this host is. OS facts come from systeminformation, the
// hypervisor's own view (CPU as libvirt names it, topology, versions, pools,
// memory) from the Hypervisor, identity from the kernel's boot id and a
// random incarnation chosen when the agent process started.
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import si from 'systeminformation';
import type { Hypervisor } from './hypervisor/hypervisor.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';

export type { HostFacts };

const require = createRequire(import.meta.url);
/** The agent version is the package version. */
export const AGENT_VERSION: string = (require('../package.json') as { version: string }).version;

export interface OsFacts {
  hostname: string;
  os: string;
  kernel: string;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
}

let osFactsOnce: Promise<Omit<OsFacts, 'memoryFreeBytes'>> | undefined;

/** OS facts from systeminformation. The static part is read once per process (it is slow, and N sim agents share it). */
export async function gatherOsFacts(): Promise<OsFacts> {
  osFactsOnce ??= si.osInfo().then(async (o) => {
    const mem = await si.mem();
    return {
      hostname: o.fqdn || o.hostname,
      os: [o.distro, o.release].filter(Boolean).join(' ') || o.platform,
      kernel: o.kernel,
      memoryTotalBytes: mem.total,
    };
  });
  const [base, mem] = await Promise.all([osFactsOnce, si.mem()]);
  return { ...base, memoryFreeBytes: mem.available };
}

/** The kernel's boot id: changes on every real reboot. */
export async function readBootId(file = '/proc/sys/kernel/random/boot_id'): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return '';
  }
}

export function newIncarnation(): string {
  return randomUUID();
}

export interface FactsSourceOptions {
  hostId: string;
  hypervisor: Hypervisor;
  /** host:port published for the coordinator. */
  grpcEndpoint: () => string;
  storageCluster: string;
  incarnation: string;
  /** Boot id source; the sim supplies its own so a simulated reboot changes it. */
  bootId?: () => Promise<string>;
  /** OS facts source; the sim reports the sim host instead of the machine. */
  osFacts?: () => Promise<OsFacts>;
  /** Free memory for heartbeats (cheap, every 2 s); default: systeminformation's available memory. */
  memoryFree?: (signal?: AbortSignal) => Promise<number>;
}

export class FactsSource {
  constructor(private readonly opts: FactsSourceOptions) {}

  get incarnation(): string {
    return this.opts.incarnation;
  }

  /** Free memory now, for the heartbeat (not a full facts gathering). */
  async memoryFreeBytes(signal?: AbortSignal): Promise<number> {
    if (this.opts.memoryFree) return this.opts.memoryFree(signal);
    return (await si.mem()).available;
  }

  bootId(): Promise<string> {
    return (this.opts.bootId ?? (() => readBootId()))();
  }

  async gather(signal?: AbortSignal): Promise<HostFacts> {
    const [hv, os, bootId] = await Promise.all([this.opts.hypervisor.facts(signal), (this.opts.osFacts ?? gatherOsFacts)(), this.bootId()]);
    return {
      host_id: this.opts.hostId,
      hostname: os.hostname,
      hypervisor_type: hv.hypervisorType,
      cpu: hv.cpu,
      topology: hv.topology,
      // libvirt's figures are the guests' view; fall back to the OS's.
      memory_total_bytes: hv.memoryTotalBytes || os.memoryTotalBytes,
      memory_free_bytes: hv.memoryFreeBytes || os.memoryFreeBytes,
      libvirt_version: hv.libvirtVersion,
      qemu_version: hv.qemuVersion,
      // Shared as the hypervisor decided (agent/hypervisor/disk-plan.ts poolShared: declared paths included).
      storage_pools: hv.storagePools,
      boot_id: bootId,
      incarnation: this.opts.incarnation,
      grpc_endpoint: this.opts.grpcEndpoint(),
      migration_uri: this.opts.hypervisor.migrationUri,
      agent_version: AGENT_VERSION,
      storage_cluster: this.opts.storageCluster,
      gathered_at_ms: Date.now(),
      os: os.os,
      kernel: os.kernel,
    };
  }
}

/** The part of the facts that matters for "did they change" (not the clock, not free memory). */
export function factsFingerprint(f: HostFacts): string {
  const { gathered_at_ms: _t, memory_free_bytes: _m, storage_pools, ...rest } = f;
  return JSON.stringify({ ...rest, storage_pools: storage_pools.map(({ available_bytes: _a, ...p }) => p) });
}
