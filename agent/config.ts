// drydock-agent configuration: a YAML file (default /etc/drydock/agent.yaml,
// `--config FILE` or DRYDOCK_AGENT_CONFIG) plus DRYDOCK_AGENT_* environment
// overrides (envName("DRYDOCK_AGENT", "grpc.listenAddress") =
// DRYDOCK_AGENT_GRPC_LISTEN_ADDRESS). Human units are converted here, once;
// the rest of the agent sees milliseconds and plain arrays.
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError, configReaders, lookup, readYamlFile, rejectUnknownKeys } from '../common/config.ts';
import { assertId } from '../common/names.ts';
import { assertGrpcEndpoint, assertLibvirtUri } from '../common/uri.ts';
import { redactUrl } from '../common/redact.ts';
import { checkNatsAuth, NATS_AUTH_KEYS } from '../common/nats-auth.ts';
import { DrydockError } from '../common/errors.ts';
import { COORDINATOR_IDENTITY } from '../common/identity.mjs';
import { isLoopbackAddress } from '../common/loopback.ts';

export const DEFAULT_CONFIG_FILE = '/etc/drydock/agent.yaml';
export const ENV_PREFIX = 'DRYDOCK_AGENT';

export type HypervisorKind = 'libvirt' | 'sim';

export interface AgentConfig {
  /** Stable id of this host in drydock (a NATS subject token). Default: the hostname. */
  hostId: string;
  grpc: {
    /** Address the gRPC server binds, "host:port" ("0.0.0.0:7400"). Port 0 picks a free one. */
    listenAddress: string;
    /**
     * host:port the coordinator dials, published in facts and heartbeats.
     * Default: the listen address (with the bound port when it was 0).
     */
    advertisedEndpoint: string;
    /**
     * Serve a non-loopback listenAddress without mutual TLS. Off by default:
     * then such an address needs tls.certFile, tls.keyFile and
     * tls.clientCaFile, or the agent does not start. When on, every start
     * logs an INSECURE warning: anyone who reaches the port can drive
     * migrations and reboot the host.
     */
    insecure: boolean;
  };
  tls: {
    /**
     * Server certificate (PEM). It must carry the URI SAN
     * spiffe://drydock/host/<hostId> (common/identity.mjs): the coordinator
     * checks it on every call. Empty with keyFile empty = plaintext, which
     * only a loopback listenAddress or grpc.insecure allows.
     */
    certFile: string;
    /** Server private key (PEM). */
    keyFile: string;
    /** CA that client certificates must chain to. Set = mTLS: a client without a valid certificate is refused. */
    clientCaFile: string;
    /**
     * Client identities allowed to call (the coordinator's certificate CN or a
     * DNS/URI SAN). A chain to the CA alone is not enough to drive migrations:
     * host certificates chain to it too. Default with clientCaFile:
     * [spiffe://drydock/coordinator].
     */
    allowedClientIdentities: string[];
  };
  nats: {
    /** NATS servers (nats://host:port, several for a cluster). Empty = do not publish (standalone gRPC only). */
    servers: string[];
    /**
     * This host's nkey seed file, from `drydock-coordinator
     * issue-host-credentials <host-id>`: its NATS identity may publish on
     * this host's subjects only. Empty = none.
     */
    nkeySeedFile: string;
    /** A .creds file (JWT + nkey seed) for decentralised auth; empty = none. */
    credsFile: string;
    /** User/password auth (alternative to credsFile). */
    user: string;
    password: string;
    /** Token auth (alternative to the above). */
    token: string;
    /** CA for a TLS connection to NATS; empty = the server decides (plain on loopback). */
    tlsCaFile: string;
    /** Insecure mode, by name: connect to the servers without credentials (logged at every start). Default false. */
    insecureNoAuth: boolean;
  };
  libvirt: {
    /** libvirt URI of the local hypervisor. */
    uri: string;
    /** URI peers use to migrate onto this host (qemu+tcp://<addr>/system); published in facts. */
    migrationUri: string;
    /** Longest a single virsh call may run before it is killed (migrations excepted). */
    callTimeoutMs: number;
    /**
     * Domain type whose CPU view is reported and compared ("kvm", "qemu").
     * "" = "kvm" when the host offers it, else "qemu" (TCG).
     */
    virtType: string;
  };
  storage: {
    /**
     * Path prefixes every host of the storage cluster sees (NFS, cluster FS).
     * Disks under them are not copied on migration; when libvirt cannot tell
     * they are shared, live migration passes --unsafe for them (and only them).
     */
    sharedPathPrefixes: string[];
    /** Directories of local disk pools: disks there are copied (copy-storage) on migration. */
    localPoolDirs: string[];
    /** Storage cluster this host belongs to ("" = none). Hosts of one cluster return from maintenance one at a time. */
    clusterId: string;
  };
  /** Directory for the agent's own state (migration records). Must survive restarts. */
  stateDir: string;
  /**
   * File holding the boot id (changes on every reboot). The kernel's by
   * default; the lab points it at its per-host file, since lab hosts share a kernel.
   */
  bootIdFile: string;
  migration: {
    /** Progress must advance at least once in this window, else the migration is aborted (not in post-copy). */
    stallTimeoutMs: number;
    /** Completion deadline per GiB of memory plus disk to copy. */
    deadlinePerGiBMs: number;
    /** Lower bound of the completion deadline. */
    minDeadlineMs: number;
    /** Graceful shutdown window of a cold migration before the hard stop. */
    shutdownTimeoutMs: number;
    /** How often job statistics are polled during a live migration. */
    pollIntervalMs: number;
    /** Outgoing migrations this agent runs at once; more are refused with RESOURCE_EXHAUSTED. */
    maxConcurrent: number;
    /** Memory iterations without convergence after which post-copy is considered (when the caller allows it). */
    postCopyAfterIterations: number;
    /**
     * Finished migration records older than this are deleted at agent start
     * (their ids then read as unknown: NOT_FOUND). 0 = keep forever.
     */
    recordRetentionMs: number;
    /**
     * After a move of a running guest, how long the target's libvirt is
     * watched for a crash or reboot of the guest (its events, then its state
     * and reason) before the move is reported; 0 = the state check only.
     */
    guestWatchMs: number;
  };
  /** Heartbeat period on NATS. */
  heartbeatIntervalMs: number;
  /** How often facts are re-gathered to publish them when they change. */
  factsIntervalMs: number;
  /** argv of the host reboot command (no shell). Run after RebootHost has answered. */
  rebootCommand: string[];
  /**
   * After the reboot command succeeds, exit with code 75 so the supervisor
   * starts the agent again as a new incarnation. For hosts whose "reboot"
   * does not end this process (the lab restarts only libvirtd).
   */
  rebootRestartsAgent: boolean;
  /** 'libvirt' (production) or 'sim' (in-memory, tests only; never the default). */
  hypervisor: HypervisorKind;
  metrics: {
    /**
     * host:port of the Prometheus endpoint (GET /metrics, plain HTTP).
     * Empty = disabled (the default). A non-loopback address needs insecure.
     */
    listen: string;
    /** Serve metrics on a non-loopback address (plain HTTP, no authentication); logs a warning at start. */
    insecure: boolean;
    /** Scrapes within this long of the last server listing reuse it instead of listing again. Default 15s; 0 = list on every scrape. */
    serversMaxAgeMs: number;
  };
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  logLevel: string;
}

