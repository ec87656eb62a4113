// The coordinator's NATS connection. Configured servers: connect and
// reconnect forever (a NATS outage must not end the coordinator; it serves
// again when NATS returns). None configured: start the embedded nats-server
// child with JetStream in its own data directory, and stop it on close.
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, waitForJetStream, type NatsNode } from '../common/nats-server.ts';
import type { Logger } from '../common/logging.ts';

export interface CoordinatorNats {
  nc: NatsConnection;
  /** The URLs in use (the embedded server's when embedded). */
  servers: string[];
  /** Set when the coordinator runs its own nats-server. */
  embedded: NatsNode | null;
  /** Drains the connection, then stops the embedded server if any. */
  close(): Promise<void>;
}

export async function connectNats(opts: { servers: string[]; dataDir: string; name: string; logger: Logger; timeoutMs?: number }): Promise<CoordinatorNats> {
  let embedded: NatsNode | null = null;
  let servers = opts.servers;
  if (servers.length === 0) {
    // Loopback and a server-chosen port (common/nats-server.ts): right for a
    // single-machine install; remote agents need nats.servers configured.
    embedded = await startNatsServer({ dir: opts.dataDir });
    servers = [embedded.url];
    opts.logger.info({ url: embedded.url, dataDir: opts.dataDir, pid: embedded.pid }, 'embedded nats-server started');
  }
  try {
    await waitForJetStream(servers, opts.timeoutMs ?? 30_000);
    const nc = await connect({
      servers,
      name: opts.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 5000,
      waitOnFirstConnect: true,
    });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') opts.logger.warn({ status: s.type, data: String(s.data) }, 'nats connection status');
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
