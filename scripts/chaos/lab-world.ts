// The chaos suite's lab world: a 3-host lab (scripts/lab, named `lchaos`,
// subnet 61) with real libvirtds and QEMU guests on h1, one real agent
// process per host (harness/lab-agents.ts), a real nats-server on the lab's
// root address, and a coordinator as a real child process. Faults act on
// real things: an agent killed by its pid, a host's veth taken down. The
// end-of-trial view is libvirt's own (./libvirt-state.ts).
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createLab, setHostLink, type Lab } from '../lab/index.ts';
import { startTestNats } from '../../harness/test-nats.ts';
import { labCoordinatorTls, startLabAgents, type LabAgent } from '../../harness/lab-agents.ts';
import { spawnCoordinator, type CoordinatorProcess } from '../../harness/coordinator-process.ts';
import { TestAdminClient, tempDir, waitFor } from '../../harness/coordinator-helpers.ts';
import { ADMIN_TOKEN, writeTokenFile } from '../../harness/maintenance-world.ts';
import type { DrainWorld } from './drain.ts';
import type { Expectations, SimState } from './invariants.ts';
import { agentRecords, EventWatch, readHost, readLibvirtState, type LifecycleEvent } from './libvirt-state.ts';

/** The one lab name and subnet the chaos suite uses (distinct from every lab test's). */
export const LAB_NAME = 'lchaos';
export const LAB_SUBNET = 61;
export const LAB_SOURCE = 'h1';
/** The lab agents' state directory inside a host (harness/lab-agents.ts labAgentConfig). */
const AGENT_STATE_DIR = '/var/lib/libvirt/drydock-agent';
const ZONE = 'lab';
const RESERVE = 1024 ** 3;

export interface LabGuestSpec {
  name: string;
  /** false: cold-only (the drain shuts it down, moves it, starts it again). */
  hotMigration: boolean;
}

export interface LabWorld extends DrainWorld {
  lab: Lab;
  agents: LabAgent[];
  coordinators: { id: string; proc: CoordinatorProcess }[];
  guests: { name: string; uuid: string }[];
  agent(hostId: string): LabAgent;
  /** SIGKILL to the agent's pid; resolves with that pid once the process is gone. */
  killAgent(hostId: string): Promise<number>;
  /** Starts the agent again with its config and waits until it answers. */
  restartAgent(hostId: string): Promise<void>;
  /** Cuts (false) or restores (true) a host's link. */
  setLink(hostId: string, up: boolean): Promise<void>;
  /** The lifecycle events libvirt emitted on every host since the drain began. */
  events(): LifecycleEvent[];
  /** What libvirt and the agents' records say now. */
  state(): Promise<SimState>;
  expectations(opts: { drained: boolean }): Expectations;
  /** Per phase of the set-up, in ms (for the report: where a lab trial's time goes). */
  setupMs: Record<string, number>;
  close(): Promise<void>;
}

