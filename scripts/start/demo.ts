// `npm start -- --demo`: a guided maintenance round on the embedded default,
// told step by step. Every step is the real CLI run as a subprocess with the
// printed environment, so what the newcomer sees is exactly what they would
// see typing it (bars on a terminal, one line per event otherwise); between
// steps the demo checks in libvirt itself where the guests really are.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gaps, type Heartbeat, type Lab } from '../lab/index.ts';
import type { Embedded } from './embedded.ts';
import { GUESTS, ZONE_ID } from './embedded.ts';
import { poll } from './poll.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO, 'bin', 'drydock.mjs');
const DRAINED = 'h1';

export class DemoStepError extends Error {
  override name = 'DemoStepError';
}

export interface DemoOptions {
  env: Embedded;
  say: (line: string) => void;
  signal: AbortSignal;
  /** The zone CPU module is plugged in: show `zone cpu`. */
  zoneCpu: boolean;
}

/** Runs the CLI with the operator's environment; resolves with its exit code. Killed (by pid) on abort or timeout. */
function cli(args: string[], o: DemoOptions, timeoutMs: number): Promise<number> {
  o.say(`$ drydock ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DRYDOCK_ADDRESS: o.env.address, DRYDOCK_TOKEN: o.env.token, DRYDOCK_CONFIG: '' },
    });
    const kill = () => child.kill('SIGTERM');
    const timer = setTimeout(kill, timeoutMs);
    o.signal.addEventListener('abort', kill, { once: true });
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', kill);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}

async function step(o: DemoOptions, args: string[], timeoutMs = 30_000): Promise<void> {
  const code = await cli(args, o, timeoutMs);
  if (code !== 0) throw new DemoStepError(`\`drydock ${args.join(' ')}\` exited with ${code}`);
  o.say('');
}

/** Where libvirt itself says a guest is defined, and in which state. */
async function whereIs(lab: Lab, name: string): Promise<{ host: string; state: string }[]> {
  const out: { host: string; state: string }[] = [];
  for (const h of lab.hosts) {
    const st = await h.virsh(['domstate', name]).then(
      (r) => r.stdout.trim(),
      () => null,
    );
    if (st) out.push({ host: h.name, state: st });
  }
  return out;
}

function spans(beats: Heartbeat[]): string {
  const parts: string[] = [];
  let cur: { host: string; from: number; to: number } | undefined;
  for (const b of beats) {
    if (cur && cur.host === b.host) cur.to = b.n;
    else {
      if (cur) parts.push(`HB ${cur.from}-${cur.to} on ${cur.host}`);
      cur = { host: b.host, from: b.n, to: b.n };
    }
  }
  if (cur) parts.push(`HB ${cur.from}-${cur.to} on ${cur.host}`);
  return parts.join(', ');
}

/**
 * After the drain: each guest of the drained host runs on exactly one other
 * host (libvirt says so), a live-moved one with the same boot and its
 * heartbeat counter continued, a cold-moved one with a new boot.
 */
async function showMovedGuests(o: DemoOptions, moved: typeof GUESTS, bootsBefore: Map<string, string | null>): Promise<void> {
  const { say } = o;
  const { lab } = o.env;
  say('What libvirt says now, and what the guests printed on their serial consoles:');
  for (const g of moved) {
    const at = await whereIs(lab, g.name);
    if (at.length !== 1 || at[0]!.host === DRAINED || at[0]!.state !== 'running') {
      throw new DemoStepError(`${g.name} should run on exactly one other host, libvirt says ${JSON.stringify(at)}`);
    }
    const host = at[0]!.host;
    if (g.hotMigration) {
      // A live move keeps the boot and the counter: beats on the target continue the source's.
      const beats = await lab.waitForHeartbeats(g.name, { host, count: 1, timeoutMs: 30_000, signal: o.signal });
      const missing = gaps(beats);
      if (beats[0]?.boot !== bootsBefore.get(g.name)) throw new DemoStepError(`${g.name} was restarted by a live migration`);
      say(
        `  ${g.name}: running on ${host}; same boot, ${spans(beats)}${missing.length ? ` (gaps: ${JSON.stringify(missing)})` : ', no heartbeat lost'}: it moved alive`,
      );
    } else {
      const beats = await lab.waitForHeartbeats(g.name, { host, count: 1, notBoot: bootsBefore.get(g.name) ?? '', timeoutMs: 60_000, signal: o.signal });
      say(`  ${g.name}: running on ${host}; a new boot (${spans(beats)}): shut down on ${DRAINED}, moved, started again`);
    }
  }
  say('');
}

