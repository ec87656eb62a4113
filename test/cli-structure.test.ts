// The shape of cli/ that keeps it reviewable: one module per noun under
// cli/commands/, no import cycle (type-only imports count: they tie the
// modules together just the same), no file over 450 lines and no function
// over 80. Read from the sources with the TypeScript parser.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'cli');
const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;

/** Every .ts file under cli/, as paths relative to the repository. */
function cliFiles(dir = CLI): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return cliFiles(full);
    return e.name.endsWith('.ts') ? [path.relative(ROOT, full)] : [];
  });
}

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The cli/ files a file imports or re-exports from (static, type-only and dynamic). */
function cliImports(src: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      specs.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0]))
      specs.push(n.arguments[0].text);
    ts.forEachChild(n, visit);
  };
  visit(src);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => path.relative(ROOT, path.resolve(ROOT, path.dirname(src.fileName), s)))
    .filter((f) => f.startsWith(`cli${path.sep}`));
}

/** Each cycle once, as the files along it (first file repeated at the end). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const walk = (f: string): void => {
    const at = stack.indexOf(f);
    if (at >= 0) {
      cycles.push([...stack.slice(at), f]);
      return;
    }
    if (done.has(f)) return;
    stack.push(f);
    for (const g of graph.get(f) ?? []) walk(g);
    stack.pop();
    done.add(f);
  };
  for (const f of [...graph.keys()].sort()) walk(f);
  return cycles;
}

/** Functions (declarations, methods, arrows, expressions) longer than the limit, as "file:line name (N lines)". */
function longFunctions(src: ts.SourceFile, max: number): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const last = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = 'name' in n && n.name ? n.name.getText(src) : ts.SyntaxKind[n.kind];
      if (last - first + 1 > max) found.push(`${src.fileName}:${first + 1} ${name} (${last - first + 1} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

test('cli/: no import cycle, type-only imports included', (t) => {
  const files = cliFiles();
  t.true(files.includes(path.join('cli', 'program.ts')), files.join(', '));
  const graph = new Map(files.map((f) => [f, cliImports(parse(f))]));
  t.deepEqual(
    findCycles(graph).map((c) => c.join(' -> ')),
    [],
  );
  // The walk sees the imports: the entry point reaches the program.
  t.true((graph.get(path.join('cli', 'main.ts')) ?? []).includes(path.join('cli', 'program.ts')));
});

test(`cli/: no file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}`, (t) => {
  const files = cliFiles();
  const longFiles = files
    .map((f) => [f, lineCount(readFileSync(path.join(ROOT, f), 'utf8'))] as const)
    .filter(([, n]) => n > MAX_FILE_LINES)
    .map(([f, n]) => `${f} (${n} lines)`);
  t.deepEqual([...longFiles, ...files.flatMap((f) => longFunctions(parse(f), MAX_FUNCTION_LINES))], []);
});

test('the checks see what they look for', (t) => {
  // A cycle through a type-only import, and a long arrow function, in sources made up here.
  const a = ts.createSourceFile(path.join('cli', 'a.ts'), "import type { B } from './b.ts';\nexport const a = 1;\n", ts.ScriptTarget.Latest, true);
  const b = ts.createSourceFile(path.join('cli', 'b.ts'), "import { a } from './a.ts';\nexport type B = typeof a;\n", ts.ScriptTarget.Latest, true);
  const graph = new Map([
    [a.fileName, cliImports(a)],
    [b.fileName, cliImports(b)],
  ]);
  t.deepEqual(findCycles(graph), [[a.fileName, b.fileName, a.fileName]]);
  const body = Array.from({ length: 80 }, (_, i) => `  x += ${i};`).join('\n');
  const long = ts.createSourceFile('long.ts', `const f = () => {\n  let x = 0;\n${body}\n};\n`, ts.ScriptTarget.Latest, true);
  t.deepEqual(longFunctions(long, MAX_FUNCTION_LINES), ['long.ts:1 ArrowFunction (83 lines)']);
  t.deepEqual(longFunctions(long, 83), []);
});
