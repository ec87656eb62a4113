// A lab of N KVM "hosts" on this machine, for tests and `npm start`: one
// network namespace per host plus a bridge namespace, one libvirtd per host in
// its own mount namespace, lab guests that print heartbeats. See
// ./README.md for the layout and how to run things inside a host.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { systemPath } from '../../common/command-env.mjs';
import { LabError, run, type RunOptions, type RunResult } from './exec.ts';
import { domainXml, resolveGuest, type GuestImage, type GuestSpec, type ResolvedGuest } from './guest.ts';
import {
  bindPrivateDirs,
  copyCapsCache,
  hostCapsDir,
  hostPath,
  LAB_BOOT_ID_FILE,
  nsenterArgv,
  PRIVATE_DIRS,
  readLibvirtdPid,
  restartLibvirtd,
  startHolder,
  startLibvirtd,
  writeHostFiles,
  type HostRecord,
} from './libvirtd.ts';
import { createNet, planNet, subnetCidr, type LabNet } from './network.ts';
import { beatsOfBoot, parseSerialLogs, type Heartbeat, type SerialRecord } from './serial.ts';
import {
  assertLabName,
  cleanLeftover,
  DEFAULT_STATE_ROOT,
  labDir,
  netnsPrefix,
  ownerRecord,
  readState,
  removeLab,
  writeState,
  type LabState,
} from './state.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GUEST_MANIFEST = join(REPO_ROOT, '.cache', 'guest', 'current.json');

export interface LabOptions {
  /** Number of hosts (default 3, at most 20). */
  hosts?: number;
  /** Lab name, /^[a-z][a-z0-9]{0,5}$/ (default "dd"): namespaces are `<name>lab-h1`, ... */
  name?: string;
  /**
   * Third octet of the lab subnet 10.99.<subnet>.0/24. Default: 0 for the
   * lab "dd", else derived from the name (1-250), so labs with distinct names
   * usually get distinct subnets; a clash is refused with a clear error.
   */
  subnet?: number;
  /** Where lab state lives (default /var/tmp/drydock-lab; must not be under a per-host private dir like /run). */
  stateRoot?: string;
  /** Progress lines (default: none). */
  log?: (msg: string) => void;
}

export function defaultSubnet(name: string): number {
  if (name === 'dd') return 0;
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return 1 + (h % 250);
}

/** Loads the guest image that `npm run setup` built. */
export async function loadGuestImage(): Promise<GuestImage & { kernelPackage: string }> {
  let m: { kernel: string; initrd: string; cmdline: string; kernelPackage: string };
  try {
    m = JSON.parse(await readFile(GUEST_MANIFEST, 'utf8'));
    await access(m.kernel);
    await access(m.initrd);
  } catch {
    throw new LabError(`no lab guest image (${GUEST_MANIFEST}): run \`npm run setup\``);
  }
  return m;
}

function defaultCwd(): string {
  const cwd = process.cwd();
  // A cwd under a private dir would not be the same directory inside a host.
  return Object.values(PRIVATE_DIRS).some((d) => cwd === d || cwd.startsWith(`${d}/`)) ? '/' : cwd;
}

/** One lab host: a network namespace, a mount namespace and a libvirtd. */
export class LabHost {
  /** libvirt URI from anywhere that reaches the lab subnet (root namespace, other hosts). */
  readonly uri: string;
  /** libvirt URI from inside the host (its private /run/libvirt socket). */
  readonly localUri = 'qemu:///system';

  constructor(readonly rec: HostRecord) {
    this.uri = `qemu+tcp://${rec.ip}/system`;
  }

  get name(): string {
    return this.rec.name;
  }
  get index(): number {
    return this.rec.index;
  }
  get ip(): string {
    return this.rec.ip;
  }
  get netns(): string {
    return this.rec.netns;
  }
  /** Pid of the process holding the host's namespaces: `nsenter -t <nsPid> -m -n` enters the host. */
  get nsPid(): number {
    return this.rec.nsPid;
  }
  get hostUuid(): string {
    return this.rec.hostUuid;
  }
  /** The host's state directory in the root namespace. */
  get dir(): string {
    return this.rec.dir;
  }

  /** Current libvirtd pid (changes on restartHost), or null if it is not running. */
  libvirtdPid(): Promise<number | null> {
    return readLibvirtdPid(this.rec);
  }

