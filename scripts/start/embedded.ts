// The embedded default of `npm start`: a whole drydock on one machine, made
// of the real parts — a nats-server on the lab's root address, a coordinator
// with the maintenance engine (in this process), a 3-host lab of real
// libvirtds with one real drydock-agent process per host, a zone holding the
// three hosts, and a handful of real QEMU guests. Torn down by pid, in the
// reverse order of start, whatever step start-up reached.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { connect } from 'nats';
import { destination } from 'pino';
import { createLogger } from '../../common/logging.ts';
import { createLab, type DefinedGuest, type GuestSpec, type Lab } from '../lab/index.ts';
import { startNatsServer, type NatsNode } from '../../common/nats-server.ts';
import { redactUrl } from '../../common/redact.ts';
import { issueNatsCredentials, type NatsCredentials } from '../../common/nats-credentials.ts';
import { admitHostsOver } from '../../coordinator/admission.ts';
import { natsAuthOptions } from '../../common/nats-auth.ts';
import { labCoordinatorTls, startLabAgents, type LabAgent } from '../../harness/lab-agents.ts';
import { compileConfig } from '../../coordinator/config.ts';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../../coordinator/auth/tokens.ts';
import { maintenanceModule, type MaintenanceModule } from '../../coordinator/operations/module.ts';
import { zoneCpuModule } from '../../coordinator/zone-cpu/module.ts';
import { AdminApi } from '../../cli/client.ts';
import { cleanPreviousRun, processRef, removeRunRecord, writeRunRecord, type RunRecord } from './run-record.ts';
import { poll } from './poll.ts';

export const ZONE_ID = 'lab';
export const DEFAULT_ADMIN_PORT = 7443;
export const AGENT_METRICS_PORT = 9465;

/** The guests: three on h1 (the host the demo drains) covering each kind of move, one on h2. */
export const GUESTS: (GuestSpec & { host: string; role: string })[] = [
  { host: 'h1', name: 'web-1', memoryMiB: 128, fillMiB: 32, hotMigration: true, role: 'live' },
  { host: 'h1', name: 'db-1', memoryMiB: 128, fillMiB: 16, hotMigration: true, localDiskMiB: 32, role: 'live, its local disk copied' },
  { host: 'h1', name: 'batch-1', memoryMiB: 128, fillMiB: 8, hotMigration: false, role: 'hot migration off: moves cold' },
  { host: 'h2', name: 'web-2', memoryMiB: 128, fillMiB: 16, hotMigration: true, role: 'live, stays on h2' },
];

export interface EmbeddedOptions {
  /** Generated files, logs, NATS data, the admin token. */
  stateDir: string;
  lab: string;
  subnet: number;
  /** Admin API port on 127.0.0.1; undefined = 7443 if free, else any free port; 0 = any free port. */
  port?: number;
  log: (line: string) => void;
  signal: AbortSignal;
}

export interface Embedded {
  lab: Lab;
  address: string;
  /** The coordinator's Prometheus endpoint, and each agent's. */
  metricsUrls: { coordinator: string; agents: string[] };
  token: string;
  tokenFile: string;
  natsUrl: string;
  guests: DefinedGuest[];
  api: AdminApi;
  agents: LabAgent[];
  /** Processes started, for the operator (and the test that checks none is left). */
  pids(): Promise<{ nats: number; agents: number[]; libvirtd: number[]; qemu: number[] }>;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** What start-up has started, undone in reverse order by stop(). */
type UndoStack = { what: string; fn: () => Promise<unknown> | unknown }[];

/**
 * The teardown: every started part stopped in the reverse order of start,
 * each failure collected (one failing step must not leave the rest running),
 * then the run record removed. Idempotent: a second call returns the first's promise.
 */
function teardown(undo: UndoStack, stateDir: string, log: (line: string) => void): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      const errors: string[] = [];
      for (const step of undo.reverse()) {
        const t = performance.now();
        try {
          await step.fn();
        } catch (err) {
          errors.push(`${step.what}: ${(err as Error).message}`);
        }
        // A slow step is worth a line: the operator is waiting on it.
        const ms = performance.now() - t;
        if (ms > 1000) log(`  ${step.what} stopped in ${(ms / 1000).toFixed(1)} s`);
      }
      await removeRunRecord(stateDir);
      if (errors.length) throw new Error(`teardown: ${errors.join('; ')}`);
    })());
}

/**
 * The nats-server on the lab's root address: agents inside the lab hosts
 * publish to it. Authenticated as in production: the coordinator's nkey and
 * one per host, each host allowed to publish on its own subjects only.
 */