/** Every option the file may hold (dotted); also the env override names. */
export const KNOWN_KEYS = [
  'hostId',
  'grpc.listenAddress',
  'grpc.advertisedEndpoint',
  'grpc.insecure',
  'tls.certFile',
  'tls.keyFile',
  'tls.clientCaFile',
  'tls.allowedClientIdentities',
  'nats.servers',
  ...NATS_AUTH_KEYS,
  'libvirt.uri',
  'libvirt.migrationUri',
  'libvirt.callTimeout',
  'libvirt.virtType',
  'storage.sharedPathPrefixes',
  'storage.localPoolDirs',
  'storage.clusterId',
  'stateDir',
  'bootIdFile',
  'migration.stallTimeout',
  'migration.deadlinePerGiB',
  'migration.minDeadline',
  'migration.shutdownTimeout',
  'migration.pollInterval',
  'migration.maxConcurrent',
  'migration.postCopyAfterIterations',
  'migration.recordRetention',
  'migration.guestWatch',
  'heartbeatInterval',
  'factsInterval',
  'rebootCommand',
  'rebootRestartsAgent',
  'hypervisor',
  'metrics.listen',
  'metrics.insecure',
  'metrics.serversMaxAge',
  'logLevel',
] as const;

const LISTEN_RE = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Which config file to read: --config FILE / --config=FILE, then DRYDOCK_AGENT_CONFIG, then the default. */
export function configFileFrom(argv: readonly string[], env: NodeJS.ProcessEnv): { file: string; explicit: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const next = argv[i + 1];
      if (!next) throw new ConfigError('--config', 'needs a file name');
      return { file: next, explicit: true };
    }
    if (a.startsWith('--config=')) return { file: a.slice('--config='.length), explicit: true };
  }
  const fromEnv = env[`${ENV_PREFIX}_CONFIG`];
  if (fromEnv) return { file: fromEnv, explicit: true };
  return { file: DEFAULT_CONFIG_FILE, explicit: false };
}

