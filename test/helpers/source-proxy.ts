// A loopback TCP forwarder that reaches a server FROM a chosen source
// address (127.0.0.2, 127.0.1.7, ...): the whole of 127.0.0.0/8 is local on
// Linux, but a client connecting to 127.0.0.1 always comes from 127.0.0.1,
// and gRPC clients cannot pick their source. Tests point a client at the
// forwarder's port to appear to the server as another peer.
import net from 'node:net';

export interface SourceProxy {
  /** Port on 127.0.0.1 to connect to. */
  port: number;
  close(): Promise<void>;
}

export async function startSourceProxy(targetPort: number, sourceAddress: string, targetHost = '127.0.0.1'): Promise<SourceProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ port: targetPort, host: targetHost, localAddress: sourceAddress });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      // Either side failing ends both; the client sees a dropped connection.
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
