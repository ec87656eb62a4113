// A set of NATS identities in one private directory: the coordinators' and
// one per host, each an nkey seed file (common/nkey-files.ts). For the
// servers drydock starts itself outside the coordinator: the tests' and
// `npm start`'s (scripts/start/embedded.ts). The coordinator's own embedded
// server keeps its key in its data directory and takes the hosts from the
// admitted-hosts bucket instead (coordinator/nats.ts, coordinator/admission.ts).
import path from 'node:path';
import { generateSeedFile, makePrivateDir, type NkeyIdentity } from './nkey-files.ts';
import { coordinatorNatsUser, hostNatsUser, type NatsUser } from './nats-permissions.ts';
import { assertId } from './names.ts';
import type { NatsAuth } from './nats-auth.ts';

export interface NatsCredentials {
  dir: string;
  coordinator: NkeyIdentity;
  hosts: Map<string, NkeyIdentity>;
  /** Issues an identity for one more host (seed file `<dir>/hosts/<id>.nk`). */
  addHost(hostId: string): NkeyIdentity;
  /** The users of a server's authorization block: the coordinator and every host. */
  users(): NatsUser[];
  /** What the coordinator's config (nats.nkeySeedFile) or a client of its identity takes. */
  coordinatorAuth(): NatsAuth;
  /** What the host's agent takes; throws for a host without an identity. */
  hostAuth(hostId: string): NatsAuth;
}

/** Generates the coordinator's identity and one per host under `dir` (0700, seeds 0600). */
export function issueNatsCredentials(dir: string, hostIds: string[] = []): NatsCredentials {
  makePrivateDir(path.join(dir, 'hosts'));
  makePrivateDir(dir);
  const coordinator = generateSeedFile(path.join(dir, 'coordinator.nk'));
  const hosts = new Map<string, NkeyIdentity>();
  const creds: NatsCredentials = {
    dir,
    coordinator,
    hosts,
    addHost(hostId) {
      assertId('host_id', hostId);
      const id = generateSeedFile(path.join(dir, 'hosts', `${hostId}.nk`));
      hosts.set(hostId, id);
      return id;
    },
    users: () => [coordinatorNatsUser(coordinator.publicKey), ...[...hosts].map(([h, id]) => hostNatsUser(h, id.publicKey))],
    coordinatorAuth: () => ({ nkeySeedFile: coordinator.seedFile }),
    hostAuth(hostId) {
      const id = hosts.get(hostId);
      if (!id) throw new Error(`no NATS identity issued for host ${hostId}`);
      return { nkeySeedFile: id.seedFile };
    },
  };
  for (const h of hostIds) creds.addHost(h);
  return creds;
}
