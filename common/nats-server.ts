// Runs a real nats-server as a child process: the coordinator's embedded
// default, and the tests' NATS (one node or a 3-node cluster). Ports are
// chosen by the server (-p -1) and read back from its log, so parallel test
// files never collide.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { connect, StorageType, type NatsConnection } from 'nats';
import { UnavailableError, errorMessage } from './errors.ts';

export interface NatsNode {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  clusterPort: number;
  pid: number;
  dataDir: string;
  /** Stops this node (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the node again on the same ports and data (after stop/kill). */
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  /** Directory for JetStream data, logs and pid files (created). */
  dir: string;
  /** Binary; default: nats-server on PATH or /usr/sbin/nats-server. */
  binary?: string;
  /** Host to bind (loopback by default). */
  host?: string;
  startTimeoutMs?: number;
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

async function waitForLog(logFile: string, child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new UnavailableError(`nats-server exited with ${child.exitCode}: ${log.slice(-500)}`);
    }
    if (existsSync(logFile)) {
      const m = re.exec(readFileSync(logFile, 'utf8'));
      if (m) return m;
    }
    await sleep(25);
  }
  throw new UnavailableError(`nats-server did not log ${re} within ${timeoutMs} ms`);
}

function startNode(opts: {
  name: string;
  dir: string;
  binary: string;
  host: string;
  port: number;
  cluster?: { name: string; port: number; routes: number[] };
  timeoutMs: number;
}): Promise<{ child: ChildProcess; port: number }> {
  const dataDir = path.join(opts.dir, opts.name);
  mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, `nats-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`);
  const args = [
    '-a', opts.host,
    '-p', String(opts.port),
    '-js',
    '-sd', dataDir,
    '-n', opts.name,
    '-l', logFile,
    '-P', path.join(dataDir, 'nats.pid'),
  ];
  if (opts.cluster) {
    args.push(
      '--cluster_name', opts.cluster.name,
      '--cluster', `nats://${opts.host}:${opts.cluster.port}`,
      '--routes', opts.cluster.routes.map((p) => `nats://${opts.host}:${p}`).join(','),
    );
  }
  const child = spawn(opts.binary, args, { stdio: 'ignore', detached: false });
  return waitForLog(logFile, child, /Listening for client connections on [^\s]+:(\d+)/, opts.timeoutMs).then((m) => ({
    child,
    port: Number(m[1]),
  }));
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function makeNode(
  start: (port: number) => Promise<{ child: ChildProcess; port: number }>,
  first: { child: ChildProcess; port: number },
  clusterPort: number,
  dataDir: string,
  host: string,
): NatsNode {
  let child = first.child;
  const node: NatsNode = {
    url: `nats://${host}:${first.port}`,
    port: first.port,
    clusterPort,
    get pid() {
      return child.pid ?? -1;
    },
    dataDir,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
    restart: async () => {
      await stopChild(child, 'SIGTERM');
      child = (await start(first.port)).child;
    },
  };
  return node;
}

/** One JetStream-enabled node on a random loopback port. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsNode> {
  const binary = options.binary ?? natsServerBinary();
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const start = (port: number) => startNode({ name: 'n1', dir: options.dir, binary, host, port, timeoutMs });
  const first = await start(-1);
  return makeNode(start, first, 0, path.join(options.dir, 'n1'), host);
}

/** A 3-node (or n-node) JetStream cluster on loopback. */
export async function startNatsCluster(options: NatsServerOptions & { size?: number }): Promise<NatsNode[]> {
  const binary = options.binary ?? natsServerBinary();
  const host = options.host ?? '127.0.0.1';
  const size = options.size ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const clusterPorts: number[] = [];
  const clientPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clusterPorts.push(await freePort(host));
    clientPorts.push(await freePort(host));
  }
  const nodes: NatsNode[] = [];
  try {
    const started = await Promise.all(
      clusterPorts.map((cp, i) => {
        const start = (port: number) =>
          startNode({
            name: `n${i + 1}`,
            dir: options.dir,
            binary,
            host,
            port,
            cluster: { name: 'drydock', port: cp, routes: clusterPorts.filter((p) => p !== cp) },
            timeoutMs,
          });
        return start(clientPorts[i]!).then((first) => ({ start, first, cp, i }));
      }),
    );
    for (const s of started) nodes.push(makeNode(s.start, s.first, s.cp, path.join(options.dir, `n${s.i + 1}`), host));
    await waitForJetStream(nodes.map((n) => n.url), timeoutMs, size);
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
      if (Date.now() > deadline) throw new UnavailableError(`JetStream not ready${replicas > 1 ? ` for ${replicas} replicas` : ''} after ${timeoutMs} ms: ${errorMessage(err)}`, { cause: err });
      await sleep(100);
    }
  }
}

/** waitForJetStreamOn over a connection of its own (the test and start-up clusters). */
export async function waitForJetStream(servers: string[], timeoutMs = 15_000, replicas = 1): Promise<void> {
  const nc = await connect({ servers, reconnect: true, maxReconnectAttempts: -1 });
  try {
    await waitForJetStreamOn(nc, timeoutMs, replicas);
  } finally {
    await nc.close();
  }
}
