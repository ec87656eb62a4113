// Everything drydock's set-up, lab, `npm start` and tests need from the
// machine, in one list: the programs the code runs (with the Debian package
// that provides each), the Node version (package.json "engines"), the
// directories, users and kernel features the lab uses. Set-up installs from
// this list and runs `checkPrerequisites()` last; `npm run setup -- --check`
// prints each missing item with its fix; test/prerequisites.test.ts fails
// when the code starts a program that is not listed here.
//
// Plain JavaScript, node: builtins only: set-up runs it before npm packages
// exist.
import { constants as fsc } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEnv, findProgram } from '../common/command-env.mjs';
import { run } from './guest/proc.mjs';
import { LAB_NETWORK_CIDR, LAB_ROOT_VETH_RE } from './lab/addresses.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * @typedef {object} Program
 * @property {string} name      executable name (looked up on PATH plus the sbin directories)
 * @property {string} pkg       the Debian package that provides it
 * @property {string} usedBy    who runs it, so nobody drops one that is still needed
 */

/** @type {Program[]} Every program drydock's code starts, by name. */
export const PROGRAMS = [
  // The agent and the lab hosts.
  { name: 'virsh', pkg: 'libvirt-clients', usedBy: 'agent (every libvirt call), lab' },
  { name: 'libvirtd', pkg: 'libvirt-daemon', usedBy: 'lab: one per host' },
  { name: 'qemu-system-x86_64', pkg: 'qemu-system-x86', usedBy: 'lab guests (started by libvirtd)' },
  { name: 'qemu-img', pkg: 'qemu-utils', usedBy: 'lab: guest disks' },
  { name: 'systemctl', pkg: 'systemd', usedBy: 'agent: default reboot command' },
  { name: 'systemd-analyze', pkg: 'systemd', usedBy: 'tests: verify the systemd units' },
  // NATS.
  { name: 'nats-server', pkg: 'nats-server', usedBy: 'coordinator (embedded), tests, npm start' },
  // Namespaces and the lab network.
  { name: 'ip', pkg: 'iproute2', usedBy: 'lab network namespaces, veth, bridge' },
  { name: 'nsenter', pkg: 'util-linux', usedBy: 'lab: run inside a host' },
  { name: 'unshare', pkg: 'util-linux', usedBy: 'lab: a mount namespace per host; tests' },
  { name: 'taskset', pkg: 'util-linux', usedBy: 'lab: libvirtd pinned to CPU 0' },
  { name: 'perl', pkg: 'perl-base', usedBy: 'lab: scripts/lab/subreaper.pl, the reaper libvirtd runs under' },
  { name: 'flock', pkg: 'util-linux', usedBy: 'tests: the apt lock wait' },
  { name: 'mount', pkg: 'mount', usedBy: 'lab: private state directories per host; tests' },
  { name: 'mkdir', pkg: 'coreutils', usedBy: 'lab: mount points inside a host' },
  { name: 'sleep', pkg: 'coreutils', usedBy: 'lab: the namespace holder; tests' },
  { name: 'true', pkg: 'coreutils', usedBy: 'sim agents: reboot command; the kernel checks below' },
  { name: 'false', pkg: 'coreutils', usedBy: 'tests: a virsh prefix that fails' },
  { name: 'stat', pkg: 'coreutils', usedBy: 'tests: file modes after install.sh' },
  { name: 'ls', pkg: 'coreutils', usedBy: 'tests: directories inside a lab host' },
  { name: 'truncate', pkg: 'coreutils', usedBy: 'tests: a file inside a lab host' },
  { name: 'rm', pkg: 'coreutils', usedBy: 'tests: a file inside a lab host' },
  // Set-up and the guest image.
  { name: 'apt-get', pkg: 'apt', usedBy: 'set-up: install packages, download the guest kernel' },
  { name: 'apt-cache', pkg: 'apt', usedBy: 'set-up: the kernel package and storage drivers' },
  { name: 'dpkg-deb', pkg: 'dpkg', usedBy: 'set-up: unpack the guest kernel' },
  { name: 'dpkg-query', pkg: 'dpkg', usedBy: 'set-up: find the static busybox' },
  { name: 'getent', pkg: 'libc-bin', usedBy: 'set-up: the libvirt-qemu user' },
  { name: 'groupadd', pkg: 'passwd', usedBy: 'set-up: the libvirt-qemu group' },
  { name: 'useradd', pkg: 'passwd', usedBy: 'set-up: the libvirt-qemu user' },
  { name: 'cpio', pkg: 'cpio', usedBy: 'set-up: pack the guest initramfs' },
  { name: 'tar', pkg: 'tar', usedBy: 'set-up: unpack the guest kernel' },
  { name: 'xz', pkg: 'xz-utils', usedBy: 'set-up: kernel modules shipped as .ko.xz' },
  { name: 'zstd', pkg: 'zstd', usedBy: 'set-up: kernel modules shipped as .ko.zst' },
  { name: 'gzip', pkg: 'gzip', usedBy: 'set-up: kernel modules shipped as .ko.gz' },
  { name: 'npm', pkg: 'npm', usedBy: 'set-up: npm ci' },
  // Tests and the deploy script.
  { name: 'openssl', pkg: 'openssl', usedBy: 'tests and the lab: certificates' },
  { name: 'python3', pkg: 'python3', usedBy: 'tests: the CLI under a pseudo-terminal' },
  { name: 'bash', pkg: 'bash', usedBy: 'deploy/install.sh, .ci/run' },
  { name: 'git', pkg: 'git', usedBy: 'npm run bench: the revision BENCHMARKS.md was measured at' },
  { name: 'sh', pkg: 'dash', usedBy: 'tests: a fake virsh' },
];

