// Runs a real nats-server as a child process: the coordinator's embedded
// default, the tests' NATS (one node or a 3-node cluster) and `npm start`'s.
// Each node runs from a generated config file (0600 in its data directory):
// client port chosen by the server (-1) and read back from its log, so
// parallel test files never collide; the authorization block of
// common/nats-permissions.ts (nkey users, each with its permissions), so no
// anonymous client gets in unless 'insecure-no-auth' is asked for by name;
// and in a cluster, routes that authenticate with a password generated for
// that cluster (a process that reaches a route port would otherwise join as
// a route, and routes are not subject to client permissions).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { connect, StorageType, type ConnectionOptions, type NatsConnection } from 'nats';
import { UnavailableError, errorMessage } from './errors.ts';
import { makePrivateDir } from './nkey-files.ts';
import type { NatsUser } from './nats-permissions.ts';

/** Who may connect: nkey users with their permissions, or anyone (an insecure mode, by name). */
export type NatsServerAuth = { users: NatsUser[] } | 'insecure-no-auth';

export interface NatsNode {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  clusterPort: number;
  pid: number;
  dataDir: string;
  /** The generated nats-server config of this node (0600). */
  configFile: string;
  /** Stops this node (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the node again on the same ports, data and users (after stop/kill). */
  restart(): Promise<void>;
  /**
   * Replaces the users (rewrites the config, SIGHUP) and resolves once the
   * server logged the reload. nats-server closes the connections of users
   * no longer listed: this is how a host's credentials are revoked.
   */
  setUsers(users: NatsUser[]): Promise<void>;
}

export interface NatsServerOptions {
  /** Directory for JetStream data, config, logs and pid files (created, 0700). */
  dir: string;
  /** Who may connect. Required: there is no anonymous default. */
  auth: NatsServerAuth;
  /** Binary; default: nats-server on PATH or /usr/sbin/nats-server. */
  binary?: string;
  /** Host to bind (loopback by default). */
  host?: string;
  startTimeoutMs?: number;
  /** JetStream's file store limit in bytes (max_file_store); default: the server's (most of the disk). The chaos suite fills it. */
  maxFileStoreBytes?: number;
}

export function natsServerBinary(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (existsSync(p)) return p;
  }
  return 'nats-server';
}

/** A free TCP port on the host (for cluster route ports, which must be known up front). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForLog(logFile: string, child: ChildProcess, re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new UnavailableError(`nats-server exited with ${child.exitCode}: ${log.slice(-500)}`);
    }
    if (existsSync(logFile)) {
      const m = re.exec(readFileSync(logFile, 'utf8').slice(from));
      if (m) return m;
    }
    await sleep(25);
  }
  throw new UnavailableError(`nats-server did not log ${re} within ${timeoutMs} ms`);
}

interface NodeSpec {
  name: string;
  dir: string;
  binary: string;
  host: string;
  cluster?: { name: string; port: number; routes: number[]; password: string };
  timeoutMs: number;
  maxFileStoreBytes?: number;
}

const ROUTE_USER = 'drydock-route';

/** The node's nats-server config (JSON, which nats-server reads as its config syntax). */
function renderConfig(spec: NodeSpec, port: number, users: NatsUser[] | null, logFile: string): string {
  const dataDir = path.join(spec.dir, spec.name);
  const conf: Record<string, unknown> = {
    server_name: spec.name,
    host: spec.host,
    port,
    jetstream: { store_dir: dataDir, ...(spec.maxFileStoreBytes ? { max_file_store: spec.maxFileStoreBytes } : {}) },
    log_file: logFile,
    pid_file: path.join(dataDir, 'nats.pid'),
  };
  if (users) conf.authorization = { users };
  if (spec.cluster) {
    const c = spec.cluster;
    const auth = `${ROUTE_USER}:${c.password}@`;
    conf.cluster = {
      name: c.name,
      host: spec.host,
      port: c.port,
      authorization: { user: ROUTE_USER, password: c.password },
      routes: c.routes.map((p) => `nats-route://${auth}${spec.host}:${p}`),
    };
  }
  return `${JSON.stringify(conf, null, 2)}\n`;
}

