// The API reference, generated from the documented protos: every service,
// method, message, field and enum value with its comment. `npm run gen:docs`
// writes docs/api.md; the test suite checks that it is current and that
// nothing in the protos is left undocumented.
import protobuf from 'protobufjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PROTO_FILES = ['drydock/agent/v1/agent.proto', 'drydock/admin/v1/admin.proto'];

export interface Undocumented {
  file: string;
  what: string;
}

function load(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(ROOT, 'proto', target);
  // alternateCommentMode: plain // comments above a definition are its doc.
  root.loadSync(file, { alternateCommentMode: true, keepCase: true });
  return root;
}

function fileOf(obj: protobuf.ReflectionObject): string | null {
  return obj.filename ? path.relative(path.join(ROOT, 'proto'), obj.filename) : null;
}

function walk(ns: protobuf.NamespaceBase, file: string, visit: (o: protobuf.ReflectionObject) => void): void {
  for (const o of ns.nestedArray) {
    // Package namespaces are implicit (no file of their own): always descend.
    const isPackage = o instanceof protobuf.Namespace && !(o instanceof protobuf.Type) && !(o instanceof protobuf.Service);
    if (isPackage) {
      walk(o as protobuf.Namespace, file, visit);
      continue;
    }
    if (fileOf(o) !== file) continue;
    visit(o);
    if (o instanceof protobuf.Type) walk(o, file, visit);
  }
}

const clean = (c: string | null | undefined) => (c ?? '').trim();
const oneLine = (c: string | null | undefined) => clean(c).replace(/\s*\n\s*/g, ' ');

function typeName(f: protobuf.Field): string {
  const t = f.resolvedType ? f.resolvedType.name : f.type;
  if (f instanceof protobuf.MapField) return `map<${f.keyType}, ${t}>`;
  return `${f.repeated ? 'repeated ' : ''}${f.options?.proto3_optional ? 'optional ' : ''}${t}`;
}

/** Every service, method, message, field, enum and enum value without a comment. */
export function undocumented(): Undocumented[] {
  const out: Undocumented[] = [];
  for (const file of PROTO_FILES) {
    const root = load(file);
    root.resolveAll();
    walk(root, file, (o) => {
      if (o instanceof protobuf.Service) {
        if (!clean(o.comment)) out.push({ file, what: `service ${o.fullName}` });
        for (const m of o.methodsArray) if (!clean(m.comment)) out.push({ file, what: `rpc ${o.fullName}.${m.name}` });
      } else if (o instanceof protobuf.Type) {
        if (!clean(o.comment)) out.push({ file, what: `message ${o.fullName}` });
        for (const f of o.fieldsArray) if (!clean(f.comment)) out.push({ file, what: `field ${o.fullName}.${f.name}` });
      } else if (o instanceof protobuf.Enum) {
        if (!clean(o.comment)) out.push({ file, what: `enum ${o.fullName}` });
        for (const v of Object.keys(o.values)) if (!clean(o.comments[v])) out.push({ file, what: `enum value ${o.fullName}.${v}` });
      }
    });
  }
  return out;
}

/** docs/api.md as text. */
export function renderApiDocs(): string {
  const lines: string[] = [
    '# drydock API reference',
    '',
    'Generated from the protos by `npm run gen:docs` (scripts/api-docs.ts); do not edit by hand.',
    'Field names are the wire names (snake_case); enums travel as their names.',
    '',
  ];
  for (const file of PROTO_FILES) {
    const root = load(file);
    root.resolveAll();
    lines.push(`## \`${file}\``, '');
    const services: protobuf.Service[] = [];
    const types: protobuf.Type[] = [];
    const enums: protobuf.Enum[] = [];
    walk(root, file, (o) => {
      if (o instanceof protobuf.Service) services.push(o);
      else if (o instanceof protobuf.Type) types.push(o);
      else if (o instanceof protobuf.Enum) enums.push(o);
    });
    for (const s of services) {
      lines.push(`### service \`${s.fullName.slice(1)}\``, '', clean(s.comment), '', '| method | request | response | what it does |', '|---|---|---|---|');
      for (const m of s.methodsArray) {
        const res = `${m.responseStream ? 'stream ' : ''}${m.responseType}`;
        lines.push(`| \`${m.name}\` | \`${m.requestType}\` | \`${res}\` | ${oneLine(m.comment).replace(/\|/g, '\\|')} |`);
      }
      lines.push('');
    }
    for (const t of types) {
      lines.push(`### message \`${t.name}\``, '', clean(t.comment), '');
      if (t.fieldsArray.length === 0) {
        lines.push('(no fields)', '');
        continue;
      }
      lines.push('| # | field | type | meaning |', '|---|---|---|---|');
      for (const f of t.fieldsArray) lines.push(`| ${f.id} | \`${f.name}\` | \`${typeName(f)}\` | ${oneLine(f.comment).replace(/\|/g, '\\|')} |`);
      lines.push('');
    }
    for (const e of enums) {
      lines.push(`### enum \`${e.name}\``, '', clean(e.comment), '', '| value | number | meaning |', '|---|---|---|');
      for (const [k, v] of Object.entries(e.values)) lines.push(`| \`${k}\` | ${v} | ${oneLine(e.comments[k]).replace(/\|/g, '\\|')} |`);
      lines.push('');
    }
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

// Run directly: write docs/api.md (or --check: exit 1 if it is stale).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const target = path.join(ROOT, 'docs', 'api.md');
  const text = renderApiDocs();
  if (process.argv.includes('--check')) {
    const cur = (() => {
      try {
        return readFileSync(target, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cur !== text) {
      console.error('docs/api.md is stale: run npm run gen:docs');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${path.relative(ROOT, target)}`);
  }
  const missing = undocumented();
  if (missing.length) console.error(`${missing.length} undocumented:\n${missing.map((m) => `  ${m.file}: ${m.what}`).join('\n')}`);
}