/** Loads, validates and compiles the config. Throws ConfigError naming the field. */
export function loadAgentConfig(opts: { file?: string; required?: boolean; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const raw = opts.file ? readYamlFile(opts.file, opts.required ?? true) : {};
  rejectUnknownKeys(raw, KNOWN_KEYS);
  return compileAgentConfig(raw, env, opts.overrides);
}

/** The typed readers over one config source (file, env, overrides). */
type Readers = ReturnType<typeof configReaders<(typeof KNOWN_KEYS)[number]>>;

/**
 * Options object (as in the YAML file) + env → AgentConfig. The parts are
 * compiled in a fixed order so that, of several bad fields, the same one is
 * reported first every time.
 */
export function compileAgentConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, overrides: Record<string, unknown> = {}): AgentConfig {
  const get = (key: (typeof KNOWN_KEYS)[number]): unknown => (key in overrides ? overrides[key] : lookup(raw, env, ENV_PREFIX, key));
  const r = configReaders(get);
  const { str, dur, bool } = r;

  const hostId = str('hostId', safeHostname());
  wrapId('hostId', hostId);

  const { listenAddress, advertisedEndpoint } = compileGrpcAddresses(r);
  const tls = compileTls(r);
  const insecure = compileGrpcInsecure(r, listenAddress, tls);
  const nats = compileNats(r);
  const { hypervisor, libvirtUri, migrationUri } = compileHypervisor(r);
  const storage = compileStorage(r);
  const { stateDir, bootIdFile, rebootCommand } = compileHostPaths(r);
  const metrics = compileMetrics(r);
  const logLevel = str('logLevel', 'info');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('logLevel', `expected one of ${LOG_LEVELS.join(', ')}`);

  return {
    hostId,
    grpc: { listenAddress, advertisedEndpoint, insecure },
    tls,
    nats,
    libvirt: { uri: libvirtUri, migrationUri, callTimeoutMs: dur('libvirt.callTimeout', 60_000, 1000), virtType: str('libvirt.virtType', '', /^(|[a-z]+)$/) },
    storage,
    stateDir: path.normalize(stateDir),
    bootIdFile,
    migration: compileMigration(r),
    heartbeatIntervalMs: dur('heartbeatInterval', 2000, 100),
    factsIntervalMs: dur('factsInterval', 30_000, 1000),
    rebootCommand,
    rebootRestartsAgent: bool('rebootRestartsAgent', false),
    hypervisor,
    metrics,
    logLevel,
  };
}

/** Where the gRPC server binds and the endpoint the coordinator dials. */
function compileGrpcAddresses({ str }: Readers): { listenAddress: string; advertisedEndpoint: string } {
  const listenAddress = str('grpc.listenAddress', '0.0.0.0:7400', LISTEN_RE);
  const advertisedEndpoint = str('grpc.advertisedEndpoint', '');
  // Published in facts and dialled by the coordinator, which refuses anything but host:port (common/uri.ts).
  if (advertisedEndpoint) wrapUri('grpc.advertisedEndpoint', advertisedEndpoint, assertGrpcEndpoint);
  if (!advertisedEndpoint && /^(0\.0\.0\.0|\[::\]):/.test(listenAddress)) {
    // A wildcard bind says nothing about how to reach us.
    throw new ConfigError('grpc.advertisedEndpoint', `required when grpc.listenAddress binds a wildcard (${listenAddress})`);
  }
  return { listenAddress, advertisedEndpoint };
}

