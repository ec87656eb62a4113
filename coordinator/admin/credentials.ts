// TLS for the admin API. Unlike the agent (mTLS required), admin callers
// may authenticate either way: the server asks for a client certificate but
// does not require one, so a token caller over plain TLS still connects.
// A presented certificate is verified against clientCaFile by TLS itself;
// grpc-js exposes it to handlers only when verification passed.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { TlsFiles } from '../../common/grpc-server.ts';

type Provider = Parameters<typeof grpc.experimental.createCertificateProviderServerCredentials>[0];

/**
 * Fixed PEM material as a grpc-js certificate provider (read once at start).
 * Listeners are called on the next turn, like grpc-js's own file watcher:
 * the credentials register their listener before their watcher, and a
 * synchronous update would reach nobody.
 */
function staticProvider(identity: { certificate: Buffer; privateKey: Buffer } | null, ca: Buffer | null): Provider {
  return {
    addCaCertificateListener: (l) => void setImmediate(() => l(ca ? { caCertificate: ca } : null)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => void setImmediate(() => l(identity)),
    removeIdentityCertificateListener: () => undefined,
  };
}

export function adminServerCredentials(tls: TlsFiles): grpc.ServerCredentials {
  if (!tls.certFile) return grpc.ServerCredentials.createInsecure();
  const identity = staticProvider({ certificate: readFileSync(tls.certFile), privateKey: readFileSync(tls.keyFile) }, null);
  const ca = tls.clientCaFile ? staticProvider(null, readFileSync(tls.clientCaFile)) : null;
  // grpc-js names the first parameter caCertificateProvider but uses it as the
  // identity provider (server-credentials.js); the order below is the one it uses.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, ca, false);
}
