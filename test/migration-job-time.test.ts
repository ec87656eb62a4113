// The live flow logs how long the hypervisor's job took as the agent waited
// for it ("live migration job ended", jobMs): bench/migration-wall.ts takes
// the agent's own time as the migration's time less this. Sim hypervisor, a
// real migration manager, its real (pino) log.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimFabric } from '../harness/sim/fabric.ts';
import { compileAgentConfig } from '../agent/config.ts';
import { MigrationManager } from '../agent/migrations/manager.ts';
import { createLogger } from '../common/logging.ts';
import type { LiveMigrationSpec } from '../agent/hypervisor/hypervisor.ts';

test("the live flow logs the hypervisor job's time, within the migration's and at least the job's own", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-migration-job-time-'));
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
  const config = compileAgentConfig({
    hostId: 'ja',
    hypervisor: 'sim',
    grpc: { listenAddress: '127.0.0.1:0' },
    stateDir: dir,
    rebootCommand: ['/bin/true'],
    migration: { pollInterval: '50ms' },
    logLevel: 'info',
  });
  const mgr = new MigrationManager({ hostId: 'ja', hypervisor: a, stateDir: dir, settings: config.migration, log: createLogger('agent', 'info', sink) });
  t.teardown(async () => {
    await mgr.close(0);
    fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await mgr.open();
  const vs = a.addServer({ name: 'job-time', memoryBytes: 32 * 1024 ** 2 });
  const t0 = performance.now();
  await mgr.start({
    migration_id: 'jt-1',
    server_uuid: vs.uuid,
    mode: 'MIGRATION_MODE_LIVE',
    target_host_id: 'jb',
    target_uri: b.migrationUri,
    stall_timeout_ms: 0,
    deadline_ms: 0,
    allow_post_copy: false,
    allow_auto_converge: false,
    max_bandwidth_mibps: 0,
    shutdown_timeout_ms: 0,
  });
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
