// The `sim` hypervisor: in memory, for scale and fault tests only (never a
// default). Several SimHosts share one SimFabric, which owns every server's
// location, so a server is on exactly one host at any time; the only
// exception is set up on purpose (leaveDefinitionOf: the stale definition an
// interrupted move can leave on its source). Migration time
// follows from size and bandwidth; job stats are simulated per tick; faults
// (fail, stall, unreachable target, slow shutdown) are injected per host.
//
// CPU compare/baseline here are plain set logic over feature lists and a
// small model table: good enough to drive zone-CPU scenarios, but the real
// decisions come from libvirt's hypervisor-cpu-compare / -baseline.
import { EventEmitter, on } from 'node:events';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  CpuDescription,
  CpuTopology,
  DomainEvent,
  GuestWatch,
  Hypervisor,
  HypervisorFacts,
  JobStats,
  LiveMigrationSpec,
  MigrationSource,
  Server,
  StoragePool,
} from '../agent/hypervisor/hypervisor.ts';
import type { Disk } from '../common/generated/drydock/agent/v1/Disk.ts';
import type { GuestCpu } from '../common/generated/drydock/agent/v1/GuestCpu.ts';
import type { ServerState } from '../common/generated/drydock/agent/v1/ServerState.ts';
import type { CpuCompareResult } from '../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors.ts';
import { diskUsesPath, planLocalDiskRemoval } from '../agent/hypervisor/disk-paths.ts';
import { diskSharing, planDisks, poolShared } from '../agent/hypervisor/disk-plan.ts';
import {
  DomainNotRunningError,
  DomainRunningError,
  LibvirtError,
  MigrationAbortedError,
  OperationInvalidError,
  PostCopyAbortRefusedError,
  SameHostError,
  ServerNotFoundError,
  StorageNotFoundError,
  TargetUnreachableError,
  UnsafeMigrationError,
} from '../agent/hypervisor/errors.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

// ------------------------------------------------------------------ CPU

/** Models the sim knows, weakest first, each with the features it implies. */
export const SIM_CPU_MODELS: ReadonlyArray<{ model: string; features: readonly string[] }> = [
  { model: 'qemu64', features: ['fpu', 'sse', 'sse2', 'cx16', 'lm', 'syscall', 'nx'] },
  { model: 'Westmere', features: ['fpu', 'sse', 'sse2', 'cx16', 'lm', 'syscall', 'nx', 'ssse3', 'sse4.1', 'sse4.2', 'popcnt', 'aes'] },
  {
    model: 'Haswell-noTSX',
    features: [
      'fpu',
      'sse',
      'sse2',
      'cx16',
      'lm',
      'syscall',
      'nx',
      'ssse3',
      'sse4.1',
      'sse4.2',
      'popcnt',
      'aes',
      'avx',
      'avx2',
      'fma',
      'bmi1',
      'bmi2',
      'movbe',
    ],
  },
  {
    model: 'Skylake-Server',
    features: [
      'fpu',
      'sse',
      'sse2',
      'cx16',
      'lm',
      'syscall',
      'nx',
      'ssse3',
      'sse4.1',
      'sse4.2',
      'popcnt',
      'aes',
      'avx',
      'avx2',
      'fma',
      'bmi1',
      'bmi2',
      'movbe',
      'avx512f',
      'avx512dq',
      'avx512cd',
      'avx512bw',
      'avx512vl',
      'clwb',
      'pku',
    ],
  },
];

const FEATURE_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** A CPU description in libvirt's <cpu> shape (model + required/disabled features). */
export function simCpu(model: string, extra: string[] = [], opts: { vendor?: string; disabled?: string[] } = {}): CpuDescription {
  const vendor = opts.vendor ?? 'Intel';
  const disabled = opts.disabled ?? [];
  return { arch: 'x86_64', vendor, model, features: [...extra], disabled_features: [...disabled], xml: cpuXml(model, vendor, extra, disabled) };
}

export function cpuXml(model: string, vendor: string, features: string[], disabled: string[] = []): string {
  const lines = [`<cpu mode='custom' match='exact'>`, `  <model fallback='forbid'>${model}</model>`, `  <vendor>${vendor}</vendor>`];
  for (const f of features) lines.push(`  <feature policy='require' name='${f}'/>`);
  for (const f of disabled) lines.push(`  <feature policy='disable' name='${f}'/>`);
  lines.push('</cpu>');
  return lines.join('\n');
}

/** Reads the model, vendor and features back from a <cpu> element (sim only: no XML entities, no nesting). */
export function parseSimCpuXml(xml: string): { model: string; vendor: string; required: string[]; disabled: string[] } {
  if (!/<cpu[\s>]/.test(xml)) throw new InvalidArgumentError('cpu_xml', 'not a <cpu> element');
  const model = /<model[^>]*>\s*([^<\s]+)\s*<\/model>/.exec(xml)?.[1] ?? '';
  const vendor = /<vendor>\s*([^<\s]+)\s*<\/vendor>/.exec(xml)?.[1] ?? '';
  const required: string[] = [];
  const disabled: string[] = [];
  for (const m of xml.matchAll(/<feature\s+([^>]*?)\/?>/g)) {
    const attrs = m[1]!;
    const name = /name=['"]([^'"]+)['"]/.exec(attrs)?.[1];
    const policy = /policy=['"]([^'"]+)['"]/.exec(attrs)?.[1] ?? 'require';
    if (!name || !FEATURE_NAME_RE.test(name)) throw new InvalidArgumentError('cpu_xml', `bad feature ${JSON.stringify(name)}`);
    if (policy === 'disable' || policy === 'forbid') disabled.push(name);
    else required.push(name);
  }
  if (model && !SIM_CPU_MODELS.some((m) => m.model === model)) throw new InvalidArgumentError('cpu_xml', `unknown CPU model ${JSON.stringify(model)}`);
  return { model, vendor, required, disabled };
}

