// The coordinator's MigrateServer stream (coordinator/agent-client.ts): a
// caller that stops at the terminal event lets the agent end the call
// instead of cancelling it. A cancel makes grpc-js build a CANCELLED error
// and format its stack (source-mapped: ~1.5 ms of CPU per migration, a few
// % of a drain's). Real gRPC against sim agents.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startSimAgents } from '../harness/sim-cluster.ts';
import { AgentClientPool, type AgentClientOptions } from '../coordinator/agent-client.ts';

const plain: AgentClientOptions = { callTimeoutMs: 5000, tls: { caFile: '', certFile: '', keyFile: '' } };
const MiB = 1024 ** 2;

/** Messages of the errors whose stack is formatted while `run` runs (Error.prepareStackTrace sees each). */
async function stacksFormatted(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const before = Error.prepareStackTrace;
  Error.prepareStackTrace = (err, frames) => {
    seen.push(String((err as Error).message));
    return before ? before(err, frames) : `${String(err)}\n${frames.map((f) => `    at ${String(f)}`).join('\n')}`;
  };
  try {
    await run();
  } finally {
    Error.prepareStackTrace = before;
  }
  return seen;
}

test('a caller that stops at the terminal event does not cancel the call: no CANCELLED error is built', async (t) => {
  const sims = await startSimAgents({ count: 2, hostIds: ['stream-1', 'stream-2'], fabricOptions: { bandwidthBps: 64 * 1024 * MiB, setupMs: 0, tickMs: 1 } });
  t.teardown(() => sims.stop());
  const pool = new AgentClientPool(plain, 60_000);
  t.teardown(() => pool.closeAll());
  const [src, dst] = [sims.byId('stream-1'), sims.byId('stream-2')];
  const client = pool.forHost(src.hostId, src.endpoint);
  const phases: string[] = [];
  const formatted = await stacksFormatted(async () => {
    for (let k = 0; k < 3; k++) {
      const server = src.sim.addServer({ name: `s${k}`, memoryBytes: 32 * MiB });
      const req = {
        migration_id: `m-${randomUUID()}`,
        server_uuid: server.uuid,
        mode: 'MIGRATION_MODE_LIVE' as const,
        target_host_id: dst.hostId,
        target_uri: dst.migrationUri,
      };
      // As the engine follows a migration (coordinator/operations/step-runner.ts): return at the terminal event.
      for await (const ev of client.migrateServer(req, { timeoutMs: 30_000 })) {
        const phase = ev.migration?.phase ?? '';
        if (['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED'].includes(phase)) {
          phases.push(phase);
          break;
        }
      }
    }
    // A cancelled call's error is built when its status comes back: give it the time.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  t.deepEqual(phases, ['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_COMPLETED']);
  t.deepEqual(
    formatted.filter((m) => /CANCELLED/.test(m)),
    [],
  );
});
