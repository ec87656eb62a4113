// The one idempotent set-up step that `npm start` and `npm test` run first
// (prestart/pretest). It runs before npm packages exist, so node: builtins
// only. Each step checks before it acts; a warm run takes about a second.
// What it installs and checks comes from one list: ./prerequisites.mjs.
//
//   1. npm packages      npm ci / npm install if node_modules is missing or stale
//   2. Debian packages   apt-get install if any listed program is missing
//                        (after waiting, bounded, for apt/dpkg locks)
//   3. libvirt-qemu      the user/group libvirtd insists on (no libvirt-daemon-system)
//   4. lab CA            .cache/pki/: the CA the lab's agents and coordinator use (./pki.mjs)
//   5. guest image       Debian kernel + busybox initramfs, cached in .cache/guest/
//   6. the check         every prerequisite, each missing one printed with its fix
//
//   node scripts/setup.mjs            set up, then check
//   node scripts/setup.mjs --check    only check (exit 1 if anything is missing)
import { access, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_APT_LOCK_TIMEOUT_MS, waitForAptLocks } from './apt-lock.mjs';
import { ensureGuestImage, findStaticBusybox } from './guest/build-image.mjs';
import { run, SetupError } from './guest/proc.mjs';
import { ensureLabCa } from './pki.mjs';
import { checkPrerequisites, formatFindings, missingPrograms, PACKAGES, USERS } from './prerequisites.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Newer libvirt packaging splits the storage driver out of libvirt-daemon
 * (the lab's `dir` pools need it) and only recommends it; such packages are
 * found at run time among libvirt-daemon's dependencies, minus the heavy
 * network-storage backends.
 */
const STORAGE_DRIVER_RE = /^libvirt-daemon-driver-storage(?!-(gluster|rbd|iscsi|zfs))[a-z0-9-]*$/;

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };
const APT_LOCK_TIMEOUT_MS = process.env.DRYDOCK_APT_LOCK_TIMEOUT ? Number(process.env.DRYDOCK_APT_LOCK_TIMEOUT) * 1000 : DEFAULT_APT_LOCK_TIMEOUT_MS;
// A backstop behind waitForAptLocks: apt itself waits if a lock is taken
// between our look and its start.
const APT_LOCK = ['-o', `DPkg::Lock::Timeout=${Math.round(APT_LOCK_TIMEOUT_MS / 1000)}`];

async function apt(args) {
  await waitForAptLocks({ timeoutMs: APT_LOCK_TIMEOUT_MS, log });
  await run('apt-get', [...APT_LOCK, ...args], { env: APT_ENV, inherit: true });
}

function log(msg) {
  console.log(`setup: ${msg}`);
}

async function exists(p) {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
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
  await apt(['update', '-q']);
  aptUpdated = true;
}

async function debianPackages() {
  const missing = missingPrograms().map((p) => p.name);
  if (!(await findStaticBusybox())) missing.push('busybox (static)');
  if (missing.length === 0) {
    log('debian packages: all programs present');
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
  await apt(['install', '-y', '-q', '--no-install-recommends', ...pkgs]);
  const still = missingPrograms().map((p) => `${p.name} (${p.pkg})`);
  if (still.length) throw new SetupError(`still missing after apt-get install: ${still.join(', ')}`);
}

async function systemUsers() {
  // libvirtd fails with "Failed to parse user 'libvirt-qemu'" without it;
  // libvirt-daemon-system would create it but drags in systemd upgrades.
  for (const u of USERS) {
    const group = await run('getent', ['group', u.group], { allowFail: true });
    const user = await run('getent', ['passwd', u.user], { allowFail: true });
    if (group.code === 0 && user.code === 0) {
      log(`${u.user} user: present`);
      continue;
    }
    if (group.code !== 0) {
      log(`${u.user} user: groupadd -r ${u.group}`);
      await run('groupadd', ['-r', u.group]);
    }
    if (user.code !== 0) {
      log(`${u.user} user: useradd -r ${u.user}`);
      await run('useradd', ['-r', '-g', u.group, '-d', u.home, '-s', '/usr/sbin/nologin', u.user]);
    }
  }
}

/** Prints every prerequisite; throws if any is missing. */
async function check() {
  const findings = await checkPrerequisites({ findStaticBusybox });
  const missing = findings.filter((f) => !f.ok);
  for (const line of formatFindings(missing.length ? findings : [])) console.log(line);
  if (missing.length) throw new SetupError(`${missing.length} prerequisite(s) missing:\n${formatFindings(missing).join('\n')}`);
  log(`check: all ${findings.length} prerequisites present`);
}

async function main(argv) {
  const t0 = performance.now();
  if (argv.includes('--check')) {
    await check();
    return;
  }
  if (argv.length) throw new SetupError(`unknown arguments ${argv.join(' ')} (usage: setup.mjs [--check])`);
  await npmPackages();
  await debianPackages();
  await systemUsers();
  await ensureLabCa();
  const image = await ensureGuestImage({ root: ROOT, log, update: aptUpdate });
  log(`guest image: kernel ${image.kernelPackage}, init ${image.initHash}`);
  await check();
  log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`setup: FAILED: ${e instanceof SetupError ? e.message : (e?.stack ?? e)}`);
  process.exit(1);
});
