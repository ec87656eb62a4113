// Plain-text layout for people: aligned tables, key/value blocks, and the
// human forms of bytes, durations and times. Pure functions; no I/O, no
// colours (output is often piped into less, mail or a ticket).
import { clampPercent } from '../common/progress-percent.ts';

export type Align = 'left' | 'right';

export interface Column<Row> {
  header: string;
  /** The cell text; numbers are right-aligned unless `align` says otherwise. */
  value: (row: Row) => string | number;
  align?: Align;
}

/** Display width of a string (code points; drydock prints no wide glyphs). */
export function textWidth(s: string): number {
  return [...s].length;
}

function pad(s: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

/**
 * Renders rows under upper-case headers, columns separated by two spaces,
 * trailing blanks trimmed. Empty `rows` prints the headers only, so a script
 * reading the table still sees its shape.
 */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const aligns: Align[] = columns.map((c, i) => c.align ?? (cells.length > 0 && cells.every((r) => typeof r[i] === 'number') ? 'right' : 'left'));
  const text = cells.map((r) => r.map((v) => (v === '' ? '-' : String(v))));
  const widths = columns.map((c, i) => Math.max(textWidth(c.header), ...text.map((r) => textWidth(r[i]!))));
  const line = (r: string[]) =>
    r
      .map((v, i) => pad(v, widths[i]!, aligns[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...text.map(line)].join('\n') + '\n';
}

/** "Key:  value" lines with the values aligned; multi-line values are indented. */
export function renderFields(fields: Array<[string, string | number]>): string {
  const width = Math.max(0, ...fields.map(([k]) => textWidth(k) + 1));
  return (
    fields
      .map(([k, v]) => {
        const text = v === '' ? '-' : String(v);
        const [first, ...rest] = text.split('\n');
        return [`${pad(`${k}:`, width, 'left')}  ${first}`.trimEnd(), ...rest.map((l) => `${' '.repeat(width + 2)}${l}`)].join('\n');
      })
      .join('\n') + '\n'
  );
}

/** Words joined by single spaces, wrapped to `width` columns (for flag lists). */
export function wrapWords(words: readonly string[], width: number): string {
  if (words.length === 0) return '';
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && textWidth(cur) + 1 + textWidth(w) > width) {
      lines.push(cur);
      cur = w;
    } else {
      cur = cur ? `${cur} ${w}` : w;
    }
  }
  lines.push(cur);
  return lines.join('\n');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/**
 * 1610612736 → "1.5 GiB". Binary units; one decimal below 100 (dropped when
 * it is zero), none above.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${bytes} B`;
  let text = v >= 100 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  // 1023.96 KiB rounds to "1024 KiB": say "1 MiB" instead.
  if (Number(text) >= 1024 && u < BYTE_UNITS.length - 1) {
    text = '1';
    u++;
  }
  return `${text} ${BYTE_UNITS[u]}`;
}

/** Bytes per second → "118 MiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '-';
}

/**
 * Seconds → "45s", "2m 5s", "1h 2m", "3d 4h": the two largest units, so the
 * width stays small and the precision matches how far away it is.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (parts.length > 0 || n > 0) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  // "2m 0s" reads worse than "2m".
  return parts.filter((p, i) => i === 0 || !/^0[a-z]$/.test(p)).join(' ');
}

/**
 * Epoch ms against `now` → "5s ago", "3m ago", "in 2h"; 0 (unset in proto3)
 * → "never".
 */
export function formatRelative(atMs: number, nowMs: number): string {
  if (!atMs) return 'never';
  const delta = (nowMs - atMs) / 1000;
  if (Math.abs(delta) < 1) return 'just now';
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

/** Epoch ms → "2026-11-25 09:43:46Z"; 0 → "-". */
export function formatTimestamp(atMs: number): string {
  if (!atMs) return '-';
  return new Date(atMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Percent with one decimal, clamped: 45.678 → "45.7%". */
export function formatPercent(percent: number): string {
  const p = clampPercent(percent);
  return `${p.toFixed(p >= 100 || p === 0 ? 0 : 1)}%`;
}

/** "yes"/"no" for booleans in tables. */
export function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/**
 * A proto enum value as a person reads it:
 * ("MAINTENANCE_STATE_IN_MAINTENANCE", "MAINTENANCE_STATE_") → "in-maintenance".
 * UNSPECIFIED (or empty) → "-".
 */
export function enumLabel(value: string | undefined, prefix: string): string {
  if (!value) return '-';
  const short = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  if (short === 'UNSPECIFIED') return '-';
  return short.toLowerCase().replace(/_/g, '-');
}
