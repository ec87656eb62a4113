// A whole drydock on one machine for maintenance tests: a real nats-server,
// N sim agents (real gRPC servers + NATS clients in this process), a real
// coordinator with the maintenance engine, and an admin client with a token
// holding every permission.
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from './test-nats.ts';
import { startSimAgents, type SimAgents, type SimAgentsOptions } from './sim-cluster.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { maintenanceModule, type MaintenanceModule, type MaintenanceModuleOptions } from '../coordinator/operations/module.ts';
import { zoneCpuModule, type ZoneCpuModule, type ZoneCpuModuleOptions } from '../coordinator/zone-cpu/module.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { PERMISSIONS } from '../coordinator/auth/permissions.ts';
import { TestAdminClient, tempDir, testConfig, waitFor } from './coordinator-helpers.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface World {
  dir: string;
  nats: NatsNode;
  /** Every NATS node (one unless natsCluster). */
  natsNodes: NatsNode[];
  sims: SimAgents;
  coordinator: Coordinator;
  maintenance: MaintenanceModule;
  /** The zone CPU module of the first coordinator (null unless WorldOptions.zoneCpu). */
  zoneCpu: ZoneCpuModule | null;
  admin: TestAdminClient;
  call<T = any>(method: string, req: object): Promise<T>;
  /** The first coordinator's Prometheus text (GET /metrics). */
  metrics(): Promise<string>;
  /** Starts a second coordinator instance on the same NATS. */
  startCoordinator(id: string): Promise<{ coordinator: Coordinator; maintenance: MaintenanceModule; admin: TestAdminClient }>;
  /** Restarts the first coordinator (after its stop). */
  close(): Promise<void>;
}

export interface WorldOptions {
  hosts: number;
  sim?: Partial<SimAgentsOptions>;
  maintenance?: MaintenanceModuleOptions;
  /** Plug the zone CPU module in (placement, GetZoneCpu/RecomputeZoneCpu, member watch). */
  zoneCpu?: ZoneCpuModuleOptions | true;
  offlineAfter?: string;
  reconcileInterval?: string;
  /** NATS cluster size (3: JetStream R3); each coordinator then connects to its own node first. */
  natsCluster?: number;
}

export function writeTokenFile(dir: string): string {
  const file = path.join(dir, 'users.yaml');
  writeFileSync(
    file,
    `users:\n  admin:\n    tokenSha256: ${hashTokenSha256(ADMIN_TOKEN)}\n    permissions: [${PERMISSIONS.map((p) => JSON.stringify(p)).join(', ')}]\n`,
  );
  return file;
}

export async function startWorld(o: WorldOptions): Promise<World> {
  const dir = tempDir('world');
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const f of cleanup.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
  };
  try {
    // Every sim host gets its own NATS identity and is admitted.
    const hostIds = o.sim?.hostIds ?? Array.from({ length: o.hosts }, (_, i) => `${o.sim?.hostIdPrefix ?? 'sim'}-${i + 1}`);
    const tn = await startTestNats({ dir, hosts: hostIds, ...(o.natsCluster ? { cluster: o.natsCluster } : {}) });
    const nats = tn.node;
    cleanup.push(() => tn.stop());
    const sims = await startSimAgents({ count: o.hosts, natsUrl: tn.urls, natsAuth: tn.hostAuth, heartbeatIntervalMs: 500, ...o.sim });
    cleanup.push(() => sims.stop());
    const tokenFile = writeTokenFile(dir);
    const instances: { c: Coordinator; m: MaintenanceModule; a: TestAdminClient }[] = [];
    const launch = async (id: string) => {
      const z = o.zoneCpu ? zoneCpuModule(o.zoneCpu === true ? {} : o.zoneCpu) : null;
      const m = maintenanceModule({
        pollIntervalMs: 200,
        rebootTimeoutMs: 30_000,
        settlePauseOverrideS: 1,
        ...o.maintenance,
        ...(z ? { cpu: z.placement } : {}),
      });
      const config = testConfig({
        id,
        // Instance k connects to node k first (reads served by any node).
        natsServers: [...tn.urls.slice(instances.length % tn.urls.length), ...tn.urls.slice(0, instances.length % tn.urls.length)],
        natsAuth: tn.coordinatorAuth,
        kvReplicas: o.natsCluster ?? 1,
        tokenFile,
        offlineAfter: o.offlineAfter ?? '3s',
        reconcileInterval: o.reconcileInterval ?? '2s',
        leaderTtl: '2s',
        leaderRenew: '300ms',
      });
      config.metrics.listen = '127.0.0.1:0';
      const c = await startCoordinator(
        config,
        z
          ? {
              beforeServe: async (deps) => {
                await m.beforeServe(deps);
                await z.beforeServe(deps);
              },
              handlerGroups: (deps) => [...m.handlerGroups(deps), ...z.handlerGroups(deps)],
              modules: [{ endStreams: () => m.endStreams() }],
            }
          : // Its streams end on shutdown as in production (coordinator/main.ts passes the module whole).
            { beforeServe: m.beforeServe, handlerGroups: m.handlerGroups, modules: [{ endStreams: () => m.endStreams() }] },
      );
      const a = new TestAdminClient(c.port);
      instances.push({ c, m, a });
      cleanup.push(async () => {
        a.close();
        await z?.stop();
        await m.stop();
        await c.stop();
      });
      return { coordinator: c, maintenance: m, zoneCpu: z, admin: a };
    };
    const first = await launch('c1');
    await waitFor(
      `${o.hosts} hosts registered`,
      async () => {
        const res = await first.admin.call('ListHosts', {}, { token: ADMIN_TOKEN });
        return res.hosts.length === o.hosts && res.hosts.every((h: { online: boolean }) => h.online);
      },
      30_000,
      200,
    );
    return {
      dir,
      nats,
      natsNodes: tn.nodes,
      sims,
      coordinator: first.coordinator,
      maintenance: first.maintenance,
      zoneCpu: first.zoneCpu,
      admin: first.admin,
      call: (method, req) => first.admin.call(method, req, { token: ADMIN_TOKEN, timeoutMs: 20_000 }),
      metrics: async () => (await fetch(`http://127.0.0.1:${first.coordinator.metricsPort}/metrics`)).text(),
      startCoordinator: launch,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Polls an operation until it reaches one of `states`. */
export async function waitForOperation(w: { call: World['call'] }, opId: string, states: string[], timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `operation ${opId} in ${states.join('/')}`,
    async () => {
      const op = await w.call('GetOperation', { operation_id: opId });
      return states.includes(op.state) ? op : null;
    },
    timeoutMs,
    200,
  );
}
