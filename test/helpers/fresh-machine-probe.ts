// Run by test/fresh-machine.test.ts inside `unshare --mount --propagation
// private`, with PATH=/usr/bin:/bin and a German LANGUAGE: hides /var/lib,
// /var/cache and /var/log behind empty tmpfs mounts (private to this mount
// namespace: the machine's own directories are untouched), so libvirt's state
// directories do not exist, as on a fresh Debian with only the packages
// set-up installs. Then set-up, its check, a lab and a guest's heartbeats.
// Prints one JSON line with what it saw; the test asserts on it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../scripts/lab/exec.ts';
import { createLab } from '../../scripts/lab/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HIDDEN = ['/var/lib', '/var/cache', '/var/log'];
const LIBVIRT_DIRS = ['/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt'];
const [labName = 'ddfr', subnet = '49'] = process.argv.slice(2);

const report: Record<string, unknown> = { path: process.env.PATH, language: process.env.LANGUAGE };
try {
  for (const d of HIDDEN) await run(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=64m', 'drydock-fresh', d]);
  report.libvirtDirsBefore = LIBVIRT_DIRS.filter((d) => existsSync(d));

  const setup = await run([process.execPath, path.join(ROOT, 'scripts', 'setup.mjs')], { env: process.env, timeoutMs: 180_000 }).then(
    (r) => ({ ok: true, tail: r.stdout.trim().split('\n').slice(-3) }),
    (e: Error) => ({ ok: false, tail: e.message.split('\n').slice(-8) }),
  );
  report.setup = setup;

  const t0 = performance.now();
  const lab = await createLab({ hosts: 1, name: labName, subnet: Number(subnet) });
  try {
    report.libvirtDirsInHost = (await lab.host('h1').exec(['ls', '-d', ...LIBVIRT_DIRS])).stdout.trim().split('\n');
    await lab.defineGuest(lab.host('h1'), { name: 'fresh1', memoryMiB: 128, fillMiB: 16 });
    await lab.waitForHeartbeats('fresh1', { count: 3, timeoutMs: 150_000 });
    report.heartbeats = (await lab.heartbeats('fresh1')).length;
    report.guestMs = Math.round(performance.now() - t0);
  } finally {
    await lab.destroy();
  }
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = (e as Error).message.split('\n').slice(0, 10).join('\n');
}
console.log(JSON.stringify(report));
