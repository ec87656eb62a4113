// The live flow logs how long the hypervisor's job took as the agent waited
// for it ("live migration job ended", jobMs): bench/migration-wall.ts takes
// the agent's own time as the migration's time less this. Sim hypervisor, a
// real migration manager, its real (pino) log.
import test from 'ava';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimFabric } from '../harness/sim/fabric.ts';
import { migrationRequest, openSimManager } from '../harness/sim-migrations.ts';
import { createLogger } from '../common/logging.ts';
import type { LiveMigrationSpec } from '../agent/hypervisor/hypervisor.ts';

test("the live flow logs the hypervisor job's time, within the migration's and at least the job's own", async (t) => {
  const fabric = new SimFabric({ bandwidthBps: 256 * 1024 ** 2, setupMs: 20 });
  const a = fabric.addHost({ hostId: 'ja' });
  const b = fabric.addHost({ hostId: 'jb' });
  // The job takes at least JOB_MS more than the sim's own move.
  const JOB_MS = 400;
  const migrateLive = a.migrateLive.bind(a);
  a.migrateLive = async (spec: LiveMigrationSpec) => {
    await sleep(JOB_MS);
    return migrateLive(spec);
  };
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const mgr = await openSimManager(t, fabric, a, { pollInterval: '50ms', log: createLogger('agent', 'info', sink) });
  const vs = a.addServer({ name: 'job-time', memoryBytes: 32 * 1024 ** 2 });
  const t0 = performance.now();
  await mgr.start(migrationRequest('jt-1', vs.uuid, b));
  t.is((await mgr.wait('jt-1')).phase, 'MIGRATION_PHASE_COMPLETED');
  const wall = performance.now() - t0;
  const ended = lines.filter((l) => l.msg === 'live migration job ended');
  t.is(ended.length, 1, 'one "live migration job ended" line');
  const line = ended[0]!;
  t.is(line.migrationId, 'jt-1');
  t.is(line.level, 30, 'logged at info, the agent’s default level');
  const jobMs = line.jobMs as number;
  t.true(typeof jobMs === 'number' && jobMs >= JOB_MS - 1, `jobMs ${jobMs} covers the job (≥ ${JOB_MS} ms)`);
  t.true(jobMs <= wall, `jobMs ${jobMs} within the migration's ${wall.toFixed(0)} ms`);
});
