// Where the CLI connects and with which credentials. Each setting comes from
// the first of: command-line flag, environment variable, config file
// (~/.config/drydock/cli.yaml or --config), built-in default. The token and
// the token file are one setting: whichever is given at the highest level wins.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration, readYamlFile, rejectUnknownKeys, ConfigError } from '../common/config.ts';
import { CliError, EXIT } from './exit.ts';

/** The coordinator's default admin listen address (coordinator/config.ts). */
export const DEFAULT_ADDRESS = '127.0.0.1:7443';
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Flags as commander parsed them (all optional). */
export interface ConnectionFlags {
  address?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  timeout?: string;
  config?: string;
  /** Send the token without TLS to a non-loopback address (flag only: asked for on each run). */
  insecure?: boolean;
}

export interface ConnectionSettings {
  address: string;
  /** Bearer token ("" = none). */
  token: string;
  /** PEM paths; ca "" = plaintext. */
  caFile: string;
  certFile: string;
  keyFile: string;
  serverName: string;
  /** Deadline of every unary call. */
  timeoutMs: number;
  /** --insecure: the token may go without TLS to a non-loopback address (cli/transport.ts). */
  insecure?: boolean;
  /** Where each value came from, for `drydock config` style debugging. */
  configFile: string;
}

/** Config file keys (camelCase, like the coordinator's and agent's files). */
const FILE_KEYS = ['address', 'token', 'tokenFile', 'ca', 'cert', 'key', 'serverName', 'timeout'] as const;

export const ENV = {
  address: 'DRYDOCK_ADDRESS',
  token: 'DRYDOCK_TOKEN',
  tokenFile: 'DRYDOCK_TOKEN_FILE',
  ca: 'DRYDOCK_CA',
  cert: 'DRYDOCK_CERT',
  key: 'DRYDOCK_KEY',
  serverName: 'DRYDOCK_SERVER_NAME',
  timeout: 'DRYDOCK_TIMEOUT',
  config: 'DRYDOCK_CONFIG',
} as const;

export function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'drydock', 'cli.yaml');
}

type Key = (typeof FILE_KEYS)[number];
type Level = Partial<Record<Key, string>>;

function fromEnv(env: NodeJS.ProcessEnv): Level {
  const out: Level = {};
  for (const k of FILE_KEYS) {
    const v = env[ENV[k]];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

function fromFile(file: string, explicit: boolean): Level {
  let doc: Record<string, unknown>;
  try {
    doc = readYamlFile(file, explicit);
    rejectUnknownKeys(doc, FILE_KEYS);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`${file}: ${err.message}`, 'fix the config file or pass --config', EXIT.USAGE);
    throw err;
  }
  const out: Level = {};
  const dir = path.dirname(file);
  for (const k of FILE_KEYS) {
    const v = doc[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new CliError(`${file}: ${k} must be a string`, 'fix the config file or pass --config', EXIT.USAGE);
    }
    const s = String(v);
    // Paths in the file are relative to the file, not to the working directory.
    out[k] = ['tokenFile', 'ca', 'cert', 'key'].includes(k) ? path.resolve(dir, s) : s;
  }
  return out;
}

function pick(levels: Level[], key: Key): string | undefined {
  for (const l of levels) if (l[key] !== undefined) return l[key];
  return undefined;
}

export function resolveSettings(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const explicitFile = flags.config ?? env[ENV.config];
  const configFile = explicitFile || defaultConfigFile(env);
  const levels: Level[] = [
    Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && (FILE_KEYS as readonly string[]).includes(k))) as Level,
    fromEnv(env),
    fromFile(configFile, Boolean(explicitFile)),
  ];

  let token = '';
  for (const l of levels) {
    if (l.token !== undefined) {
      token = l.token;
      break;
    }
    if (l.tokenFile !== undefined) {
      try {
        token = readFileSync(l.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new CliError(`cannot read token file ${l.tokenFile}: ${(err as Error).message}`, 'check --token-file / DRYDOCK_TOKEN_FILE', EXIT.USAGE);
      }
      break;
    }
  }

  const timeoutRaw = pick(levels, 'timeout');
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeoutRaw !== undefined) {
    try {
      timeoutMs = parseDuration(timeoutRaw, 'timeout');
    } catch {
      throw new CliError(`timeout ${JSON.stringify(timeoutRaw)} is not a duration`, 'use a duration like 30s or 2m', EXIT.USAGE);
    }
    if (timeoutMs <= 0) throw new CliError('timeout must be positive', 'use a duration like 30s or 2m', EXIT.USAGE);
  }

  const settings: ConnectionSettings = {
    address: pick(levels, 'address') ?? DEFAULT_ADDRESS,
    token,
    caFile: pick(levels, 'ca') ?? '',
    certFile: pick(levels, 'cert') ?? '',
    keyFile: pick(levels, 'key') ?? '',
    serverName: pick(levels, 'serverName') ?? '',
    timeoutMs,
    insecure: flags.insecure === true,
    configFile,
  };
  if (Boolean(settings.certFile) !== Boolean(settings.keyFile)) {
    throw new CliError('a client certificate needs both --cert and --key', 'pass both, or neither', EXIT.USAGE);
  }
  if (settings.certFile && !settings.caFile) {
    throw new CliError('mTLS (--cert/--key) needs the CA of the coordinator certificate', 'pass --ca (or DRYDOCK_CA)', EXIT.USAGE);
  }
  return settings;
}