export async function startLabWorld(guestSpecs: LabGuestSpec[], log: (m: string) => void = () => undefined): Promise<LabWorld> {
  const dir = tempDir('chaos-lab');
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const f of cleanup.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
    cleanup.length = 0;
  };
  const setupMs: Record<string, number> = {};
  let t = Date.now();
  const mark = (phase: string) => {
    setupMs[phase] = Date.now() - t;
    t = Date.now();
  };
  try {
    const lab = await createLab({ hosts: 3, name: LAB_NAME, subnet: LAB_SUBNET });
    cleanup.push(() => lab.destroy());
    // Started first: a watcher is surely listening by the time the drain begins.
    const watch = new EventWatch(lab.hosts);
    cleanup.push(() => watch.stop());
    const hostIds = lab.hosts.map((h) => h.name);
    const nats = await startTestNats({ dir, host: lab.rootIp, hosts: hostIds });
    cleanup.push(() => nats.stop());
    mark('lab and NATS');
    const booting = Promise.all(guestSpecs.map((g) => lab.defineGuest(LAB_SOURCE, { name: g.name, memoryMiB: 128, fillMiB: 8, hotMigration: g.hotMigration })));
    booting.catch(() => undefined); // awaited below; a failure elsewhere first must not leave it unhandled
    const configFile = path.join(dir, 'coordinator.yaml');
    writeFileSync(
      configFile,
      toYaml({
        coordinatorId: 'lchaos-c1',
        admin: { listen: '127.0.0.1:0' },
        auth: { tokenFile: writeTokenFile(dir) },
        nats: { servers: nats.urls, ...nats.coordinatorAuth, kvReplicas: 1, requestTimeout: '3s' },
        leader: { ttl: '2s', renewInterval: '300ms' },
        inventory: { offlineAfter: '10s', reconcileInterval: '3s' },
        agents: { tls: await labCoordinatorTls(), callTimeout: '5s' },
        logLevel: 'info',
      }),
      { mode: 0o600 },
    );
    // The agents and the coordinator start side by side (each is a tsx process: seconds of start-up on 2 cores).
    const [agentsSettled, procSettled] = await Promise.allSettled([
      startLabAgents(lab, { dir, natsUrl: nats.urls[0], natsAuth: nats.hostAuth, startTimeoutMs: 180_000 }),
      spawnCoordinator(configFile, {}, 90_000),
    ]);
    if (procSettled.status === 'fulfilled') cleanup.push(() => procSettled.value.stop(3000));
    if (agentsSettled.status === 'fulfilled') cleanup.push(() => Promise.allSettled(agentsSettled.value.map((a) => a.stop())).then(() => undefined));
    if (agentsSettled.status === 'rejected') throw agentsSettled.reason;
    if (procSettled.status === 'rejected') throw procSettled.reason;
    const agents = agentsSettled.value;
    const proc = procSettled.value;
    const defined = await booting;
    mark('agents and coordinator');
    const client = new TestAdminClient(proc.port);
    cleanup.push(() => client.close());
    const call = <T = any>(method: string, req: object, timeoutMs = 30_000): Promise<T> => {
      if (proc.exited) return Promise.reject(new Error('the coordinator process exited'));
      return client.call<T>(method, req, { token: ADMIN_TOKEN, timeoutMs });
    };
    await waitFor('3 lab hosts online', async () => (await call('ListHosts', {})).hosts.filter((h: any) => h.online).length === 3, 60_000, 250);
    await call('CreateZone', {
      zone_id: ZONE,
      name: ZONE,
      cpu_mode: 'CPU_MODE_DEFAULT',
      policy: { max_migrations_per_source: 2, max_migrations_per_zone: 2, max_incoming_per_target: 1, max_attempts_per_server: 3 },
    });
    for (const h of hostIds) await call('UpdateHost', { host_id: h, zone_id: ZONE });
    await waitFor(
      `${defined.length} guests known`,
      async () => (await call('ListServers', { host_id: LAB_SOURCE })).servers.length === defined.length,
      60_000,
      250,
    );
    await proc.waitForLog((l) => l.msg === 'leading: resuming unfinished operations', 30_000);
    mark('coordinator');
    // Booted far enough to answer ACPI (a cold move shuts the guest down first).
    await Promise.all(defined.map((g) => lab.waitForHeartbeats(g.name, { count: 1, timeoutMs: 180_000 })));
    mark('guests booted');
    if (!watch.alive) throw new Error('a libvirt event watcher exited before the drain');
    log(`lab world up: ${JSON.stringify(setupMs)}`);

    // Where every guest is as the drain begins: the start of the event history that counts.
    const since = Date.now();
    const initial = new Map<string, string>();
    for (const h of lab.hosts) for (const s of (await readHost(h)).servers) initial.set(s.name, h.name);
    const uuidOf = new Map(defined.map((g) => [g.name, g.uuid]));
    const agentOf = (hostId: string) => {
      const a = agents.find((x) => x.host.name === hostId);
      if (!a) throw new Error(`no lab agent on ${hostId}`);
      return a;
    };
    const world: LabWorld = {
      lab,
      agents,
      coordinators: [{ id: 'lchaos-c1', proc }],
      guests: defined.map((g) => ({ name: g.name, uuid: g.uuid })),
      source: LAB_SOURCE,
      call,
      setupMs,
      migrating: async () => (await agentRecords(lab.hosts, AGENT_STATE_DIR)).some((m) => m.finishedAtMs <= 0),
      agent: agentOf,
      async killAgent(hostId) {
        const a = agentOf(hostId);
        const child = a.child;
        const pid = a.pid;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent on ${hostId} is not running`);
        const gone = once(child, 'exit');
        process.kill(pid, 'SIGKILL');
        await gone;
        return pid;
      },
      restartAgent: (hostId) => agentOf(hostId).start(),
      setLink: (hostId, up) => setHostLink(lab.net, hostId, up),
      events: () => watch.events.filter((e) => e.atMs >= since),
      state: () => readLibvirtState(lab, world.events(), initial, uuidOf, AGENT_STATE_DIR),
      expectations: ({ drained }) => ({
        servers: defined.map((g) => ({ uuid: g.uuid, name: g.name, state: 'SERVER_STATE_RUNNING' })),
        forbidden: drained ? [{ hostId: LAB_SOURCE, reason: 'in maintenance' }] : [],
        memoryReserveBytes: RESERVE,
        cpuOvercommitRatio: 4,
        capacityExempt: [LAB_SOURCE],
      }),
      close: async () => {
        // The links are back before the lab goes (destroy deletes them anyway).
        for (const h of hostIds) await setHostLink(lab.net, h, true).catch(() => undefined);
        await close();
      },
    };
    return world;
  } catch (err) {
    await close();
    throw err;
  }
}
