// drydock-coordinator configuration: YAML file (/etc/drydock/coordinator.yaml)
// plus DRYDOCK_COORDINATOR_* environment overrides, validated once into a
// compiled config with durations in milliseconds. Every option is documented
// on its field below and in deploy/examples/coordinator.yaml.
import os from 'node:os';
import { ConfigError, configReaders, lookup, parseStringList, readYamlFile, rejectUnknownKeys } from '../common/config.ts';
import type { ClientTlsFiles, TlsFiles } from '../common/grpc-server.ts';
import { redactUrl } from '../common/redact.ts';
import { checkNatsAuth, NATS_AUTH_KEYS } from '../common/nats-auth.ts';
import { DEFAULT_ROLES, PERMISSIONS, normalizePermission } from './auth/permissions.ts';
import { isLoopbackAddress } from '../common/loopback.ts';
import { DEFAULT_AUDIT_LIMITS } from './store/audit.ts';

export const ENV_PREFIX = 'DRYDOCK_COORDINATOR';
export const DEFAULT_CONFIG_FILE = '/etc/drydock/coordinator.yaml';

export interface CoordinatorConfig {
  /** This instance's id: the leader lease holder name and the audit "by". Default: hostname. */
  coordinatorId: string;
  admin: {
    /**
     * host:port of the admin gRPC API. Default 127.0.0.1:7443. A non-loopback
     * address needs mutual TLS (tls.certFile, keyFile and clientCaFile) or
     * `insecure` (docs/design.md invariant 9).
     */
    listen: string;
    /** Serve a non-loopback listen address without mutual TLS. Logged at every start. Default false. */
    insecure: boolean;
    /**
     * Server certificate and key (PEM). Empty = plaintext (loopback/lab
     * only). clientCaFile: CA that admin client certificates must chain to;
     * a verified certificate authenticates its caller (bearer tokens still work).
     */
    tls: TlsFiles;
  };
  auth: {
    /** YAML file of users: hashed tokens, certificate names, roles, permissions. Empty = no token users. */
    tokenFile: string;
    /** role → permissions. Defaults: admin (all), operator, viewer (see auth/permissions.ts). */
    roles: Record<string, string[]>;
    /**
     * Failed token attempts one peer (an IPv4 address, an IPv6 /64) may make
     * back to back; then it gets one more per failureInterval, and a token
     * that would need hashing is refused at once (RESOURCE_EXHAUSTED). Tokens
     * the cheap checks accept still pass. Default 30 and 1s.
     */
    failureBurst: number;
    failureIntervalMs: number;
    /**
     * scrypt hashes run at once, on libuv's threadpool (keep it below
     * UV_THREADPOOL_SIZE, 4 by default, which fs and dns share). Default 1.
     */
    hashConcurrency: number;
    /** Token verifications waiting for a hash; beyond, the call is refused (UNAVAILABLE). Default 16. */
    hashQueue: number;
  };
  audit: {
    /** The audit stream keeps at most this many bytes (oldest go first). Default 256 MiB. */
    maxBytes: number;
    /** ... entries this old at most. Default 8760h (a year). */
    maxAgeMs: number;
    /** ... this many entries at most. Default 10,000,000. */
    maxMessages: number;
    /**
     * Calls refused before authentication, per peer and refusalWindow: the
     * first refusalEntries are audited one by one, the rest counted into one
     * summary entry per status. Defaults 1m and 100.
     */
    refusalWindowMs: number;
    refusalEntries: number;
  };
  nats: {
    /**
     * NATS URLs (a cluster in production). Empty = start an embedded
     * nats-server that admits only the coordinator's key and the admitted
     * hosts' (coordinator/nats.ts).
     */
    servers: string[];
    /** Embedded nats-server's JetStream data directory (and its keys, under auth/). Default /var/lib/drydock/nats. */
    dataDir: string;
    /** Replicas of the KV buckets and audit stream: 1 embedded, 3 in a cluster. Default: 1 if embedded else 3. */
    kvReplicas: number;
    /** Timeout of one JetStream request (KV get/put). Default 5s. */
    requestTimeoutMs: number;
    /** An nkey user seed file (`drydock-coordinator issue-coordinator-credentials`); empty = none. */
    nkeySeedFile: string;
    /** A .creds file (JWT + nkey seed) for decentralised auth; empty = none. */
    credsFile: string;
    /** User/password auth (alternative to credsFile); prefer the environment for the password. */
    user: string;
    password: string;
    /** Token auth (alternative to the above). */
    token: string;
    /** CA of the NATS servers' certificates (tls:// URLs); empty = system roots / plain. */
    tlsCaFile: string;
    /**
     * Insecure mode, asked for by name: the embedded nats-server accepts
     * anyone, configured servers are joined without credentials. Logged at
     * every start. Default false.
     */
    insecureNoAuth: boolean;
  };
  agents: {
    /**
     * mTLS towards agents: CA of the agents' server certificates and the
     * coordinator's client certificate/key (URI SAN spiffe://drydock/coordinator).
     * Each agent's certificate must carry spiffe://drydock/host/<its host id>
     * (checked on every connection, coordinator/agent-client.ts).
     * Empty caFile = plaintext, to loopback endpoints only unless insecure.
     */
    tls: Pick<ClientTlsFiles, 'caFile' | 'certFile' | 'keyFile'>;
    /** Call agents in plaintext at non-loopback endpoints (no agents.tls). Logged at start. Default false. */
    insecure: boolean;
    /** Deadline of one unary agent call. Default 10s. */
    callTimeoutMs: number;
    /** An agent's channel is closed after this long without a call (reopened by the next). Default 60s. */
    idleCloseMs: number;
  };
  inventory: {
    /** A host with no heartbeat for this long is offline. Default 10s. */
    offlineAfterMs: number;
    /** Full reconcile of every host's servers against its agent (leader). Default 30s. */
    reconcileIntervalMs: number;
    /** Every online host is asked for its servers at least this often; between, only hosts whose heartbeat digest differs from the records. Default 10m. */
    fullReconcileIntervalMs: number;
    /** Hosts reconciled at once. Default 8. */
    reconcileConcurrency: number;
  };
  leader: {
    /** Lease lifetime: a leader that does not renew within it loses the lease. Default 5s. */
    ttlMs: number;
    /** How often the holder renews (and others try to take it). Default 1500ms. */
    renewIntervalMs: number;
  };
  metrics: {
    /** host:port of the Prometheus endpoint (GET /metrics). Empty = disabled (the default). */
    listen: string;
  };
  zoneCpu: {
    /**
     * How often the leader looks for zones whose members, member CPUs or CPU
     * mode changed (and recomputes those). Default 3s.
     */
    watchIntervalMs: number;
  };
  operations: {
    /** A finished operation is archived (steps removed, summary and events kept) this long after it ended. Default 30 days. */
    archiveAfterMs: number;
    /** WatchOperation streams per caller on this instance; beyond, RESOURCE_EXHAUSTED. Default 16. */
    maxWatchesPerCaller: number;
    /** WatchOperation streams on this instance in total. Default 256. */
    maxWatches: number;
  };
  /** pino level. Default info. */
  logLevel: string;
}

