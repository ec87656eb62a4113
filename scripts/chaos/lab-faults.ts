// The lab faults (`npm run chaos -- --lab`): real agents killed by their
// pid during real libvirt migrations, and a host's link cut mid-drain. Each
// trial is a fresh lab world and ends with the invariant check read from
// libvirt on every host (./lab-trial.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { doneSteps, timeToProgress } from './drain.ts';
import { labDrainTrial, timeToStepEnd, untilMigrating } from './lab-trial.ts';
import { LAB_SOURCE, type LabGuestSpec, type LabWorld } from './lab-world.ts';
import type { Fault } from './trial.ts';

/** How long a killed agent stays dead before it is started again. */
const AGENT_DOWN_MS = 3000;

const ACTION = { live: 'SERVER_ACTION_LIVE_MIGRATE', cold: 'SERVER_ACTION_COLD_MIGRATE' } as const;

function guestsFor(mode: 'live' | 'cold'): LabGuestSpec[] {
  return [1, 2].map((i) => ({ name: `lc-${mode}${i}`, hotMigration: mode === 'live' }));
}

function agentKill(side: 'source' | 'target', mode: 'live' | 'cold'): Fault {
  return {
    name: `lab-agent-kill-${side}-${mode}`,
    lab: true,
    description: `Lab: 3 libvirt hosts, 2 ${mode === 'live' ? 'live-migratable' : 'cold-only'} QEMU guests drained off h1. During a ${mode} migration (${mode === 'live' ? "0-1 s after libvirt started it: the target's QEMU up for the incoming migration" : '0-4 s after its step began migrating: shutdown, disk copy, offline define, start on the target'}), the ${side} host's agent process is killed with SIGKILL by its pid, left dead ${AGENT_DOWN_MS / 1000} s and started again (same config and state directory); the restarted agent reconciles its records and the drain goes on.`,
    recovery: "from the SIGKILL to the killed migration's step finished (the agent back and the outcome known to the coordinator)",
    defaultTrials: 1,
    run: (ctx) =>
      labDrainTrial(ctx, guestsFor(mode), async (w, opId, trial) => {
        const step = await untilMigrating(w, opId, ACTION[mode], () => trial.ended);
        if (!step) return [`no ${mode} migration was seen in flight before the drain ended`];
        // Live: once libvirt runs the migration (the target's QEMU started for it), then 0-1 s into it.
        // Cold: 0-4 s into the step (shutdown, disk copy, offline define, start on the target).
        if (mode === 'live' && !(await untilLibvirtMigrating(w, step.server_name, step.target_host_id, () => trial.ended)))
          return [`libvirt never started the live migration of ${step.server_name}`];
        await sleep(Math.floor(ctx.random() * (mode === 'live' ? 1000 : 4000)));
        const hostId = side === 'source' ? step.source_host_id : step.target_host_id;
        const op = await w.call('GetOperation', { operation_id: opId }, 5_000);
        const now = (op.steps as (typeof step)[]).find((s) => s.server_uuid === step.server_uuid);
        const inLibvirt = libvirtRunning(w, step.server_name, step.target_host_id);
        const killedAt = Date.now();
        const pid = await w.killAgent(hostId);
        trial.injected = true;
        const recovering = timeToStepEnd(w, opId, step.server_uuid, killedAt, () => trial.ended);
        await sleep(AGENT_DOWN_MS);
        const restartAt = Date.now();
        await w.restartAgent(hostId);
        const upAfter = Date.now() - restartAt;
        trial.recoveryMs = await recovering;
        return [
          `SIGKILLed the ${side} agent (${hostId}, pid ${pid}) during the ${mode} migration of ${step.server_name} ${step.source_host_id}→${step.target_host_id} (step then ${now?.phase ?? '?'} at ${Math.round(now?.percent ?? 0)} %${mode === 'live' ? `, libvirt's migration ${inLibvirt ? 'still running' : 'already over'}` : ''}), started it again ${AGENT_DOWN_MS / 1000} s later (answering after ${(upAfter / 1000).toFixed(1)} s)`,
        ];
      }),
  };
}

/** True while the target's QEMU for an incoming live migration of `domain` runs and it has not resumed or stopped there. */
function libvirtRunning(w: LabWorld, domain: string, target: string): boolean {
  const seen = w.events().filter((e) => e.domain === domain && e.host === target);
  const start = seen.findLastIndex((e) => e.event === 'Started' && e.detail === 'Migrated');
  return start >= 0 && !seen.slice(start + 1).some((e) => e.event === 'Stopped' || e.event === 'Resumed');
}

async function untilLibvirtMigrating(w: LabWorld, domain: string, target: string, ended: () => boolean): Promise<boolean> {
  while (!ended()) {
    if (libvirtRunning(w, domain, target)) return true;
    await sleep(50);
  }
  return false;
}

export const LAB_FAULTS: Fault[] = [
  agentKill('source', 'live'),
  agentKill('target', 'live'),
  agentKill('source', 'cold'),
  agentKill('target', 'cold'),
  {
    name: 'lab-link-cut',
    lab: true,
    description:
      "Lab: 3 libvirt hosts, 3 QEMU guests (2 live-migratable, 1 cold-only) drained off h1. While libvirt runs a live migration, the link of its source or its target (chosen at random) is cut — the host's veth taken down in the lab's bridge namespace, so its agent, libvirtd and migration streams lose the network — for 3-12 s, then restored.",
    recovery: 'from the link restored to the next step finished (or the drain ended)',
    defaultTrials: 1,
    run: (ctx) =>
      labDrainTrial(
        ctx,
        [
          { name: 'lc-link1', hotMigration: true },
          { name: 'lc-link2', hotMigration: true },
          { name: 'lc-link3', hotMigration: false },
        ],
        async (w, opId, trial) => {
          const step = await untilMigrating(w, opId, ACTION.live, () => trial.ended);
          if (!step) return ['no migration was seen in flight before the drain ended'];
          if (!(await untilLibvirtMigrating(w, step.server_name, step.target_host_id, () => trial.ended)))
            return [`libvirt never started the live migration of ${step.server_name}`];
          await sleep(Math.floor(ctx.random() * 1000));
          const hostId = ctx.random() < 0.5 ? LAB_SOURCE : step.target_host_id;
          const downMs = 3000 + Math.floor(ctx.random() * 9000);
          await w.setLink(hostId, false);
          trial.injected = true;
          await sleep(downMs);
          await w.setLink(hostId, true);
          const restoredAt = Date.now();
          const before = doneSteps(await w.call('GetOperation', { operation_id: opId }, 5_000));
          trial.recoveryMs = await timeToProgress(w, opId, restoredAt, before, () => trial.ended);
          return [
            `cut ${hostId}'s link for ${(downMs / 1000).toFixed(1)} s during the live migration of ${step.server_name} ${step.source_host_id}→${step.target_host_id}`,
          ];
        },
        async (w) => {
          for (const h of w.lab.hosts) await w.setLink(h.name, true);
        },
      ),
  },
];