/** Every feature a description implies (model features + required − disabled). */
export function expandSimCpu(xml: string): { vendor: string; features: Set<string> } {
  const p = parseSimCpuXml(xml);
  const base = SIM_CPU_MODELS.find((m) => m.model === p.model)?.features ?? [];
  const set = new Set([...base, ...p.required]);
  for (const d of p.disabled) set.delete(d);
  return { vendor: p.vendor, features: set };
}

export function simCompareCpu(hostXml: string, guestXml: string): { result: CpuCompareResult; missingFeatures: string[]; message: string } {
  const host = expandSimCpu(hostXml);
  const guest = expandSimCpu(guestXml);
  if (guest.vendor && host.vendor && guest.vendor !== host.vendor) {
    return { result: 'CPU_COMPARE_RESULT_INCOMPATIBLE', missingFeatures: [], message: `vendor ${guest.vendor} != host vendor ${host.vendor}` };
  }
  const missing = [...guest.features].filter((f) => !host.features.has(f)).sort();
  if (missing.length) {
    return { result: 'CPU_COMPARE_RESULT_INCOMPATIBLE', missingFeatures: missing, message: `host CPU lacks: ${missing.join(', ')}` };
  }
  if (host.features.size === guest.features.size) return { result: 'CPU_COMPARE_RESULT_IDENTICAL', missingFeatures: [], message: 'identical' };
  return { result: 'CPU_COMPARE_RESULT_SUPERSET', missingFeatures: [], message: 'host CPU is a superset' };
}

export function simBaselineCpu(xmls: string[], opts: { expandFeatures: boolean }): CpuDescription {
  if (xmls.length === 0) throw new InvalidArgumentError('cpu_xmls', 'at least one CPU description is needed');
  const all = xmls.map(expandSimCpu);
  const vendors = new Set(all.map((c) => c.vendor).filter(Boolean));
  if (vendors.size > 1) throw new InvalidArgumentError('cpu_xmls', `CPUs of different vendors have no baseline: ${[...vendors].join(', ')}`);
  const common = new Set(all[0]!.features);
  for (const c of all.slice(1)) for (const f of [...common]) if (!c.features.has(f)) common.delete(f);
  let best = SIM_CPU_MODELS[0]!;
  for (const m of SIM_CPU_MODELS) if (m.features.every((f) => common.has(f))) best = m;
  const missingFromModel = best.features.filter((f) => !common.has(f));
  const extra = opts.expandFeatures ? [...common].sort() : [...common].filter((f) => !best.features.includes(f)).sort();
  return simCpu(best.model, extra, { vendor: [...vendors][0] ?? 'Intel', disabled: missingFromModel });
}

// ------------------------------------------------------------------ servers

export interface SimServerSpec {
  uuid?: string;
  name: string;
  memoryBytes?: number;
  vcpus?: number;
  /** Default running. */
  running?: boolean;
  disks?: Array<Partial<Disk> & { path: string }>;
  hotMigration?: boolean;
  smart?: boolean;
  cpu?: Partial<GuestCpu>;
  /** Memory dirtied per second while running: at or above the bandwidth a live migration never converges. */
  dirtyRateBps?: number;
  /** The guest ignores ACPI shutdown (cold moves then need the hard stop). */
  ignoreShutdown?: boolean;
}

interface SimServer {
  server: Server;
  dirtyRateBps: number;
  ignoreShutdown: boolean;
  /** True while an outgoing migration runs (a second one is refused). */
  migrating: boolean;
  /** libvirt's reason for the state (domstate --reason): "booted", "migrated", "panicked", ... ("" = none). */
  reason?: string;
}

export interface SimMigrationRecord {
  uuid: string;
  name: string;
  from: string;
  to: string;
  mode: 'live' | 'offline';
  startedAtMs: number;
  finishedAtMs: number;
  result: 'completed' | 'failed' | 'aborted' | 'running';
  bytes: number;
}

export interface SimFabricOptions {
  /** Migration bandwidth between hosts, bytes/s (default 1 GiB/s). */
  bandwidthBps?: number;
  /** Simulation tick (default 100 ms). */
  tickMs?: number;
  /** Time before data starts to move (target QEMU start), default 200 ms. */
  setupMs?: number;
  /** Time an obedient guest takes to shut down on ACPI, default 200 ms. */
  shutdownMs?: number;
}

/** The shared world of several sim hosts: where every server is. */
export class SimFabric {
  readonly bandwidthBps: number;
  readonly tickMs: number;
  readonly setupMs: number;
  readonly shutdownMs: number;
  readonly hosts = new Map<string, SimHost>();
  /** uuid → where it lives. The single source of truth for "exactly one host". */
  readonly placement = new Map<string, { host: SimHost; sim: SimServer }>();
  /** Every migration any host ran, in start order. */
  readonly migrations: SimMigrationRecord[] = [];

  constructor(opts: SimFabricOptions = {}) {
    this.bandwidthBps = opts.bandwidthBps ?? GiB;
    this.tickMs = opts.tickMs ?? 100;
    this.setupMs = opts.setupMs ?? 200;
    this.shutdownMs = opts.shutdownMs ?? 200;
  }