const KNOWN = [
  'coordinatorId',
  'admin.listen',
  'admin.insecure',
  'admin.tls.certFile',
  'admin.tls.keyFile',
  'admin.tls.clientCaFile',
  'auth.tokenFile',
  'auth.roles',
  'auth.failureBurst',
  'auth.failureInterval',
  'auth.hashConcurrency',
  'auth.hashQueue',
  'audit.maxBytes',
  'audit.maxAge',
  'audit.maxMessages',
  'audit.refusalWindow',
  'audit.refusalEntries',
  'nats.servers',
  'nats.dataDir',
  'nats.kvReplicas',
  'nats.requestTimeout',
  ...NATS_AUTH_KEYS,
  'agents.tls.caFile',
  'agents.tls.certFile',
  'agents.tls.keyFile',
  'agents.insecure',
  'agents.callTimeout',
  'agents.idleClose',
  'inventory.offlineAfter',
  'inventory.reconcileInterval',
  'inventory.fullReconcileInterval',
  'inventory.reconcileConcurrency',
  'leader.ttl',
  'leader.renewInterval',
  'metrics.listen',
  'zoneCpu.watchInterval',
  'operations.archiveAfter',
  'operations.maxWatchesPerCaller',
  'operations.maxWatches',
  'logLevel',
] as const;

