// The Prometheus endpoint of agent and coordinator: GET /metrics on a small
// HTTP server, the text exposition format of prom-client's registry.
import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logging.ts';
import { ConfigError } from './config.ts';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** `listen` is host:port ("" = disabled: resolves to null). */
export async function startMetricsServer(listen: string, registry: Registry, logger: Logger): Promise<MetricsServer | null> {
  if (!listen) return null;
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError('metrics.listen', `expected host:port, got ${JSON.stringify(listen)}`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        logger.warn({ err: String(err) }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  logger.info({ listen, port }, 'metrics endpoint serving /metrics');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
