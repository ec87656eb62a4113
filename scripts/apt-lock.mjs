// Waiting for apt and dpkg: a cloud machine's first boot runs unattended
// upgrades, which hold dpkg's locks for minutes. apt-get would fail at once
// ("Could not get lock /var/lib/dpkg/lock-frontend"), so set-up waits, says
// who holds the lock, and gives up after a bound with a clear message.
//
// The holder is read from /proc/locks (POSIX and flock locks list the
// holder's pid and the file's device and inode): no fuser or lsof needed.
// Plain JavaScript, node: builtins only (set-up runs before npm packages).
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The locks apt-get update / install take (dpkg's frontend lock first). */
export const APT_LOCK_FILES = ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock', '/var/lib/apt/lists/lock', '/var/cache/apt/archives/lock'];

/** Default bound: unattended-upgrades on a first boot rarely takes longer. */
export const DEFAULT_APT_LOCK_TIMEOUT_MS = 10 * 60_000;

/**
 * Parses /proc/locks into { pid, dev: 'MAJ:MIN' (hex as printed), inode }.
 * Lines read like `1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`; blocked
 * waiters (`1: -> POSIX ...`) are not holders and are skipped.
 * @param {string} text
 */
export function parseProcLocks(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line.includes('->')) continue;
    const m = /^\d+:\s+\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid <= 0) continue; // OFD locks have no owning pid
    out.push({ pid, major: Number.parseInt(m[2], 16), minor: Number.parseInt(m[3], 16), inode: Number(m[4]) });
  }
  return out;
}

/** Major/minor of a Linux dev_t as stat returns it (glibc's encoding). */
function devParts(dev) {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Which of `files` are locked now, by whom: [{ file, pid, command }].
 * @param {string[]} files
 */
export async function lockHolders(files) {
  const locks = parseProcLocks(await readFile('/proc/locks', 'utf8').catch(() => ''));
  const held = [];
  for (const file of files) {
    const st = await stat(file, { bigint: false }).catch(() => null);
    if (!st) continue;
    const { major, minor } = devParts(st.dev);
    for (const l of locks) {
      if (l.inode === st.ino && l.major === major && l.minor === minor) {
        const command = (await readFile(`/proc/${l.pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ').slice(0, 120);
        held.push({ file, pid: l.pid, command });
      }
    }
  }
  return held;
}

/**
 * Resolves once none of `files` is locked; reports the holder every
 * `reportEveryMs`; throws after `timeoutMs` naming the holder.
 * @param {{ files?: string[], timeoutMs?: number, pollMs?: number, reportEveryMs?: number, log?: (m: string) => void }} [opts]
 */
export async function waitForAptLocks({
  files = APT_LOCK_FILES,
  timeoutMs = DEFAULT_APT_LOCK_TIMEOUT_MS,
  pollMs = 500,
  reportEveryMs = 15_000,
  log = () => {},
} = {}) {
  const t0 = Date.now();
  let lastReport = -Infinity;
  for (;;) {
    const held = await lockHolders(files);
    if (held.length === 0) return;
    const who = held.map((h) => `${h.file} held by pid ${h.pid}${h.command ? ` (${h.command})` : ''}`).join('; ');
    const waited = Date.now() - t0;
    if (waited >= timeoutMs) {
      throw new Error(
        `apt/dpkg is still busy after ${Math.round(waited / 1000)} s: ${who}. Wait for it to finish (unattended upgrades on a first boot), then run set-up again; DRYDOCK_APT_LOCK_TIMEOUT=SECONDS waits longer`,
      );
    }
    if (Date.now() - lastReport >= reportEveryMs) {
      log(`waiting for apt/dpkg: ${who} (waited ${Math.round(waited / 1000)} s of at most ${Math.round(timeoutMs / 1000)} s)`);
      lastReport = Date.now();
    }
    await sleep(pollMs);
  }
}
