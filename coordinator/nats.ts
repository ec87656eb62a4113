// The coordinator's NATS connection. Configured servers: connect and
// reconnect forever (a NATS outage must not end the coordinator; it serves
// again when NATS returns). None configured: start the embedded nats-server
// child with JetStream in its own data directory, and stop it on close.
//
// The embedded server admits no anonymous client (docs/design.md, invariant
// 9): at first start the coordinator generates its own nkey identity under
// <dataDir>/auth (0700, seed 0600); the server's users are that key and the
// key of every admitted host (coordinator/admission.ts), re-rendered and
// reloaded whenever the admitted hosts change. `insecureNoAuth` turns this
// off, by name, and says so at every start.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { natsAuthOptions, type NatsAuth } from '../common/nats-auth.ts';
import { startNatsServer, waitForJetStreamOn, type NatsNode } from '../common/nats-server.ts';
import { coordinatorNatsUser, hostNatsUser, type NatsUser } from '../common/nats-permissions.ts';
import { ensureSeedFile, makePrivateDir } from '../common/nkey-files.ts';
import { UnavailableError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logging.ts';
import { redactText, redactUrl, redactUrls } from '../common/redact.ts';
import type { AdmittedHostRecord } from './model.ts';

export type { NatsAuth };

/**
 * The first connection, retried until the deadline (waitOnFirstConnect would
 * wait forever with no way to cancel it). Once connected, nats.js
 * reconnects forever on its own.
 */
async function connectWithDeadline(options: ConnectionOptions, timeoutMs: number, logger: Logger): Promise<NatsConnection> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(options);
    } catch (err) {
      // Server URLs may carry credentials (nats://user:password@host): never in a message or a log line.
      const servers = redactUrls([options.servers ?? []].flat());
      if (Date.now() > deadline)
        throw new UnavailableError(`cannot connect to NATS ${servers.join(',')} within ${timeoutMs} ms: ${redactText(errorMessage(err))}`);
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ servers, err: redactText(errorMessage(err)) }, 'NATS not reachable yet; retrying');
      await sleep(Math.min(1000, 100 * attempt));
    }
  }
}

export interface CoordinatorNats {
  nc: NatsConnection;
  /** The URLs in use (the embedded server's when embedded). */
  servers: string[];
  /** Set when the coordinator runs its own nats-server. */
  embedded: NatsNode | null;
  /**
   * The embedded server's users become the coordinator and these hosts
   * (config rewritten, server reloaded: a removed host's connections close).
   * Nothing to do for configured servers (their config is the operator's)
   * or in insecure mode.
   */
  setAdmittedHosts(hosts: AdmittedHostRecord[]): Promise<void>;
  /** Drains the connection, then stops the embedded server if any. */
  close(): Promise<void>;
}

/** Where the embedded server's identities live: the coordinator's seed and the running server's address (for the credential commands). */
export function embeddedAuthPaths(dataDir: string): { dir: string; coordinatorSeedFile: string; serverFile: string } {
  const dir = path.join(dataDir, 'auth');
  return { dir, coordinatorSeedFile: path.join(dir, 'coordinator.nk'), serverFile: path.join(dir, 'embedded-server.json') };
}

/** The users of the embedded server: the coordinator, and each admitted host with a key (a malformed key is skipped, not fatal). */
export function embeddedUsers(coordinatorKey: string, hosts: AdmittedHostRecord[], logger: Logger): NatsUser[] {
  const users = [coordinatorNatsUser(coordinatorKey)];
  for (const h of hosts) {
    if (!h.nkey) continue;
    try {
      users.push(hostNatsUser(h.hostId, h.nkey));
    } catch (err) {
      logger.warn({ hostId: h.hostId, err: errorMessage(err) }, 'admitted host with an unusable key: not given access to NATS');
    }
  }
  return users;
}

export const INSECURE_NATS_WARNING =
  'INSECURE: NATS without authentication (nats.insecureNoAuth): any process that reaches NATS can write the inventory and operations and speak for any host';

export interface ConnectNatsOptions {
  servers: string[];
  dataDir: string;
  name: string;
  logger: Logger;
  timeoutMs?: number;
  auth?: NatsAuth;
  insecureNoAuth?: boolean;
}

/** The embedded server, its URL, and the credentials the coordinator connects with. */
interface EmbeddedStart {
  embedded: NatsNode;
  auth: NatsAuth;
  coordinatorKey: string;
}

/**
 * Starts the embedded server: with the coordinator's own nkey as its only
 * user (hosts join once the admitted-hosts bucket is read), or without
 * authentication when insecure mode was asked for by name.
 */