function parseRoles(raw: unknown): Record<string, string[]> {
  if (raw === undefined) return structuredClone(DEFAULT_ROLES);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('auth.roles', 'expected a mapping of role → list of permissions');
  const out: Record<string, string[]> = {};
  for (const [role, perms] of Object.entries(raw as Record<string, unknown>)) {
    out[role] = parseStringList(perms, `auth.roles.${role}`).map((p) => {
      const n = normalizePermission(p);
      if (n !== '*' && !PERMISSIONS.includes(n as (typeof PERMISSIONS)[number])) {
        throw new ConfigError(`auth.roles.${role}`, `unknown permission ${JSON.stringify(p)} (known: ${PERMISSIONS.join(', ')}, *)`);
      }
      return n;
    });
  }
  return out;
}

/** Builds the config from an already-parsed document (tests) and the environment. */
export function compileConfig(doc: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  rejectUnknownKeys(doc, KNOWN);
  const get = (k: (typeof KNOWN)[number]) => lookup(doc, env, ENV_PREFIX, k);
  const { str, dur, int, list, bool, bytes } = configReaders(get);

  const servers = list('nats.servers', []);
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^\s]+$/.test(s)) throw new ConfigError('nats.servers', `${JSON.stringify(redactUrl(s))} is not a nats:// or tls:// URL`);
  }

  const cfg: CoordinatorConfig = {
    coordinatorId: str('coordinatorId', os.hostname()),
    admin: {
      listen: str('admin.listen', '127.0.0.1:7443'),
      insecure: bool('admin.insecure', false),
      tls: {
        certFile: str('admin.tls.certFile', ''),
        keyFile: str('admin.tls.keyFile', ''),
        clientCaFile: str('admin.tls.clientCaFile', ''),
      },
    },
    auth: {
      tokenFile: str('auth.tokenFile', ''),
      // Roles are structured: file only, no env override.
      roles: parseRoles((doc.auth as Record<string, unknown> | undefined)?.roles),
      failureBurst: int('auth.failureBurst', 30, 1, 1_000_000),
      failureIntervalMs: dur('auth.failureInterval', 1000, 1),
      hashConcurrency: int('auth.hashConcurrency', 1, 1, 16),
      hashQueue: int('auth.hashQueue', 16, 0, 10_000),
    },
    audit: {
      // Below 1 MiB the stream would hold too few entries to be an audit trail.
      maxBytes: bytes('audit.maxBytes', DEFAULT_AUDIT_LIMITS.maxBytes, 1024 ** 2),
      maxAgeMs: dur('audit.maxAge', DEFAULT_AUDIT_LIMITS.maxAgeMs, 60_000),
      maxMessages: int('audit.maxMessages', DEFAULT_AUDIT_LIMITS.maxMessages, 1000, Number.MAX_SAFE_INTEGER),
      refusalWindowMs: dur('audit.refusalWindow', 60_000, 100),
      refusalEntries: int('audit.refusalEntries', 100, 0, 1_000_000),
    },
    nats: {
      servers,
      dataDir: str('nats.dataDir', '/var/lib/drydock/nats'),
      kvReplicas: int('nats.kvReplicas', servers.length === 0 ? 1 : 3, 1, 5),
      requestTimeoutMs: dur('nats.requestTimeout', 5000),
      nkeySeedFile: str('nats.nkeySeedFile', ''),
      credsFile: str('nats.credsFile', ''),
      user: str('nats.user', ''),
      password: str('nats.password', ''),
      token: str('nats.token', ''),
      tlsCaFile: str('nats.tlsCaFile', ''),
      insecureNoAuth: bool('nats.insecureNoAuth', false),
    },
    agents: {
      tls: {
        caFile: str('agents.tls.caFile', ''),
        certFile: str('agents.tls.certFile', ''),
        keyFile: str('agents.tls.keyFile', ''),
      },
      insecure: bool('agents.insecure', false),
      callTimeoutMs: dur('agents.callTimeout', 10_000),
      idleCloseMs: dur('agents.idleClose', 60_000, 1000),
    },
    inventory: {
      offlineAfterMs: dur('inventory.offlineAfter', 10_000),
      reconcileIntervalMs: dur('inventory.reconcileInterval', 30_000, 1000),
      fullReconcileIntervalMs: dur('inventory.fullReconcileInterval', 600_000, 1000),
      reconcileConcurrency: int('inventory.reconcileConcurrency', 8, 1, 256),
    },
    leader: {
      ttlMs: dur('leader.ttl', 5000),
      renewIntervalMs: dur('leader.renewInterval', 1500),
    },
    metrics: { listen: str('metrics.listen', '') },
    // Each pass reads every zone and host record: faster than 500 ms is load, not freshness.
    zoneCpu: { watchIntervalMs: dur('zoneCpu.watchInterval', 3000, 500) },
    operations: {
      // Below an hour an operator could lose the steps of a drain before reading them.
      archiveAfterMs: dur('operations.archiveAfter', 30 * 24 * 3600_000, 3600_000),
      maxWatchesPerCaller: int('operations.maxWatchesPerCaller', 16, 1, 100_000),
      maxWatches: int('operations.maxWatches', 256, 1, 1_000_000),
    },
    logLevel: str('logLevel', 'info'),
  };
  validate(cfg);
  return cfg;
}

