// One batch of sim agents for bench/telemetry.ts, in a process of its own so
// the coordinator's CPU and memory are measured alone. Each agent: a real
// gRPC server on 127.0.0.1:0, a real NATS connection with its host's own
// nkey, a heartbeat every heartbeatMs, and `servers` sim servers. Prints
// "ready <n>" once every agent started, then runs until SIGTERM.
//
//   npx tsx bench/telemetry-agents.ts <spec.json: {natsUrl, credsDir, hostIds, servers, heartbeatMs}>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSimAgents } from '../harness/sim-cluster.ts';

interface BatchSpec {
  natsUrl: string;
  /** issueNatsCredentials' directory: seeds at <credsDir>/hosts/<id>.nk. */
  credsDir: string;
  hostIds: string[];
  servers: number;
  heartbeatMs: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BatchSpec;
const GiB = 2 ** 30;
const sims = await startSimAgents({
  count: spec.hostIds.length,
  hostIds: spec.hostIds,
  natsUrl: spec.natsUrl,
  natsAuth: (hostId) => ({ nkeySeedFile: path.join(spec.credsDir, 'hosts', `${hostId}.nk`) }),
  heartbeatIntervalMs: spec.heartbeatMs,
  hostOptions: () => ({ memoryTotalBytes: 256 * GiB }),
});
for (const a of sims.agents) {
  for (let i = 0; i < spec.servers; i++) a.sim.addServer({ name: `${a.hostId}-vs${i}`, memoryBytes: 2 * GiB, vcpus: 2 });
}
process.stdout.write(`ready ${sims.agents.length}\n`);
const stop = () => {
  void sims.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