async function startEmbeddedNats(opts: ConnectNatsOptions, paths: ReturnType<typeof embeddedAuthPaths>): Promise<EmbeddedStart> {
  // Loopback and a server-chosen port (common/nats-server.ts): right for a
  // single-machine install; remote agents need nats.servers configured.
  makePrivateDir(paths.dir);
  let started: EmbeddedStart;
  if (opts.insecureNoAuth) {
    started = { embedded: await startNatsServer({ dir: opts.dataDir, auth: 'insecure-no-auth' }), auth: opts.auth ?? {}, coordinatorKey: '' };
  } else {
    const me = ensureSeedFile(paths.coordinatorSeedFile);
    // Hosts join once the admitted-hosts bucket is read (setAdmittedHosts).
    const embedded = await startNatsServer({ dir: opts.dataDir, auth: { users: embeddedUsers(me.publicKey, [], opts.logger) } });
    started = { embedded, auth: { nkeySeedFile: me.seedFile }, coordinatorKey: me.publicKey };
  }
  const { embedded } = started;
  opts.logger.info(
    { url: redactUrl(embedded.url), dataDir: opts.dataDir, pid: embedded.pid, auth: opts.insecureNoAuth ? 'none' : 'nkeys' },
    'embedded nats-server started',
  );
  return started;
}

/** Connects (reconnecting forever afterwards), waits for JetStream, and logs every later disconnect, reconnect and error. */
async function openConnection(opts: ConnectNatsOptions, servers: string[], auth: NatsAuth): Promise<NatsConnection> {
  const nc = await connectWithDeadline(
    {
      servers,
      name: opts.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // nats.js records an async stack trace for every request by default:
      // 14-20 % of the coordinator's CPU under admin reads and reconcile
      // (profiled at 100,000 servers), for traces nobody reads.
      noAsyncTraces: true,
      pingInterval: 5000,
      timeout: 5000,
      ...natsAuthOptions(auth),
    },
    opts.timeoutMs ?? 30_000,
    opts.logger,
  );
  try {
    await waitForJetStreamOn(nc, opts.timeoutMs ?? 30_000);
  } catch (err) {
    await nc.close();
    throw err;
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
        opts.logger.warn({ status: s.type, data: redactText(String(s.data)) }, 'nats connection status');
    }
  })();
  return nc;
}

/** setAdmittedHosts for the embedded server: a no-op for configured servers and in insecure mode (no coordinator key). */
function admittedHostsReloader(embedded: NatsNode | null, coordinatorKey: string, logger: Logger): CoordinatorNats['setAdmittedHosts'] {
  let reloads: Promise<void> = Promise.resolve();
  return (hosts) => {
    const node = embedded;
    if (!node || !coordinatorKey) return Promise.resolve();
    // One reload at a time, in order: the last call's hosts are what the server ends with.
    const next = reloads.then(async () => {
      await node.setUsers(embeddedUsers(coordinatorKey, hosts, logger));
      logger.info({ hosts: hosts.length }, 'embedded nats-server reloaded with the admitted hosts');
    });
    reloads = next.catch(() => undefined);
    return next;
  };
}

export async function connectNats(opts: ConnectNatsOptions): Promise<CoordinatorNats> {
  let embedded: NatsNode | null = null;
  let servers = opts.servers;
  let auth = opts.auth ?? {};
  let coordinatorKey = '';
  const paths = embeddedAuthPaths(opts.dataDir);
  // Loudly, at every start: this mode must never go unnoticed.
  if (opts.insecureNoAuth) opts.logger.error({ servers: opts.servers.length ? opts.servers : 'embedded' }, INSECURE_NATS_WARNING);
  if (servers.length === 0) {
    ({ embedded, auth, coordinatorKey } = await startEmbeddedNats(opts, paths));
    servers = [embedded.url];
  }
  const stopEmbedded = async () => {
    if (!embedded) return;
    await embedded.stop();
    rmSync(paths.serverFile, { force: true });
  };
  try {
    // For the credential commands (coordinator/nats-credentials-cli.ts): where the running server is.
    if (embedded) writeFileSync(paths.serverFile, `${JSON.stringify({ url: embedded.url, pid: embedded.pid })}\n`, { mode: 0o600 });
    const nc = await openConnection(opts, servers, auth);
    return {
      nc,
      servers,
      embedded,
      setAdmittedHosts: admittedHostsReloader(embedded, coordinatorKey, opts.logger),
      close: async () => {
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
        if (embedded) {
          await stopEmbedded();
          opts.logger.info('embedded nats-server stopped');
        }
      },
    };
  } catch (err) {
    await stopEmbedded();
    throw err;
  }
}
