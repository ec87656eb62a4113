// How drydock starts the programs whose output it reads (apt, virsh, ip, ...).
// Plain JavaScript with node: builtins only, because set-up runs it before
// npm packages exist; the agent, the lab and the tests import the same file.
//
// - The C locale: apt-cache prints "Hängt ab von:" instead of "Depends:" on a
//   German machine, and libvirt translates its error messages; every parser
//   here reads the English text.
// - The sbin directories on PATH: ip, libvirtd, useradd and nats-server live
//   there, and root's shell on a CI machine (or `PATH=/usr/bin:/bin`) often
//   lacks them.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Searched after the caller's PATH, in this order. */
export const SYSTEM_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** PATH with every system bin directory present once, the caller's own entries first. */
export function systemPath(path = process.env.PATH ?? '') {
  const dirs = path.split(delimiter).filter(Boolean);
  for (const d of SYSTEM_BIN_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(delimiter);
}

/**
 * The environment for a child whose output is parsed: the caller's, plus
 * `extra`, with the C locale and the system PATH forced last.
 * @param {Record<string, string | undefined>} [extra]
 * @returns {NodeJS.ProcessEnv}
 */
export function commandEnv(extra = {}) {
  return { ...process.env, ...extra, PATH: systemPath(extra.PATH ?? process.env.PATH), LC_ALL: 'C', LANG: 'C', LANGUAGE: 'C' };
}

/**
 * The absolute path of an executable named `name` on the system PATH, or
 * null. A name with a slash is checked as it is.
 * @param {string} name
 * @returns {string | null}
 */
export function findProgram(name) {
  const candidates = name.includes('/')
    ? [name]
    : systemPath()
        .split(delimiter)
        .map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}
