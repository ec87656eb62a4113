// Who may do what on NATS: the users of a nats-server's `authorization`
// block. The one place of the rule "a host speaks only for itself" on the
// NATS side (docs/design.md, invariant 8): a host's identity may publish on
// its own subjects and nothing else — no other host's subjects, no
// JetStream or KV API, no subscriptions. The coordinators' identity does
// everything (KV, streams, every drydock subject, inboxes). The embedded
// nats-server (coordinator/nats.ts), the test servers and the production
// config snippets (coordinator/nats-credentials-cli.ts) are all rendered
// from these functions.
import { assertId } from './names.ts';
import { subjects } from './subjects.ts';

export interface NatsSubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** One entry of `authorization.users` in nats-server's config (JSON form). */
export interface NatsUser {
  /** The user's public nkey ("U..."); the server never sees the seed. */
  nkey: string;
  permissions: { publish: NatsSubjectPermission; subscribe: NatsSubjectPermission };
}

const NKEY_PUBLIC_RE = /^U[A-Z2-7]{55}$/;

export function assertUserPublicKey(field: string, key: string): string {
  if (!NKEY_PUBLIC_RE.test(key)) throw new Error(`${field}: ${JSON.stringify(key)} is not an nkey user public key (U + 55 base32 characters)`);
  return key;
}

/**
 * A host's identity. The agent only publishes (agent/nats-publisher.ts:
 * facts, heartbeats, events; no requests, so no inbox either); it never
 * subscribes, and JetStream/KV ($JS.>, $KV.>) are out of reach because
 * nothing but its own subjects is allowed.
 */
export function hostNatsUser(hostId: string, publicKey: string): NatsUser {
  assertId('host_id', hostId);
  return {
    nkey: assertUserPublicKey('nkey', publicKey),
    permissions: { publish: { allow: [subjects.hostAll(hostId)] }, subscribe: { deny: ['>'] } },
  };
}

/** The coordinators' identity: KV buckets, streams, every drydock subject, request inboxes. */
export function coordinatorNatsUser(publicKey: string): NatsUser {
  return {
    nkey: assertUserPublicKey('nkey', publicKey),
    permissions: { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } },
  };
}
