// Finds every program drydock's sources start, so test/prerequisites.test.ts
// can hold them against the one list in scripts/prerequisites.mjs.
//
// Read as text, by the forms this code base uses to start a program:
//   execFile('x', ...), spawn('x', ...), execFileSync / spawnSync  (node)
//   run('x', [...])                    set-up's runner (scripts/guest/proc.mjs)
//   run(['x', ...]), .exec(['x', ...]), .spawn(['x', ...]), Argv(pid, ['x', ...])
//                                      the lab's argv runners
//   [..., '--', 'x', ...]              the program behind nsenter / unshare
//   ['ip', 'netns', 'exec', ns, 'x']   the program behind ip netns exec
//   prefix: ['x', ...]                 a Virsh prefix
//   '/usr/bin/x', '/sbin/x', ...       an absolute path to a system program
// A start whose program is not a literal is a "dynamic" site: each must be
// reviewed once (test/prerequisites.test.ts keeps that list).
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface ProgramUse {
  program: string;
  file: string;
  line: number;
}

export interface DynamicStart {
  file: string;
  line: number;
  /** The call as written, e.g. `spawn(cmd!, rest`. */
  call: string;
}

const LITERAL_CALL = /(?<![.\w])(?:execFile|execFileSync|spawn|spawnSync|exec)\(\s*'([^']+)'/g;
const SETUP_RUN = /(?<![.\w])run\(\s*'([^']+)'\s*,/g;
const ARGV_CALL = /(?:(?<![.\w])run|\.exec|\.spawn)\(\s*\[\s*'([^']+)'/g;
const NSENTER_ARGV = /Argv\(\s*[A-Za-z_$][\w$.!]*\s*,\s*\[\s*'([^']+)'/g;
const AFTER_DASHDASH = /'--',\s*'([A-Za-z][\w.+-]*)'/g;
const NETNS_EXEC = /'netns',\s*'exec',\s*[^,\]]+,\s*'([A-Za-z][\w.+-]*)'/g;
const PREFIX = /\bprefix:\s*\[\s*'([^']+)'/g;
const ABSOLUTE = /'\/(?:usr\/)?(?:local\/)?s?bin\/([\w.+-]+)'/g;
/**
 * A child_process start whose first argument is not a string literal (not a
 * method call like `this.spawn(op)`, not a definition like `spawn(argv: ...)`).
 */
const DYNAMIC_CALL = /(?<![.\w])(?:execFile|execFileSync|spawn|spawnSync)\(\s*(?!'|\w+\s*:)([^,)]+)/g;

/** Literal words the forms above catch that are not programs, each with why. */
export const NOT_PROGRAMS: Record<string, string> = {
  nologin: 'the login shell useradd gives the libvirt-qemu user; never started',
};

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** What `text` (one source file) starts; `file` is only carried into the results. */
export function scanSource(file: string, text: string): { uses: ProgramUse[]; dynamic: DynamicStart[] } {
  const uses: ProgramUse[] = [];
  for (const re of [LITERAL_CALL, SETUP_RUN, ARGV_CALL, NSENTER_ARGV, AFTER_DASHDASH, NETNS_EXEC, PREFIX, ABSOLUTE]) {
    for (const m of text.matchAll(re)) {
      const word = m[1]!;
      const program = word.includes('/') ? word.slice(word.lastIndexOf('/') + 1) : word;
      if (program in NOT_PROGRAMS) continue;
      uses.push({ program, file, line: lineOf(text, m.index!) });
    }
  }
  const dynamic: DynamicStart[] = [];
  for (const m of text.matchAll(DYNAMIC_CALL)) dynamic.push({ file, line: lineOf(text, m.index!), call: m[0].replace(/\s+/g, ' ') });
  return { uses, dynamic };
}

/** This file and its test: their comments and fixtures show the forms, they start nothing of drydock's. */
const NOT_SCANNED = new Set(['test/helpers/program-scan.ts', 'test/prerequisites.test.ts']);
const SOURCE_DIRS = ['agent', 'bench', 'bin', 'cli', 'common', 'coordinator', 'harness', 'scripts', 'test'];
const SOURCE_RE = /\.(?:ts|mts|mjs|js)$/;

async function* files(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'generated' || e.name === 'node_modules' || e.name === 'fixtures') continue;
      yield* files(p);
    } else if (SOURCE_RE.test(e.name)) yield p;
  }
}

/**
 * Scans the repository's sources. Files that run virsh subcommands through
 * a runner that already names virsh (`this.run([...])`, `host.virsh([...])`,
 * a Virsh instance's `.run([...])`) are read with those calls left out:
 * their first word is a virsh subcommand, not a program.
 */
export async function scanRepository(root: string, virshRunners: Record<string, RegExp>): Promise<{ uses: ProgramUse[]; dynamic: DynamicStart[] }> {
  const uses: ProgramUse[] = [];
  const dynamic: DynamicStart[] = [];
  for (const d of SOURCE_DIRS) {
    for await (const f of files(join(root, d))) {
      const rel = relative(root, f);
      if (NOT_SCANNED.has(rel)) continue;
      let text = await readFile(f, 'utf8');
      const runner = virshRunners[rel];
      // Blank out the virsh-subcommand calls, keeping line numbers.
      if (runner) text = text.replace(runner, (s) => s.replace(/[^\n]/g, ' '));
      const r = scanSource(rel, text);
      uses.push(...r.uses);
      dynamic.push(...r.dynamic);
    }
  }
  return { uses, dynamic };
}
