// Set-up from nothing, proven inside the suite: a private mount namespace in
// which libvirt's state directories do not exist (tmpfs over /var/lib,
// /var/cache, /var/log), PATH without the sbin directories and a German
// LANGUAGE. There set-up runs, its prerequisite check passes, a lab comes up
// and a guest prints heartbeats (test/helpers/fresh-machine-probe.ts).
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProgram } from '../common/command-env.mjs';
import { cleanLeftover, DEFAULT_STATE_ROOT } from '../scripts/lab/state.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAB = { name: 'ddfr', subnet: 49 };

test('from nothing: set-up, its check, a lab and a guest where /var/lib/libvirt and friends never existed', async (t) => {
  t.timeout(280_000);
  // The probe owns the lab; if it dies, the lab's state file still names
  // every process it started, and this removes them by pid.
  t.teardown(() =>
    cleanLeftover(DEFAULT_STATE_ROOT, LAB.name, (m) => t.log(m)).then(
      () => undefined,
      () => undefined,
    ),
  );
  const unshare = findProgram('unshare');
  if (!unshare) return t.fail('unshare missing: npm run setup');
  const env = { PATH: '/usr/bin:/bin', LANGUAGE: 'de_DE:de', LANG: 'de_DE.UTF-8', HOME: process.env.HOME ?? '/root', CI: process.env.CI ?? '' };
  const child = spawn(
    unshare,
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      process.execPath,
      '--import',
      'tsx',
      path.join(ROOT, 'test', 'helpers', 'fresh-machine-probe.ts'),
      LAB.name,
      String(LAB.subnet),
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const line = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (!line) return t.fail(`the probe printed no report (exit ${code}): ${err.slice(-2000)}`);
  const r = JSON.parse(line) as {
    ok: boolean;
    error?: string;
    libvirtDirsBefore: string[];
    setup: { ok: boolean; tail: string[] };
    libvirtDirsInHost?: string[];
    heartbeats?: number;
    guestMs?: number;
  };
  t.log(JSON.stringify(r));
  t.is(code, 0);
  t.deepEqual(r.libvirtDirsBefore, [], "libvirt's state directories were hidden: a fresh machine");
  t.true(r.setup.ok, `set-up: ${r.setup.tail.join(' | ')}`);
  t.true(
    r.setup.tail.some((l) => /check: all \d+ prerequisites present/.test(l)),
    'set-up ran its check last',
  );
  t.true(r.ok, r.error);
  t.deepEqual([...(r.libvirtDirsInHost ?? [])].sort(), ['/var/cache/libvirt', '/var/lib/libvirt', '/var/log/libvirt'], 'the lab made its mount points');
  t.true((r.heartbeats ?? 0) >= 3, `heartbeats: ${r.heartbeats}`);
});