/** Not a program of its own name: the guest's /init needs busybox linked statically. */
export const STATIC_BUSYBOX = { name: 'busybox', pkg: 'busybox-static', usedBy: 'set-up: copied, statically linked, into the guest initramfs' };

/**
 * Packages set-up never installs: those a Debian machine always has
 * (installing them again would only upgrade them), and npm, which comes with
 * the machine's Node.js (Debian's npm would pull in Debian's own nodejs).
 */
const NOT_INSTALLED = new Set(['apt', 'dpkg', 'libc-bin', 'passwd', 'coreutils', 'mount', 'tar', 'gzip', 'bash', 'dash', 'npm']);
/** Debian packages set-up installs when a listed program is missing. */
export const PACKAGES = [...new Set([...PROGRAMS.map((p) => p.pkg).filter((p) => !NOT_INSTALLED.has(p)), STATIC_BUSYBOX.pkg])];

/** The programs node itself provides: started by path, never looked up. */
export const NODE_PROGRAMS = ['node', 'process.execPath'];

/** Users and groups: libvirtd refuses to start ("Failed to parse user 'libvirt-qemu'") without them. */
export const USERS = [{ user: 'libvirt-qemu', group: 'libvirt-qemu', home: '/var/lib/libvirt', createdBy: 'set-up' }];

/**
 * Directories. `createdBy: 'lab'` ones need not exist beforehand: the lab
 * makes each mount point it binds over (Debian's libvirt packages without
 * libvirt-daemon-system create none of them). They are listed so that nobody
 * adds a bind over a directory the lab does not make.
 */
export const DIRECTORIES = [
  { path: '/var/tmp', createdBy: 'machine', usedBy: 'lab state (/var/tmp/drydock-lab)' },
  { path: '/etc/libvirt', createdBy: 'lab', usedBy: 'lab: bind mount point' },
  { path: '/var/lib/libvirt', createdBy: 'lab', usedBy: 'lab: bind mount point' },
  { path: '/var/cache/libvirt', createdBy: 'lab', usedBy: 'lab: bind mount point' },
  { path: '/var/log/libvirt', createdBy: 'lab', usedBy: 'lab: bind mount point' },
  { path: '.cache/guest', createdBy: 'set-up', usedBy: 'lab: the guest kernel and initramfs' },
  { path: '.cache/pki', createdBy: 'set-up', usedBy: 'lab and npm start: the CA, host and coordinator certificates (scripts/pki.mjs)' },
];

