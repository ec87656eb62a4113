// The operator's NATS credential commands of drydock-coordinator
// (coordinator/main.ts): issue a host's identity (which admits the host),
// revoke it, list the admitted hosts, issue the coordinators' identity for a
// production cluster, and print the users block of a production cluster's
// nats-server config. They speak to NATS as the coordinator: the configured
// servers with the configured credentials, or the running embedded server
// (its address in <dataDir>/auth, written at its start; its key next to it).
// The embedded server follows the admitted hosts by itself
// (coordinator/nats.ts); a production cluster's config is the operator's,
// so for it the commands print what to put there (docs/production.md).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { natsAuthOptions, type NatsAuth } from '../common/nats-auth.ts';
import { coordinatorNatsUser, hostNatsUser, type NatsUser } from '../common/nats-permissions.ts';
import { generateSeedFile, readSeedFile } from '../common/nkey-files.ts';
import { assertId } from '../common/names.ts';
import { UnavailableError, errorMessage } from '../common/errors.ts';
import { admitHost, revokeHost } from './admission.ts';
import { openStore, type Store } from './store/store.ts';
import { embeddedAuthPaths } from './nats.ts';
import type { CoordinatorConfig } from './config.ts';

type Out = (line: string) => void;

/** How to reach NATS as the coordinator, embedded or configured. */
function coordinatorConnection(config: CoordinatorConfig): { servers: string[]; auth: NatsAuth; embedded: boolean } {
  const n = config.nats;
  if (n.servers.length > 0) {
    return {
      servers: n.servers,
      auth: { nkeySeedFile: n.nkeySeedFile, credsFile: n.credsFile, user: n.user, password: n.password, token: n.token, tlsCaFile: n.tlsCaFile },
      embedded: false,
    };
  }
  const paths = embeddedAuthPaths(n.dataDir);
  if (!existsSync(paths.serverFile)) {
    throw new UnavailableError(
      `the coordinator's embedded nats-server is not running (no ${paths.serverFile}): start the coordinator first, admission is stored in NATS`,
    );
  }
  const { url } = JSON.parse(readFileSync(paths.serverFile, 'utf8')) as { url: string };
  return { servers: [url], auth: n.insecureNoAuth ? {} : { nkeySeedFile: paths.coordinatorSeedFile }, embedded: true };
}

async function withStore<T>(config: CoordinatorConfig, fn: (store: Store, embedded: boolean) => Promise<T>): Promise<T> {
  const c = coordinatorConnection(config);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: c.servers, name: 'drydock-coordinator credentials', timeout: 5000, ...natsAuthOptions(c.auth) });
  } catch (err) {
    throw new UnavailableError(`cannot connect to NATS ${c.servers.join(', ')} as the coordinator: ${errorMessage(err)}`, { cause: err });
  }
  try {
    // The same buckets the coordinator opens (idempotent).
    return await fn(await openStore(nc, { replicas: config.nats.kvReplicas, timeoutMs: config.nats.requestTimeoutMs }), c.embedded);
  } finally {
    await nc.close();
  }
}

/** A users entry as it goes into a nats-server config, with the host it is for. */
function entry(user: NatsUser, comment: string): string {
  return `# ${comment}\n${JSON.stringify(user)}`;
}

/**
 * Issues host `hostId`'s NATS identity: its seed goes to `out` (0600,
 * never overwritten), the host is admitted with the public key. A host
 * issued again gets a new key; the old one stops working.
 */
export async function issueHostCredentials(config: CoordinatorConfig, hostId: string, out: string, print: Out): Promise<void> {
  assertId('host_id', hostId);
  const id = generateSeedFile(out);
  try {
    await withStore(config, async (store, embedded) => {
      const what = await admitHost(store.admittedHosts, hostId, id.publicKey, 'issue-host-credentials');
      print(
        `host ${hostId} ${what === 'rotated' ? 'admitted with a new key (the previous one no longer works)' : 'admitted'}; its nkey seed is in ${path.resolve(out)} (0600)`,
      );
      print(`install it on the host (e.g. /etc/drydock/nats/agent.nk, root 0600) and set nats.nkeySeedFile in its agent.yaml`);
      if (embedded) {
        print('the embedded nats-server lets the host in as soon as the coordinator reloads it (a second)');
      } else {
        print(
          'add this user to authorization.users of every NATS node (or regenerate the list with `nats-authorization`), then reload them (nats-server --signal reload):',
        );
        print(entry(hostNatsUser(hostId, id.publicKey), `drydock host ${hostId}`));
      }
    });
  } catch (err) {
    // Not admitted: the seed must not linger as if it were usable.
    rmSync(out, { force: true });
    throw err;
  }
}

/** Revokes host `hostId`: no longer admitted; on the embedded server its connections close. */
export async function revokeHostCredentials(config: CoordinatorConfig, hostId: string, print: Out): Promise<boolean> {
  assertId('host_id', hostId);
  return withStore(config, async (store, embedded) => {
    const before = await store.admittedHosts.get(hostId);
    const revoked = await revokeHost(store.admittedHosts, hostId);
    if (!revoked) {
      print(`host ${hostId} is not admitted: nothing to revoke`);
      return false;
    }
    print(`host ${hostId} revoked: coordinators drop its messages from now on`);
    if (embedded) print('the embedded nats-server closes its connections as soon as the coordinator reloads it (a second)');
    else print(`remove the user with nkey ${before?.value.nkey || '(none recorded)'} from every NATS node's authorization.users, then reload them`);
    return true;
  });
}

/** The admitted hosts, one per line: id, public key, when. */
export async function listAdmittedHosts(config: CoordinatorConfig, print: Out): Promise<void> {
  await withStore(config, async (store) => {
    for (const { value: h } of await store.admittedHosts.list()) {
      print(`${h.hostId}\t${h.nkey || '-'}\t${new Date(h.admittedAtMs).toISOString()}\t${h.by}`);
    }
  });
}

/** A new coordinator identity for a production cluster: the seed to `out`, the users entry printed. */
export function issueCoordinatorCredentials(out: string, print: Out): void {
  const id = generateSeedFile(out);
  print(`coordinator nkey seed written to ${path.resolve(out)} (0600): set nats.nkeySeedFile to it in coordinator.yaml`);
  print('add this user to authorization.users of every NATS node, then reload them:');
  print(entry(coordinatorNatsUser(id.publicKey), 'drydock coordinators'));
}

/**
 * The `users` list of a production cluster's authorization block: the
 * coordinator of this config (its nkeySeedFile) and every admitted host. A
 * file to `include` inside `authorization { }` on every NATS node.
 */
export async function natsAuthorization(config: CoordinatorConfig, print: Out): Promise<void> {
  if (config.nats.servers.length === 0) throw new Error('the embedded nats-server keeps its own users: this is for configured NATS servers');
  if (!config.nats.nkeySeedFile) throw new Error('nats.nkeySeedFile is not set: the coordinators need an nkey identity (issue-coordinator-credentials)');
  const users: string[] = [entry(coordinatorNatsUser(readSeedFile(config.nats.nkeySeedFile).publicKey), 'drydock coordinators')];
  await withStore(config, async (store) => {
    for (const { value: h } of await store.admittedHosts.list()) {
      if (h.nkey) users.push(entry(hostNatsUser(h.hostId, h.nkey), `drydock host ${h.hostId}`));
    }
  });
  print(`# generated by drydock-coordinator nats-authorization at ${new Date().toISOString()}`);
  print(`users: [\n${users.join(',\n')}\n]`);
}