async function startLabNats(
  o: EmbeddedOptions,
  lab: Lab,
  natsDir: string,
  undo: UndoStack,
  rec: RunRecord,
): Promise<{ nats: NatsNode; creds: NatsCredentials }> {
  const creds = issueNatsCredentials(
    path.join(natsDir, 'credentials'),
    lab.hosts.map((h) => h.name),
  );
  const nats: NatsNode = await startNatsServer({ dir: natsDir, host: lab.rootIp, auth: { users: creds.users() } });
  undo.push({ what: 'nats-server', fn: () => nats.stop() });
  rec.nats = await processRef(nats.pid);
  await writeRunRecord(o.stateDir, rec);
  o.log(`nats-server (JetStream) ${redactUrl(nats.url)}, pid ${nats.pid}; nkey identities in ${creds.dir}`);
  // The lab hosts are admitted up front (their identities were just issued),
  // as `drydock-coordinator issue-host-credentials` would do for each.
  const nc = await connect({ servers: nats.url, ...natsAuthOptions(creds.coordinatorAuth()) });
  try {
    await admitHostsOver(
      nc,
      1,
      [...creds.hosts].map(([hostId, id]) => ({ hostId, nkey: id.publicKey })),
      'npm start',
    );
  } finally {
    await nc.close();
  }
  return { nats, creds };
}

/** A fresh admin token in a 0600 file; users.yaml holds only its hash, as in production (deploy/examples/users.yaml). */
async function writeAdminToken(stateDir: string): Promise<{ token: string; tokenFile: string; usersFile: string }> {
  const token = randomBytes(24).toString('hex');
  const tokenFile = path.join(stateDir, 'admin.token');
  const usersFile = path.join(stateDir, 'users.yaml');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  await chmod(tokenFile, 0o600);
  await writeFile(usersFile, `users:\n  admin:\n    tokenSha256: ${hashTokenSha256(token)}\n    roles: [admin]\n`, { mode: 0o600 });
  return { token, tokenFile, usersFile };
}

/** The coordinator in this process, with the maintenance and zone CPU modules, logging into coordinator.log; its stop is pushed on `undo`, its address into the run record. */
async function startLabCoordinator(
  o: EmbeddedOptions,
  nats: NatsNode,
  creds: NatsCredentials,
  usersFile: string,
  undo: UndoStack,
  rec: RunRecord,
): Promise<{ coord: Coordinator; address: string }> {
  const port = o.port ?? ((await portFree(DEFAULT_ADMIN_PORT)) ? DEFAULT_ADMIN_PORT : 0);
  const coordinatorLog = path.join(o.stateDir, 'coordinator.log');
  // The daemons' logger (common/logging.ts: secrets redacted), into the file.
  const logger = createLogger('drydock-coordinator', 'info', destination({ dest: coordinatorLog, sync: true }));
  // Zone CPU plugs into placement (CompareCpu on targets) and recomputes
  // the zone baseline when a host returns from maintenance.
  const z = zoneCpuModule({});
  const m: MaintenanceModule = maintenanceModule({ pollIntervalMs: 250, rebootTimeoutMs: 120_000, cpu: z.placement });
  const config = compileConfig(
    {
      coordinatorId: 'start-c1',
      admin: { listen: `127.0.0.1:${port}` },
      metrics: { listen: '127.0.0.1:0' },
      auth: { tokenFile: usersFile },
      nats: { servers: [nats.url], ...creds.coordinatorAuth(), kvReplicas: 1 },
      // The lab CA's coordinator certificate; each agent's must name its host.
      agents: { tls: await labCoordinatorTls() },
      inventory: { offlineAfter: '10s', reconcileInterval: '5s' },
      logLevel: 'info',
    },
    {},
  );
  const coord: Coordinator = await startCoordinator(config, {
    logger,
    beforeServe: async (deps) => {
      await m.beforeServe(deps);
      await z.beforeServe(deps);
    },
    handlerGroups: (deps) => [...m.handlerGroups(deps), ...z.handlerGroups(deps)],
  });
  undo.push({
    what: 'coordinator',
    fn: async () => {
      await z.stop();
      await m.stop();
      await coord.stop();
    },
  });
  const address = `127.0.0.1:${coord.port}`;
  rec.address = address;
  await writeRunRecord(o.stateDir, rec);
  o.log(`coordinator: admin API ${address} (log ${coordinatorLog})`);
  return { coord, address };
}

/** Once the three hosts are online: the zone, in extended CPU mode, holding them. */
async function setUpZone(o: EmbeddedOptions, api: AdminApi, lab: Lab): Promise<void> {
  await poll('3 hosts online', async () => (await api.call('ListHosts', {})).hosts?.filter((h) => h.online).length === 3, {
    timeoutMs: 60_000,
    signal: o.signal,
  });
  await api.call('CreateZone', { zone_id: ZONE_ID, name: 'lab zone', description: 'the three lab hosts', cpu_mode: 'CPU_MODE_EXTENDED' });
  for (const h of lab.hosts) await api.call('UpdateHost', { host_id: h.name, zone_id: ZONE_ID });
  o.log(`zone ${ZONE_ID} (CPU mode extended: one zone CPU model, the baseline of its hosts): ${lab.hosts.map((h) => h.name).join(', ')}`);
}

/** The defined guests, once the inventory lists them all and each has printed two heartbeats (it booted). */
async function guestsReady(o: EmbeddedOptions, api: AdminApi, lab: Lab, booting: Promise<DefinedGuest[]>): Promise<DefinedGuest[]> {
  const { signal } = o;
  const guests = await booting;
  await poll(`${GUESTS.length} guests in the inventory`, async () => ((await api.call('ListServers', {})).servers?.length ?? 0) >= GUESTS.length, {
    timeoutMs: 60_000,
    signal,
  });
  o.log('waiting for the guests to boot (each prints a heartbeat every second on its serial console)');
  await Promise.all(guests.map((g) => lab.waitForHeartbeats(g.name, { count: 2, timeoutMs: 120_000, signal })));
  return guests;
}

