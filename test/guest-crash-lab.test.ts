// A lab guest whose kernel panics right after its live move (issue 12,
// defect 7): the agent that moved it must say so (guest_health CRASHED),
// not "completed, alive". Real libvirtds, real QEMU, real agents (lab
// 'crash', subnet 60). The guest is crashed on purpose with an NMI (virsh
// inject-nmi; the lab kernel panics on an unknown NMI) while the agent
// watches it on the target; its pvpanic device tells libvirt
// (scripts/lab/guest.ts), and libvirt restarts it (on_crash restart).
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLab, type Lab, type LabHost, type DefinedGuest } from '../scripts/lab/index.ts';
import { agentClient, call, migrate, type AgentClient } from './agent-helpers.ts';
import { labAgentChannel, startLabAgents, type LabAgent } from '../harness/lab-agents.ts';
import type { Migration } from '../common/generated/drydock/agent/v1/Migration.ts';

interface Ctx {
  dir: string;
  lab: Lab;
  h: [LabHost, LabHost];
  agents: LabAgent[];
  clients: Map<string, AgentClient>;
  guest: DefinedGuest;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-crash-lab-'));
  t.context = { dir, agents: [], clients: new Map() } as unknown as Ctx;
  const lab = await createLab({ hosts: 2, name: 'crash', subnet: 60 });
  t.context.lab = lab;
  t.context.h = lab.hosts as [LabHost, LabHost];
  const guest = lab.defineGuest(t.context.h[0], { name: 'cr-live', memoryMiB: 128, fillMiB: 32 });
  // A longer watch than the default: the NMI is sent once the watch began, and TCG is slow on a busy machine.
  t.context.agents = await startLabAgents(lab, { dir, config: { migration: { guestWatch: '8s', pollInterval: '500ms' } } });
  for (const a of t.context.agents) {
    const ch = await labAgentChannel(a.host.name);
    t.context.clients.set(a.host.name, agentClient(a.endpoint, ch.credentials, ch.options));
  }
  t.context.guest = await guest;
  await lab.waitForHeartbeats('cr-live', { count: 3, timeoutMs: 120_000 });
});

test.after.always(async (t) => {
  for (const c of t.context.clients?.values() ?? []) c.close();
  await Promise.allSettled((t.context.agents ?? []).map((a) => a.stop()));
  await t.context.lab?.destroy();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const request = (t: { context: Ctx }, id: string, to: LabHost) => ({
  migration_id: id,
  server_uuid: t.context.guest.uuid,
  mode: 'MIGRATION_MODE_LIVE' as const,
  target_host_id: to.name,
  target_uri: to.uri,
});

test.serial('a guest moved intact is reported alive', async (t) => {
  const [, h2] = t.context.h;
  const run = await migrate(t.context.clients.get('h1')!, request(t, 'crash-alive-1', h2), { deadlineMs: 180_000 });
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED', JSON.stringify(run.final.error));
  t.is(run.final.guest_health, 'GUEST_HEALTH_ALIVE', run.final.guest_health_detail);
});

test.serial('a guest whose kernel panics right after its live move is reported crashed, not moved alive', async (t) => {
  const { lab } = t.context;
  const [h1] = t.context.h;
  const bootBefore = await lab.currentBoot('cr-live');
  let nmi: Promise<unknown> | null = null;
  // Back from h2 to h1; the NMI goes to the guest on h1 once the agent watches it there.
  const run = await migrate(t.context.clients.get('h2')!, request(t, 'crash-nmi-1', h1), {
    deadlineMs: 180_000,
    onEvent: (ev) => {
      if (!nmi && /^watching the guest/.test(ev.message)) nmi = h1.virsh(['inject-nmi', t.context.guest.uuid]);
    },
  });
  t.truthy(nmi, 'the agent announced its watch');
  await nmi;
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED', 'the server did move');
  t.is(run.final.guest_health, 'GUEST_HEALTH_CRASHED', `${run.final.guest_health}: ${run.final.guest_health_detail}`);
  t.regex(run.final.guest_health_detail, /Crashed|crashed|panicked/);
  t.true(
    run.events.some((e) => /guest crashed after the move/.test(e.message)),
    'the event says crashed',
  );
  // The record keeps it (GetMigration is what a coordinator reads).
  const rec = await call<object, Migration>(t.context.clients.get('h2')!, 'GetMigration', { migration_id: 'crash-nmi-1' });
  t.is(rec.guest_health, 'GUEST_HEALTH_CRASHED');
  // The guest really crashed and came back with a new boot (libvirt's restart).
  const beats = await lab.waitForHeartbeats('cr-live', { host: 'h1', notBoot: bootBefore ?? undefined, count: 1, timeoutMs: 120_000 });
  t.not(beats.at(-1)!.boot, bootBefore, 'a new guest boot after the crash');
  const state = (await h1.virsh(['domstate', '--reason', t.context.guest.uuid])).stdout.trim();
  t.log(`after the crash: ${state}; ${run.final.guest_health_detail}`);
});
