// Reads the relative imports of drydock's sources, so test/layering.test.ts
// can hold them against the allowed directions between the top-level folders.
//
// Read as text, by the forms ESM has (TypeScript and .mjs alike):
//   import x from '…', import { a, b } from '…' (also over several lines),
//   import type … from '…', export … from '…', import '…' (side effect),
//   import('…') (dynamic, literal specifier).
// Only relative specifiers are kept: packages and node: builtins cross no
// folder of ours. A dynamic import whose specifier is not a literal is
// reported on its own (it cannot be checked, so the test refuses it).
import { readdir, readFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';

export interface ImportEdge {
  /** The importing file, relative to the root (posix separators). */
  from: string;
  /** The imported file, relative to the root, or the specifier for one that leaves the root. */
  to: string;
  line: number;
  dynamic: boolean;
}

// The middle spans the names between `import`/`export` and `from`, over lines,
// without running into a string, past a statement's end or into the next
// import/export (so each is read at its own line).
const FROM = /(?<![\w$.])(?:import|export)\b(?:(?!\b(?:import|export)\b)[^;'"`])*?\bfrom\s*['"]([^'"]+)['"]/g;
const SIDE_EFFECT = /(?<![\w$.])import\s*['"]([^'"]+)['"]/g;
const DYNAMIC = /(?<![\w$.])import\(\s*(['"`]?)([^'"`),]*)\1/g;

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** Blanks comment lines (keeping line numbers), so prose such as "import from here" is not read as code. */
function withoutComments(text: string): string {
  let inBlock = false;
  return text
    .split('\n')
    .map((l) => {
      const s = l.trim();
      if (inBlock) {
        if (s.includes('*/')) inBlock = false;
        return '';
      }
      if (s.startsWith('/*')) {
        inBlock = !s.includes('*/');
        return '';
      }
      return s.startsWith('//') || s.startsWith('*') ? '' : l;
    })
    .join('\n');
}

/** The relative imports of one source file (`file` is relative to the root). */
export function scanImports(file: string, source: string): { edges: ImportEdge[]; unresolvable: { file: string; line: number; call: string }[] } {
  const text = withoutComments(source);
  const edges: ImportEdge[] = [];
  const unresolvable: { file: string; line: number; call: string }[] = [];
  const add = (spec: string, index: number, dynamic: boolean) => {
    if (!spec.startsWith('.')) return;
    edges.push({ from: file, to: posix.normalize(posix.join(posix.dirname(file), spec)), line: lineOf(text, index), dynamic });
  };
  for (const m of text.matchAll(FROM)) add(m[1]!, m.index!, false);
  for (const m of text.matchAll(SIDE_EFFECT)) add(m[1]!, m.index!, false);
  for (const m of text.matchAll(DYNAMIC)) {
    if (m[1] === "'" || m[1] === '"') add(m[2]!, m.index!, true);
    else unresolvable.push({ file, line: lineOf(text, m.index!), call: m[0] });
  }
  return { edges, unresolvable };
}

const SOURCE_RE = /\.(?:ts|mts|mjs|js)$/;
/** This file and its test: their comments and fixtures show the forms, they import nothing by them. */
const NOT_SCANNED = new Set(['test/helpers/import-scan.ts', 'test/layering.test.ts']);

async function* files(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'generated' || e.name === 'node_modules' || e.name === 'fixtures') continue;
      yield* files(p);
    } else if (SOURCE_RE.test(e.name)) yield p;
  }
}

/** Scans the given top-level folders of the repository. */
export async function scanRepositoryImports(
  root: string,
  dirs: readonly string[],
): Promise<{ edges: ImportEdge[]; unresolvable: { file: string; line: number; call: string }[] }> {
  const edges: ImportEdge[] = [];
  const unresolvable: { file: string; line: number; call: string }[] = [];
  for (const d of dirs) {
    for await (const f of files(join(root, d))) {
      const rel = relative(root, f).split('\\').join('/');
      if (NOT_SCANNED.has(rel)) continue;
      const r = scanImports(rel, await readFile(f, 'utf8'));
      edges.push(...r.edges);
      unresolvable.push(...r.unresolvable);
    }
  }
  return { edges, unresolvable };
}
