// How drydock certificates name who holds them: one URI SAN each.
//   agent of host <id>:  spiffe://drydock/host/<id>   (TLS server certificate)
//   coordinator:         spiffe://drydock/coordinator (TLS client certificate)
// A URI SAN, not a DNS name: host ids are case-sensitive, may hold '_' and
// run to 128 characters, none of which a DNS label allows, and a name under a
// private URI scheme can never be confused with (or be issued for) a real
// DNS name. The SPIFFE form is the common one for workload identities.
// Plain JavaScript with no imports because set-up (scripts/pki.mjs) issues
// certificates with these names before npm packages exist; the TypeScript
// side imports the same file (types in identity.d.mts).

export const HOST_IDENTITY_PREFIX = 'spiffe://drydock/host/';
export const COORDINATOR_IDENTITY = 'spiffe://drydock/coordinator';

/** The identity an agent's certificate must carry to serve host `hostId`. */
export function hostIdentity(hostId) {
  return `${HOST_IDENTITY_PREFIX}${hostId}`;
}