/** The Node version range of package.json "engines", as [major, minor]. */
export async function requiredNode() {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const m = /^>=\s*(\d+)\.(\d+)/.exec(pkg.engines?.node ?? '');
  if (!m) throw new Error(`package.json engines.node must read ">=MAJOR.MINOR", not ${JSON.stringify(pkg.engines?.node)}`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * @typedef {object} Finding
 * @property {string} item   what is checked
 * @property {boolean} ok
 * @property {string} [detail]
 * @property {string} [fix]  the command or step that makes it ok
 */

async function exists(p, mode = fsc.F_OK) {
  try {
    await access(p, mode);
    return true;
  } catch {
    return false;
  }
}

/** True if the command exits 0 (output ignored). */
async function succeeds(cmd, args) {
  const path = findProgram(cmd);
  if (!path) return false;
  const r = await run(path, args, { env: commandEnv(), allowFail: true }).catch(() => ({ code: 1 }));
  return r.code === 0;
}

async function checkNode() {
  const [maj, min] = await requiredNode();
  const [hmaj, hmin] = process.versions.node.split('.').map(Number);
  const ok = hmaj > maj || (hmaj === maj && hmin >= min);
  return { item: `node >= ${maj}.${min}`, ok, detail: `running ${process.versions.node}`, fix: `install Node.js ${maj}.${min} or newer` };
}

async function checkNpmPackages() {
  const ok = await exists(join(ROOT, 'node_modules', '.package-lock.json'));
  return { item: 'npm packages (node_modules)', ok, fix: 'npm ci' };
}

/** Lab kernel features, each tried in a throwaway namespace that vanishes with its process. */
async function checkKernel() {
  const root = process.getuid?.() === 0;
  const findings = [{ item: 'root (namespaces, mounts, libvirtd)', ok: root, fix: 'run as root (sudo npm test)' }];
  if (!root) return findings;
  findings.push(
    {
      item: 'network namespaces',
      ok: await succeeds('unshare', ['--net', '--', 'true']),
      fix: 'a kernel with CONFIG_NET_NS (and no seccomp policy forbidding unshare)',
    },
    { item: 'mount namespaces', ok: await succeeds('unshare', ['--mount', '--propagation', 'private', '--', 'true']), fix: 'a kernel with CONFIG_NAMESPACES' },
    {
      item: 'veth pairs',
      ok: await succeeds('unshare', ['--net', '--', 'ip', 'link', 'add', 'ddchk0', 'type', 'veth', 'peer', 'name', 'ddchk1']),
      fix: 'modprobe veth (CONFIG_VETH)',
    },
    {
      item: 'bridges',
      ok: await succeeds('unshare', ['--net', '--', 'ip', 'link', 'add', 'ddchkbr', 'type', 'bridge']),
      fix: 'modprobe bridge (CONFIG_BRIDGE)',
    },
  );
  findings.push(await checkLabRoutes());
  return findings;
}

/**
 * No route of this machine may cover addresses the lab hands out, except the
 * lab's own root veths: lab traffic must never reach a real network.
 */
async function checkLabRoutes() {
  const ipPath = findProgram('ip');
  const item = `no route already covering the lab network ${LAB_NETWORK_CIDR}`;
  if (!ipPath) return { item, ok: false, fix: 'apt-get install iproute2' };
  const foreign = [];
  for (const how of ['match', 'root']) {
    const { stdout } = await run(ipPath, ['-j', '-4', 'route', 'show', how, LAB_NETWORK_CIDR], { env: commandEnv(), allowFail: true });
    const routes = stdout.trim() ? JSON.parse(stdout) : [];
    for (const r of routes) if (r.dst !== 'default' && !LAB_ROOT_VETH_RE.test(r.dev ?? '')) foreign.push(`${r.dst} dev ${r.dev ?? '?'}`);
  }
  return { item, ok: foreign.length === 0, detail: foreign.join('; ') || undefined, fix: 'run the lab on a machine whose networks do not use 10.99.0.0/16' };
}

async function checkUsers() {
  const findings = [];
  for (const u of USERS) {
    const g = await run('getent', ['group', u.group], { env: commandEnv(), allowFail: true });
    const p = await run('getent', ['passwd', u.user], { env: commandEnv(), allowFail: true });
    findings.push({ item: `user and group ${u.user}`, ok: g.code === 0 && p.code === 0, fix: 'npm run setup' });
  }
  return findings;
}

async function checkDirectories() {
  const findings = [];
  for (const d of DIRECTORIES.filter((x) => x.createdBy !== 'lab')) {
    const path = d.path.startsWith('/') ? d.path : join(ROOT, d.path);
    const st = await stat(path).catch(() => null);
    findings.push({
      item: `directory ${d.path}`,
      ok: !!st?.isDirectory() && (await exists(path, fsc.W_OK)),
      fix: d.createdBy === 'set-up' ? 'npm run setup' : `mkdir -p ${d.path}`,
    });
  }
  return findings;
}

/** Every program of the list, found on the system PATH. */
export function missingPrograms() {
  return PROGRAMS.filter((p) => !findProgram(p.name));
}

/**
 * Checks everything above; returns one finding per item. `findStaticBusybox`
 * comes from the guest image builder (the one place that knows how to tell).
 * @param {{ findStaticBusybox?: () => Promise<string | null> }} [opts]
 * @returns {Promise<Finding[]>}
 */
export async function checkPrerequisites(opts = {}) {
  const findings = [await checkNode(), await checkNpmPackages()];
  for (const p of PROGRAMS) {
    const path = findProgram(p.name);
    const fix = NOT_INSTALLED.has(p.pkg) && p.pkg === 'npm' ? 'install Node.js with npm' : `apt-get install ${p.pkg}`;
    findings.push({ item: `program ${p.name}`, ok: !!path, detail: path ?? undefined, fix });
  }
  if (opts.findStaticBusybox)
    findings.push({ item: `${STATIC_BUSYBOX.name} (statically linked)`, ok: !!(await opts.findStaticBusybox()), fix: `apt-get install ${STATIC_BUSYBOX.pkg}` });
  findings.push(...(await checkUsers()), ...(await checkDirectories()), ...(await checkKernel()));
  return findings;
}

/** Human lines for the findings; the missing ones carry their fix. */
export function formatFindings(findings) {
  return findings.map((f) =>
    f.ok ? `  ok       ${f.item}${f.detail ? ` (${f.detail})` : ''}` : `  MISSING  ${f.item}${f.detail ? ` (${f.detail})` : ''}: fix: ${f.fix}`,
  );
}
