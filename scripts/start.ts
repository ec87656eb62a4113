// `npm start`: the embedded default on one machine (after `prestart` ran the
// set-up): a nats-server, a coordinator, a 3-host lab with an agent per host
// and a few real guests in one zone. Prints the CLI commands to try and stays
// up until Ctrl-C, which tears everything down.
//
//   npm start                      # stays up until Ctrl-C
//   npm start -- --demo            # plus a guided maintenance round, then exits
//   npm start -- --demo --keep     # the round, then stays up
//
// Options: --lab NAME --subnet N (the lab's namespaces and 10.99.N.0/24),
// --state-dir DIR (token, configs, logs, NATS data; default .cache/start),
// --port N (admin API on 127.0.0.1; default 7443, or a free port if taken).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbedded, ZONE_ID, GUESTS, type Embedded } from './start/embedded.ts';
import { runDemo } from './start/demo.ts';
import { defaultSubnet } from './lab/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm start [-- --demo [--keep]] [--lab NAME] [--subnet N] [--state-dir DIR] [--port N]

  --demo            run a guided maintenance round (plan, enable, disable, return), then tear down
  --keep            with --demo: stay up after the round, until Ctrl-C
  --lab NAME        lab name (namespaces NAMElab-h1..h3; default dd)
  --subnet N        lab subnet 10.99.N.0/24 (default 0 for dd, else derived from the name)
  --state-dir DIR   token, users file, logs, NATS data (default .cache/start in the repository)
  --port N          admin API port on 127.0.0.1 (default 7443, or a free one if taken; 0 = any)`;

const say = (line = '') => process.stdout.write(`${line}\n`);

class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  demo: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  lab: { type: 'string', default: 'dd' },
  subnet: { type: 'string' },
  'state-dir': { type: 'string', default: path.join(REPO, '.cache', 'start') },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse() {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const int = (v: string | undefined, what: string, max: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`${what}: ${JSON.stringify(v)} is not an integer in [0, ${max}]`);
    return n;
  };
  const lab = values.lab!;
  return {
    demo: values.demo!,
    keep: values.keep!,
    help: values.help!,
    lab,
    // The lab's own default: 0 for "dd", derived from the name otherwise.
    subnet: int(values.subnet, '--subnet', 255) ?? defaultSubnet(lab),
    stateDir: path.resolve(values['state-dir']!),
    port: int(values.port, '--port', 65535),
  };
}

function tryIt(env: Embedded): void {
  const bin = path.join(REPO, 'bin', 'drydock.mjs');
  say();
  say('drydock is up. In another terminal, paste:');
  say();
  say(`  export DRYDOCK_ADDRESS=${env.address} DRYDOCK_TOKEN=${env.token}`);
  say(`  alias drydock='node ${bin}'`);
  say('  drydock zones');
  say('  drydock hosts');
  say('  drydock servers');
  say('  drydock host show h1');
  say('  drydock maintenance plan h1');
  say('  drydock maintenance enable h1 --confirm        # follows the drain live; Ctrl-C detaches');
  say('  drydock maintenance disable h1                 # reboots h1 (in the lab: its libvirtd), returns it');
  say('  drydock servers return h1');
  say('  drydock ops list');
  say(`  drydock zone cpu ${ZONE_ID}`);
  say(`  curl -s ${env.metricsUrls.coordinator} | grep '^drydock_'`);
  say(`  curl -s ${env.metricsUrls.agents[0]} | grep '^drydock_'     # h1's agent`);
  say();
  say(`The token is also in ${env.tokenFile} (DRYDOCK_TOKEN_FILE=${env.tokenFile} works too); docs/cli.md has every command.`);
  say(`Guests: ${GUESTS.map((g) => `${g.name} on ${g.host} (${g.role})`).join('; ')}.`);
  say(`Their serial consoles: ${env.lab.serialLogPath('web-1', 'h1').replace('web-1', '<guest>').replace('/h1/', '/<host>/')}`);
}

async function main(): Promise<number> {
  const opts = parse();
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) throw new Error('npm start needs root: the lab uses network and mount namespaces and runs libvirtd');

  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(`\n${sig}: tearing everything down (guests, agents, libvirtds, namespaces, nats-server, coordinator)...`);
      ac.abort();
    } else if (signals === 2) {
      say('still tearing down; once more to leave at once (the next npm start cleans up what is left)');
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = performance.now();
  let env: Embedded | undefined;
  let code = 0;
  try {
    env = await startEmbedded({ stateDir: opts.stateDir, lab: opts.lab, subnet: opts.subnet, port: opts.port, log: (l) => say(l), signal: ac.signal });
    const pids = await env.pids();
    say(`started pids: nats-server ${pids.nats}; agents ${pids.agents.join(' ')}; libvirtd ${pids.libvirtd.join(' ')}; qemu ${pids.qemu.join(' ')}`);
    tryIt(env);
    if (opts.demo) {
      say();
      say('Guided maintenance round: drain h1, reboot it, return it, bring its servers back.');
      say();
      const t1 = performance.now();
      await runDemo({ env, say, signal: ac.signal, zoneCpu: true });
      say(`demo finished in ${((performance.now() - t1) / 1000).toFixed(0)} s (up ${((t1 - t0) / 1000).toFixed(0)} s before it)`);
    }
    if (!opts.demo || opts.keep) {
      say();
      say('Up until Ctrl-C.');
      await new Promise<void>((resolve) => (ac.signal.aborted ? resolve() : ac.signal.addEventListener('abort', () => resolve(), { once: true })));
    }
  } catch (err) {
    if (ac.signal.aborted) code = 130;
    else {
      say(`npm start: ${(err as Error).message}`);
      code = 1;
    }
  } finally {
    if (env) {
      const pids = await env.pids().catch(() => null);
      const t2 = performance.now();
      try {
        await env.stop();
        say(
          `torn down in ${((performance.now() - t2) / 1000).toFixed(1)} s${pids ? `; ended pids: nats-server ${pids.nats}; agents ${pids.agents.join(' ')}; libvirtd ${pids.libvirtd.join(' ')}; qemu ${pids.qemu.join(' ')}` : ''}`,
        );
      } catch (err) {
        say(`npm start: ${(err as Error).message}`);
        code ||= 1;
      }
    }
  }
  // Ctrl-C is the way to end the plain mode: a clean exit, not a failure.
  return code === 130 && !opts.demo ? 0 : code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`npm start: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) {
      say(USAGE);
      process.exit(2);
    }
    process.exit(1);
  },
);
