// The fault catalogue: each fault builds its world, injects itself at a
// random point, lets the system recover, and ends with the invariant check
// read from the hypervisors (./invariants.ts). One trial = one fresh world.
import { setTimeout as sleep } from 'node:timers/promises';
import { doneSteps, timeToProgress, untilDone } from './drain.ts';
import { drainTrial, type Fault } from './trial.ts';
import { GiB, MiB, SOURCE, type World } from './world.ts';
import { runAdminFuzz } from './fuzz.ts';
import { runStoreFull } from './store-full.ts';

/** The coordinator holding the lease now (its last leadership log line says so). */
function leaderOf(w: World) {
  return w.coordinators.find((c) => {
    if (c.proc.exited) return false;
    const lead = c.proc.lines.filter((l) => l.msg === 'leading: resuming unfinished operations' || l.msg === 'no longer leading: workers detached');
    return lead.at(-1)?.msg === 'leading: resuming unfinished operations';
  });
}

export const FAULTS: Fault[] = [
  {
    name: 'baseline',
    description: 'No fault: the same drain, for reference (its duration is what the other faults cost against).',
    recovery: 'none (no fault)',
    defaultTrials: 1,
    run: (ctx) => drainTrial(ctx, { bandwidthBps: 512 * MiB }, async () => undefined),
  },
  {
    name: 'coordinator-sigkill',
    description:
      'Two coordinator processes; the leader is killed with SIGKILL at a random point of the drain (after a random number of finished steps, plus 0-500 ms); the other takes the lease and resumes by migration id.',
    recovery: 'from the SIGKILL to the next step finished (the new leader moving the drain again)',
    // Issue 12 asks for 20 trials on a 50-server drain (test/chaos.test.ts runs one small one).
    defaultTrials: 20,
    run: (ctx) =>
      drainTrial(ctx, { coordinators: 2, bandwidthBps: 256 * MiB }, async (w, opId, trial) => {
        const at = Math.floor(ctx.random() * ctx.servers * 0.8);
        const base = await untilDone(w, opId, at, () => trial.ended);
        await sleep(Math.floor(ctx.random() * 500));
        const leader = leaderOf(w);
        if (!leader) return ['no leader found to kill'];
        const inFlight = w.sims.fabric.migrations.filter((m) => m.result === 'running').length;
        // Progress is measured from what was written when the leader died, not from `base`.
        const before = doneSteps(await w.call('GetOperation', { operation_id: opId }));
        const killedAt = Date.now();
        leader.proc.signal('SIGKILL');
        trial.recoveryMs = await timeToProgress(w, opId, killedAt, before, () => trial.ended);
        return [`killed ${leader.id} after ${base} finished step(s), ${inFlight} migration(s) in flight`];
      }),
  },
  {
    name: 'migration-failures',
    description:
      '30 % of the migrations out of the drained host fail at a random point of their transfer (libvirt error); the drain retries elsewhere, and pauses with a reason when a server exhausts its attempts.',
    recovery: 'none (a rate, not an event); the drain duration against the baseline shows the cost',
    defaultTrials: 2,
    run: (ctx) =>
      drainTrial(
        ctx,
        { bandwidthBps: 512 * MiB },
        async (w) => {
          w.host(SOURCE).faults.setMigrationFaultRates({ failRate: 0.3, random: ctx.random });
        },
        (w) => w.host(SOURCE).faults.clear(),
      ),
  },
  {
    name: 'migration-stalls',
    description:
      '30 % of the migrations out of the drained host stop making progress at a random point; the zone stall timeout (2 s) makes the agent abort them, and the drain retries elsewhere.',
    recovery: 'none (a rate); the drain duration against the baseline shows the cost',
    defaultTrials: 2,
    run: (ctx) =>
      drainTrial(
        ctx,
        { bandwidthBps: 512 * MiB, policy: { stall_timeout_s: 2 } },
        async (w) => {
          w.host(SOURCE).faults.setMigrationFaultRates({ stallRate: 0.3, random: ctx.random });
        },
        (w) => w.host(SOURCE).faults.clear(),
      ),
  },
  {
    name: 'late-agents',
    description:
      'Every hypervisor query on every host (facts, server lists, migration job stats) answers 0.3-1.5 s late, so agents answer the coordinator late throughout the drain.',
    recovery: 'none (a latency); the drain duration against the baseline shows the cost',
    defaultTrials: 1,
    run: (ctx) =>
      drainTrial(ctx, { bandwidthBps: 512 * MiB }, async (w) => {
        for (const h of w.hosts()) h.faults.setLatency(300 + Math.floor(ctx.random() * 1200));
      }),
  },
  {
    name: 'nats-node-kill',
    description:
      'A 3-node NATS cluster (R3 buckets); one node, chosen at random, is killed with SIGKILL at a random point of the drain and restarted 3 s later.',
    recovery: 'from the kill to the next step finished',
    defaultTrials: 2,
    run: (ctx) =>
      drainTrial(ctx, { natsCluster: 3, bandwidthBps: 256 * MiB }, async (w, opId, trial) => {
        const base = await untilDone(w, opId, Math.floor(ctx.random() * ctx.servers * 0.8), () => trial.ended);
        const i = Math.floor(ctx.random() * w.nats.nodes.length);
        const before = doneSteps(await w.call('GetOperation', { operation_id: opId }));
        const killedAt = Date.now();
        await w.nats.nodes[i]!.kill();
        const progress = timeToProgress(w, opId, killedAt, before, () => trial.ended);
        await sleep(3000);
        await w.nats.nodes[i]!.restart();
        trial.recoveryMs = await progress;
        return [`killed NATS node n${i + 1} after ${base} finished step(s), restarted it 3 s later`];
      }),
  },
  {
    name: 'nats-store-full',
    description:
      'A single NATS node whose JetStream file store is limited (max_file_store 304 MiB, of which the audit stream reserves 256 MiB); mid-drain another stream fills the store until JetStream refuses writes, is left full for 5 s, then deleted.',
    recovery: 'from the space being freed to the next step finished',
    defaultTrials: 1,
    run: (ctx) => runStoreFull(ctx),
  },
  {
    name: 'admin-fuzz',
    description:
      'Random and malformed admin requests (wrong wire types, truncated and garbage protobuf, huge strings, repeated fields, unknown ids, shell and XML metacharacters, valid calls in the wrong state, missing/bad credentials) against a quiet world; every KV bucket compared byte for byte before and after.',
    recovery: 'none',
    defaultTrials: 1,
    run: (ctx) => runAdminFuzz(ctx),
  },
];

export { GiB };