/** The gRPC server's certificate and who may call it; the fields only make sense together. */
function compileTls({ str, list }: Readers): AgentConfig['tls'] {
  const clientCaFile = str('tls.clientCaFile', '');
  const tls = {
    certFile: str('tls.certFile', ''),
    keyFile: str('tls.keyFile', ''),
    clientCaFile,
    allowedClientIdentities: list('tls.allowedClientIdentities', clientCaFile ? [COORDINATOR_IDENTITY] : []),
  };
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new ConfigError('tls', 'certFile and keyFile go together');
  if (tls.clientCaFile && !tls.certFile) throw new ConfigError('tls.clientCaFile', 'requires tls.certFile and tls.keyFile');
  if (tls.clientCaFile && tls.allowedClientIdentities.length === 0) {
    throw new ConfigError(
      'tls.allowedClientIdentities',
      `must not be empty with tls.clientCaFile: name the coordinator certificate identity (${COORDINATOR_IDENTITY})`,
    );
  }
  if (!tls.clientCaFile && tls.allowedClientIdentities.length > 0) {
    throw new ConfigError('tls.allowedClientIdentities', 'has no effect without tls.clientCaFile');
  }
  return tls;
}

/**
 * grpc.insecure: a non-loopback listener needs mutual TLS unless the
 * insecure mode is asked for by name (docs/design.md invariant 9).
 */
function compileGrpcInsecure({ bool }: Readers, listenAddress: string, tls: AgentConfig['tls']): boolean {
  const insecure = bool('grpc.insecure', false);
  const mutualTls = Boolean(tls.certFile && tls.keyFile && tls.clientCaFile);
  if (mutualTls && insecure) throw new ConfigError('grpc.insecure', 'has no effect with mutual TLS configured: remove it');
  if (!mutualTls && !insecure && !isLoopbackAddress(listenAddress)) {
    throw new ConfigError(
      'grpc.listenAddress',
      `${listenAddress} is not a loopback address: the agent serves it only with mutual TLS (set tls.certFile, tls.keyFile and tls.clientCaFile; see docs/production.md), ` +
        'or set grpc.insecure: true to serve it without (anyone who reaches the port can then reboot this host)',
    );
  }
  return insecure;
}

/** NATS servers and credentials; the auth rules live in common/nats-auth.ts. */
function compileNats({ str, list, bool }: Readers): AgentConfig['nats'] {
  const nats = {
    servers: list('nats.servers', []),
    nkeySeedFile: str('nats.nkeySeedFile', ''),
    credsFile: str('nats.credsFile', ''),
    user: str('nats.user', ''),
    password: str('nats.password', ''),
    token: str('nats.token', ''),
    tlsCaFile: str('nats.tlsCaFile', ''),
    insecureNoAuth: bool('nats.insecureNoAuth', false),
  };
  for (const s of nats.servers) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s/]+$|^[A-Za-z0-9_.-]+:\d+$/.test(s))
      throw new ConfigError('nats.servers', `not a NATS server URL: ${JSON.stringify(redactUrl(s))}`);
  }
  checkNatsAuth(nats);
  return nats;
}

/** The hypervisor kind and, for libvirt, the URIs it needs (checked only then: sim has none). */
function compileHypervisor({ str }: Readers): { hypervisor: HypervisorKind; libvirtUri: string; migrationUri: string } {
  const hypervisor = str('hypervisor', 'libvirt') as HypervisorKind;
  if (hypervisor !== 'libvirt' && hypervisor !== 'sim') throw new ConfigError('hypervisor', `expected "libvirt" or "sim", got ${JSON.stringify(hypervisor)}`);

  const libvirtUri = str('libvirt.uri', 'qemu:///system');
  const migrationUri = str('libvirt.migrationUri', '');
  if (hypervisor === 'libvirt') {
    wrapUri('libvirt.uri', libvirtUri);
    if (!migrationUri) throw new ConfigError('libvirt.migrationUri', 'required: the URI peers use to migrate onto this host, e.g. qemu+tcp://10.0.0.5/system');
    wrapUri('libvirt.migrationUri', migrationUri);
  }
  return { hypervisor, libvirtUri, migrationUri };
}

