// One libvirtd per lab host, in the host's network namespace and its own
// mount namespace, with private copies of every directory libvirt keeps state
// in. The mount namespace is held by a `sleep infinity` "holder" process so
// that libvirtd can be killed and restarted (RebootHost) without losing it,
// and so that agents and tools can enter it with `nsenter -t <holder>`.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, copyFile, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { commandEnv } from '../../common/command-env.mjs';
import { LabError, processAlive, processStartTime, run } from './exec.ts';

/** Directories libvirt writes to, bound per host over the real ones. */
export const PRIVATE_DIRS = {
  etc: '/etc/libvirt',
  run: '/run',
  lib: '/var/lib/libvirt',
  cache: '/var/cache/libvirt',
  log: '/var/log/libvirt',
} as const;

export const LIBVIRTD_PORT = 16509;
/** Inside the host's mount namespace. */
export const LIBVIRTD_PIDFILE = '/run/libvirtd.pid';
/**
 * A per-host boot id, rewritten on every restartHost: all lab hosts share the
 * machine's /proc/sys/kernel/random/boot_id, so agents in the lab read this
 * instead to see a "reboot". Like a real /run it is private to the host.
 */
export const LAB_BOOT_ID_FILE = '/run/drydock-lab/boot_id';
export const LOCAL_POOL_PATH = '/var/lib/libvirt/images';

/** What a host needs to (re)start its libvirtd; persisted in the lab state file. */
export interface HostRecord {
  name: string;
  index: number;
  ip: string;
  netns: string;
  /** State directory in the root mount namespace; the bind-mount sources live below it. */
  dir: string;
  hostUuid: string;
  /** The `sleep infinity` holding the host's mount namespace. */
  nsPid: number;
  nsPidStart: number;
}

export function libvirtdConf(ip: string, hostUuid: string): string {
  return [
    '# drydock lab host: written by scripts/lab, see scripts/lab/README.md',
    'listen_tls = 0',
    'listen_tcp = 1',
    `listen_addr = "${ip}"`,
    `tcp_port = "${LIBVIRTD_PORT}"`,
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    // Distinct per host, else: "Attempt to migrate guest to the same host".
    `host_uuid = "${hostUuid}"`,
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    '',
  ].join('\n');
}

export function qemuConf(ip: string): string {
  return [
    '# drydock lab host: written by scripts/lab, see scripts/lab/README.md',
    // No virtlogd in the lab: without this, "Failed to connect socket to '/run/libvirt/virtlogd-sock'".
    'stdio_handler = "file"',
    'user = "root"',
    'group = "root"',
    'security_driver = "none"',
    // All hosts share one kernel: no cgroups or per-guest namespaces that would collide.
    'cgroup_controllers = [ ]',
    'namespaces = [ ]',
    'remember_owner = 0',
    `migration_address = "${ip}"`,
    `migration_host = "${ip}"`,
    '',
  ].join('\n');
}

export function dirPoolXml(name: string, path: string, uuid: string): string {
  return `<pool type='dir'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <target>
    <path>${path}</path>
  </target>
</pool>
`;
}

/** Where a path inside the host's mount namespace lives in the root namespace, or null if it is not private. */
export function hostPath(hostDir: string, pathInHost: string): string | null {
  for (const [key, dir] of Object.entries(PRIVATE_DIRS)) {
    if (pathInHost === dir || pathInHost.startsWith(`${dir}/`)) return join(hostDir, key, pathInHost.slice(dir.length));
  }
  return null;
}

/**
 * Writes the host's private directories: libvirt configs, the `local` pool
 * (private images, so --copy-storage-all really copies) and the `shared`
 * pool (one directory all hosts see, outside the private mounts).
 */
