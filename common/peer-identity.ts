// Who a TLS peer is, read from its certificate, and the checks both ends
// make with it: an agent admits only the coordinator identity
// (agent/server.ts), the coordinator accepts an agent's server certificate
// only when it names the host it means to call (coordinator/agent-client.ts).
// The names themselves are defined in identity.mjs.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { hostIdentity } from './identity.mjs';

/** Identities a certificate presents: subject CN and DNS/URI/email SANs (not IPs). */
export function certificateIdentities(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | undefined): string[] {
  if (!cert) return [];
  const out: string[] = [];
  const cn = cert.subject?.CN;
  if (Array.isArray(cn)) out.push(...cn);
  else if (cn) out.push(cn);
  out.push(...sanEntries(cert.subjectaltname ?? '', ['DNS', 'URI', 'email']));
  return out;
}

/** Values of the given kinds in a subjectAltName string ("DNS:a, URI:b, IP Address:c"). */
function sanEntries(subjectAltName: string, kinds: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of subjectAltName.split(',')) {
    const m = /^\s*(DNS|URI|email):(.+?)\s*$/.exec(part);
    if (m && kinds.includes(m[1]!)) out.push(m[2]!);
  }
  return out;
}

/** The URI SANs of a PEM certificate (the identities drydock names hosts by). */
export function pemUriSans(pem: string | Buffer): string[] {
  return sanEntries(new X509Certificate(pem).subjectAltName ?? '', ['URI']);
}

/**
 * The check of an agent's server certificate when calling host `hostId`
 * (tls.connect's checkServerIdentity; the chain to the CA is verified before).
 * Only the URI SAN counts: a CN or DNS name equal to a host id could be put in
 * a certificate for another purpose, the host URI is issued for this one.
 * Returns an Error (the handshake fails, nothing is sent) or undefined.
 */
export function hostCertificateCheck(hostId: string): (servername: string, cert: PeerCertificate) => Error | undefined {
  const want = hostIdentity(hostId);
  return (_servername, cert) => {
    const uris = sanEntries(cert.subjectaltname ?? '', ['URI']);
    if (uris.includes(want)) return undefined;
    return new Error(`the agent's certificate does not name host ${hostId} (expected URI SAN ${want}, got ${uris.join(', ') || 'none'})`);
  };
}
