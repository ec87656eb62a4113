// The `sim` hypervisor: one in-memory host (SimHost implements the agent's
// Hypervisor, as LibvirtHypervisor does), for scale and fault tests only
// (never a default; agent/main.ts loads it only for `hypervisor: sim`).
// Several SimHosts share one SimFabric (fabric.ts), which owns every server's
// location. Live migration jobs are in live-migration.ts, injected faults in
// faults.ts, the CPU model in cpu.ts.
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
} from '../../agent/hypervisor/hypervisor.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import type { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import { FailedPreconditionError } from '../../common/errors.ts';
import { diskUsesPath, planLocalDiskRemoval } from '../../agent/hypervisor/disk-paths.ts';
import { diskSharing, planDisks, poolShared } from '../../agent/hypervisor/disk-plan.ts';
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
} from '../../agent/hypervisor/errors.ts';
import { simBaselineCpu, simCompareCpu, simCpu } from './cpu.ts';
import { SimFaultState, type SimFaults } from './faults.ts';
import { liveJobStats, recordMigration, runLiveJob, type SimJob } from './live-migration.ts';
import { GiB, MiB, newSimServer, type SimHostOptions, type SimServer, type SimServerSpec, type SimWorld } from './model.ts';

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
  bootId = randomUUID();

  private readonly bandwidthBps: number;
  private readonly sharedPaths: readonly string[];
  private readonly emitter = new EventEmitter();
  /** Running outgoing live migrations by uuid (live-migration.ts adds and removes them). */
  readonly jobs = new Map<string, SimJob>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faultState = new SimFaultState();
  /** Stale definitions of servers placed on other hosts (leaveDefinitionOf), by uuid. */
  private readonly strays = new Map<string, SimServer>();

  constructor(
    readonly fabric: SimWorld<SimHost>,
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

  /** Faults injected into this host (faults.ts). */
  readonly faults: SimFaults = this.faultState;

  /** Unreachable as a target or peer (faults.setUnreachable). */
  get unreachable(): boolean {
    return this.faultState.unreachable;
  }

  set unreachable(u: boolean) {
    this.faultState.unreachable = u;
  }

  // -------------------------------------------------------------- test setup

  /** Defines (and by default starts) a server on this host. */
  addServer(spec: SimServerSpec): Server {
    const uuid = (spec.uuid ?? randomUUID()).toLowerCase();
    if (this.fabric.placement.has(uuid)) throw new Error(`sim server ${uuid} already exists on ${this.fabric.placement.get(uuid)!.host.hostId}`);
    const sim = newSimServer(uuid, spec);
    const server = sim.server;
    for (const d of server.disks) if (!d.shared) this.files.set(d.path, d.allocation_bytes);
    this.fabric.placement.set(uuid, { host: this, sim });
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
    await this.faultState.lag();
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
    await this.faultState.lag();
    this.reachableOrThrow(this.migrationUri);
    return this.servers();
  }

  async getServer(ref: string): Promise<Server> {
    await this.faultState.lag();
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

    const record = recordMigration(this, p.server, target, 'live');
    const fail = this.faultState.takeMigrationFailure();
    const stall = this.faultState.takeStall();
    await runLiveJob(this, p, { spec, target, memoryTotal, diskTotal, bandwidth, record, fail, stall });
  }

  async jobStats(uuid: string): Promise<JobStats | null> {
    await this.faultState.lag();
    const job = this.jobs.get(uuid.toLowerCase());
    if (!job) return null;
    return liveJobStats(job, this.fabric.placement.get(job.uuid)?.sim.dirtyRateBps ?? 0);
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
    const record = recordMigration(this, p.server, target, 'offline');
    const fail = this.faultState.takeMigrationFailure();
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
    const err = this.faultState.takeStartFailure();
    if (err) throw err;
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
  arrived(p: SimServer): void {
    const fault = this.faultState.takeArrivalCrash();
    if (!fault) return;
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
