// The tests' NATS: a real nats-server (or 3-node cluster) that admits only
// nkey identities — a coordinator's and one per host, each host allowed to
// publish on its own subjects only (common/nats-permissions.ts) — with the
// given hosts also admitted in the admitted-hosts bucket, so a coordinator
// started on it registers them (coordinator/admission.ts).
import path from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { startNatsCluster, startNatsServer, type NatsNode } from '../common/nats-server.ts';
import { issueNatsCredentials, type NatsCredentials } from '../common/nats-credentials.ts';
import { natsAuthOptions, type NatsAuth } from '../common/nats-auth.ts';
import { admitHostsOver } from '../coordinator/admission.ts';

export interface TestNats {
  nodes: NatsNode[];
  /** The first node (the only one unless `cluster`). */
  node: NatsNode;
  urls: string[];
  creds: NatsCredentials;
  /** The coordinator's identity (testConfig's natsAuth). */
  coordinatorAuth: NatsAuth;
  /** A host's identity (startSimAgents' natsAuth). */
  hostAuth: (hostId: string) => NatsAuth;
  /** A connection as the coordinator (full access), closed by the caller. */
  connect(opts?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  /** Issues identities for more hosts, lets them into the server(s) and admits them. */
  addHosts(hostIds: string[]): Promise<void>;
  /** Admits hosts in the bucket only (their identities must exist). */
  admit(hostIds: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface TestNatsOptions {
  dir: string;
  /** Hosts to issue identities for and admit. */
  hosts?: string[];
  /** Cluster size (3 for a JetStream R3 cluster); omitted = one node. */
  cluster?: number;
  /** Bind address (the lab's root address for lab agents). */
  host?: string;
  /** JetStream file store limit of a single node (the chaos suite's full-store fault). */
  maxFileStoreBytes?: number;
}

export async function startTestNats(o: TestNatsOptions): Promise<TestNats> {
  const creds = issueNatsCredentials(path.join(o.dir, 'nats-creds'));
  for (const h of o.hosts ?? []) creds.addHost(h);
  const coordinatorAuth = creds.coordinatorAuth();
  const as = natsAuthOptions(coordinatorAuth);
  const nodes = o.cluster
    ? await startNatsCluster({ dir: path.join(o.dir, 'nats'), size: o.cluster, host: o.host, auth: { users: creds.users() }, connectAs: as })
    : [await startNatsServer({ dir: path.join(o.dir, 'nats'), host: o.host, auth: { users: creds.users() }, maxFileStoreBytes: o.maxFileStoreBytes })];
  const urls = nodes.map((n) => n.url);
  const replicas = o.cluster ?? 1;
  const tn: TestNats = {
    nodes,
    node: nodes[0]!,
    urls,
    creds,
    coordinatorAuth,
    hostAuth: (id) => creds.hostAuth(id),
    connect: (opts = {}) => connect({ servers: urls, ...as, ...opts }),
    async admit(hostIds) {
      if (hostIds.length === 0) return;
      const nc = await tn.connect();
      try {
        await admitHostsOver(
          nc,
          replicas,
          hostIds.map((h) => ({ hostId: h, nkey: creds.hosts.get(h)?.publicKey ?? '' })),
          'test',
        );
      } finally {
        await nc.close();
      }
    },
    async addHosts(hostIds) {
      for (const h of hostIds) creds.addHost(h);
      await Promise.all(nodes.map((n) => n.setUsers(creds.users())));
      await tn.admit(hostIds);
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    await tn.admit(o.hosts ?? []);
  } catch (err) {
    await tn.stop();
    throw err;
  }
  return tn;
}
