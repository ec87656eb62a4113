// Builds the gRPC servers of agent and coordinator the same way: the
// service, grpc.health.v1, server reflection, and TLS/mTLS from config.
import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.ts';
import { guardDecoding } from './grpc-decode.ts';

/** TLS material (PEM file paths). All empty = plaintext (loopback/lab only). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA that client certificates must chain to; set = mTLS required. */
  clientCaFile: string;
}

export function serverCredentials(tls: TlsFiles): grpc.ServerCredentials {
  if (!tls.certFile && !tls.keyFile) {
    if (tls.clientCaFile) throw new ConfigError('tls.clientCaFile', 'requires tls.certFile and tls.keyFile');
    return grpc.ServerCredentials.createInsecure();
  }
  if (!tls.certFile || !tls.keyFile) throw new ConfigError('tls', 'certFile and keyFile go together');
  const ca = tls.clientCaFile ? readFileSync(tls.clientCaFile) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], Boolean(ca));
}

export interface ClientTlsFiles {
  /** CA that the server certificate must chain to; empty = plaintext. */
  caFile: string;
  /** Client identity for mTLS (both or neither). */
  certFile: string;
  keyFile: string;
  /** Expected name in the server certificate (overrides the address host). */
  serverName?: string;
}

/** `verify` replaces the server certificate's name check (the chain is verified either way). */
export function clientCredentials(tls: ClientTlsFiles, verify?: grpc.VerifyOptions): grpc.ChannelCredentials {
  if (!tls.caFile) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    readFileSync(tls.caFile),
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
    verify,
  );
}

export function clientChannelOptions(tls: ClientTlsFiles): grpc.ChannelOptions {
  return tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
}

export interface ServingServer {
  server: grpc.Server;
  health: HealthImplementation;
  /** The bound port (useful when listening on port 0). */
  port: number;
  setServing(status: ServingStatus): void;
  /** Graceful shutdown with a deadline, then forced. */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: {
  address: string;
  credentials: grpc.ServerCredentials;
  packageDefinition: PackageDefinition;
  /** Fully qualified service name, e.g. "drydock.agent.v1.Agent". */
  serviceName: string;
  service: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  options?: grpc.ServerOptions;
}): Promise<ServingServer> {
  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, ...opts.options });
  // Bytes that do not decode as the request: INVALID_ARGUMENT, not grpc-js's INTERNAL (grpc-decode.ts).
  const guarded = guardDecoding(opts.service, opts.implementation);
  server.addService(guarded.service, guarded.implementation);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [opts.serviceName]: 'NOT_SERVING' });
  health.addToServer(server);
  new ReflectionService(opts.packageDefinition).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.address, opts.credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  const setServing = (status: ServingStatus) => {
    health.setStatus('', status);
    health.setStatus(opts.serviceName, status);
  };
  setServing('SERVING');
  return {
    server,
    health,
    port,
    setServing,
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        setServing('NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * Wraps a promise-returning unary handler: resolves → callback(null, value);
 * throws → the typed error's gRPC status via toGrpcStatus.
 */
export function unary<Req, Res>(
  toStatus: (err: unknown) => Partial<grpc.StatusObject>,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => callback(toStatus(err) as grpc.ServerErrorResponse),
    );
  };
}