/** After `servers return`: libvirt itself must place every moved guest back on the drained host, running. */
async function checkReturned(o: DemoOptions, moved: typeof GUESTS): Promise<void> {
  for (const g of moved) {
    const at = await whereIs(o.env.lab, g.name);
    if (at.length !== 1 || at[0]!.host !== DRAINED || at[0]!.state !== 'running') {
      throw new DemoStepError(`${g.name} should be back on ${DRAINED} and running, libvirt says ${JSON.stringify(at)}`);
    }
  }
  o.say(`  libvirt agrees: ${moved.map((g) => g.name).join(', ')} run on ${DRAINED} again`);
  o.say('');
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const { env, say } = o;
  const { lab } = env;
  const total = 7;
  let n = 0;
  const title = (text: string, ...explain: string[]) => {
    n++;
    say(`=== Step ${n}/${total}: ${text}`);
    for (const line of explain) say(`    ${line}`);
    say('');
  };
  const onH1 = GUESTS.filter((g) => g.host === DRAINED);

  title('the zone, its hosts and servers', `Zone "${ZONE_ID}" holds three KVM hosts; ${DRAINED} runs ${onH1.map((g) => `${g.name} (${g.role})`).join(', ')}.`);
  await step(o, ['hosts']);
  await step(o, ['servers']);

  title(`plan maintenance of ${DRAINED} (a dry run: nothing changes)`, 'Per server: live or cold, the target the planner picked, the estimate.');
  await step(o, ['maintenance', 'plan', DRAINED]);

  const bootsBefore = new Map<string, string | null>();
  for (const g of onH1) bootsBefore.set(g.name, await lab.currentBoot(g.name));
  title(
    `enable maintenance on ${DRAINED}`,
    'Both switches: --confirm (required) and, left off here, --stop-unmigratable.',
    'Servers move one at a time from this host; each keeps its power state.',
  );
  await step(o, ['maintenance', 'enable', DRAINED, '--confirm', '--wait'], 240_000);
  await showMovedGuests(o, onH1, bootsBefore);
  await step(o, ['host', 'show', DRAINED]);

  title(
    `disable maintenance on ${DRAINED}`,
    'The host reboots (in the lab: its libvirtd restarts with a new boot id, and its agent comes back as a new incarnation),',
    'drydock waits until it is healthy and returns it to service. Servers do not move back by themselves.',
  );
  await step(o, ['maintenance', 'disable', DRAINED, '--wait'], 240_000);
  await poll(`${DRAINED} online`, async () => (await env.api.call('GetHost', { host_id: DRAINED })).online, { timeoutMs: 60_000, signal: o.signal });
  await step(o, ['hosts']);

  title(`return the servers to ${DRAINED}`, 'On request only: the servers the last maintenance moved away go back, live where they can.');
  await step(o, ['servers', 'return', DRAINED, '--wait'], 240_000);
  await checkReturned(o, onH1);

  if (o.zoneCpu) {
    title(
      `zone CPU of "${ZONE_ID}"`,
      'Extended mode: one CPU model for the zone, the baseline common to its hosts, recomputed when a host joins or returns.',
      'A host with a worse CPU would lower it; the history says which host caused each change.',
    );
    await step(o, ['zone', 'cpu', ZONE_ID]);
  } else {
    title(`the zone`, 'Its CPU mode and model, its hosts, and the policy every drain in it follows.');
    await step(o, ['zone', 'show', ZONE_ID]);
  }

  title('the operations of this round', 'Each is a persisted state machine; `drydock ops show <id>` has every server step.');
  await step(o, ['ops', 'list']);
}