  /** The argv that runs `argv` inside this host (for callers that spawn themselves). */
  argv(argv: readonly string[], cwd: string = defaultCwd()): string[] {
    return nsenterArgv(this.rec.nsPid, argv, cwd);
  }

  /** Runs a program inside the host's network and mount namespaces. */
  exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(this.argv(argv, opts.cwd ?? defaultCwd()), { ...opts, cwd: undefined });
  }

  /**
   * Starts a long-running program inside the host (e.g. the agent). It is
   * killed with the lab at destroy() if still running.
   */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const [cmd, ...args] = this.argv(argv, typeof opts.cwd === 'string' ? opts.cwd : defaultCwd());
    return spawn(cmd!, args, { ...opts, cwd: undefined, env: { ...(opts.env ?? process.env), PATH: systemPath(opts.env?.PATH ?? process.env.PATH) } });
  }

  /** virsh against this host's libvirtd over TCP, from the root namespace. */
  virsh(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(['virsh', '-q', '-c', this.uri, ...args], opts);
  }

  /** Root-namespace path of a path in the host's private dirs (/etc/libvirt, /run, /var/lib/libvirt, ...). */
  path(pathInHost: string): string {
    const p = hostPath(this.rec.dir, pathInHost);
    if (!p) throw new LabError(`${pathInHost} is not in a private directory of ${this.name}`);
    return p;
  }

  /** The host's boot id (see LAB_BOOT_ID_FILE): changes on every restartHost. */
  async bootId(): Promise<string> {
    return (await readFile(this.path(LAB_BOOT_ID_FILE), 'utf8')).trim();
  }
}

export interface DefinedGuest extends ResolvedGuest {
  host: string;
}

export class Lab {
  readonly hosts: LabHost[];
  /** Directory every host sees at the same path, outside the private mounts: "shared storage". */
  readonly sharedDir: string;
  /** The bridge namespace (coordinator / NATS side) and its address. */
  readonly bridge: {
    netns: string;
    ip: string;
    /** Runs a program in the bridge namespace. */
    exec: (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;
    spawn: (argv: readonly string[], opts?: SpawnOptions) => ChildProcess;
  };
  /** The root namespace's address on the lab subnet: hosts reach root-namespace servers (NATS, coordinator) here. */
  readonly rootIp: string;
  private destroyed = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly stateRoot: string,
    readonly net: LabNet,
    hosts: HostRecord[],
    private readonly guestImage: GuestImage | null,
    private readonly state: LabState,
    private readonly log: (m: string) => void,
  ) {
    this.hosts = hosts.map((h) => new LabHost(h));
    this.sharedDir = state.sharedDir;
    this.rootIp = net.rootIp;
    const brArgv = (argv: readonly string[]) => ['ip', 'netns', 'exec', net.bridgeNetns, ...argv];
    this.bridge = {
      netns: net.bridgeNetns,
      ip: net.bridgeIp,
      exec: (argv, opts = {}) => run(brArgv(argv), opts),
      spawn: (argv, opts = {}) => {
        const [cmd, ...args] = brArgv(argv);
        return spawn(cmd!, args, { ...opts, env: { ...(opts.env ?? process.env), PATH: systemPath(opts.env?.PATH ?? process.env.PATH) } });
      },
    };
  }

  /** The guest image guests boot (built by `npm run setup`). */
  get image(): GuestImage {
    if (!this.guestImage) throw new LabError(`no lab guest image (${GUEST_MANIFEST}): run \`npm run setup\``);
    return this.guestImage;
  }

  /** The lab subnet, e.g. 10.99.0.0/24. */
  get subnet(): string {
    return subnetCidr(this.net.subnet);
  }

  host(h: string | LabHost): LabHost {
    if (h instanceof LabHost) return h;
    const found = this.hosts.find((x) => x.name === h || x.ip === h);
    if (!found) throw new LabError(`lab ${this.name} has no host ${JSON.stringify(h)}`);
    return found;
  }