function validate(cfg: CoordinatorConfig): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(cfg.coordinatorId))
    throw new ConfigError('coordinatorId', `${JSON.stringify(cfg.coordinatorId)} is not a valid id`);
  if (cfg.metrics.listen && !/^[^\s]+:\d+$/.test(cfg.metrics.listen))
    throw new ConfigError('metrics.listen', `expected host:port, got ${JSON.stringify(cfg.metrics.listen)}`);
  if (!/^[^\s]+:\d+$/.test(cfg.admin.listen)) throw new ConfigError('admin.listen', `expected host:port, got ${JSON.stringify(cfg.admin.listen)}`);
  const t = cfg.admin.tls;
  if (Boolean(t.certFile) !== Boolean(t.keyFile)) throw new ConfigError('admin.tls', 'certFile and keyFile go together');
  if (t.clientCaFile && !t.certFile) throw new ConfigError('admin.tls.clientCaFile', 'requires admin.tls.certFile and keyFile');
  const adminMutualTls = Boolean(t.certFile && t.keyFile && t.clientCaFile);
  if (adminMutualTls && cfg.admin.insecure) throw new ConfigError('admin.insecure', 'has no effect with mutual TLS configured: remove it');
  if (!adminMutualTls && !cfg.admin.insecure && !isLoopbackAddress(cfg.admin.listen)) {
    throw new ConfigError(
      'admin.listen',
      `${cfg.admin.listen} is not a loopback address: the admin API serves it only with mutual TLS (set admin.tls.certFile, admin.tls.keyFile and admin.tls.clientCaFile; see docs/production.md), or set admin.insecure: true to serve it without (whoever reaches the port can then try tokens, and tokens may travel in clear)`,
    );
  }
  const a = cfg.agents.tls;
  if (Boolean(a.certFile) !== Boolean(a.keyFile)) throw new ConfigError('agents.tls', 'certFile and keyFile go together');
  if (a.certFile && !a.caFile) throw new ConfigError('agents.tls.caFile', 'required with a client certificate');
  if (a.caFile && cfg.agents.insecure) throw new ConfigError('agents.insecure', 'has no effect with agents.tls.caFile set: remove it');
  const n = cfg.nats;
  if (n.servers.length === 0 && (n.nkeySeedFile || n.credsFile || n.user || n.token || n.tlsCaFile))
    throw new ConfigError('nats', 'credentials and TLS apply to configured servers, not the embedded one (it generates its own keys)');
  checkNatsAuth(n);
  if (cfg.nats.servers.length === 0 && cfg.nats.kvReplicas !== 1)
    throw new ConfigError('nats.kvReplicas', 'the embedded nats-server is a single node: replicas must be 1');
  if (cfg.leader.renewIntervalMs <= 0 || cfg.leader.renewIntervalMs * 2 > cfg.leader.ttlMs) {
    throw new ConfigError('leader.renewInterval', `must be positive and at most half of leader.ttl (${cfg.leader.ttlMs} ms)`);
  }
  if (cfg.inventory.offlineAfterMs < 1000) throw new ConfigError('inventory.offlineAfter', 'must be at least 1s (agents beat every 2 s)');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.logLevel))
    throw new ConfigError('logLevel', `unknown level ${JSON.stringify(cfg.logLevel)}`);
}

/** Reads the file (must exist when given explicitly) and applies the environment. */
export function loadConfig(file: string = DEFAULT_CONFIG_FILE, env: NodeJS.ProcessEnv = process.env, required = true): CoordinatorConfig {
  return compileConfig(readYamlFile(file, required), env);
}
