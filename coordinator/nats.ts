// The coordinator's NATS connection. Configured servers: connect and
// reconnect forever (a NATS outage must not end the coordinator; it serves
// again when NATS returns). None configured: start the embedded nats-server
// child with JetStream in its own data directory, and stop it on close.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { natsAuthOptions, type NatsAuth } from '../common/nats-auth.ts';
import { startNatsServer, waitForJetStreamOn, type NatsNode } from '../common/nats-server.ts';
import { UnavailableError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logging.ts';
import { redactText, redactUrl, redactUrls } from '../common/redact.ts';

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
      if (Date.now() > deadline) throw new UnavailableError(`cannot connect to NATS ${servers.join(',')} within ${timeoutMs} ms: ${redactText(errorMessage(err))}`);
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
  /** Drains the connection, then stops the embedded server if any. */
  close(): Promise<void>;
}

export async function connectNats(opts: { servers: string[]; dataDir: string; name: string; logger: Logger; timeoutMs?: number; auth?: NatsAuth }): Promise<CoordinatorNats> {
  let embedded: NatsNode | null = null;
  let servers = opts.servers;
  if (servers.length === 0) {
    // Loopback and a server-chosen port (common/nats-server.ts): right for a
    // single-machine install; remote agents need nats.servers configured.
    embedded = await startNatsServer({ dir: opts.dataDir });
    servers = [embedded.url];
    opts.logger.info({ url: redactUrl(embedded.url), dataDir: opts.dataDir, pid: embedded.pid }, 'embedded nats-server started');
  }
  try {
    const nc = await connectWithDeadline(
      {
        servers,
        name: opts.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: 5000,
        timeout: 5000,
        ...(embedded ? {} : natsAuthOptions(opts.auth ?? {})),
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
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') opts.logger.warn({ status: s.type, data: redactText(String(s.data)) }, 'nats connection status');
      }
    })();
    return {
      nc,
      servers,
      embedded,
      close: async () => {
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
        if (embedded) {
          await embedded.stop();
          opts.logger.info('embedded nats-server stopped');
        }
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
