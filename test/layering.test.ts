// The directions imports may take between the top-level folders, checked
// against every relative import in the sources (test/helpers/import-scan.ts):
//
//   common       → common
//   agent        → agent, common
//   coordinator  → coordinator, common           (never agent/: the agent API's
//                                                 types come from common/generated/)
//   cli          → cli, common, coordinator      (offline planning runs the planner)
//   bin          → bin, cli
//   harness      → the above, harness, scripts   (sims, lab agents, test worlds)
//   scripts      → the above, harness, scripts
//   bench        → the above, harness, scripts, bench   (never test/)
//   test         → anything
//
// So what ships (common, agent, coordinator, cli, bin: what deploy/install.sh
// copies) never imports a harness, a script, a benchmark or a test. One named
// exception: agent/main.ts loads harness/sim/fabric.ts by a dynamic
// import, only when the config says `hypervisor: sim`.
//
// And the planner is entered through coordinator/planner/index.ts only: no
// file outside coordinator/planner/ imports the files behind it.
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanImports, scanRepositoryImports, type ImportEdge } from './helpers/import-scan.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SHIPPED = ['common', 'agent', 'coordinator', 'cli', 'bin'] as const;
const SCANNED = [...SHIPPED, 'harness', 'scripts', 'bench', 'test'];

/** For each top-level folder, the top-level folders its files may import from. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  common: ['common'],
  agent: ['agent', 'common'],
  coordinator: ['coordinator', 'common'],
  cli: ['cli', 'common', 'coordinator'],
  bin: ['bin', 'cli'],
  harness: [...SHIPPED, 'harness', 'scripts'],
  scripts: [...SHIPPED, 'harness', 'scripts'],
  bench: [...SHIPPED, 'harness', 'scripts', 'bench'],
  test: [...SCANNED],
};

/** Imports against the directions above, each looked at once. Dynamic only: a static import of the same file still fails. */
const EXCEPTIONS: { from: string; to: string; why: string }[] = [
  {
    from: 'agent/main.ts',
    to: 'harness/sim/fabric.ts',
    why: '`hypervisor: sim` (tests start the real agent process on the sim); loaded only when configured, refused with a clear error in an installed tree (no harness/ there)',
  },
];

const PLANNER = 'coordinator/planner/';
const PLANNER_SURFACE = 'coordinator/planner/index.ts';

const top = (p: string) => p.split('/')[0]!;
const at = (e: ImportEdge) => `${e.from}:${e.line} → ${e.to}${e.dynamic ? ' (dynamic)' : ''}`;

function isException(e: ImportEdge): boolean {
  return e.dynamic && EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to);
}

/** Imports that go in a direction MAY_IMPORT does not allow. */
function wrongDirection(edges: readonly ImportEdge[]): string[] {
  return edges.filter((e) => !(MAY_IMPORT[top(e.from)] ?? []).includes(top(e.to)) && !isException(e)).map(at);
}

/** Imports of the planner's files from outside the planner, other than its index.ts. */
function pastPlannerSurface(edges: readonly ImportEdge[]): string[] {
  return edges.filter((e) => e.to.startsWith(PLANNER) && e.to !== PLANNER_SURFACE && !e.from.startsWith(PLANNER)).map(at);
}

test('every import goes in an allowed direction (what ships never imports a harness, a script or a test; coordinator/ never agent/; bench/ never test/)', async (t) => {
  const { edges } = await scanRepositoryImports(ROOT, SCANNED);
  t.deepEqual(wrongDirection(edges), []);
  // Every exception is still in the code (a stale one would hide a new import of the same file).
  for (const x of EXCEPTIONS)
    t.true(
      edges.some((e) => e.dynamic && e.from === x.from && e.to === x.to),
      `exception no longer in the code: ${x.from} → ${x.to}`,
    );
});

test('nothing outside coordinator/planner/ imports past coordinator/planner/index.ts', async (t) => {
  const { edges } = await scanRepositoryImports(ROOT, SCANNED);
  t.deepEqual(pastPlannerSurface(edges), []);
  t.true(
    edges.some((e) => e.to === PLANNER_SURFACE && !e.from.startsWith(PLANNER)),
    'the planner is imported (through its index) at all',
  );
});

test('every dynamic import names its file literally (so it can be checked)', async (t) => {
  const { unresolvable } = await scanRepositoryImports(ROOT, SCANNED);
  t.deepEqual(
    unresolvable.map((u) => `${u.file}:${u.line} ${u.call}`),
    [],
  );
});

test('the scan reads the sources: every scanned folder imports something', async (t) => {
  const { edges } = await scanRepositoryImports(ROOT, SCANNED);
  for (const d of SCANNED)
    t.true(
      edges.some((e) => top(e.from) === d),
      `imports read from ${d}/`,
    );
});

