// Builds the lab guest image: the Debian kernel plus a busybox initramfs whose
// /init (./init.sh) fills RAM, dirties it and prints heartbeats. Cached under
// .cache/guest/ keyed by kernel package + hash of the init script and this
// builder, so a warm run costs one `apt-cache depends` call.
//
// Layout:
//   .cache/guest/kernel/<pkg>/vmlinuz, modules/*.ko   one per kernel package
//   .cache/guest/<pkg>-<hash>/vmlinuz, initrd.gz      one per image key
//   .cache/guest/current.json                         what the lab boots
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pipe, run, SetupError } from './proc.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const INIT_SCRIPT = join(HERE, 'init.sh');
const KERNEL_META = 'linux-image-amd64';
/** Debian kernel image packages, e.g. linux-image-6.1.0-56-amd64 or linux-image-6.12.48+deb13-amd64. */
const KERNEL_PKG_RE = /^linux-image-[0-9][A-Za-z0-9.+~-]*-amd64$/;
/**
 * Drivers the guest needs that Debian builds as modules: the virtio disk (and
 * its PCI transport), the ACPI power button and evdev (graceful shutdown),
 * and pvpanic_mmio, the driver of QEMU's ISA pvpanic device (ACPI QEMU0001):
 * a guest kernel panic then tells libvirt, which marks the domain crashed
 * (scripts/lab/guest.ts, <panic model='isa'/>). Their dependencies are
 * found from each module's modinfo.
 */
const WANTED_MODULES = ['virtio_pci', 'virtio_blk', 'button', 'evdev', 'pvpanic_mmio'];
/** Written into a kernel directory: one fetched for another module list is fetched again. */
const WANTED_FILE = 'wanted-modules';
const MODULE_RE = /^(.*\/kernel\/.*\/)([^/]+)\.ko(\.xz|\.zst|\.gz)?$/;

const modName = (s) => s.replace(/-/g, '_');

