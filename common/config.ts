// Shared pieces of config loading: a YAML file plus environment overrides,
// human units converted once, and one error type that names the field.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DrydockError } from './errors.ts';

export class ConfigError extends DrydockError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`config ${field}: ${message}`);
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "150s", "5m", "500ms", "1h30m" or a number of milliseconds → ms. */
export function parseDuration(raw: unknown, field: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  if (typeof raw !== 'string' || raw.trim() === '') throw new ConfigError(field, `expected a duration like "150s" or "5m", got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length) throw new ConfigError(field, `expected a duration like "150s" or "5m", got ${JSON.stringify(raw)}`);
  return Math.round(total);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** "1GiB", "512MiB", "64M" or a number of bytes → bytes. */
export function parseBytes(raw: unknown, field: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return Math.round(raw);
  const m = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw) : null;
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(field, `expected a size like "1GiB" or "512MiB", got ${JSON.stringify(raw)}`);
  return Math.round(Number(m[1]) * unit);
}

export function parseBool(raw: unknown, field: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const t = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
  }
  throw new ConfigError(field, `expected true or false, got ${JSON.stringify(raw)}`);
}

export function parseInteger(raw: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(field, `expected an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function parseString(raw: unknown, field: string, pattern?: RegExp): string {
  if (typeof raw !== 'string') throw new ConfigError(field, `expected a string, got ${JSON.stringify(raw)}`);
  if (pattern && !pattern.test(raw)) throw new ConfigError(field, `${JSON.stringify(raw)} does not match ${pattern}`);
  return raw;
}

export function parseStringList(raw: unknown, field: string): string[] {
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw as string[];
  throw new ConfigError(field, `expected a list of strings, got ${JSON.stringify(raw)}`);
}

/**
 * Typed readers over one config source (file, environment, overrides): an
 * absent or null value takes the default, anything else must parse. Both
 * daemons' config compilers use these, so a key behaves alike everywhere.
 */
export function configReaders<K extends string>(get: (key: K) => unknown) {
  const read = <T>(key: K, dflt: T, parse: (v: unknown) => T): T => {
    const v = get(key);
    return v === undefined || v === null ? dflt : parse(v);
  };
  return {
    // A YAML number where a string is expected (a port, an id) is taken as written.
    str: (key: K, dflt: string, pattern?: RegExp): string => read(key, dflt, (v) => parseString(typeof v === 'number' ? String(v) : v, key, pattern)),
    list: (key: K, dflt: string[]): string[] => read(key, dflt, (v) => parseStringList(v, key)),
    dur: (key: K, dflt: number, min = 0): number => {
      const ms = read(key, dflt, (v) => parseDuration(v, key));
      if (ms < min) throw new ConfigError(key, `must be at least ${min} ms, got ${ms} ms`);
      return ms;
    },
    bytes: (key: K, dflt: number, min = 0): number => {
      const n = read(key, dflt, (v) => parseBytes(v, key));
      if (n < min) throw new ConfigError(key, `must be at least ${min} bytes, got ${n}`);
      return n;
    },
    bool: (key: K, dflt: boolean): boolean => read(key, dflt, (v) => parseBool(v, key)),
    int: (key: K, dflt: number, min: number, max: number): number => read(key, dflt, (v) => parseInteger(v, key, min, max)),
  };
}

/**
 * Reads a YAML config file into a plain object. A missing file is fine when
 * `required` is false (defaults + environment only); a malformed one is not.
 */
export function readYamlFile(file: string, required: boolean): Record<string, unknown> {
  if (!existsSync(file)) {
    if (required) throw new ConfigError('file', `${file} does not exist`);
    return {};
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('file', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('file', `${file} must hold a mapping at the top level`);
  return doc as Record<string, unknown>;
}

/** Reads a dotted path ("grpc.listen") from a nested object. */
export function getPath(obj: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Environment variable name for a dotted option under a prefix:
 * ("DRYDOCK_AGENT", "grpc.listenAddress") → "DRYDOCK_AGENT_GRPC_LISTEN_ADDRESS".
 */
export function envName(prefix: string, dotted: string): string {
  return `${prefix}_${dotted
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase()}`;
}

/**
 * Value of an option: environment first, then the file, then undefined.
 * Unknown keys in the file are reported by `rejectUnknownKeys`.
 */
export function lookup(file: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string, dotted: string): unknown {
  const fromEnv = env[envName(prefix, dotted)];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return getPath(file, dotted);
}

/** Fails on keys the schema does not know (a typo must not pass silently). */
export function rejectUnknownKeys(file: Record<string, unknown>, known: readonly string[], at = ''): void {
  const knownHere = new Set(known.filter((k) => k.startsWith(at)).map((k) => k.slice(at.length).split('.')[0]!));
  for (const [key, value] of Object.entries(file)) {
    const full = at + key;
    if (!knownHere.has(key)) throw new ConfigError(full, `unknown option (known: ${[...knownHere].sort().join(', ')})`);
    const nested = known.some((k) => k.startsWith(`${full}.`));
    if (nested && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      rejectUnknownKeys(value as Record<string, unknown>, known, `${full}.`);
    }
  }
}
