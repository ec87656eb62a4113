// The real Hypervisor: libvirt through virsh (virsh.ts), structured output
// only (parse-*.ts), failures as typed errors (errors.ts). Every identifier
// is validated (common/names.ts) before it reaches a command line.
import { tmpdir } from 'node:os';
import { InvalidArgumentError } from '../../common/errors.ts';
import { assertServerRef, assertUuid } from '../../common/names.ts';
import { assertLibvirtUri } from '../../common/uri.ts';
import { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import { CpuIncompatibleError, DomainRunningError, PostCopyAbortRefusedError, ServerNotFoundError } from './errors.ts';
import type {
  CpuDescription,
  DomainEvent,
  GuestWatch,
  Hypervisor,
  HypervisorFacts,
  JobStats,
  LiveMigrationSpec,
  MigrationSource,
  PreparedState,
  Server,
} from './hypervisor.ts';
import { diskSharing, planDisks, type DiskSharing } from './disk-plan.ts';
import { migrateLive, PreparedMigration } from './libvirt-migrate.ts';
import { VirshStandby } from './virsh-standby.ts';
import { SESSION_TIMING, VirshSessions } from './virsh-sessions.ts';
import { parseCapabilities, parseDomainCapabilities, type HostCapabilities } from './parse-capabilities.ts';
import { parseCpuBaseline, parseCpuCompareOutput } from './parse-cpu.ts';
import { checkCpuXml, withCpuFile } from './libvirt-cpu.ts';
import { parseDomainXml, parseDomState, parseDomStats, parseUuidList, type DomainDefinition, type DomainStats } from './parse-domain.ts';
import { parseDomJobInfo } from './parse-jobinfo.ts';
import { parseNodeMemStats, parseVersion } from './parse-node.ts';
import { SHARED_POOL_TYPES } from './parse-storage.ts';
import { Virsh, type VirshCallOptions, type VirshResult } from './virsh.ts';
import { PreparedVirshCall } from './virsh-prepared.ts';
import { assertHostPath, poolContaining } from './disk-paths.ts';
import { mapLimit } from './map-limit.ts';
import { LibvirtPools, toStoragePool, type PoolInfo } from './libvirt-pools.ts';
import { LibvirtVolumes } from './libvirt-volumes.ts';
import { virshEvents } from './libvirt-events.ts';
import { watchGuest } from './libvirt-guest-watch.ts';

export { assertHostPath } from './disk-paths.ts';
export type { DiskSharing } from './disk-plan.ts';

export interface LibvirtHypervisorOptions {
  /** This host's libvirt URI as the agent reaches it (default qemu:///system). */
  uri?: string;
  /** URI peers use to migrate onto this host (qemu+tcp://<host address>/system). */
  migrationUri: string;
  /** argv put before virsh, to run it in the host's namespaces (lab). */
  prefix?: string[];
  /** virsh binary (default "virsh"). */
  virshPath?: string;
  /** Deadline of ordinary virsh calls (default 30 s). */
  callTimeoutMs?: number;
  /**
   * Backstop deadline of one `virsh migrate` (default 6 h). The agent's
   * monitor enforces the real stall/total timeouts through abortJob; this
   * only guarantees no migrate call can hang forever.
   */
  migrateTimeoutMs?: number;
  /** Rate assumed for disk copies (vol-upload) when sizing their deadline (default 20 MiB/s). */
  copyBytesPerSecond?: number;
  /**
   * Path prefixes the agent config declares shared (every host of the
   * storage cluster sees the same files there). Disks under them are not
   * copied, and migrations of such disks pass --unsafe.
   */
  sharedPaths?: string[];
  /**
   * Directories under which removeLocalDisk may delete files. Default: the
   * target paths of this host's non-shared pools at call time.
   */
  localDiskDirs?: string[];
  /**
   * Domain type for domcapabilities and hypervisor-cpu-* ("kvm", "qemu").
   * Default: "kvm" when capabilities offer it, else "qemu".
   */
  virtType?: string;
  /** Parallel dumpxml calls in listServers (default 4). */
  listConcurrency?: number;
  /** How long pool definitions are reused between calls (default 10 s). */
  poolCacheMs?: number;
  /** Long-lived virsh shells for this host's reads (virsh-sessions.ts; default 3, 0: a virsh process per read). */
  readSessions?: number;
  /** Event stream restart backoff (default 1 s, doubling to 30 s). */
  eventRestartMinMs?: number;
  eventRestartMaxMs?: number;
  /** Directory for the temporary CPU XML files (default os.tmpdir()); must be visible to virsh. */
  tmpDir?: string;
}

const DOMSTATS = ['domstats', '--raw', '--state', '--vcpu', '--balloon', '--block'];
const TRANSIENT = ['list', '--transient', '--uuid'];

/** How long a shell armed for the next live move waits unused (a drain's moves follow each other within seconds). */
const STANDBY_TTL_MS = 30_000;

export class LibvirtHypervisor implements Hypervisor {
  readonly kind = 'libvirt' as const;
  readonly migrationUri: string;
  readonly virsh: Virsh;
  private readonly sharedPaths: string[];
  private readonly migrateTimeoutMs: number;
  private readonly listConcurrency: number;
  private readonly pools: LibvirtPools;
  private readonly volumes: LibvirtVolumes;
  private readonly eventRestartMinMs: number;
  private readonly eventRestartMaxMs: number;
  private readonly tmpDir: string;
  private readonly configuredVirtType: string | undefined;
  private readonly callTimeoutMs: number;
  private capsCache: Promise<HostCapabilities> | undefined;
  /** Shells armed during a live move for the next one (virsh-standby.ts). */
  private readonly standby: VirshStandby;
  /** Shells this host's reads run on (virsh-sessions.ts). */
  private readonly sessions: VirshSessions;

  constructor(options: LibvirtHypervisorOptions) {
    this.virsh = new Virsh({
      uri: options.uri ?? 'qemu:///system',
      prefix: options.prefix,
      virshPath: options.virshPath,
      defaultTimeoutMs: options.callTimeoutMs ?? 30_000,
    });
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.standby = new VirshStandby(this.virsh, STANDBY_TTL_MS);
    this.sessions = new VirshSessions(this.virsh, { size: options.readSessions ?? 3, ...SESSION_TIMING });
    this.migrationUri = assertLibvirtUri('migrationUri', options.migrationUri);
    this.sharedPaths = (options.sharedPaths ?? []).map((p, i) => assertHostPath(`sharedPaths[${i}]`, p.replace(/\/+$/, '') || '/'));
    const localDiskDirs = options.localDiskDirs?.map((p, i) => assertHostPath(`localDiskDirs[${i}]`, p.replace(/\/+$/, '') || '/'));
    this.migrateTimeoutMs = options.migrateTimeoutMs ?? 6 * 3600_000;
    this.listConcurrency = options.listConcurrency ?? 4;
    const run = (args: string[], opts?: VirshCallOptions) => this.run(args, opts);
    this.pools = new LibvirtPools(run, { sharedPaths: this.sharedPaths, listConcurrency: this.listConcurrency, poolCacheMs: options.poolCacheMs ?? 10_000 });
    this.volumes = new LibvirtVolumes(run, this.pools, {
      sharedPaths: this.sharedPaths,
      localDiskDirs,
      copyBytesPerSecond: options.copyBytesPerSecond ?? 20 * 1024 * 1024,
      listServers: (signal?: AbortSignal) => this.listServers(signal),
    });
    this.eventRestartMinMs = options.eventRestartMinMs ?? 1000;
    this.eventRestartMaxMs = options.eventRestartMaxMs ?? 30_000;
    this.tmpDir = options.tmpDir ?? tmpdir();
    if (options.virtType !== undefined && !/^[a-z]+$/.test(options.virtType)) {
      throw new InvalidArgumentError('virtType', `${JSON.stringify(options.virtType)} is not a libvirt domain type`);
    }
    this.configuredVirtType = options.virtType;
  }

  /** A read of this host's daemon on a shell when one takes it (virsh-sessions.ts), else a virsh process of its own. */
  private async run(args: string[], opts: VirshCallOptions = {}): Promise<VirshResult> {
    const stdout = await this.sessions.read(args, opts, opts.timeoutMs ?? this.callTimeoutMs);
    return stdout === null ? this.virsh.run(args, opts) : { stdout, stderr: '', code: 0 };
  }

  // ------------------------------------------------------------------ facts

  private capabilities(signal?: AbortSignal, fresh = false): Promise<HostCapabilities> {
    // CPU questions reuse the last read (the host CPU does not change under a
    // running agent); facts() reads afresh. A failed read is not kept.
    if (!this.capsCache || fresh) {
      const p = this.run(['capabilities'], { signal }).then((r) => parseCapabilities(r.stdout));
      p.catch(() => {
        if (this.capsCache === p) this.capsCache = undefined;
      });
      this.capsCache = p;
    }
    return this.capsCache;
  }

  /** Domain type used for domcapabilities and the hypervisor-cpu-* calls. */
  async virtType(signal?: AbortSignal): Promise<string> {
    if (this.configuredVirtType) return this.configuredVirtType;
    return (await this.capabilities(signal)).kvm ? 'kvm' : 'qemu';
  }

  async facts(signal?: AbortSignal): Promise<HypervisorFacts> {
    const caps = await this.capabilities(signal, true);
    const virtType = await this.virtType(signal);
    const [domcaps, version, mem, pools] = await Promise.all([
      this.run(['domcapabilities', '--virttype', virtType], { signal }).then((r) => parseDomainCapabilities(r.stdout)),
      this.run(['version'], { signal }).then((r) => parseVersion(r.stdout)),
      this.run(['nodememstats'], { signal }).then((r) => parseNodeMemStats(r.stdout)),
      this.pools.local(signal, true),
    ]);
    const t = caps.topology;
    return {
      hypervisorType: virtType,
      cpu: domcaps.hostModel ?? caps.cpu,
      topology: {
        sockets: t.sockets,
        cores_per_socket: t.cores * t.dies,
        threads_per_core: t.threads,
        logical_cpus: t.sockets * t.dies * t.cores * t.threads,
      },
      memoryTotalBytes: mem.totalBytes,
      memoryFreeBytes: mem.availableBytes,
      libvirtVersion: version.libvirt,
      qemuVersion: version.hypervisorVersion,
      storagePools: pools.map(toStoragePool),
      hostUuid: caps.hostUuid,
    };
  }

  /** Classifies a disk (disk-plan.ts): network/cluster storage by its pool's type, a declared shared path, local, or no media. */
  diskSharing(disk: { type: string; path: string; pool?: string }, pools: PoolInfo[]): DiskSharing {
    return diskSharing(disk, this.onSharedStorage(disk, pools), this.sharedPaths);
  }

  /** In a pool of a shared type: the volume's own pool, else the pool whose directory contains the file. */
  private onSharedStorage(disk: { type: string; path: string; pool?: string }, pools: PoolInfo[]): boolean {
    if (disk.type === 'volume') {
      const pool = pools.find((p) => p.name === disk.pool);
      if (pool && SHARED_POOL_TYPES.has(pool.type)) return true;
    }
    if (!disk.path) return false;
    const pool = poolContaining(disk.path, pools);
    return pool !== undefined && SHARED_POOL_TYPES.has(pool.type);
  }

  // ---------------------------------------------------------------- servers

  /** The server as read, and the plan of its disks from the same classification (one decision per disk). */
  private describe(def: DomainDefinition, stats: DomainStats | undefined, persistent: boolean, pools: PoolInfo[]): MigrationSource {
    const running = stats?.state === ServerState.SERVER_STATE_RUNNING || stats?.state === ServerState.SERVER_STATE_PAUSED;
    const sharings = def.disks.map((d) => this.diskSharing(d, pools));
    const disks: Disk[] = def.disks.map((d, i) => {
      const b = stats?.blocks.find((x) => x.name === d.target);
      const sharing = sharings[i];
      const pool = d.pool || (d.path ? (poolContaining(d.path, pools)?.name ?? '') : '');
      return {
        target: d.target,
        path: d.path,
        capacity_bytes: b?.capacity ?? 0,
        // domstats' allocation of a running domain is the highest written
        // offset (0 for a fresh qcow2); the file's host size is the better
        // estimate of what copy-storage moves.
        allocation_bytes: b ? (running ? b.physical || b.allocation : b.allocation) : 0,
        pool,
        shared: sharing === 'network' || sharing === 'declared',
        format: d.format,
        type: d.type,
        readonly: d.readonly,
      };
    });
    const server: Server = {
      uuid: def.uuid,
      name: def.name,
      state: stats?.state ?? ServerState.SERVER_STATE_UNSPECIFIED,
      vcpus: stats?.vcpus || def.vcpus,
      memory_bytes: def.memoryBytes,
      disks,
      cpu: def.cpu,
      hot_migration: def.hotMigration,
      smart: def.smart,
      persistent,
      domain_type: def.domainType,
    };
    return { server, disks: planDisks(disks, (_, i) => sharings[i]!) };
  }

  private async transientUuids(opts: VirshCallOptions): Promise<Set<string>> {
    return new Set(parseUuidList((await this.run(TRANSIENT, opts)).stdout));
  }

  async listServers(signal?: AbortSignal): Promise<Server[]> {
    const opts = { signal };
    const [uuids, stats, transient, pools] = await Promise.all([
      this.run(['list', '--all', '--uuid'], opts).then((r) => parseUuidList(r.stdout)),
      this.run(DOMSTATS, opts).then((r) => parseDomStats(r.stdout)),
      this.transientUuids(opts),
      this.pools.local(signal),
    ]);
    const byName = new Map(stats.map((s) => [s.name, s]));
    const servers = await mapLimit(uuids, this.listConcurrency, async (uuid) => {
      try {
        const def = parseDomainXml((await this.run(['dumpxml', '--domain', uuid], { signal, context: { domain: uuid } })).stdout);
        return this.describe(def, byName.get(def.name), !transient.has(uuid), pools).server;
      } catch (err) {
        if (err instanceof ServerNotFoundError) return undefined; // gone since the list
        throw err;
      }
    });
    return servers.filter((s): s is Server => s !== undefined);
  }

  private async serverAt(uri: string | undefined, ref: string, signal?: AbortSignal): Promise<MigrationSource> {
    const opts: VirshCallOptions = { signal, uri, context: { domain: ref, ...(uri ? { targetUri: uri } : {}) } };
    const [def, stats, transient] = await this.readDomain([['dumpxml', '--domain', ref], [...DOMSTATS, ref], TRANSIENT], opts);
    // Pools only classify disks: a domain without any needs none read.
    const pools = def.disks.length === 0 ? [] : uri === undefined ? await this.pools.local(signal) : await this.pools.load(uri, signal);
    return this.describe(def, stats, !transient.has(def.uuid), pools);
  }

  /**
   * The three reads at once (on this host's read shells, else each its own
   * virsh; a migration waits for them): `ref` names the domain for domstats
   * as for dumpxml. dumpxml's failure (not found, unreachable) is the one reported.
   */
  private async readDomain(reads: string[][], opts: VirshCallOptions): Promise<[DomainDefinition, DomainStats | undefined, Set<string>]> {
    const [def, stats, transient] = await Promise.allSettled([
      this.run(reads[0]!, opts).then((r) => parseDomainXml(r.stdout)),
      this.run(reads[1]!, opts).then((r) => parseDomStats(r.stdout)[0]),
      this.run(reads[2]!, opts).then((r) => new Set(parseUuidList(r.stdout))),
    ]);
    if (def.status === 'rejected') throw def.reason;
    if (stats.status === 'rejected') throw stats.reason;
    if (transient.status === 'rejected') throw transient.reason;
    return [def.value, stats.value, transient.value];
  }

  async getServer(ref: string, signal?: AbortSignal): Promise<Server> {
    return (await this.serverAt(undefined, assertServerRef('server', ref), signal)).server;
  }

  migrationSource(ref: string, signal?: AbortSignal): Promise<MigrationSource> {
    return this.serverAt(undefined, assertServerRef('server', ref), signal);
  }

  async serverOn(uri: string, uuid: string, signal?: AbortSignal): Promise<Server | null> {
    const u = assertUuid('server_uuid', uuid);
    try {
      return (await this.serverAt(assertLibvirtUri('uri', uri), u, signal)).server;
    } catch (err) {
      if (err instanceof ServerNotFoundError) return null;
      throw err;
    }
  }

  async stateOn(uri: string, uuid: string, signal?: AbortSignal): Promise<ServerState | null> {
    const u = assertUuid('server_uuid', uuid);
    const target = assertLibvirtUri('uri', uri);
    // A shell armed for this target during the last move: no start-up and connection to wait for.
    const waiting = signal ? null : this.standby.take(target);
    if (waiting) {
      try {
        const out = await waiting.run(['domstate', '--domain', u], { timeoutMs: this.callTimeoutMs, context: { domain: u, targetUri: target } });
        return parseDomState(out.stdout).state;
      } catch (err) {
        if (err instanceof ServerNotFoundError) return null;
        // Its connection failed or dropped while it waited: ask on a new one.
      }
    }
    try {
      const out = await this.run(['domstate', '--domain', u], { signal, uri: target, context: { domain: u, targetUri: target } });
      return parseDomState(out.stdout).state;
    } catch (err) {
      if (err instanceof ServerNotFoundError) return null;
      throw err;
    }
  }

  watchGuestOn(uri: string, uuid: string, watchMs: number, signal?: AbortSignal): Promise<GuestWatch> {
    return watchGuest(this.virsh, assertLibvirtUri('uri', uri), assertUuid('server_uuid', uuid), watchMs, signal);
  }

  /** stateOn with its virsh started and connected now (virsh-prepared.ts); any failure but "not there" asks afresh. */
  prepareStateOn(uri: string, uuid: string): PreparedState {
    const target = assertLibvirtUri('uri', uri);
    return this.preparedState(target, assertUuid('server_uuid', uuid), (u) => this.stateOn(target, u));
  }

  /**
   * The same on this host's own libvirt (the source's side of the check
   * after a move), asked when wanted on the read shells: they are connected
   * already, so nothing is started during the move (virsh-sessions.ts).
   */
  prepareStateHere(uuid: string): PreparedState {
    const u = assertUuid('server_uuid', uuid);
    let reason: string | null = null;
    const state = async () => {
      try {
        const info = await this.stateOf(u);
        reason = info.reason;
        return info.state;
      } catch (err) {
        if (err instanceof ServerNotFoundError) return null;
        throw err;
      }
    };
    return { state, reason: () => reason, cancel: () => undefined };
  }

  /** Opens the virsh of the next live migration now (libvirt-migrate.ts, PreparedMigration). */
  prepareLiveMigration(): PreparedMigration {
    return new PreparedMigration(this.virsh, this.standby.take(this.virsh.uri) ?? undefined);
  }

  /** Arms, while a live move to `targetUri` runs, the shells the next move takes: this host's and the target's (virsh-standby.ts). */
  armStandby(targetUri: string): void {
    this.standby.arm(this.virsh.uri);
    this.standby.arm(assertLibvirtUri('target_uri', targetUri));
  }

  /** Ends the armed shells (tests; an exiting agent's shells end with their stdin). */
  closeStandby(): void {
    this.standby.close();
  }

  /** Ends the read shells (tests; an exiting agent's shells end with their stdin). */
  closeReadSessions(): void {
    this.sessions.close();
  }

  private preparedState(target: string, u: string, afresh: (uuid: string) => Promise<ServerState | null>): PreparedState {
    const call = new PreparedVirshCall(this.virsh, target);
    let reason: string | null = null;
    const state = async () => {
      try {
        // With --reason: the guest's verdict after the move (migrations/guest-health.ts) needs no call of its own.
        const out = await call.run(['domstate', '--domain', u, '--reason'], { timeoutMs: this.callTimeoutMs, context: { domain: u, targetUri: target } });
        const info = parseDomState(out.stdout);
        reason = info.reason;
        return info.state;
      } catch (err) {
        if (err instanceof ServerNotFoundError) return null;
        // The prepared connection failed or dropped while it waited: ask on a new one.
        return afresh(u);
      }
    };
    return { state, reason: () => reason, cancel: () => call.cancel() };
  }

  private async stateOf(uuid: string, signal?: AbortSignal) {
    return parseDomState((await this.run(['domstate', '--domain', uuid, '--reason'], { signal, context: { domain: uuid } })).stdout);
  }

  // ------------------------------------------------------------- migration

  /** Runs the live migration the plan in `spec.disks` describes (libvirt-migrate.ts); the domain is not read again. */
  migrateLive(spec: LiveMigrationSpec): Promise<void> {
    return migrateLive(
      {
        run: (args, opts) => this.run(args, opts),
        pools: this.pools,
        volumes: this.volumes,
        migrateTimeoutMs: this.migrateTimeoutMs,
        abortJob: (uuid) => this.abortJob(uuid),
        serverOn: (uri, uuid) => this.serverOn(uri, uuid),
      },
      spec,
    );
  }

  async jobStats(uuid: string, signal?: AbortSignal, opts: { postCopyPossible?: boolean } = {}): Promise<JobStats | null> {
    const u = assertUuid('server_uuid', uuid);
    let info, state;
    try {
      // The state's reason tells post-copy; a job started without --postcopy
      // never is, so its samples cost one virsh call, not two (the monitor
      // samples while QEMU needs the CPU to move the guest).
      [info, state] = await Promise.all([
        this.run(['domjobinfo', '--domain', u, '--rawstats'], { signal, context: { domain: u } }),
        opts.postCopyPossible === false ? null : this.stateOf(u, signal),
      ]);
    } catch (err) {
      // A completed outgoing migration removes the domain from this host.
      if (err instanceof ServerNotFoundError) return null;
      throw err;
    }
    const parsed = parseDomJobInfo(info.stdout, state !== null && /post-copy/.test(state.reason));
    return parsed.stats.type === 'none' ? null : parsed.stats;
  }

  async abortJob(uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    const state = await this.stateOf(u, signal);
    if (/post-copy/.test(state.reason)) {
      throw new PostCopyAbortRefusedError(`migration of ${u} is in post-copy; aborting now would lose the guest`, { details: { server: u } });
    }
    await this.run(['domjobabort', '--domain', u], { signal, context: { domain: u } });
  }

  async startPostCopy(uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    await this.run(['migrate-postcopy', '--domain', u], { signal, context: { domain: u } });
  }

  async migrateOffline(uuid: string, targetUri: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    const target = assertLibvirtUri('target_uri', targetUri);
    // libvirt accepts --offline for a running domain and leaves it defined on
    // both hosts (seen on 9.0): refuse unless it is shut off.
    const state = await this.stateOf(u, signal);
    if (state.state !== ServerState.SERVER_STATE_SHUTOFF && state.state !== ServerState.SERVER_STATE_CRASHED) {
      throw new DomainRunningError(`server ${u} is ${state.state}; an offline move needs it shut off`, { details: { server: u } });
    }
    await this.run(['migrate', '--offline', '--persistent', '--undefinesource', '--domain', u, '--desturi', target], {
      signal,
      context: { domain: u, targetUri: target },
    });
  }

  copyDiskTo(path: string, targetUri: string, signal?: AbortSignal): Promise<void> {
    return this.volumes.copyDiskTo(path, targetUri, signal);
  }

  removeDiskCopyOn(targetUri: string, path: string, signal?: AbortSignal): Promise<void> {
    return this.volumes.removeDiskCopyOn(targetUri, path, signal);
  }

  removeLocalDisk(path: string, signal?: AbortSignal): Promise<void> {
    return this.volumes.removeLocalDisk(path, signal);
  }

  async undefineShutOff(uuid: string, uri?: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    const at = uri === undefined ? undefined : assertLibvirtUri('uri', uri);
    const context = { domain: u, ...(at ? { targetUri: at } : {}) };
    const { state } = parseDomState((await this.run(['domstate', '--domain', u], { signal, uri: at, context })).stdout);
    if (state !== ServerState.SERVER_STATE_SHUTOFF) {
      throw new DomainRunningError(`server ${u} is ${state}${at ? ` on ${at}` : ''}: only a shut-off definition is undefined`, { details: { server: u } });
    }
    // No --remove-all-storage: the definition goes, the files stay. NVRAM is
    // kept too (without --keep-nvram libvirt refuses a domain that has one).
    await this.run(['undefine', '--domain', u, '--keep-nvram'], { signal, uri: at, context });
  }

  // ------------------------------------------------------------------ power

  async shutdown(uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    await this.run(['shutdown', '--domain', u], { signal, context: { domain: u } });
  }

  async destroy(uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    await this.run(['destroy', '--domain', u], { signal, context: { domain: u } });
  }

  async start(uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    await this.run(['start', '--domain', u], { signal, context: { domain: u } });
  }

  async startOn(targetUri: string, uuid: string, signal?: AbortSignal): Promise<void> {
    const u = assertUuid('server_uuid', uuid);
    const target = assertLibvirtUri('target_uri', targetUri);
    await this.run(['start', '--domain', u], { signal, uri: target, context: { domain: u, targetUri: target } });
  }

  // -------------------------------------------------------------------- CPU

  async compareCpu(cpuXml: string, signal?: AbortSignal) {
    const xml = checkCpuXml('cpu_xml', cpuXml);
    const virtType = await this.virtType(signal);
    // --error: without it virsh says only "incompatible"; with it libvirt
    // names the reason and the missing features, which the operator needs.
    return withCpuFile(this.tmpDir, xml, async (file) => {
      try {
        const res = await this.run(['hypervisor-cpu-compare', '--virttype', virtType, '--error', '--file', file], { signal, context: { field: 'cpu_xml' } });
        const result = parseCpuCompareOutput(res.stdout);
        return { result, missingFeatures: [] as string[], message: res.stdout.trim().replace(file, 'the request') };
      } catch (err) {
        if (err instanceof CpuIncompatibleError) {
          return { result: CpuCompareResult.CPU_COMPARE_RESULT_INCOMPATIBLE, missingFeatures: err.missingFeatures, message: err.message };
        }
        throw err;
      }
    });
  }

  async baselineCpu(cpuXmls: string[], opts: { migratable: boolean; expandFeatures: boolean }, signal?: AbortSignal): Promise<CpuDescription> {
    if (!Array.isArray(cpuXmls) || cpuXmls.length === 0) throw new InvalidArgumentError('cpu_xmls', 'at least one CPU description is needed');
    cpuXmls.forEach((x, i) => checkCpuXml(`cpu_xmls[${i}]`, x));
    const [virtType, caps] = await Promise.all([this.virtType(signal), this.capabilities(signal)]);
    const args = ['hypervisor-cpu-baseline', '--virttype', virtType];
    if (opts.expandFeatures) args.push('--features');
    if (opts.migratable) args.push('--migratable');
    return withCpuFile(this.tmpDir, cpuXmls.join('\n'), async (file) => {
      const res = await this.run([...args, '--file', file], { signal, context: { field: 'cpu_xmls' } });
      return parseCpuBaseline(res.stdout, caps.arch);
    });
  }

  // ----------------------------------------------------------------- events

  events(signal: AbortSignal): AsyncIterable<DomainEvent> {
    return virshEvents(this.virsh, { minMs: this.eventRestartMinMs, maxMs: this.eventRestartMaxMs }, signal);
  }
}