export async function writeHostFiles(rec: Omit<HostRecord, 'nsPid' | 'nsPidStart'>, sharedDir: string): Promise<void> {
  for (const key of Object.keys(PRIVATE_DIRS)) await mkdir(join(rec.dir, key), { recursive: true });
  const etc = join(rec.dir, 'etc');
  await writeFile(join(etc, 'libvirtd.conf'), libvirtdConf(rec.ip, rec.hostUuid));
  await writeFile(join(etc, 'qemu.conf'), qemuConf(rec.ip));
  await mkdir(join(etc, 'storage', 'autostart'), { recursive: true });
  for (const [name, path] of [
    ['local', LOCAL_POOL_PATH],
    ['shared', sharedDir],
  ] as const) {
    await writeFile(join(etc, 'storage', `${name}.xml`), dirPoolXml(name, path, randomUUID()));
    // Absolute target as seen inside the host (dangling from the root namespace).
    await symlink(`${PRIVATE_DIRS.etc}/storage/${name}.xml`, join(etc, 'storage', 'autostart', `${name}.xml`));
  }
  await mkdir(join(rec.dir, 'lib', 'images'), { recursive: true });
  // A file serial console needs the directory to exist.
  await mkdir(join(rec.dir, 'log', 'qemu'), { recursive: true });
}

/** Starts the holder of the host's mount namespace (inside its network namespace). */
export async function startHolder(netns: string): Promise<{ pid: number; start: number }> {
  const child = spawn('ip', ['netns', 'exec', netns, 'unshare', '--mount', '--propagation', 'private', '--', 'sleep', 'infinity'], {
    detached: true,
    stdio: 'ignore',
    env: commandEnv(),
  });
  // Outlives us on purpose after a crash; the next createLab cleans it up.
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabError(`cannot start the namespace holder for ${netns}`);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new LabError(`namespace holder for ${netns} exited (${code})`))));
  exited.catch(() => {});
  // `ip netns exec` and `unshare` exec in place: the pid is sleep's once the
  // namespaces are set up, which /proc/<pid>/comm tells.
  for (let i = 0; i < 200; i++) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'sleep') {
      const start = await processStartTime(pid);
      if (start !== null) return { pid, start };
    }
    await Promise.race([sleep(10), exited]);
  }
  throw new LabError(`namespace holder for ${netns} did not start`);
}

export function nsenterArgv(nsPid: number, argv: readonly string[], cwd?: string): string[] {
  return ['nsenter', '-t', String(nsPid), '-m', '-n', ...(cwd ? [`--wd=${cwd}`] : []), '--', ...argv];
}

/**
 * Binds the host's private directories over libvirt's. Debian's libvirt
 * packages without libvirt-daemon-system create none of /var/lib/libvirt,
 * /var/cache/libvirt, /var/log/libvirt, so each mount point is made first,
 * from inside the host's mount namespace: where the parent is private to
 * it (a tmpfs), nothing outside changes.
 */
export async function bindPrivateDirs(rec: HostRecord): Promise<void> {
  for (const [key, target] of Object.entries(PRIVATE_DIRS)) {
    await run(nsenterArgv(rec.nsPid, ['mkdir', '-p', target]));
    await run(nsenterArgv(rec.nsPid, ['mount', '--bind', join(rec.dir, key), target]));
  }
}

let libvirtdPath: string | null = null;
export async function findLibvirtd(): Promise<string> {
  if (libvirtdPath) return libvirtdPath;
  for (const p of ['/usr/sbin/libvirtd', '/usr/local/sbin/libvirtd', '/sbin/libvirtd']) {
    try {
      await access(p);
      libvirtdPath = p;
      return p;
    } catch {
      /* next */
    }
  }
  throw new LabError('libvirtd not found: run `npm run setup` (package libvirt-daemon)');
}

/** libvirtd's pid from its pid file (in the host's private /run), if that process is alive. */
export async function readLibvirtdPid(rec: Pick<HostRecord, 'dir'>): Promise<number | null> {
  const file = hostPath(rec.dir, LIBVIRTD_PIDFILE)!;
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  return comm.trim() === 'libvirtd' ? pid : null;
}

/** True once libvirtd accepts TCP connections (it listens only after its drivers are up). */
function canConnect(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.connect(port, ip);
  });
}

const CAPS_DIR = '/var/cache/libvirt/qemu/capabilities';

/**
 * Copies QEMU capability files between a host's private cache and a cache
 * shared by all labs. A libvirtd with an empty cache probes QEMU for ~8 s
 * before it answers; with a valid cache it answers at once. libvirt itself
 * checks the files (libvirtd and QEMU binary times, kernel, microcode) and
 * reprobes when they are stale, so copying them is always safe.
 */