  addHost(opts: SimHostOptions): SimHost {
    const host = new SimHost(this, opts);
    if (this.hosts.has(host.migrationUri)) throw new Error(`sim host ${host.migrationUri} exists`);
    this.hosts.set(host.migrationUri, host);
    return host;
  }

  hostById(hostId: string): SimHost | undefined {
    for (const h of this.hosts.values()) if (h.hostId === hostId) return h;
    return undefined;
  }

  /** The host a server is on, or undefined. */
  whereIs(uuid: string): SimHost | undefined {
    return this.placement.get(uuid.toLowerCase())?.host;
  }

  /** Migrations of one server (all modes). */
  migrationsOf(uuid: string): SimMigrationRecord[] {
    return this.migrations.filter((m) => m.uuid === uuid.toLowerCase());
  }

  /** Stops every running simulated job (test teardown). */
  close(): void {
    for (const h of this.hosts.values()) h.close();
  }
}

export interface SimHostOptions {
  hostId: string;
  /** Default qemu+tcp://<hostId>.sim/system. */
  uri?: string;
  cpu?: CpuDescription;
  topology?: Partial<CpuTopology>;
  memoryTotalBytes?: number;
  /** Outgoing bandwidth override, bytes/s. */
  bandwidthBps?: number;
  pools?: StoragePool[];
  hypervisorType?: string;
  /** Path prefixes declared shared (the agent's storage.sharedPathPrefixes), as LibvirtHypervisor's sharedPaths. */
  sharedPaths?: string[];
}

interface SimJob {
  uuid: string;
  target: SimHost;
  total: number;
  processed: number;
  remaining: number;
  memoryTotal: number;
  diskTotal: number;
  iteration: number;
  startedAt: number;
  postCopy: boolean;
  bandwidth: number;
  stallAtFraction: number | null;
  failAtFraction: number | null;
  failWith: Error | null;
  downtimeMs: number;
  lastBandwidth: number;
  aborted: boolean;
  settle: (err?: Error) => void;
  timer: NodeJS.Timeout;
  record: SimMigrationRecord;
}

/** Faults injected into one host. Each "next" fault is used once. */
export interface SimFaults {
  /** The next outgoing migration (live or offline) fails at this fraction of its data (0 = at once). */
  failNextMigration(opts?: { atFraction?: number; error?: Error }): void;
  /** The next outgoing live migration stops making progress at this fraction until aborted. */
  stallNextMigration(opts?: { atFraction?: number }): void;
  /** The host cannot be reached as a migration target or peer (libvirtd down, no route). */
  setUnreachable(unreachable: boolean): void;
  /** The next start of a server on this host fails. */
  failNextStart(error?: Error): void;
  /**
   * Every outgoing migration fails (at a random fraction of its data) with
   * probability `failRate`, or stalls with probability `stallRate`; `random`
   * makes a chaos run repeatable (default Math.random).
   */
  setMigrationFaultRates(rates: { failRate?: number; stallRate?: number; random?: () => number }): void;
  /** Every query of this hypervisor (facts, server lists, job stats) answers this many ms late (0 = at once). */
  setLatency(ms: number): void;
  /**
   * The next server that arrives on this host (a live move's switch-over, or
   * a start: a cold move) fails `afterMs` later: 'crash' = its kernel panics
   * with a pvpanic device (state crashed (panicked), a Crashed event);
   * 'reboot' = it panics and resets itself (a reboot event, still running).
   */
  crashNextArrival(opts?: { kind?: 'crash' | 'reboot'; afterMs?: number }): void;
  /** Clears every pending fault. */
  clear(): void;
}

/** One in-memory hypervisor. Implements the same interface as LibvirtHypervisor. */
export class SimHost implements Hypervisor {
  readonly kind = 'sim' as const;
  readonly hostId: string;
  readonly migrationUri: string;
  readonly hostUuid = randomUUID();
  cpu: CpuDescription;
  topology: CpuTopology;
  memoryTotalBytes: number;
  hypervisorType: string;
  pools: StoragePool[];
  /** Local files (disk images) on this host: copy-storage and copyDiskTo put them here. */
  readonly files = new Map<string, number>();
  /** Counters for assertions. */
  readonly counters = {
    migrationsStarted: 0,
    migrationsCompleted: 0,
    migrationsFailed: 0,
    migrationsAborted: 0,
    starts: 0,
    shutdowns: 0,
    destroys: 0,
    undefines: 0,
  };
  unreachable = false;
  bootId = randomUUID();

  private readonly bandwidthBps: number;
  private readonly sharedPaths: readonly string[];
  private readonly emitter = new EventEmitter();
  private readonly jobs = new Map<string, SimJob>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextFail: { atFraction: number; error: Error | null } | null = null;
  private nextStall: { atFraction: number } | null = null;
  private nextStartFailure: Error | null = null;
  private faultRates = { failRate: 0, stallRate: 0, random: Math.random };
  private latencyMs = 0;
  private nextArrivalCrash: { kind: 'crash' | 'reboot'; afterMs: number } | null = null;
  /** Stale definitions of servers placed on other hosts (leaveDefinitionOf), by uuid. */
  private readonly strays = new Map<string, SimServer>();

  constructor(
    readonly fabric: SimFabric,
    opts: SimHostOptions,
  ) {
    this.hostId = opts.hostId;
    this.migrationUri = opts.uri ?? `qemu+tcp://${opts.hostId}.sim/system`;
    this.cpu = opts.cpu ?? simCpu('Skylake-Server');
    this.topology = { sockets: 2, cores_per_socket: 8, threads_per_core: 2, logical_cpus: 32, ...opts.topology };
    this.memoryTotalBytes = opts.memoryTotalBytes ?? 64 * GiB;
    this.bandwidthBps = opts.bandwidthBps ?? fabric.bandwidthBps;
    this.hypervisorType = opts.hypervisorType ?? 'kvm';
    this.sharedPaths = opts.sharedPaths ?? [];
    this.pools = opts.pools ?? [
      { name: 'default', type: 'dir', path: '/var/lib/libvirt/images', shared: false, active: true, capacity_bytes: 2 ** 40, available_bytes: 2 ** 39 },
    ];
    this.emitter.setMaxListeners(0);
  }