test('the scan reads every form of import, and the rules flag each kind of wrong import (so the checks above can fail)', (t) => {
  const src = [
    "import a from '../agent/a.ts';",
    "import type { B } from '../common/b.ts';",
    'import {',
    '  c,',
    '  d,',
    "} from './c.ts';",
    "export { e } from '../harness/e.ts';",
    "export type * from './f.ts';",
    "import '../scripts/g.mjs';",
    "const h = await import('../test/h.ts');",
    'const i = await import(somePath);',
    "import { grpc } from '@grpc/grpc-js';",
    "import { readFile } from 'node:fs/promises';",
    "// import from here, not from '../test/comment.ts'",
    '/* import { x } from "../test/block.ts" */',
  ].join('\n');
  const { edges, unresolvable } = scanImports('coordinator/x.ts', src);
  t.deepEqual(
    edges.map((e) => `${e.to}@${e.line}${e.dynamic ? 'd' : ''}`).sort(),
    ['agent/a.ts@1', 'common/b.ts@2', 'coordinator/c.ts@3', 'harness/e.ts@7', 'coordinator/f.ts@8', 'scripts/g.mjs@9', 'test/h.ts@10d'].sort(),
  );
  t.deepEqual(
    unresolvable.map((u) => u.line),
    [11],
  );

  const edge = (from: string, to: string, dynamic = false): ImportEdge => ({ from, to, line: 1, dynamic });
  const wrong = [
    edge('coordinator/model.ts', 'agent/hypervisor/hypervisor.ts'),
    edge('agent/main.ts', 'harness/sim/fabric.ts'),
    edge('agent/main.ts', 'harness/sim-cluster.ts', true),
    edge('coordinator/main.ts', 'harness/sim-cluster.ts'),
    edge('common/x.ts', 'agent/x.ts'),
    edge('cli/main.ts', 'test/helpers/coordinator.ts'),
    edge('agent/x.ts', 'scripts/lab/index.ts'),
    edge('bench/drain-overhead.ts', 'test/helpers/maintenance-world.ts'),
    edge('harness/x.ts', 'test/helpers/tls.ts'),
    edge('scripts/start/embedded.ts', 'bench/planner.ts'),
  ];
  t.is(wrongDirection(wrong).length, wrong.length, 'each wrong direction is flagged');
  const right = [
    edge('agent/main.ts', 'harness/sim/fabric.ts', true),
    edge('coordinator/model.ts', 'common/generated/drydock/agent/v1/Server.ts'),
    edge('harness/sim-cluster.ts', 'agent/agent.ts'),
    edge('bench/planner.ts', 'harness/planner-reference/index.ts'),
    edge('scripts/start/embedded.ts', 'harness/lab-agents.ts'),
    edge('test/x.test.ts', 'coordinator/planner/index.ts'),
  ];
  t.deepEqual(wrongDirection(right), []);
  t.deepEqual(
    pastPlannerSurface([
      edge('coordinator/operations/drain.ts', 'coordinator/planner/placement.ts'),
      edge('test/planner.test.ts', 'coordinator/planner/synthetic.ts'),
    ]).length,
    2,
  );
  t.deepEqual(
    pastPlannerSurface([edge('coordinator/planner/plan.ts', 'coordinator/planner/placement.ts'), edge('cli/offline.ts', 'coordinator/planner/index.ts')]),
    [],
  );
});

/**
 * Import cycles, type-only imports included (eslint's import-x/no-cycle
 * skips those: they vanish at run time, but they still tie two files'
 * designs together). Strongly connected components of the static import
 * graph; each with more than one file, or a file importing itself, is a cycle.
 */
function importCycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.dynamic || e.to.startsWith('node:') || !/\.(?:ts|mts|mjs)$/.test(e.to)) continue;
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
  }
  // Tarjan's algorithm, iterative enough for this repository's depth.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return cycles;
}

test('no import cycle anywhere, type-only imports included', async (t) => {
  const { edges } = await scanRepositoryImports(ROOT, SCANNED);
  t.deepEqual(importCycles(edges), []);
});

test('the cycle check finds a type-only cycle and a longer one (so the check above can fail)', (t) => {
  const e = (from: string, to: string): ImportEdge => ({ from, to, line: 1, dynamic: false });
  const cycles = importCycles([
    e('cli/a.ts', 'cli/b.ts'),
    e('cli/b.ts', 'cli/a.ts'),
    e('x/1.ts', 'x/2.ts'),
    e('x/2.ts', 'x/3.ts'),
    e('x/3.ts', 'x/1.ts'),
    e('y/ok.ts', 'x/1.ts'),
  ]);
  t.deepEqual(cycles.map((c) => c.join(' ')).sort(), ['cli/a.ts cli/b.ts', 'x/1.ts x/2.ts x/3.ts']);
  const { edges } = scanImports('cli/a.ts', "import type { Ctx } from './b.ts';\n");
  t.is(edges.length, 1, 'a type-only import is an edge');
});