export async function copyCapsCache(from: string, to: string): Promise<number> {
  const files = (await readdir(from).catch(() => [] as string[])).filter((f) => /^[0-9a-f]+\.xml$/.test(f));
  if (files.length === 0) return 0;
  await mkdir(to, { recursive: true });
  for (const f of files) {
    // Atomic per file: another lab may be reading the shared cache.
    const tmp = join(to, `.${f}.${process.pid}`);
    await copyFile(join(from, f), tmp);
    await rename(tmp, join(to, f));
  }
  return files.length;
}

export const hostCapsDir = (rec: Pick<HostRecord, 'dir'>) => hostPath(rec.dir, CAPS_DIR)!;

const SUBREAPER = join(dirname(fileURLToPath(import.meta.url)), 'subreaper.pl');

export async function startLibvirtd(rec: HostRecord, { timeoutMs = 60_000 } = {}): Promise<number> {
  const bin = await findLibvirtd();
  const bootId = hostPath(rec.dir, LAB_BOOT_ID_FILE)!;
  await mkdir(join(bootId, '..'), { recursive: true });
  await writeFile(bootId, `${randomUUID()}\n`);
  await rm(hostPath(rec.dir, LIBVIRTD_PIDFILE)!, { force: true });
  // --daemon: the parent exits once the daemon has forked; the daemon stays
  // in the holder's namespaces. It listens only when its drivers are ready,
  // hence the connect poll below.
  // Pinned to CPU 0: libvirt's QEMU capability cache records the host's
  // CPUID, which differs per CPU on these machines, so a libvirtd that lands
  // on another CPU than the one that wrote the cache throws it away and
  // reprobes QEMU for ~8 s. QEMU itself is not confined by this: libvirt
  // resets each guest's affinity to all host CPUs.
  // Under ./subreaper.pl: the QEMUs it starts (orphaned at once) are reaped
  // as soon as they exit, as a real host's init does, whatever this
  // machine's PID 1 does (see that file).
  await run(nsenterArgv(rec.nsPid, ['perl', SUBREAPER, 'taskset', '-c', '0', bin, '--listen', '--daemon', '--pid-file', LIBVIRTD_PIDFILE]), { timeoutMs });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = await readLibvirtdPid(rec);
    if (pid !== null && (await canConnect(rec.ip, LIBVIRTD_PORT, 500))) {
      // The socket accepts before the drivers are ready; an RPC waits for them.
      await run(['virsh', '-q', '-c', `qemu+tcp://${rec.ip}/system`, 'version'], { timeoutMs: Math.max(1000, deadline - Date.now()) });
      return pid;
    }
    await sleep(25);
  }
  const log = await readFile(hostPath(rec.dir, '/var/log/libvirt/libvirtd.log')!, 'utf8').catch(() => '');
  throw new LabError(
    `libvirtd of ${rec.name} not listening on ${rec.ip}:${LIBVIRTD_PORT} after ${timeoutMs} ms${log ? `\n${log.trim().split('\n').slice(-5).join('\n')}` : ''}`,
  );
}

/** SIGTERM, then SIGKILL after `graceMs`. Guests (separate QEMU processes) keep running. */
export async function stopLibvirtd(rec: HostRecord, { graceMs = 10_000 } = {}): Promise<void> {
  const pid = await readLibvirtdPid(rec);
  if (pid === null) return;
  const start = await processStartTime(pid);
  if (start === null) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await processAlive(pid, start))) return;
    await sleep(25);
  }
  if (await processAlive(pid, start)) process.kill(pid, 'SIGKILL');
  while (await processAlive(pid, start)) await sleep(25);
}

/** What RebootHost means in the lab: libvirtd restarts, guests stay, the host's boot id changes. */
export async function restartLibvirtd(rec: HostRecord): Promise<number> {
  if (!(await processAlive(rec.nsPid, rec.nsPidStart))) throw new LabError(`lab host ${rec.name}: its namespace holder (pid ${rec.nsPid}) is gone`);
  await stopLibvirtd(rec);
  return startLibvirtd(rec);
}