  readonly faults: SimFaults = {
    failNextMigration: (opts = {}) => {
      this.nextFail = { atFraction: opts.atFraction ?? 0.5, error: opts.error ?? null };
    },
    stallNextMigration: (opts = {}) => {
      this.nextStall = { atFraction: opts.atFraction ?? 0.3 };
    },
    setUnreachable: (u) => {
      this.unreachable = u;
    },
    failNextStart: (error) => {
      this.nextStartFailure = error ?? new LibvirtError('simulated start failure');
    },
    setMigrationFaultRates: (r) => {
      this.faultRates = { failRate: r.failRate ?? 0, stallRate: r.stallRate ?? 0, random: r.random ?? Math.random };
    },
    setLatency: (ms) => {
      this.latencyMs = Math.max(0, ms);
    },
    crashNextArrival: (opts = {}) => {
      this.nextArrivalCrash = { kind: opts.kind ?? 'crash', afterMs: opts.afterMs ?? 50 };
    },
    clear: () => {
      this.nextArrivalCrash = null;
      this.nextFail = null;
      this.nextStall = null;
      this.nextStartFailure = null;
      this.unreachable = false;
      this.faultRates = { failRate: 0, stallRate: 0, random: Math.random };
      this.latencyMs = 0;
    },
  };

  // -------------------------------------------------------------- test setup

  /** Defines (and by default starts) a server on this host. */
  addServer(spec: SimServerSpec): Server {
    const uuid = (spec.uuid ?? randomUUID()).toLowerCase();
    if (this.fabric.placement.has(uuid)) throw new Error(`sim server ${uuid} already exists on ${this.fabric.placement.get(uuid)!.host.hostId}`);
    const disks: Disk[] = (spec.disks ?? []).map((d, i) => ({
      target: d.target ?? `vd${String.fromCharCode(97 + i)}`,
      path: d.path,
      capacity_bytes: d.capacity_bytes ?? 10 * GiB,
      allocation_bytes: d.allocation_bytes ?? 64 * MiB,
      pool: d.pool ?? '',
      shared: d.shared ?? false,
      format: d.format ?? 'qcow2',
      type: d.type ?? 'file',
      readonly: d.readonly ?? false,
    }));
    for (const d of disks) if (!d.shared) this.files.set(d.path, d.allocation_bytes);
    const server: Server = {
      uuid,
      name: spec.name,
      state: spec.running === false ? 'SERVER_STATE_SHUTOFF' : 'SERVER_STATE_RUNNING',
      vcpus: spec.vcpus ?? 1,
      memory_bytes: spec.memoryBytes ?? 512 * MiB,
      disks,
      cpu: { mode: 'host-model', model: '', features: [], xml: '', ...spec.cpu },
      hot_migration: spec.hotMigration ?? true,
      smart: spec.smart ?? false,
      persistent: true,
      domain_type: 'kvm',
    };
    this.fabric.placement.set(uuid, {
      host: this,
      sim: { server, dirtyRateBps: spec.dirtyRateBps ?? 0, ignoreShutdown: spec.ignoreShutdown ?? false, migrating: false },
    });
    this.emit('lifecycle', server.name, 'Defined Added');
    if (server.state === 'SERVER_STATE_RUNNING') this.emit('lifecycle', server.name, 'Started Booted');
    return structuredClone(server);
  }

  /**
   * Defines here a shut-off copy of a server that lives on another host:
   * what an interrupted move can leave on its source (libvirt defined the
   * server on the target and never undefined it here). Fault setup.
   */
  leaveDefinitionOf(uuid: string): Server {
    const key = uuid.toLowerCase();
    const entry = this.fabric.placement.get(key);
    if (!entry || entry.host === this) throw new Error(`sim server ${uuid} is not on another host`);
    const server: Server = { ...structuredClone(entry.sim.server), state: 'SERVER_STATE_SHUTOFF' };
    this.strays.set(key, { server, dirtyRateBps: 0, ignoreShutdown: false, migrating: false });
    this.emit('lifecycle', server.name, 'Defined Added');
    return structuredClone(server);
  }

  /** Removes a server from the fabric (undefine); a stale definition only goes from this host. */
  removeServer(uuid: string): void {
    const p = this.local(uuid);
    if (this.strays.get(p.server.uuid) === p) {
      this.strays.delete(p.server.uuid);
    } else {
      this.fabric.placement.delete(p.server.uuid);
      // A stale definition elsewhere is now the server's only one.
      for (const h of this.fabric.hosts.values()) {
        const stray = h.strays.get(p.server.uuid);
        if (!stray) continue;
        h.strays.delete(p.server.uuid);
        this.fabric.placement.set(p.server.uuid, { host: h, sim: stray });
        break;
      }
    }
    this.emit('lifecycle', p.server.name, 'Undefined Removed');
  }

  /** Changes a server's simulated behaviour (dirty rate, shutdown obedience). */
  tuneServer(uuid: string, opts: { dirtyRateBps?: number; ignoreShutdown?: boolean }): void {
    const p = this.local(uuid);
    if (opts.dirtyRateBps !== undefined) p.dirtyRateBps = opts.dirtyRateBps;
    if (opts.ignoreShutdown !== undefined) p.ignoreShutdown = opts.ignoreShutdown;
  }