/** The pids of what runs now, for Embedded.pids(). */
async function embeddedPids(
  nats: NatsNode,
  agents: LabAgent[],
  lab: Lab,
  guests: DefinedGuest[],
): Promise<{ nats: number; agents: number[]; libvirtd: number[]; qemu: number[] }> {
  return {
    nats: nats.pid,
    agents: agents.map((a) => a.pid),
    libvirtd: (await Promise.all(lab.hosts.map((h) => h.libvirtdPid()))).filter((p): p is number => p !== null),
    // Where each guest runs now: libvirt's pid file on that host.
    qemu: (
      await Promise.all(
        lab.hosts.flatMap((h) =>
          guests.map((g) =>
            readFile(h.path(`/run/libvirt/qemu/${g.name}.pid`), 'utf8').then(
              (t) => Number(t.trim()),
              () => 0,
            ),
          ),
        ),
      )
    ).filter((p) => p > 0),
  };
}

/**
 * Starts everything; on failure or abort, tears down what was started and
 * rethrows. The returned stop() is idempotent.
 */
export async function startEmbedded(o: EmbeddedOptions): Promise<Embedded> {
  const { log, signal } = o;
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  await mkdir(o.stateDir, { recursive: true });
  await cleanPreviousRun(o.stateDir, log);

  const rec: RunRecord = { owner: (await processRef(process.pid))!, lab: o.lab, startedAt: new Date().toISOString() };
  // Written before anything starts: a crash at any later point leaves a record.
  await writeRunRecord(o.stateDir, rec);

  const undo: UndoStack = [];
  const stop = teardown(undo, o.stateDir, log);
  const check = () => {
    if (signal.aborted) throw new Error('interrupted');
  };

  try {
    // A fresh JetStream store each run: hosts and operations of a previous
    // lab would only confuse the inventory.
    const natsDir = path.join(o.stateDir, 'nats');
    const agentsDir = path.join(o.stateDir, 'agents');
    await rm(natsDir, { recursive: true, force: true });
    await rm(agentsDir, { recursive: true, force: true });

    log(`creating lab ${o.lab}: 3 hosts (libvirtd each) in network namespaces on 10.99.${o.subnet}.0/24`);
    const lab = await createLab({ hosts: 3, name: o.lab, subnet: o.subnet });
    undo.push({ what: 'lab', fn: () => lab.destroy() });
    check();

    const { nats, creds } = await startLabNats(o, lab, natsDir, undo, rec);
    check();

    // Guests boot (TCG, ~10-20 s) while the agents and the coordinator start.
    log(`defining ${GUESTS.length} guests: ${GUESTS.map((g) => `${g.name} on ${g.host}`).join(', ')}`);
    const booting = Promise.all(GUESTS.map(({ host, role: _role, ...spec }) => lab.defineGuest(host, spec)));
    booting.catch(() => undefined);

    // Each agent serves Prometheus metrics inside its host, on the host's
    // address so the root namespace can scrape it: plain HTTP, asked for by
    // name (metrics.insecure). The gRPC API is mutual TLS (harness/lab-agents.ts).
    const agents = await startLabAgents(lab, {
      dir: agentsDir,
      natsUrl: nats.url,
      natsAuth: creds.hostAuth,
      config: { metrics: { listen: `0.0.0.0:${AGENT_METRICS_PORT}`, insecure: true } },
    });
    undo.push({ what: 'agents', fn: () => Promise.allSettled(agents.map((a) => a.stop())) });
    log(`agents: ${agents.map((a) => `${a.host.name} ${a.endpoint} pid ${a.pid}`).join(', ')} (logs in ${agentsDir})`);
    check();

    const { token, tokenFile, usersFile } = await writeAdminToken(o.stateDir);
    const { coord, address } = await startLabCoordinator(o, nats, creds, usersFile, undo, rec);

    const api = new AdminApi({ address, token, caFile: '', certFile: '', keyFile: '', serverName: '', timeoutMs: 15_000, configFile: '' });
    undo.push({ what: 'admin client', fn: () => api.close() });
    await setUpZone(o, api, lab);

    const guests = await guestsReady(o, api, lab, booting);
    log(`ready in ${since()}`);

    return {
      lab,
      address,
      metricsUrls: {
        coordinator: `http://127.0.0.1:${coord.metricsPort}/metrics`,
        agents: lab.hosts.map((h) => `http://${h.ip}:${AGENT_METRICS_PORT}/metrics`),
      },
      token,
      tokenFile,
      natsUrl: nats.url,
      guests,
      api,
      agents,
      pids: () => embeddedPids(nats, agents, lab, guests),
      stop,
    };
  } catch (err) {
    await stop().catch((e: Error) => log(`teardown after a failed start: ${e.message}`));
    throw err;
  }
}
