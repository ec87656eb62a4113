// scripts/lab/subreaper.pl, which each lab host's libvirtd runs under: an
// orphan below it (as each QEMU is, libvirtd starting it double-forked) is
// adopted and reaped by it at once, not by this machine's PID 1 (which here
// reaps orphans only every 1.1–2.2 s, and libvirt's kill loop waited for
// that on every migration); the caller gets the command's status back as
// soon as the command's foreground part exits; the reaper leaves with its
// last descendant. No lab needed: plain processes.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { run } from '../scripts/lab/exec.ts';

const SUBREAPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'lab', 'subreaper.pl');

/** State letter and parent pid of a process, or null once it is gone (reaped). */
function procStat(pid: number): { state: string; ppid: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]) };
  } catch {
    return null;
  }
}

/** A node that starts a detached child living `ms`, writes its pid to `pidFile`, and exits `code` at once: the child is orphaned. */
function daemonLike(pidFile: string, ms: number, code: number): string[] {
  const child = `setTimeout(() => {}, ${ms})`;
  const script = [
    "const { spawn } = require('node:child_process');",
    `const c = spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { detached: true, stdio: 'ignore' });`,
    `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));`,
    `process.exit(${code});`,
  ].join('\n');
  return [process.execPath, '-e', script];
}

test('an orphan below the subreaper is adopted and reaped by it, and the reaper leaves after it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-subreaper-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'orphan.pid');
  const t0 = performance.now();
  await run(['perl', SUBREAPER, ...daemonLike(pidFile, 1500, 0)], { timeoutMs: 30_000 });
  // Returned when the foreground part exited, not when the orphan did.
  t.true(performance.now() - t0 < 1500, 'the caller waited for the orphan');
  const orphan = Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    try {
      process.kill(orphan, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const running = procStat(orphan);
  t.truthy(running, 'the orphan is running');
  const reaper = running!.ppid;
  t.not(reaper, 1, "the orphan was adopted by this machine's PID 1, not by the subreaper");
  t.true(readFileSync(`/proc/${reaper}/cmdline`, 'utf8').includes('subreaper.pl'), 'the orphan is the subreaper’s child');

  // From its exit to its reaping: a zombie only as long as the reaper takes to wake.
  let zombieAt: number | undefined;
  let goneAt: number | undefined;
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    const s = procStat(orphan);
    const now = performance.now();
    if (s?.state === 'Z') zombieAt ??= now;
    if (s === null) {
      goneAt = now;
      break;
    }
    await sleep(2);
  }
  t.truthy(goneAt, 'the orphan was never reaped');
  // Generous for a loaded machine; this machine's PID 1 took ≥ 1.1 s.
  t.true(zombieAt === undefined || goneAt! - zombieAt < 1000, `a zombie for ${zombieAt === undefined ? 0 : Math.round(goneAt! - zombieAt)} ms`);
  // No descendant left: the reaper exits (and is reaped by its own parent).
  const reaperGone = () => {
    const s = procStat(reaper);
    return s === null || s.state === 'Z';
  };
  const reaperDeadline = performance.now() + 10_000;
  while (!reaperGone() && performance.now() < reaperDeadline) await sleep(10);
  t.true(reaperGone(), 'the reaper stayed after its last descendant');
});

test("the command's exit status comes back to the caller; a missing program is 127", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-subreaper-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const failed = await t.throwsAsync(run(['perl', SUBREAPER, ...daemonLike(path.join(dir, 'p'), 10, 3)], { timeoutMs: 30_000 }));
  t.regex(failed!.message, /exit code 3|code 3|failed/i);
  t.is((failed!.cause as { code?: number }).code, 3);
  const missing = await t.throwsAsync(run(['perl', SUBREAPER, path.join(dir, 'no-such-program')], { timeoutMs: 30_000 }));
  t.is((missing!.cause as { code?: number }).code, 127);
  t.regex(missing!.message, /exec .*no-such-program/);
});