  /**
   * Defines (and by default starts) a lab guest on `host`. Disks are created
   * first: a local one as a volume of the host's `local` pool, a shared one in
   * sharedDir (every host's `shared` pool is refreshed to show it).
   */
  async defineGuest(h: string | LabHost, spec: GuestSpec): Promise<DefinedGuest> {
    const host = this.host(h);
    const g = resolveGuest(spec, this.sharedDir);
    for (const d of g.disks) {
      // qemu-img on the root-namespace path rather than vol-create-as: the
      // lab then works even where libvirt's storage driver is not installed.
      const file = d.pool === 'local' ? host.path(d.path) : d.path;
      await run(['qemu-img', 'create', '-q', '-f', 'qcow2', file, `${d.sizeMiB}M`]);
      // Let the pools list the new volume (agents map disks to pools).
      const refresh = d.pool === 'local' ? [host] : this.hosts;
      await Promise.all(refresh.map((x) => x.virsh(['pool-refresh', d.pool]).catch(() => {})));
    }
    const xmlDir = join(this.dir, 'xml');
    await mkdir(xmlDir, { recursive: true });
    const xmlPath = join(xmlDir, `${g.name}.xml`);
    await writeFile(xmlPath, domainXml(g, this.image));
    // virsh reads the file here and sends its text to the host's libvirtd.
    await host.virsh(['define', xmlPath]);
    if (g.start) await host.virsh(['start', g.name]);
    this.log(`guest ${g.name} defined on ${host.name}${g.start ? ' and started' : ''}`);
    return { ...g, host: host.name };
  }

  /** Root-namespace path of the serial log `host` writes for `guest` (every host that ran it has one). */
  serialLogPath(guest: string, h: string | LabHost): string {
    return this.host(h).path(`/var/log/libvirt/qemu/${guest}.serial.log`);
  }

  /** Every record the guest printed, on every host that ran it. */
  async serialRecords(guest: string): Promise<SerialRecord[]> {
    const logs = await Promise.all(this.hosts.map(async (h) => ({ host: h.name, text: await readFile(this.serialLogPath(guest, h), 'utf8').catch(() => '') })));
    return parseSerialLogs(logs);
  }

  /**
   * The guest's current boot id: that of the last line of the serial log
   * written most recently (the host it runs on now). Null if it never printed.
   */
  async currentBoot(guest: string): Promise<string | null> {
    let newest: { host: string; mtime: number } | null = null;
    for (const h of this.hosts) {
      const st = await stat(this.serialLogPath(guest, h)).catch(() => null);
      if (st && st.size > 0 && (!newest || st.mtimeMs > newest.mtime)) newest = { host: h.name, mtime: st.mtimeMs };
    }
    if (!newest) return null;
    const recs = (await this.serialRecords(guest)).filter((r) => r.host === newest!.host);
    return recs.at(-1)?.boot ?? null;
  }

  /**
   * Heartbeats of the guest's current boot (or `boot`), across hosts, by
   * counter: after a live migration h1→h2 they read h1 1..k, h2 k+1...
   */
  async heartbeats(guest: string, boot?: string): Promise<Heartbeat[]> {
    const b = boot ?? (await this.currentBoot(guest));
    if (!b) return [];
    return beatsOfBoot(await this.serialRecords(guest), b);
  }

  /**
   * Waits until the current boot has at least `count` heartbeats (on `host`
   * if given, with counter > `after` if given, and only once the boot differs
   * from `notBoot`, e.g. after a restart or cold move); returns them all.
   */
  async waitForHeartbeats(
    guest: string,
    {
      count = 1,
      host,
      after = 0,
      notBoot,
      timeoutMs = 60_000,
      signal,
    }: { count?: number; host?: string; after?: number; notBoot?: string; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Heartbeat[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const beats = await this.heartbeats(guest);
      const matching = beats.filter((b) => (!host || b.host === host) && b.n > after && b.boot !== notBoot);
      if (matching.length >= count) return beats;
      if (Date.now() > deadline) {
        throw new LabError(
          `guest ${guest}: ${matching.length}/${count} heartbeats${host ? ` on ${host}` : ''} after ${timeoutMs} ms (last: ${JSON.stringify(beats.at(-1) ?? null)})`,
        );
      }
      await sleep(250, undefined, signal ? { signal } : {});
    }
  }

  /**
   * The lab's RebootHost: kills and restarts the host's libvirtd in the same
   * namespaces (running guests stay; libvirtd re-attaches to them) and gives
   * the host a new boot id. Returns the new libvirtd pid.
   */
  async restartHost(h: string | LabHost): Promise<number> {
    const host = this.host(h);
    const t0 = performance.now();
    const pid = await restartLibvirtd(host.rec);
    this.log(`${host.name}: libvirtd restarted (pid ${pid}) in ${Math.round(performance.now() - t0)} ms`);
    return pid;
  }

  /** Kills everything the lab runs, deletes its namespaces and state. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const t0 = performance.now();
    await removeLab(this.stateRoot, this.name, this.state);
    this.log(`lab ${this.name} destroyed in ${Math.round(performance.now() - t0)} ms`);
  }
}

/**
 * Creates a lab (cleaning a leftover of the same name first). On failure
 * whatever was created is removed again before the error is thrown.
 */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const t0 = performance.now();
  const name = assertLabName(opts.name ?? 'dd');
  const nHosts = opts.hosts ?? 3;
  if (!Number.isInteger(nHosts) || nHosts < 1 || nHosts > 20) throw new LabError(`lab hosts: ${nHosts} is not in [1, 20]`);
  const subnet = opts.subnet ?? defaultSubnet(name);
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new LabError(`lab subnet: ${subnet} is not in [0, 255]`);
  const stateRoot = opts.stateRoot ?? DEFAULT_STATE_ROOT;
  const log = opts.log ?? (() => {});
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network and mount namespaces)');