async function exists(p) {
  try {
    await access(p, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The exact kernel image package linux-image-amd64 depends on today, or null without apt lists. */
export async function kernelPackage() {
  const { stdout, code } = await run('apt-cache', ['depends', KERNEL_META], { allowFail: true });
  if (code !== 0) return null;
  for (const line of stdout.split('\n')) {
    const m = /^\s*\|?Depends:\s*(\S+)\s*$/.exec(line);
    if (m && KERNEL_PKG_RE.test(m[1])) return m[1];
  }
  return null;
}

/** True if an ELF64 file has no program interpreter (statically linked). */
async function isStaticElf(path) {
  const buf = await readFile(path);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (buf.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

export async function findStaticBusybox() {
  const candidates = [];
  const { stdout, code } = await run('dpkg-query', ['-L', 'busybox-static'], { allowFail: true });
  if (code === 0) candidates.push(...stdout.split('\n').filter((l) => /\/bin\/busybox$/.test(l)));
  candidates.push('/bin/busybox', '/usr/bin/busybox');
  for (const c of candidates) {
    if ((await exists(c)) && (await isStaticElf(c))) return c;
  }
  return null;
}

async function imageKey() {
  const h = createHash('sha256');
  h.update(await readFile(INIT_SCRIPT));
  h.update(await readFile(fileURLToPath(import.meta.url)));
  return h.digest('hex').slice(0, 12);
}

/** Module contents, decompressed if the kernel ships them compressed. */
async function moduleBytes(file) {
  if (file.endsWith('.ko')) return readFile(file);
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : 'gzip';
  const { stdout } = await run(tool, ['-dc', file], { binary: true });
  return stdout;
}

function modinfoDepends(bytes) {
  const key = Buffer.from('\0depends=');
  const at = bytes.indexOf(key);
  if (at < 0) return [];
  const end = bytes.indexOf(0, at + key.length);
  return bytes
    .subarray(at + key.length, end)
    .toString('latin1')
    .split(',')
    .filter(Boolean)
    .map(modName);
}

/** Module names, dependencies first, so plain insmod works without modules.dep. */
function dependencyOrder(modules) {
  const order = [];
  const visit = (n, stack = new Set()) => {
    if (order.includes(n) || !modules.has(n) || stack.has(n)) return;
    stack.add(n);
    for (const d of modules.get(n).deps) visit(d, stack);
    order.push(n);
  };
  for (const n of modules.keys()) visit(n);
  return order;
}

/**
 * Writes vmlinuz, the modules (decompressed) and modules.order into `dest`,
 * staged beside it and renamed into place, so a cut-off run leaves no half
 * kernel directory behind.
 */
async function writeKernelDir(dest, vmlinuzFile, modules) {
  const order = dependencyOrder(modules);
  const staging = `${dest}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'modules'), { recursive: true });
  await copyFile(vmlinuzFile, join(staging, 'vmlinuz'));
  for (const n of order) {
    await writeFile(join(staging, 'modules', `${n}.ko`), await moduleBytes(modules.get(n).file));
  }
  await writeFile(join(staging, 'modules', 'modules.order'), order.join('\n') + '\n');
  await writeFile(join(staging, WANTED_FILE), WANTED_MODULES.join('\n') + '\n');
  await rm(dest, { recursive: true, force: true });
  await rename(staging, dest);
}

/**
 * Downloads exactly `pkg` (never a pattern: a wildcard once fetched ~30
 * kernels) and extracts vmlinuz and the wanted modules with their
 * dependencies into `dest`.
 */
async function fetchKernel(pkg, dest, log) {
  const tmp = await mkdtemp(join(dirname(dest), '.dl-'));
  try {
    log(`downloading ${pkg}`);
    await run('apt-get', ['download', '-q', pkg], { cwd: tmp });
    const deb = (await readdir(tmp)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new SetupError(`apt-get download ${pkg} produced no .deb`);
    const debPath = join(tmp, deb);

    log(`listing ${deb}`);
    const { stdout: listing } = await run('dpkg-deb', ['--contents', debPath]);
    const members = listing
      .split('\n')
      .map((l) => l.split(/\s+/).at(-1) ?? '')
      .filter((m) => m.startsWith('./'));
    const vmlinuz = members.find((m) => /^\.\/boot\/vmlinuz-/.test(m));
    if (!vmlinuz) throw new SetupError(`${deb} has no /boot/vmlinuz-*`);
    const byName = new Map();
    for (const m of members) {
      const mm = MODULE_RE.exec(m);
      if (mm) byName.set(modName(mm[2]), m);
    }

    const ex = join(tmp, 'x');
    await mkdir(ex);
    const modules = new Map(); // name -> { file, deps }
    const extracted = new Set(); // member paths
    let want = [...WANTED_MODULES];
    let first = true;
    // Each pass decompresses the whole package (seconds): the first also
    // takes the small virtio core modules, where the dependencies usually
    // are, so one pass is normally enough.
    while (want.length > 0 || first) {
      const missing = want.filter((n) => !byName.has(n));
      for (const n of missing) log(`module ${n} not in ${pkg}: assuming built in`);
      const names = want.filter((n) => byName.has(n) && !modules.has(n));
      const wantedMembers = names.map((n) => byName.get(n)).filter((m) => !extracted.has(m));
      if (first) {
        wantedMembers.push(vmlinuz);
        for (const m of byName.values())
          if (/\/kernel\/drivers\/virtio\/virtio(_ring|_pci[a-z_]*)?\.ko/.test(m) && !wantedMembers.includes(m)) wantedMembers.push(m);
      }
      first = false;
      if (wantedMembers.length > 0) {
        log(`extracting ${wantedMembers.map((m) => basename(m)).join(' ')}`);
        await pipe(['dpkg-deb', ['--fsys-tarfile', debPath]], ['tar', ['-x', '-C', ex, '--', ...wantedMembers]]);
        for (const m of wantedMembers) extracted.add(m);
      }
      if (names.length === 0) break;
      const next = [];
      for (const n of names) {
        const file = join(ex, byName.get(n));
        const deps = modinfoDepends(await moduleBytes(file));
        modules.set(n, { file, deps });
        for (const d of deps) if (!modules.has(d) && !next.includes(d) && !names.includes(d)) next.push(d);
      }
      want = next;
    }

    await writeKernelDir(dest, join(ex, vmlinuz), modules);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Walks a directory: relative paths, parents before children (what cpio wants). */
async function listTree(root, rel = '.') {
  const out = [rel];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = rel === '.' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listTree(root, r)));
    else out.push(r);
  }
  return out;
}

async function buildInitrd(kernelDir, busybox, out, log) {
  const staging = await mkdtemp(join(dirname(out), '.initrd-'));
  try {
    await mkdir(join(staging, 'bin'), { recursive: true });
    await mkdir(join(staging, 'lib', 'drydock'), { recursive: true });
    await copyFile(busybox, join(staging, 'bin', 'busybox'));
    await chmod(join(staging, 'bin', 'busybox'), 0o755);
    await copyFile(INIT_SCRIPT, join(staging, 'init'));
    await chmod(join(staging, 'init'), 0o755);
    for (const f of await readdir(join(kernelDir, 'modules'))) {
      await copyFile(join(kernelDir, 'modules', f), join(staging, 'lib', 'drydock', f));
    }
    const files = await listTree(staging);
    log(`packing initrd (${files.length} entries, cpio newc + gzip)`);
    const { stdout } = await run('cpio', ['--create', '--format=newc', '--owner=0:0', '--quiet'], {
      cwd: staging,
      input: files.join('\n') + '\n',
      binary: true,
    });
    await writeFile(`${out}.tmp`, gzipSync(stdout, { level: 9 }));
    await rename(`${out}.tmp`, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Makes sure the guest image for today's kernel and init script exists and
 * returns its manifest. `update()` is called (once) when apt has no lists.
 */
export async function ensureGuestImage({ root, log, update }) {
  const cacheDir = join(root, '.cache', 'guest');
  const manifestPath = join(cacheDir, 'current.json');
  await mkdir(cacheDir, { recursive: true });

  let pkg = await kernelPackage();
  if (!pkg) {
    // Offline or no apt lists: a previously built image is good enough.
    try {
      const m = JSON.parse(await readFile(manifestPath, 'utf8'));
      if ((await exists(m.kernel)) && (await exists(m.initrd)) && m.initHash === (await imageKey())) {
        log(`guest image: ${KERNEL_META} not resolvable, reusing ${relative(root, dirname(m.kernel))}`);
        return m;
      }
    } catch {
      /* no usable manifest: fall through to apt-get update */
    }
    await update();
    pkg = await kernelPackage();
    if (!pkg) throw new SetupError(`cannot resolve the kernel package: apt-cache depends ${KERNEL_META} names no linux-image-*-amd64`);
  }

  const key = await imageKey();
  const imageDir = join(cacheDir, `${pkg}-${key}`);
  const manifest = {
    kernelPackage: pkg,
    initHash: key,
    kernel: join(imageDir, 'vmlinuz'),
    initrd: join(imageDir, 'initrd.gz'),
    /** Lines the init prints; see scripts/guest/init.sh. */
    // panic=-1: reboot at once on a panic (pvpanic reports it first, and
    // libvirt acts on it: scripts/lab/guest.ts). unknown_nmi_panic: an NMI
    // (virsh inject-nmi) panics the guest, so tests can crash it on purpose.
    cmdline: 'console=ttyS0 quiet panic=-1 unknown_nmi_panic',
  };
  if ((await exists(manifest.kernel)) && (await exists(manifest.initrd))) {
    log(`guest image: cached ${relative(root, imageDir)}`);
    await writeManifest(manifestPath, manifest);
    return manifest;
  }

  const kernelDir = join(cacheDir, 'kernel', pkg);
  const wanted = await readFile(join(kernelDir, WANTED_FILE), 'utf8').catch(() => '');
  if (!(await exists(join(kernelDir, 'vmlinuz'))) || wanted !== WANTED_MODULES.join('\n') + '\n') {
    await mkdir(dirname(kernelDir), { recursive: true });
    await fetchKernel(pkg, kernelDir, log);
  } else {
    log(`guest kernel: cached ${relative(root, kernelDir)}`);
  }

  const busybox = await findStaticBusybox();
  if (!busybox) throw new SetupError('no statically linked busybox found (package busybox-static)');

  const staging = `${imageDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await link(join(kernelDir, 'vmlinuz'), join(staging, 'vmlinuz')).catch(() => copyFile(join(kernelDir, 'vmlinuz'), join(staging, 'vmlinuz')));
    await buildInitrd(kernelDir, busybox, join(staging, 'initrd.gz'), log);
    await rm(imageDir, { recursive: true, force: true });
    await rename(staging, imageDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const size = (await stat(manifest.initrd)).size;
  log(`guest image: built ${relative(root, imageDir)} (initrd ${Math.round(size / 1024)} KiB)`);
  await writeManifest(manifestPath, manifest);
  return manifest;
}

async function writeManifest(path, manifest) {
  const text = JSON.stringify(manifest, null, 2) + '\n';
  const old = await readFile(path, 'utf8').catch(() => '');
  if (old === text) return;
  // Atomic: concurrent `npm test` runs may read it while we write.
  await writeFile(`${path}.tmp-${process.pid}`, text);
  await rename(`${path}.tmp-${process.pid}`, path);
}