  /** Servers on this host right now (synchronous, for assertions). */
  servers(): Server[] {
    const out: Server[] = [];
    for (const p of this.fabric.placement.values()) if (p.host === this) out.push(structuredClone(p.sim.server));
    for (const p of this.strays.values()) out.push(structuredClone(p.server));
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Simulates a host reboot: every server here stops, a new boot id. */
  reboot(): void {
    for (const p of this.fabric.placement.values()) {
      if (p.host === this && p.sim.server.state !== 'SERVER_STATE_SHUTOFF') {
        p.sim.server.state = 'SERVER_STATE_SHUTOFF';
        this.emit('lifecycle', p.sim.server.name, 'Stopped Shutdown');
      }
    }
    this.bootId = randomUUID();
  }

  close(): void {
    for (const job of this.jobs.values()) {
      clearInterval(job.timer);
      job.settle(new MigrationAbortedError('sim host closed'));
    }
    this.jobs.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.emitter.emit('close');
  }

  // -------------------------------------------------------------- Hypervisor

  async facts(): Promise<HypervisorFacts> {
    await this.lag();
    this.reachableOrThrow(this.migrationUri);
    let used = 0;
    for (const p of this.fabric.placement.values()) if (p.host === this && p.sim.server.state !== 'SERVER_STATE_SHUTOFF') used += p.sim.server.memory_bytes;
    return {
      hypervisorType: this.hypervisorType,
      cpu: structuredClone(this.cpu),
      topology: { ...this.topology },
      memoryTotalBytes: this.memoryTotalBytes,
      memoryFreeBytes: Math.max(0, this.memoryTotalBytes - used),
      libvirtVersion: '9.0.0 (sim)',
      qemuVersion: '7.2.0 (sim)',
      storagePools: structuredClone(this.pools).map((p) => ({ ...p, shared: poolShared(p.shared, p.path, this.sharedPaths) })),
      hostUuid: this.hostUuid,
    };
  }

  async listServers(): Promise<Server[]> {
    await this.lag();
    this.reachableOrThrow(this.migrationUri);
    return this.servers();
  }

  async getServer(ref: string): Promise<Server> {
    await this.lag();
    return structuredClone(this.local(ref).server);
  }

  /** A sim disk's own `shared` flag stands for shared storage; the declared paths as in libvirt (disk-plan.ts). */
  async migrationSource(ref: string): Promise<MigrationSource> {
    const server = await this.getServer(ref);
    return { server, disks: planDisks(server.disks, (d) => diskSharing(d, d.shared, this.sharedPaths)) };
  }

  async migrateLive(spec: LiveMigrationSpec): Promise<void> {
    spec.signal.throwIfAborted();
    const p = this.local(spec.uuid);
    const target = this.targetOrThrow(spec.targetUri);
    if (p.server.state !== 'SERVER_STATE_RUNNING' && p.server.state !== 'SERVER_STATE_PAUSED') {
      throw new DomainNotRunningError(`domain ${p.server.name} is not running`);
    }
    if (p.migrating || this.jobs.has(p.server.uuid)) throw new OperationInvalidError(`domain ${p.server.name} already has a job running`);
    const local = p.server.disks.filter((d) => !d.shared && d.type !== 'network');
    // Like libvirt: a non-shared disk needs copy-storage, or --unsafe when the caller knows it is shared.
    if (local.length && !spec.copyStorage && !spec.unsafe) throw new UnsafeMigrationError('Unsafe migration: Migration without shared storage is unsafe');
    const diskTotal = spec.copyStorage ? local.reduce((s, d) => s + d.allocation_bytes, 0) : 0;
    const memoryTotal = p.server.memory_bytes;
    const capBps = spec.bandwidthMiBps > 0 ? spec.bandwidthMiBps * MiB : Infinity;
    const bandwidth = Math.min(this.bandwidthBps, capBps);

    const record = this.recordMigration(p.server, target, 'live');
    const fail = this.nextFail ?? this.rolledFailure();
    this.nextFail = null;
    const stall = this.nextStall ?? (this.faultRates.random() < this.faultRates.stallRate ? { atFraction: this.faultRates.random() * 0.9 } : null);
    this.nextStall = null;
    p.migrating = true;

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const job: SimJob = {
        uuid: p.server.uuid,
        target,
        total: memoryTotal + diskTotal,
        processed: 0,
        remaining: memoryTotal + diskTotal,
        memoryTotal,
        diskTotal,
        iteration: 0,
        startedAt: Date.now(),
        postCopy: false,
        bandwidth,
        stallAtFraction: stall?.atFraction ?? null,
        failAtFraction: fail?.atFraction ?? null,
        failWith: fail?.error ?? null,
        downtimeMs: 0,
        lastBandwidth: 0,
        aborted: false,
        record,
        timer: setInterval(() => this.tick(job, p), this.fabric.tickMs),
        settle: (err) => {
          if (settled) return;
          settled = true;
          clearInterval(job.timer);
          this.jobs.delete(job.uuid);
          p.migrating = false;
          spec.signal.removeEventListener('abort', onAbort);
          record.finishedAtMs = Date.now();
          record.bytes = job.processed;
          if (err) {
            record.result = err instanceof MigrationAbortedError ? 'aborted' : 'failed';
            if (err instanceof MigrationAbortedError) this.counters.migrationsAborted++;
            else this.counters.migrationsFailed++;
            this.emit('job-completed', p.server.name, err instanceof MigrationAbortedError ? 'cancelled' : 'failed');
            reject(err);
          } else {
            record.result = 'completed';
            this.counters.migrationsCompleted++;
            resolve();
          }
        },
      };
      const onAbort = () => {
        if (job.postCopy) return; // never abort in post-copy
        job.aborted = true;
        job.settle(new MigrationAbortedError(`operation aborted: job 'migration out' canceled by client`));
      };
      spec.signal.addEventListener('abort', onAbort, { once: true });
      this.jobs.set(job.uuid, job);
      this.emit('migration-iteration', p.server.name, 'iteration 0');
    });
  }

  private tick(job: SimJob, p: SimServer): void {
    const now = Date.now();
    const elapsed = now - job.startedAt;
    if (elapsed < this.fabric.setupMs) return;
    if (job.target.unreachable && !job.postCopy) {
      job.settle(new TargetUnreachableError(job.target.migrationUri, 'connection reset by peer'));
      return;
    }
    const fraction = job.total === 0 ? 1 : job.processed / job.total;
    if (job.failAtFraction !== null && fraction >= job.failAtFraction) {
      job.settle(job.failWith ?? new LibvirtError('internal error: qemu unexpectedly closed the monitor (simulated)'));
      return;
    }
    if (job.stallAtFraction !== null && fraction >= job.stallAtFraction && !job.postCopy) {
      job.lastBandwidth = 0;
      return;
    }
    const dt = this.fabric.tickMs / 1000;
    const moved = job.bandwidth * dt;
    const dirtied = job.postCopy ? 0 : p.dirtyRateBps * dt;
    const before = job.processed;
    job.processed += Math.min(moved, job.remaining + dirtied);
    job.remaining = Math.max(0, job.remaining - moved + dirtied);
    job.lastBandwidth = job.bandwidth;
    // One iteration per pass over the guest's memory.
    if (job.memoryTotal > 0 && Math.floor(job.processed / job.memoryTotal) > Math.floor(before / job.memoryTotal)) {
      job.iteration++;
      this.emit('migration-iteration', p.server.name, `iteration ${job.iteration}`);
    }
    // Converged when what is left fits in the ~50 ms downtime window.
    if (job.remaining <= job.bandwidth * 0.05 || job.remaining === 0) {
      job.downtimeMs = Math.max(1, Math.round((job.remaining / job.bandwidth) * 1000) + 20);
      job.processed += job.remaining;
      job.remaining = 0;
      this.finishLive(job, p);
    }
  }

  private finishLive(job: SimJob, p: SimServer): void {
    // The switch-over: from here on the guest lives on the target only.
    const entry = this.fabric.placement.get(job.uuid);
    if (!entry || entry.host !== this) {
      job.settle(new LibvirtError('domain vanished during migration'));
      return;
    }
    this.emit('lifecycle', p.server.name, 'Suspended Migrated');
    entry.host = job.target;
    for (const d of p.server.disks) if (!d.shared && this.files.has(d.path) && job.diskTotal > 0) job.target.files.set(d.path, this.files.get(d.path)!);
    this.emit('lifecycle', p.server.name, 'Stopped Migrated');
    this.emit('lifecycle', p.server.name, 'Undefined Removed');
    job.target.emit('lifecycle', p.server.name, 'Defined Added');
    job.target.emit('lifecycle', p.server.name, 'Started Migrated');
    job.target.emit('lifecycle', p.server.name, 'Resumed Migrated');
    p.reason = 'migrated';
    job.target.arrived(p);
    this.emit('job-completed', p.server.name, 'completed');
    job.settle();
  }

  /** Counts a migration as started and adds it to the fabric's log (tests read it). */
  private recordMigration(server: Server, target: SimHost, mode: SimMigrationRecord['mode']): SimMigrationRecord {
    this.counters.migrationsStarted++;
    const record: SimMigrationRecord = {
      uuid: server.uuid,
      name: server.name,
      from: this.hostId,
      to: target.hostId,
      mode,
      startedAtMs: Date.now(),
      finishedAtMs: 0,
      result: 'running',
      bytes: 0,
    };
    this.fabric.migrations.push(record);
    return record;
  }

  async jobStats(uuid: string): Promise<JobStats | null> {
    await this.lag();
    const job = this.jobs.get(uuid.toLowerCase());
    if (!job) return null;
    const memProcessed = Math.min(job.processed, job.memoryTotal * Math.max(1, job.iteration + 1));
    const diskShare = job.total > 0 ? job.diskTotal / job.total : 0;
    return {
      type: 'unbounded',
      postCopy: job.postCopy,
      timeElapsedMs: Date.now() - job.startedAt,
      dataProcessed: Math.round(job.processed),
      dataRemaining: Math.round(job.remaining),
      dataTotal: Math.round(job.processed + job.remaining),
      memoryProcessed: Math.round(memProcessed * (1 - diskShare)),
      memoryRemaining: Math.round(job.remaining * (1 - diskShare)),
      memoryTotal: job.memoryTotal,
      diskProcessed: Math.round(job.processed * diskShare),
      diskRemaining: Math.round(job.remaining * diskShare),
      diskTotal: job.diskTotal,
      memoryBandwidth: Math.round(job.lastBandwidth),
      diskBandwidth: job.diskTotal > 0 ? Math.round(job.lastBandwidth) : 0,
      iteration: job.iteration,
      downtimeMs: job.downtimeMs,
      dirtyRate: this.fabric.placement.get(job.uuid)?.sim.dirtyRateBps ?? 0,
    };
  }

  async abortJob(uuid: string): Promise<void> {
    const job = this.jobs.get(uuid.toLowerCase());
    if (!job) throw new OperationInvalidError(`Requested operation is not valid: no job is active on the domain`);
    if (job.postCopy) throw new PostCopyAbortRefusedError('cannot abort migration in post-copy mode');
    job.aborted = true;
    job.settle(new MigrationAbortedError(`operation aborted: job 'migration out' canceled by client`));
  }

  async startPostCopy(uuid: string): Promise<void> {
    const job = this.jobs.get(uuid.toLowerCase());
    if (!job) throw new OperationInvalidError('no migration job to switch to post-copy');
    if (!job.postCopy) {
      job.postCopy = true;
      const name = this.fabric.placement.get(job.uuid)?.sim.server.name ?? job.uuid;
      this.emit('lifecycle', name, 'Suspended Post-copy');
    }
  }

  async migrateOffline(uuid: string, targetUri: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const p = this.local(uuid);
    const target = this.targetOrThrow(targetUri);
    if (p.server.state !== 'SERVER_STATE_SHUTOFF') throw new DomainRunningError(`domain ${p.server.name} must be shut off for an offline migration`);
    const record = this.recordMigration(p.server, target, 'offline');
    const fail = this.nextFail ?? this.rolledFailure();
    this.nextFail = null;
    await this.delay(50, signal);
    record.finishedAtMs = Date.now();
    if (fail) {
      record.result = 'failed';
      this.counters.migrationsFailed++;
      throw fail.error ?? new LibvirtError('simulated offline migration failure');
    }
    const entry = this.fabric.placement.get(p.server.uuid);
    if (!entry || entry.host !== this) throw new ServerNotFoundError(uuid);
    entry.host = target;
    record.result = 'completed';
    this.counters.migrationsCompleted++;
    this.emit('lifecycle', p.server.name, 'Undefined Removed');
    target.emit('lifecycle', p.server.name, 'Defined Added');
  }

  async copyDiskTo(path: string, targetUri: string, signal?: AbortSignal): Promise<void> {
    const target = this.targetOrThrow(targetUri);
    const size = this.files.get(path);
    if (size === undefined) throw new StorageNotFoundError('storage file', path);
    if (target.files.has(path)) throw new FailedPreconditionError(`${path} already exists on ${target.hostId}: refusing to overwrite it`);
    await this.delay(Math.round((size / this.bandwidthBps) * 1000), signal);
    target.files.set(path, size);
  }

  async removeDiskCopyOn(targetUri: string, path: string): Promise<void> {
    const target = this.targetOrThrow(targetUri);
    const user = target.diskUser(path);
    if (user) throw new FailedPreconditionError(`${path} on ${target.hostId} is a disk of domain ${user}: not removed`);
    target.files.delete(path);
  }

  async removeLocalDisk(path: string): Promise<void> {
    // The libvirt hypervisor's rule: only local pool storage, exactly this path.
    const plan = planLocalDiskRemoval(path, { pools: this.pools, sharedPaths: [] });
    if (this.diskUser(plan.path)) throw new OperationInvalidError(`refusing to remove ${plan.path}: a domain on this host still uses it`);
    this.files.delete(plan.path);
  }

  /** As LibvirtHypervisor: refused unless shut off; the definition goes, the files stay. */
  async undefineShutOff(uuid: string, uri?: string): Promise<void> {
    const host = uri === undefined ? this : this.fabric.hosts.get(uri);
    if (!host || host.unreachable) throw new TargetUnreachableError(uri ?? this.migrationUri, 'unable to connect to server: No route to host');
    const p = host.local(uuid);
    if (p.server.state !== 'SERVER_STATE_SHUTOFF') throw new DomainRunningError(`domain ${p.server.name} is ${p.server.state}: not undefined`);
    host.counters.undefines++;
    host.removeServer(p.server.uuid);
  }

  /** Name of a domain defined here that has `path` as a disk, if any. */
  private diskUser(path: string): string | undefined {
    for (const p of this.fabric.placement.values()) {
      if (p.host === this && p.sim.server.disks.some((d) => diskUsesPath(d.path, path))) return p.sim.server.name;
    }
    for (const p of this.strays.values()) if (p.server.disks.some((d) => diskUsesPath(d.path, path))) return p.server.name;
    return undefined;
  }

  async shutdown(uuid: string): Promise<void> {
    const p = this.local(uuid);
    if (p.server.state === 'SERVER_STATE_SHUTOFF') throw new DomainNotRunningError(`domain ${p.server.name} is not running`);
    this.counters.shutdowns++;
    if (p.ignoreShutdown) return;
    p.server.state = 'SERVER_STATE_SHUTDOWN';
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (p.server.state === 'SERVER_STATE_SHUTDOWN') {
        p.server.state = 'SERVER_STATE_SHUTOFF';
        this.whereIsSim(p)?.emit('lifecycle', p.server.name, 'Stopped Shutdown');
      }
    }, this.fabric.shutdownMs);
    this.timers.add(t);
  }

  async destroy(uuid: string): Promise<void> {
    const p = this.local(uuid);
    if (p.server.state === 'SERVER_STATE_SHUTOFF') throw new DomainNotRunningError(`domain ${p.server.name} is not running`);
    this.counters.destroys++;
    p.server.state = 'SERVER_STATE_SHUTOFF';
    p.reason = 'destroyed';
    this.emit('lifecycle', p.server.name, 'Stopped Destroyed');
  }

  async start(uuid: string): Promise<void> {
    const p = this.local(uuid);
    if (p.server.state === 'SERVER_STATE_RUNNING') throw new DomainRunningError(`domain ${p.server.name} is already active`);
    if (this.nextStartFailure) {
      const err = this.nextStartFailure;
      this.nextStartFailure = null;
      throw err;
    }
    for (const d of p.server.disks) {
      if (!d.shared && !this.files.has(d.path)) throw new StorageNotFoundError('storage file', d.path);
    }
    this.counters.starts++;
    p.server.state = 'SERVER_STATE_RUNNING';
    p.reason = 'booted';
    this.emit('lifecycle', p.server.name, 'Started Booted');
    this.arrived(p);
  }

  /** A server started or migrated onto this host: the crashNextArrival fault, if armed. */
  private arrived(p: SimServer): void {
    const fault = this.nextArrivalCrash;
    if (!fault) return;
    this.nextArrivalCrash = null;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.whereIsSim(p) !== this || p.server.state !== 'SERVER_STATE_RUNNING') return;
      if (fault.kind === 'reboot') {
        this.emit('reboot', p.server.name, '');
        return;
      }
      p.server.state = 'SERVER_STATE_CRASHED';
      p.reason = 'panicked';
      this.emit('lifecycle', p.server.name, 'Crashed Panicked');
    }, fault.afterMs);
    this.timers.add(t);
  }

  async watchGuestOn(uri: string, uuid: string, watchMs: number, signal?: AbortSignal): Promise<GuestWatch> {
    const host = this.targetOrThrow(uri, true);
    const name = (await this.serverOn(uri, uuid))?.name;
    const events: DomainEvent[] = [];
    const listen = (ev: DomainEvent) => {
      if (ev.name === name) events.push(ev);
    };
    host.emitter.on('event', listen);
    try {
      await this.delay(watchMs, signal);
    } finally {
      host.emitter.off('event', listen);
    }
    const entry = host === this.fabric.placement.get(uuid.toLowerCase())?.host ? this.fabric.placement.get(uuid.toLowerCase()) : undefined;
    const sim = entry?.sim ?? host.strays.get(uuid.toLowerCase());
    return { events, state: sim?.server.state ?? null, reason: sim?.reason ?? '' };
  }

  async startOn(targetUri: string, uuid: string): Promise<void> {
    const target = this.targetOrThrow(targetUri, true);
    await target.start(uuid);
  }

  async serverOn(uri: string, uuid: string): Promise<Server | null> {
    const host = this.fabric.hosts.get(uri);
    if (!host || host.unreachable) throw new TargetUnreachableError(uri, 'unable to connect to server: No route to host');
    const key = uuid.toLowerCase();
    const entry = this.fabric.placement.get(key);
    if (entry && entry.host === host) return structuredClone(entry.sim.server);
    const stray = host.strays.get(key);
    return stray ? structuredClone(stray.server) : null;
  }

  async stateOn(uri: string, uuid: string): Promise<ServerState | null> {
    return (await this.serverOn(uri, uuid))?.state ?? null;
  }

  async compareCpu(cpuXml: string): Promise<{ result: CpuCompareResult; missingFeatures: string[]; message: string }> {
    return simCompareCpu(this.cpu.xml, cpuXml);
  }

  async baselineCpu(cpuXmls: string[], opts: { migratable: boolean; expandFeatures: boolean }): Promise<CpuDescription> {
    return simBaselineCpu(cpuXmls, opts);
  }

  async *events(signal: AbortSignal): AsyncIterable<DomainEvent> {
    try {
      for await (const [ev] of on(this.emitter, 'event', { signal })) yield ev as DomainEvent;
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }

  // -------------------------------------------------------------- helpers

  /** Emits a domain event on this host (tests may call it to fake libvirt noise). */
  emit(event: string, name: string, detail: string): void {
    const ev: DomainEvent = { event, name, detail, atMs: Date.now() };
    this.emitter.emit('event', ev);
  }

  private whereIsSim(p: SimServer): SimHost | undefined {
    return this.fabric.placement.get(p.server.uuid)?.host;
  }

  private reachableOrThrow(uri: string): void {
    if (this.unreachable) throw new TargetUnreachableError(uri, 'libvirtd is not reachable');
  }

  /** The server if it is on this host (by uuid or name). */
  private local(ref: string): SimServer {
    const key = ref.toLowerCase();
    const byUuid = this.fabric.placement.get(key);
    if (byUuid && byUuid.host === this) return byUuid.sim;
    const stray = this.strays.get(key);
    if (stray) return stray;
    for (const p of this.fabric.placement.values()) if (p.host === this && p.sim.server.name === ref) return p.sim;
    throw new ServerNotFoundError(ref);
  }

  private targetOrThrow(uri: string, allowSelf = false): SimHost {
    if (uri === this.migrationUri && !allowSelf) throw new SameHostError(`${uri}: Attempt to migrate guest to the same host`);
    const target = this.fabric.hosts.get(uri);
    if (!target || target.unreachable) throw new TargetUnreachableError(uri, 'unable to connect to server: No route to host');
    if (target === this && !allowSelf) throw new SameHostError(`${uri}: Attempt to migrate guest to the same host`);
    return target;
  }

  /** A failure drawn from the configured rate (setMigrationFaultRates), or none. */
  private rolledFailure(): { atFraction: number; error: Error | null } | null {
    const { failRate, random } = this.faultRates;
    return failRate > 0 && random() < failRate ? { atFraction: random() * 0.9, error: null } : null;
  }

  /** The configured answer latency (setLatency). */
  private async lag(): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }

  private async delay(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) throw new MigrationAbortedError('operation aborted by caller');
      throw err;
    }
  }
}