  const image = await loadGuestImage();
  await cleanLeftover(stateRoot, name, log);

  const dir = labDir(stateRoot, name);
  const capsCache = join(stateRoot, '.qemu-capabilities');
  const sharedDir = join(dir, 'shared');
  await mkdir(sharedDir, { recursive: true });
  const net = planNet(netnsPrefix(name), nHosts, subnet);
  const state: LabState = {
    name,
    owner: await ownerRecord(),
    subnet,
    bridgeNetns: net.bridgeNetns,
    rootVeth: net.rootVeth,
    sharedDir,
    hosts: [],
    createdAt: new Date().toISOString(),
  };
  // Written before anything exists, so a crash at any point leaves a record.
  await writeState(stateRoot, state);

  try {
    await createNet(net);
    const tNet = performance.now();
    const startHost = async (i: number): Promise<HostRecord> => {
      const h = net.hosts[i]!;
      const base = { name: h.name, index: i + 1, ip: h.ip, netns: h.netns, dir: join(dir, h.name), hostUuid: randomUUID() };
      await writeHostFiles(base, sharedDir);
      await copyCapsCache(capsCache, hostCapsDir(base));
      const holder = await startHolder(h.netns);
      const rec: HostRecord = { ...base, nsPid: holder.pid, nsPidStart: holder.start };
      // Recorded at once: a failure below must still find this holder.
      state.hosts.push(rec);
      await bindPrivateDirs(rec);
      await startLibvirtd(rec);
      return rec;
    };
    // With a cold capability cache every libvirtd would probe QEMU (~8 s of
    // CPU each); let h1 probe alone and hand its cache to the others.
    const cold = (await readdir(capsCache).catch(() => [])).length === 0;
    const first = cold ? [await startHost(0)] : [];
    if (cold) await copyCapsCache(hostCapsDir(first[0]!), capsCache);
    const rest = await Promise.all(
      net.hosts
        .map((_, i) => i)
        .slice(first.length)
        .map(startHost),
    );
    const hosts = [...first, ...rest];
    state.hosts = hosts;
    await writeState(stateRoot, state);
    // Probed (or confirmed) by h1's libvirtd: what the next lab starts from.
    await copyCapsCache(hostCapsDir(hosts[0]!), capsCache);
    const t1 = performance.now();
    log(`lab ${name}: ${nHosts} hosts on ${net.hosts[0]?.ip}..${net.hosts.at(-1)?.ip} up in ${Math.round(t1 - t0)} ms (network ${Math.round(tNet - t0)} ms)`);
    return new Lab(name, dir, stateRoot, net, hosts, image, state, log);
  } catch (e) {
    log(`lab ${name}: creation failed, removing it: ${(e as Error).message}`);
    await removeLab(stateRoot, name, state).catch(() => {});
    throw e;
  }
}

/** Attaches to a running lab by name (e.g. from a CLI): the state file says where everything is. */
export async function openLab(
  name: string,
  { stateRoot = DEFAULT_STATE_ROOT, log = () => {} }: { stateRoot?: string; log?: (m: string) => void } = {},
): Promise<Lab> {
  const state = await readState(stateRoot, assertLabName(name));
  if (!state || state.hosts.length === 0) throw new LabError(`no running lab ${name} under ${stateRoot}`);
  const net = planNet(netnsPrefix(name), state.hosts.length, state.subnet);
  // Optional here: restarting a host (reboot-host.ts) needs no guest image.
  const image = await loadGuestImage().catch(() => null);
  return new Lab(name, labDir(stateRoot, name), stateRoot, net, state.hosts, image, state, log);
}
