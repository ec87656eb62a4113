// Shared XML plumbing for the libvirt parsers: one fast-xml-parser setup
// (attributes under "@name", text under "#text", every value a string) and
// small accessors that turn its "one element or an array" shape into arrays.
import { XMLParser } from 'fast-xml-parser';

/** A parsed element: attributes "@x", text "#text", children by tag name. */
export type XNode = { [key: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  allowBooleanAttributes: true,
  processEntities: true,
  // Empty elements such as <readonly/> come back as "" : keep them present.
});

export function parseXml(xml: string): XNode {
  return parser.parse(xml) as XNode;
}

/** Child element(s) named `tag` as an array of nodes (text-only children become {"#text"}). */
export function children(node: unknown, tag: string): XNode[] {
  if (node === null || typeof node !== 'object') return [];
  const v = (node as XNode)[tag];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (x !== null && typeof x === 'object' ? (x as XNode) : { '#text': x === '' ? '' : String(x) }));
}

export function child(node: unknown, tag: string): XNode | undefined {
  return children(node, tag)[0];
}

export function has(node: unknown, tag: string): boolean {
  return node !== null && typeof node === 'object' && (node as XNode)[tag] !== undefined;
}

/** Text of an element (or of a child when `tag` is given); "" when absent. */
export function text(node: unknown, tag?: string): string {
  const n = tag === undefined ? node : (node as XNode | undefined)?.[tag];
  if (n === undefined || n === null) return '';
  if (Array.isArray(n)) return text(n[0]);
  if (typeof n === 'object') {
    const t = (n as XNode)['#text'];
    return t === undefined ? '' : String(t);
  }
  return String(n);
}

export function attr(node: unknown, name: string): string {
  if (node === null || typeof node !== 'object') return '';
  const v = (node as XNode)[`@${name}`];
  return v === undefined ? '' : String(v);
}

export function int(s: string, fallback = 0): number {
  if (s === '') return fallback;
  const n = Number(s);
  return Number.isFinite(n) ? n : fallback;
}

const UNIT: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/** libvirt scaled integer: `<memory unit='KiB'>65536</memory>` → bytes. */
export function scaled(node: unknown, defaultUnit = 'KiB'): number {
  const unit = (attr(node, 'unit') || defaultUnit).toLowerCase();
  return int(text(node)) * (UNIT[unit] ?? 1);
}

/**
 * The raw text of the first `<tag ...>...</tag>` (or `<tag .../>`) at or after
 * `from`: libvirt's own XML, passed back to libvirt untouched.
 */
export function extractElement(xml: string, tag: string, from = 0): string {
  const open = new RegExp(`<${tag}(?=[\\s/>])`, 'g');
  open.lastIndex = from;
  const m = open.exec(xml);
  if (!m) return '';
  const start = m.index;
  const gt = xml.indexOf('>', start);
  if (gt < 0) return '';
  if (xml[gt - 1] === '/') return xml.slice(start, gt + 1);
  const close = xml.indexOf(`</${tag}>`, gt);
  if (close < 0) return '';
  return xml.slice(start, close + tag.length + 3);
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** Lines "key=value" (domstats --raw) or "key: value" (domjobinfo --rawstats, vol-info). */
export function keyValues(textOut: string, sep: '=' | ':'): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of textOut.split('\n')) {
    const line = raw.trim();
    const i = line.indexOf(sep);
    if (i <= 0) continue;
    out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}