/** Storage: absolute, normalized paths and the optional shared-storage cluster id. */
function compileStorage({ str, list }: Readers): AgentConfig['storage'] {
  const absList = (key: (typeof KNOWN_KEYS)[number], values: string[]) => {
    for (const p of values) if (!path.isAbsolute(p)) throw new ConfigError(key, `paths must be absolute, got ${JSON.stringify(p)}`);
    return values.map((p) => path.normalize(p));
  };
  const storage = {
    sharedPathPrefixes: absList('storage.sharedPathPrefixes', list('storage.sharedPathPrefixes', [])),
    localPoolDirs: absList('storage.localPoolDirs', list('storage.localPoolDirs', ['/var/lib/libvirt/images'])),
    clusterId: str('storage.clusterId', ''),
  };
  if (storage.clusterId) wrapId('storage.clusterId', storage.clusterId);
  return storage;
}

/** Files and the reboot program on this host: absolute, so they do not depend on the working directory. */
function compileHostPaths({ str, list }: Readers): { stateDir: string; bootIdFile: string; rebootCommand: string[] } {
  const stateDir = str('stateDir', '/var/lib/drydock/agent');
  if (!path.isAbsolute(stateDir)) throw new ConfigError('stateDir', `must be absolute, got ${JSON.stringify(stateDir)}`);

  const bootIdFile = str('bootIdFile', '/proc/sys/kernel/random/boot_id');
  if (!path.isAbsolute(bootIdFile)) throw new ConfigError('bootIdFile', `must be absolute, got ${JSON.stringify(bootIdFile)}`);

  const rebootCommand = list('rebootCommand', ['/usr/bin/systemctl', 'reboot']);
  if (rebootCommand.length === 0 || !path.isAbsolute(rebootCommand[0]!)) {
    throw new ConfigError('rebootCommand', 'must be a non-empty argv list whose first element is an absolute path');
  }
  return { stateDir, bootIdFile, rebootCommand };
}

/** The metrics endpoint: plain HTTP, so loopback only unless metrics.insecure is asked for by name. */
function compileMetrics({ str, bool, dur }: Readers): AgentConfig['metrics'] {
  const listen = str('metrics.listen', '');
  if (listen && !LISTEN_RE.test(listen)) throw new ConfigError('metrics.listen', `expected host:port, got ${JSON.stringify(listen)}`);
  const insecure = bool('metrics.insecure', false);
  if (listen && !insecure && !isLoopbackAddress(listen)) {
    throw new ConfigError(
      'metrics.listen',
      `${listen} is not a loopback address: metrics are plain HTTP without authentication; use 127.0.0.1:PORT, or set metrics.insecure: true`,
    );
  }
  return { listen, insecure, serversMaxAgeMs: dur('metrics.serversMaxAge', 15_000, 0) };
}

/** Migration timing and concurrency, in milliseconds and counts. */
function compileMigration({ dur, int }: Readers): AgentConfig['migration'] {
  return {
    stallTimeoutMs: dur('migration.stallTimeout', 150_000, 1000),
    deadlinePerGiBMs: dur('migration.deadlinePerGiB', 150_000, 1000),
    minDeadlineMs: dur('migration.minDeadline', 120_000, 1000),
    shutdownTimeoutMs: dur('migration.shutdownTimeout', 120_000, 0),
    pollIntervalMs: dur('migration.pollInterval', 500, 50),
    maxConcurrent: int('migration.maxConcurrent', 2, 1, 64),
    postCopyAfterIterations: int('migration.postCopyAfterIterations', 5, 1, 1000),
    recordRetentionMs: dur('migration.recordRetention', 30 * 24 * 3_600_000),
    guestWatchMs: dur('migration.guestWatch', 0, 0),
  };
}

function wrapId(field: string, value: string): void {
  try {
    assertId(field, value);
  } catch (err) {
    throw new ConfigError(field, err instanceof DrydockError ? err.message.replace(`${field}: `, '') : String(err));
  }
}

function wrapUri(field: string, value: string, check: (field: string, value: string) => string = assertLibvirtUri): void {
  try {
    check(field, value);
  } catch (err) {
    throw new ConfigError(field, err instanceof DrydockError ? err.message.replace(`${field}: `, '') : String(err));
  }
}

/** The hostname reduced to a valid id ("kvm-01.example.com" → "kvm-01"). */
function safeHostname(): string {
  const h = hostname().split('.')[0] ?? 'host';
  return h.replace(/[^A-Za-z0-9_-]/g, '-') || 'host';
}