/** One node: writes its config, starts it, and keeps what restart and setUsers need. */
async function startNode(spec: NodeSpec, port: number, auth: NatsServerAuth): Promise<NatsNode> {
  const dataDir = path.join(spec.dir, spec.name);
  makePrivateDir(dataDir);
  const configFile = path.join(dataDir, 'nats-server.conf');
  let users = auth === 'insecure-no-auth' ? null : auth.users;
  let child!: ChildProcess;
  let logFile = '';
  const write = (p: number) => {
    // 0600: the route password is in it (user entries hold public keys only).
    writeFileSync(configFile, renderConfig(spec, p, users, logFile), { mode: 0o600 });
    chmodSync(configFile, 0o600);
  };
  const launch = async (p: number): Promise<number> => {
    logFile = path.join(dataDir, `nats-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`);
    write(p);
    child = spawn(spec.binary, ['-c', configFile], { stdio: 'ignore', detached: false });
    const m = await waitForLog(logFile, child, /Listening for client connections on [^\s]+:(\d+)/, spec.timeoutMs).catch(async (err: unknown) => {
      // Not ready in time: it must not outlive the failed start.
      await stopChild(child, 'SIGKILL');
      throw err;
    });
    const bound = Number(m[1]);
    // The resolved port from now on: a reload must not see "-1" as a port change.
    write(bound);
    return bound;
  };
  const bound = await launch(port);
  const node: NatsNode = {
    url: `nats://${spec.host}:${bound}`,
    port: bound,
    clusterPort: spec.cluster?.port ?? 0,
    get pid() {
      return child.pid ?? -1;
    },
    dataDir,
    configFile,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
    restart: async () => {
      await stopChild(child, 'SIGTERM');
      await launch(bound);
    },
    setUsers: async (next) => {
      if (users === null) throw new Error('setUsers: this nats-server runs without authorization (insecure-no-auth)');
      users = next;
      const from = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
      write(bound);
      child.kill('SIGHUP');
      await waitForLog(logFile, child, /Reloaded server configuration|Failed to reload server configuration.*/, spec.timeoutMs, from).then((m) => {
        if (m[0].startsWith('Failed')) throw new UnavailableError(`nats-server ${spec.name}: ${m[0]}`);
      });
    },
  };
  return node;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** One JetStream-enabled node on a random loopback port. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsNode> {
  makePrivateDir(options.dir);
  const spec: NodeSpec = {
    name: 'n1',
    dir: options.dir,
    binary: options.binary ?? natsServerBinary(),
    host: options.host ?? '127.0.0.1',
    timeoutMs: options.startTimeoutMs ?? 10_000,
    maxFileStoreBytes: options.maxFileStoreBytes,
  };
  return startNode(spec, -1, options.auth);
}

/**
 * A 3-node (or n-node) JetStream cluster on loopback. `connectAs` is how
 * the readiness check connects (a user of `auth`; nothing for insecure-no-auth).
 */
export async function startNatsCluster(options: NatsServerOptions & { size?: number; connectAs?: Partial<ConnectionOptions> }): Promise<NatsNode[]> {
  makePrivateDir(options.dir);
  const binary = options.binary ?? natsServerBinary();
  const host = options.host ?? '127.0.0.1';
  const size = options.size ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const password = randomBytes(24).toString('base64url');
  const clusterPorts: number[] = [];
  const clientPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clusterPorts.push(await freePort(host));
    clientPorts.push(await freePort(host));
  }
  const settled = await Promise.allSettled(
    clusterPorts.map((cp, i) =>
      startNode(
        {
          name: `n${i + 1}`,
          dir: options.dir,
          binary,
          host,
          timeoutMs,
          cluster: { name: 'drydock', port: cp, routes: clusterPorts.filter((p) => p !== cp), password },
        },
        clientPorts[i]!,
        options.auth,
      ),
    ),
  );
  const nodes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    await waitForJetStream(
      nodes.map((n) => n.url),
      timeoutMs,
      size,
      options.connectAs,
    );
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    throw err;
  }
}

/**
 * Waits until JetStream answers API requests on this connection (in a
 * cluster: until the meta leader is elected), so the first KV call does not
 * time out. With `replicas` > 1 it also waits until a stream of that many
 * replicas can be placed: a meta leader can be elected before every peer has
 * joined, and a replicated bucket asked for then fails with "no suitable peers".
 */
export async function waitForJetStreamOn(nc: NatsConnection, timeoutMs = 15_000, replicas = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = `DRYDOCK_READY_PROBE_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  for (;;) {
    try {
      const jsm = await nc.jetstreamManager({ timeout: 1000 });
      await jsm.getAccountInfo();
      if (replicas > 1) {
        // A throwaway in-memory stream, removed at once: placement is the check.
        await jsm.streams.add({ name: probe, subjects: [`_drydock.ready.${probe}`], num_replicas: replicas, storage: StorageType.Memory });
        await jsm.streams.delete(probe);
      }
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new UnavailableError(`JetStream not ready${replicas > 1 ? ` for ${replicas} replicas` : ''} after ${timeoutMs} ms: ${errorMessage(err)}`, {
          cause: err,
        });
      await sleep(100);
    }
  }
}

/** waitForJetStreamOn over a connection of its own (the test and start-up clusters), as `as` (credentials). */
export async function waitForJetStream(servers: string[], timeoutMs = 15_000, replicas = 1, as: Partial<ConnectionOptions> = {}): Promise<void> {
  const nc = await connect({ servers, reconnect: true, maxReconnectAttempts: -1, ...as });
  try {
    await waitForJetStreamOn(nc, timeoutMs, replicas);
  } finally {
    await nc.close();
  }
}
