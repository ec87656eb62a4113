#!/usr/bin/env node
// The one idempotent set-up step that `npm start` and `npm test` run first
// (prestart/pretest). It runs before npm packages exist, so node: builtins
// only. Each step checks before it acts; a warm run takes about a second.
//
//   1. npm packages      npm ci / npm install if node_modules is missing or stale
//   2. Debian packages   apt-get install if any binary the lab needs is missing
//   3. libvirt-qemu      the user/group libvirtd insists on (no libvirt-daemon-system)
//   4. guest image       Debian kernel + busybox initramfs, cached in .cache/guest/
import { constants as fsc } from 'node:fs';
import { access, stat, utimes } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGuestImage, findStaticBusybox } from './guest/build-image.mjs';
import { run, SetupError } from './guest/proc.mjs';
import { ensureLabCa } from './pki.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Installed when a binary below is missing. Debian 12 and 13 both have these
 * names; --no-install-recommends keeps it to ~120 MB.
 */
const PACKAGES = [
  'libvirt-daemon',
  'libvirt-daemon-driver-qemu',
  'libvirt-clients',
  'qemu-system-x86',
  'qemu-utils',
  'nats-server',
  'busybox-static',
  'iproute2',
  'util-linux', // nsenter, unshare
  'cpio',
  'xz-utils', // newer Debian kernels ship .ko.xz modules
  'systemd', // systemd-analyze: the deploy test verifies the units
];
/**
 * Newer libvirt packaging splits the storage driver out of libvirt-daemon
 * (the lab's `dir` pools need it) and only recommends it; such packages are
 * found at run time among libvirt-daemon's dependencies, minus the heavy
 * network-storage backends.
 */
const STORAGE_DRIVER_RE = /^libvirt-daemon-driver-storage(?!-(gluster|rbd|iscsi|zfs))[a-z0-9-]*$/;

/** Binaries the lab and the agent run, and the package that provides each. */
const BINARIES = {
  libvirtd: 'libvirt-daemon',
  virsh: 'libvirt-clients',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  'nats-server': 'nats-server',
  ip: 'iproute2',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  cpio: 'cpio',
  xz: 'xz-utils',
  'systemd-analyze': 'systemd',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  tar: 'tar',
};

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };
// Another apt run (a concurrent `npm test`) holds the dpkg lock for a while.
const APT_LOCK = ['-o', 'DPkg::Lock::Timeout=300'];

function log(msg) {
  console.log(`setup: ${msg}`);
}

async function exists(p, mode = fsc.F_OK) {
  try {
    await access(p, mode);
    return true;
  } catch {
    return false;
  }
}

/** PATH lookup that also searches sbin: CI shells often lack it for root. */
async function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (d && (await exists(join(d, name), fsc.X_OK))) return join(d, name);
  }
  return null;
}

async function npmPackages() {
  const lock = join(ROOT, 'package-lock.json');
  const modules = join(ROOT, 'node_modules');
  const hasLock = await exists(lock);
  const modStat = await stat(modules).catch(() => null);
  // npm rewrites its hidden lockfile at the end of every install; the
  // directory's own mtime may stay older than package-lock.json.
  const hidden = await stat(join(modules, '.package-lock.json')).catch(() => null);
  const installedAt = Math.max(modStat?.mtimeMs ?? 0, hidden?.mtimeMs ?? 0);
  if (modStat && (!hasLock || installedAt >= (await stat(lock)).mtimeMs)) {
    log('npm packages: up to date');
    return;
  }
  const cmd = hasLock ? 'ci' : 'install';
  log(`npm packages: running npm ${cmd} (${modStat ? 'package-lock.json is newer' : 'no node_modules'})`);
  await run('npm', [cmd, '--no-audit', '--no-fund'], { cwd: ROOT, inherit: true });
  // npm does not always touch the directory itself; mark it fresh so the
  // next run skips this step.
  const now = new Date();
  await utimes(modules, now, now);
}

let aptUpdated = false;
async function aptUpdate() {
  if (aptUpdated) return;
  log('apt-get update');
  await run('apt-get', [...APT_LOCK, 'update', '-q'], { env: APT_ENV, inherit: true });
  aptUpdated = true;
}

async function debianPackages() {
  const missing = [];
  for (const bin of Object.keys(BINARIES)) if (!(await which(bin))) missing.push(bin);
  if (!(await findStaticBusybox())) missing.push('busybox (static)');
  if (missing.length === 0) {
    log('debian packages: all binaries present');
    return;
  }
  if (process.getuid?.() !== 0) throw new SetupError(`missing ${missing.join(', ')} and not root: install ${PACKAGES.join(' ')}`);
  log(`debian packages: missing ${missing.join(', ')}`);
  await aptUpdate();
  const extra = [];
  const { stdout: deps } = await run('apt-cache', ['depends', '--no-suggests', '--no-enhances', 'libvirt-daemon'], { allowFail: true });
  for (const line of deps.split('\n')) {
    const m = /^\s*\|?(?:Depends|Recommends):\s*(\S+)\s*$/.exec(line);
    if (m && STORAGE_DRIVER_RE.test(m[1]) && !extra.includes(m[1])) extra.push(m[1]);
  }
  const pkgs = [...PACKAGES, ...extra];
  log(`apt-get install ${pkgs.join(' ')}`);
  await run('apt-get', [...APT_LOCK, 'install', '-y', '-q', '--no-install-recommends', ...pkgs], { env: APT_ENV, inherit: true });
  const still = [];
  for (const bin of Object.keys(BINARIES)) if (!(await which(bin))) still.push(bin);
  if (still.length) throw new SetupError(`still missing after apt-get install: ${still.join(', ')}`);
}

async function libvirtQemuUser() {
  // libvirtd fails with "Failed to parse user 'libvirt-qemu'" without it;
  // libvirt-daemon-system would create it but drags in systemd upgrades.
  const group = await run('getent', ['group', 'libvirt-qemu'], { allowFail: true });
  const user = await run('getent', ['passwd', 'libvirt-qemu'], { allowFail: true });
  if (group.code === 0 && user.code === 0) {
    log('libvirt-qemu user: present');
    return;
  }
  if (group.code !== 0) {
    log('libvirt-qemu user: groupadd -r libvirt-qemu');
    await run('groupadd', ['-r', 'libvirt-qemu']);
  }
  if (user.code !== 0) {
    log('libvirt-qemu user: useradd -r libvirt-qemu');
    await run('useradd', ['-r', '-g', 'libvirt-qemu', '-d', '/var/lib/libvirt', '-s', '/usr/sbin/nologin', 'libvirt-qemu']);
  }
}

async function main() {
  const t0 = performance.now();
  await npmPackages();
  await debianPackages();
  await libvirtQemuUser();
  await ensureLabCa();
  const image = await ensureGuestImage({ root: ROOT, log, update: aptUpdate });
  log(`guest image: kernel ${image.kernelPackage}, init ${image.initHash}`);
  log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(`setup: FAILED: ${e instanceof SetupError ? e.message : (e?.stack ?? e)}`);
  process.exit(1);
});
