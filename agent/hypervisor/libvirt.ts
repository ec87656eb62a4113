// The real Hypervisor: libvirt through virsh (virsh.ts), structured output
// only (parse-*.ts), failures as typed errors (errors.ts). Every identifier
// is validated (common/names.ts) before it reaches a command line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, FailedPreconditionError, InvalidArgumentError } from '../../common/errors.ts';
import { assertServerRef, assertUuid } from '../../common/names.ts';
import { assertLibvirtUri } from '../../common/uri.ts';
import { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import type { Disk } from '../../common/generated/drydock/agent/v1/Disk.ts';
import { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import { CpuIncompatibleError, DomainRunningError, MigrationTimedOutError, PostCopyAbortRefusedError, ServerNotFoundError, UnsafeMigrationError } from './errors.ts';
import type { CpuDescription, DomainEvent, Hypervisor, HypervisorFacts, JobStats, LiveMigrationSpec, Server } from './hypervisor.ts';
import { parseCapabilities, parseDomainCapabilities, type HostCapabilities } from './parse-capabilities.ts';
import { parseCpuBaseline, parseCpuCompareOutput, splitCpuXmls } from './parse-cpu.ts';
import { parseDomainXml, parseDomState, parseDomStats, parseUuidList, type DomainDefinition, type DomainStats } from './parse-domain.ts';
import { parseDomJobInfo } from './parse-jobinfo.ts';
import { parseNodeMemStats, parseVersion } from './parse-node.ts';
import { SHARED_POOL_TYPES } from './parse-storage.ts';
import { Virsh, type VirshCallOptions } from './virsh.ts';
import { assertHostPath, isUnder, poolContaining, poolHolding } from './disk-paths.ts';
import { mapLimit } from './map-limit.ts';
import { LibvirtPools, toStoragePool, type PoolInfo } from './libvirt-pools.ts';
import { LibvirtVolumes } from './libvirt-volumes.ts';
import { virshEvents } from './libvirt-events.ts';

export { assertHostPath } from './disk-paths.ts';

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
  /** Event stream restart backoff (default 1 s, doubling to 30 s). */
  eventRestartMinMs?: number;
  eventRestartMaxMs?: number;
  /** Directory for the temporary CPU XML files (default os.tmpdir()); must be visible to virsh. */
  tmpDir?: string;
}

/** How a disk reaches the other hosts of the cluster. */
export type DiskSharing = 'network' | 'declared' | 'local' | 'none';

const MAX_CPU_XML_BYTES = 256 * 1024;

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
  private capsCache: Promise<HostCapabilities> | undefined;

  constructor(options: LibvirtHypervisorOptions) {
    this.virsh = new Virsh({
      uri: options.uri ?? 'qemu:///system',
      prefix: options.prefix,
      virshPath: options.virshPath,
      defaultTimeoutMs: options.callTimeoutMs ?? 30_000,
    });
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

  private run(args: string[], opts: VirshCallOptions = {}) {
    return this.virsh.run(args, opts);
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

  /** Classifies a disk: network/cluster storage, a declared shared path, local, or no media. */
  diskSharing(disk: { type: string; path: string; pool?: string }, pools: PoolInfo[]): DiskSharing {
    if (disk.type === 'network') return 'network';
    if (disk.type === 'volume') {
      const pool = pools.find((p) => p.name === disk.pool);
      if (pool && SHARED_POOL_TYPES.has(pool.type)) return 'network';
    }
    if (!disk.path) return 'none';
    const pool = poolContaining(disk.path, pools);
    if (pool && SHARED_POOL_TYPES.has(pool.type)) return 'network';
    if (this.sharedPaths.some((s) => isUnder(disk.path, s))) return 'declared';
    return 'local';
  }

  // ---------------------------------------------------------------- servers

  private toServer(def: DomainDefinition, stats: DomainStats | undefined, persistent: boolean, pools: PoolInfo[]): Server {
    const running = stats?.state === ServerState.SERVER_STATE_RUNNING || stats?.state === ServerState.SERVER_STATE_PAUSED;
    const disks: Disk[] = def.disks.map((d) => {
      const b = stats?.blocks.find((x) => x.name === d.target);
      const sharing = this.diskSharing(d, pools);
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
    return {
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
  }

  private async transientUuids(opts: VirshCallOptions): Promise<Set<string>> {
    return new Set(parseUuidList((await this.run(['list', '--transient', '--uuid'], opts)).stdout));
  }

  async listServers(signal?: AbortSignal): Promise<Server[]> {
    const opts = { signal };
    const [uuids, stats, transient, pools] = await Promise.all([
      this.run(['list', '--all', '--uuid'], opts).then((r) => parseUuidList(r.stdout)),
      this.run(['domstats', '--raw', '--state', '--vcpu', '--balloon', '--block'], opts).then((r) => parseDomStats(r.stdout)),
      this.transientUuids(opts),
      this.pools.local(signal),
    ]);
    const byName = new Map(stats.map((s) => [s.name, s]));
    const servers = await mapLimit(uuids, this.listConcurrency, async (uuid) => {
      try {
        const def = parseDomainXml((await this.run(['dumpxml', '--domain', uuid], { signal, context: { domain: uuid } })).stdout);
        return this.toServer(def, byName.get(def.name), !transient.has(uuid), pools);
      } catch (err) {
        if (err instanceof ServerNotFoundError) return undefined; // gone since the list
        throw err;
      }
    });
    return servers.filter((s): s is Server => s !== undefined);
  }

  private async serverAt(uri: string | undefined, ref: string, signal?: AbortSignal): Promise<Server> {
    const opts: VirshCallOptions = { signal, uri, context: { domain: ref, ...(uri ? { targetUri: uri } : {}) } };
    const def = parseDomainXml((await this.run(['dumpxml', '--domain', ref], opts)).stdout);
    const [stats, transient, pools] = await Promise.all([
      this.run(['domstats', '--raw', '--state', '--vcpu', '--balloon', '--block', def.uuid], opts).then((r) => parseDomStats(r.stdout)[0]),
      this.transientUuids(opts),
      uri === undefined ? this.pools.local(signal) : this.pools.load(uri, signal),
    ]);
    return this.toServer(def, stats, !transient.has(def.uuid), pools);
  }

  async getServer(ref: string, signal?: AbortSignal): Promise<Server> {
    return this.serverAt(undefined, assertServerRef('server', ref), signal);
  }

  async serverOn(uri: string, uuid: string, signal?: AbortSignal): Promise<Server | null> {
    const u = assertUuid('server_uuid', uuid);
    try {
      return await this.serverAt(assertLibvirtUri('uri', uri), u, signal);
    } catch (err) {
      if (err instanceof ServerNotFoundError) return null;
      throw err;
    }
  }

  private async stateOf(uuid: string, signal?: AbortSignal) {
    return parseDomState((await this.run(['domstate', '--domain', uuid, '--reason'], { signal, context: { domain: uuid } })).stdout);
  }

  // ------------------------------------------------------------- migration

  /**
   * The migrate flags for a server's disks: local disks are copied (only
   * they: --migrate-disks, so a disk on a declared shared path is never
   * copied onto itself), and --unsafe is passed only when every disk that
   * is not copied is on network storage or on a declared shared path.
   * The caller's copyStorage / allowUnsafe are permissions: a flag a disk
   * needs but the caller did not allow refuses the migration up front.
   */
  planDiskFlags(server: Server, pools: PoolInfo[], copyStorage: boolean, allowUnsafe: boolean): string[] {
    const local: string[] = [];
    let declared = false;
    for (const d of server.disks) {
      const sharing = this.diskSharing(d, pools);
      if (sharing === 'declared') declared = true;
      // A read-only local medium (an ISO) is not copied by libvirt; the target must have it.
      if (sharing === 'local' && !d.readonly) local.push(d.target);
    }
    const flags: string[] = [];
    if (local.length > 0) {
      if (!copyStorage) {
        throw new UnsafeMigrationError(`server ${server.uuid} has local disks (${local.join(', ')}) and copy-storage was not requested`, {
          details: { server: server.uuid, disks: local.join(',') },
        });
      }
      flags.push('--copy-storage-all', '--migrate-disks', local.join(','));
    }
    if (declared) {
      if (!allowUnsafe) {
        throw new UnsafeMigrationError(`server ${server.uuid} has disks on declared shared paths and --unsafe was not allowed`, { details: { server: server.uuid } });
      }
      flags.push('--unsafe');
    }
    return flags;
  }

  async migrateLive(spec: LiveMigrationSpec): Promise<void> {
    const uuid = assertUuid('server_uuid', spec.uuid);
    const target = assertLibvirtUri('target_uri', spec.targetUri);
    if (spec.signal.aborted) throw new CancelledError(`migration of ${uuid} cancelled before it started`, { cause: spec.signal.reason });
    if (!Number.isInteger(spec.bandwidthMiBps) || spec.bandwidthMiBps < 0) {
      throw new InvalidArgumentError('max_bandwidth_mibps', `${spec.bandwidthMiBps} is not a non-negative integer`);
    }
    const server = await this.getServer(uuid, spec.signal);
    if (server.state !== ServerState.SERVER_STATE_RUNNING && server.state !== ServerState.SERVER_STATE_PAUSED) {
      throw new FailedPreconditionError(`server ${uuid} is not running (${server.state}); live migration needs a running guest`);
    }
    const args = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource'];
    const diskFlags = this.planDiskFlags(server, await this.pools.local(spec.signal), spec.copyStorage, spec.unsafe);
    args.push(...diskFlags);
    const precreated = diskFlags.includes('--copy-storage-all') ? await this.checkCopyTargets(server, target, spec.signal) : [];
    if (spec.postCopy) args.push('--postcopy');
    if (spec.autoConverge) args.push('--auto-converge');
    if (spec.bandwidthMiBps > 0) {
      args.push('--bandwidth', String(spec.bandwidthMiBps));
      // The cap holds for the whole move: post-copy has its own limit in libvirt.
      if (spec.postCopy) args.push('--postcopy-bandwidth', String(spec.bandwidthMiBps));
    }
    args.push('--domain', uuid, '--desturi', target);

    // The virsh client gets no signal: on abort, domjobabort cancels the job
    // in libvirtd and virsh then exits with "operation aborted".
    const migrate = this.run(args, {
      timeoutMs: this.migrateTimeoutMs + 60_000,
      context: { domain: uuid, targetUri: target },
    });
    let finished = false;
    let timedOut = false;
    const aborter = async () => {
      // The job may not exist yet when the abort comes: retry until virsh exits.
      while (!finished) {
        try {
          await this.abortJob(uuid);
          return;
        } catch (err) {
          if (err instanceof PostCopyAbortRefusedError) return; // never abort in post-copy: let it finish
          await sleep(200);
        }
      }
    };
    const onAbort = () => void aborter();
    spec.signal.addEventListener('abort', onAbort, { once: true });
    const backstop = setTimeout(() => {
      timedOut = true;
      void aborter();
    }, this.migrateTimeoutMs);
    try {
      await migrate;
    } catch (err) {
      await this.removeFailedCopies(uuid, target, precreated);
      if (timedOut && !spec.signal.aborted) {
        throw new MigrationTimedOutError(`migration of ${uuid} exceeded its ${this.migrateTimeoutMs} ms backstop`, { cause: err });
      }
      throw err;
    } finally {
      finished = true;
      clearTimeout(backstop);
      spec.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Before copy-storage: libvirt creates each copied disk in the target pool
   * covering its path, but writes into a file that already exists there
   * (seen on 9.0) — which could be another server's disk. Refuse that, and
   * return the volumes libvirt will create, to remove them if the migration
   * fails (an aborted copy leaves them behind).
   */
  private async checkCopyTargets(server: Server, target: string, signal: AbortSignal): Promise<{ pool: string; name: string }[]> {
    const local = server.disks.filter((d) => !d.readonly && d.path !== '' && !d.shared);
    if (local.length === 0) return [];
    const pools = await this.pools.load(target, signal);
    const on: VirshCallOptions = { signal, uri: target, context: { targetUri: target } };
    const out: { pool: string; name: string }[] = [];
    for (const d of local) {
      const pool = poolHolding(d.path, pools.filter((p) => p.active));
      if (!pool) {
        throw new FailedPreconditionError(`no active storage pool on ${target} covers ${dirname(d.path)} for the copy of ${d.target}`, {
          details: { path: d.path, targetUri: target },
        });
      }
      await this.run(['pool-refresh', '--pool', pool.name], on);
      const name = basename(d.path);
      if (await this.volumes.exists(pool.name, name, on)) {
        throw new FailedPreconditionError(`${target} already has a file at ${d.path}; copy-storage would write into it`, {
          details: { path: d.path, targetUri: target },
        });
      }
      out.push({ pool: pool.name, name });
    }
    return out;
  }

  /** After a failed copy-storage migration: delete the target copies, unless the guest got there after all. */
  private async removeFailedCopies(uuid: string, target: string, vols: { pool: string; name: string }[]): Promise<void> {
    if (vols.length === 0) return;
    const there = await this.serverOn(target, uuid).catch(() => undefined);
    if (there !== null) return; // there, or unknown: leave the files alone
    for (const v of vols) {
      await this.run(['vol-delete', '--pool', v.pool, '--vol', v.name], { uri: target, context: { targetUri: target } }).catch(() => undefined);
    }
  }

  async jobStats(uuid: string, signal?: AbortSignal): Promise<JobStats | null> {
    const u = assertUuid('server_uuid', uuid);
    let info, state;
    try {
      [info, state] = await Promise.all([
        this.run(['domjobinfo', '--domain', u, '--rawstats'], { signal, context: { domain: u } }),
        this.stateOf(u, signal),
      ]);
    } catch (err) {
      // A completed outgoing migration removes the domain from this host.
      if (err instanceof ServerNotFoundError) return null;
      throw err;
    }
    const parsed = parseDomJobInfo(info.stdout, /post-copy/.test(state.reason));
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

  private async withTempFile<T>(content: string, fn: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.tmpDir, 'drydock-cpu-'));
    const file = join(dir, 'cpu.xml');
    try {
      await writeFile(file, content, { mode: 0o600 });
      return await fn(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private static checkCpuXml(field: string, xml: string): string {
    if (typeof xml !== 'string' || xml.length === 0) throw new InvalidArgumentError(field, 'empty CPU description');
    if (Buffer.byteLength(xml) > MAX_CPU_XML_BYTES) throw new InvalidArgumentError(field, `larger than ${MAX_CPU_XML_BYTES} bytes`);
    if (splitCpuXmls(xml).length !== 1) throw new InvalidArgumentError(field, 'must hold exactly one <cpu> element');
    return xml;
  }

  async compareCpu(cpuXml: string, signal?: AbortSignal) {
    const xml = LibvirtHypervisor.checkCpuXml('cpu_xml', cpuXml);
    const virtType = await this.virtType(signal);
    // --error: without it virsh says only "incompatible"; with it libvirt
    // names the reason and the missing features, which the operator needs.
    return this.withTempFile(xml, async (file) => {
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
    cpuXmls.forEach((x, i) => LibvirtHypervisor.checkCpuXml(`cpu_xmls[${i}]`, x));
    const [virtType, caps] = await Promise.all([this.virtType(signal), this.capabilities(signal)]);
    const args = ['hypervisor-cpu-baseline', '--virttype', virtType];
    if (opts.expandFeatures) args.push('--features');
    if (opts.migratable) args.push('--migratable');
    return this.withTempFile(cpuXmls.join('\n'), async (file) => {
      const res = await this.run([...args, '--file', file], { signal, context: { field: 'cpu_xmls' } });
      return parseCpuBaseline(res.stdout, caps.arch);
    });
  }

  // ----------------------------------------------------------------- events

  events(signal: AbortSignal): AsyncIterable<DomainEvent> {
    return virshEvents(this.virsh, { minMs: this.eventRestartMinMs, maxMs: this.eventRestartMaxMs }, signal);
  }
}
