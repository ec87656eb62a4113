// The `drydock` CLI as an operator runs it: a subprocess (node + tsx via
// bin/drydock.mjs) against a real coordinator (in this process, admin API on
// 127.0.0.1:0) on a real nats-server, with three sim agents registering
// hosts h1..h3 and their servers over NATS and gRPC. Tables and --json are
// asserted for each command, and the exit codes of the failures.
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsNode } from '../common/nats-server.ts';
import type { NatsAuth } from '../common/nats-auth.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { silentLogger } from '../common/logging.ts';
import { compileConfig } from '../coordinator/config.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { maintenanceModule, type MaintenanceModule } from '../coordinator/operations/module.ts';
import { zoneCpuModule, type ZoneCpuModule } from '../coordinator/zone-cpu/module.ts';
import { simCpu } from '../harness/sim/cpu.ts';
import { AdminApi } from '../cli/client.ts';
import { resolveSettings } from '../cli/settings.ts';
import { ROOT, drydockPipe, drydockTty, screen, type Run } from './cli-pty.ts';

const GiB = 1024 ** 3;

const ADMIN_TOKEN = 'cli-test-admin-token';
const VIEWER_TOKEN = 'cli-test-viewer-token';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const WEB = '0a000000-0000-4000-8000-000000000001';
const DB = '0a000000-0000-4000-8000-000000000002';
const IDLE = '0a000000-0000-4000-8000-000000000003';

interface Ctx {
  dir: string;
  nats: NatsNode;
  natsAuth: NatsAuth;
  coordinator: Coordinator;
  maintenance: MaintenanceModule;
  zoneCpu: ZoneCpuModule;
  agents: SimAgents;
  address: string;
  /** HOME for the CLI: no operator's ~/.config leaks into the tests. */
  home: string;
}

const test = anyTest as TestFn<Ctx>;

function cliEnv(t: { context: Ctx }, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: t.context.home, DRYDOCK_ADDRESS: t.context.address, DRYDOCK_TOKEN: ADMIN_TOKEN, DRYDOCK_TIMEOUT: '10s', ...env };
}

/** Runs `drydock args...` on a pipe, with the admin token and the coordinator's address from the environment. */
function drydock(t: { context: Ctx }, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return drydockPipe(args, cliEnv(t, env));
}

async function json<T>(t: { context: Ctx }, args: string[]): Promise<T> {
  const r = await drydock(t, ['--json', ...args]);
  if (r.code !== 0) throw new Error(`drydock ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Header cells and rows of a table, split on runs of 2+ spaces. */
function table(text: string): { header: string[]; rows: string[][] } {
  const [head, ...rest] = text.trimEnd().split('\n');
  const split = (l: string) => l.trim().split(/\s{2,}/);
  return { header: split(head!), rows: rest.map(split) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

test.before(async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drydock-cli-test-'));
  t.context.dir = dir;
  t.context.home = path.join(dir, 'home');
  const tn = await startTestNats({ dir, hosts: ['h1', 'h2', 'h3'] });
  t.context.nats = tn.node;
  t.context.natsAuth = tn.coordinatorAuth;

  const usersFile = path.join(dir, 'users.yaml');
  writeFileSync(
    usersFile,
    `users:\n  alice:\n    tokenSha256: ${sha256(ADMIN_TOKEN)}\n    roles: [admin]\n  victor:\n    tokenSha256: ${sha256(VIEWER_TOKEN)}\n    roles: [viewer]\n`,
  );
  const config = compileConfig(
    {
      coordinatorId: 'cli-test',
      admin: { listen: '127.0.0.1:0' },
      auth: { tokenFile: usersFile },
      nats: { servers: [t.context.nats.url], ...t.context.natsAuth, kvReplicas: 1 },
      inventory: { offlineAfter: '5s', reconcileInterval: '1s' },
      logLevel: 'silent',
    },
    {},
  );
  // With the maintenance engine and zone CPU, wired the way their own tests wire them.
  const zoneCpu = zoneCpuModule({ watchIntervalMs: 500 });
  const maintenance = maintenanceModule({ pollIntervalMs: 200, rebootTimeoutMs: 30_000, settlePauseOverrideS: 1, cpu: zoneCpu.placement });
  t.context.zoneCpu = zoneCpu;
  t.context.maintenance = maintenance;
  t.context.coordinator = await startCoordinator(config, {
    logger: silentLogger(),
    beforeServe: async (deps) => {
      await maintenance.beforeServe(deps);
      await zoneCpu.beforeServe(deps);
    },
    handlerGroups: (deps) => [...maintenance.handlerGroups(deps), ...zoneCpu.handlerGroups(deps)],
  });
  t.context.address = `127.0.0.1:${t.context.coordinator.port}`;

  t.context.agents = await startSimAgents({
    count: 3,
    hostIds: ['h1', 'h2', 'h3'],
    natsUrl: t.context.nats.url,
    natsAuth: tn.hostAuth,
    heartbeatIntervalMs: 500,
    factsIntervalMs: 1000,
    // h3 has an older CPU than h1 and h2: the zone CPU baseline is h3's.
    hostOptions: (_i, id) => ({ memoryTotalBytes: 16 * GiB, cpu: simCpu(id === 'h3' ? 'Haswell-noTSX' : 'Skylake-Server') }),
    // Slow enough that a drain shows its progress for a few seconds.
    fabricOptions: { bandwidthBps: 512 * 1024 ** 2 },
  });
  const h1 = t.context.agents.byId('h1').sim;
  h1.addServer({ uuid: WEB, name: 'web-1', memoryBytes: 1 * GiB, vcpus: 2, hotMigration: true });
  // db-1 has a local disk in h1's "default" pool: moves copy it, and an offline plan needs the pools.
  h1.addServer({
    uuid: DB,
    name: 'db-1',
    memoryBytes: 2 * GiB,
    vcpus: 4,
    hotMigration: true,
    disks: [{ path: '/var/lib/libvirt/images/db-1.qcow2', pool: 'default', allocation_bytes: 64 * 1024 ** 2 }],
  });
  h1.addServer({ uuid: IDLE, name: 'idle-1', memoryBytes: 512 * 1024 ** 2, vcpus: 1, running: false });

  // The inventory fills from the agents' facts and the leader's reconcile.
  const api = new AdminApi(resolveSettings({ address: t.context.address, token: ADMIN_TOKEN }, { HOME: t.context.home }));
  try {
    await until('3 hosts online and 3 servers on h1', async () => {
      const hosts = await api.call('ListHosts', { zone_id: '' });
      const servers = await api.call('ListServers', { host_id: 'h1', zone_id: '' });
      return hosts.hosts.filter((h) => h.online).length === 3 && servers.servers.length === 3 ? true : undefined;
    });
  } finally {
    api.close();
  }
});

test.after.always(async (t) => {
  // Each step on its own: one failing must not leave the others' processes or files behind.
  const steps: Array<() => Promise<unknown> | unknown> = [
    () => t.context.zoneCpu?.stop(),
    () => t.context.maintenance?.stop(),
    () => t.context.coordinator?.stop(),
    () => t.context.agents?.stop(),
    () => t.context.nats?.stop(),
    () => t.context.dir && rmSync(t.context.dir, { recursive: true, force: true }),
  ];
  for (const step of steps)
    await Promise.resolve()
      .then(step)
      .catch((err) => t.log(`cleanup: ${String(err)}`));
});

// The commands change shared state (zones, host settings): run in order.

test.serial('zones: empty table, create, list, show, --json', async (t) => {
  const empty = await drydock(t, ['zones']);
  t.is(empty.code, 0, empty.stderr);
  t.deepEqual(table(empty.stdout).header, ['ID', 'NAME', 'CPU MODE', 'CPU MODEL', 'HOSTS', 'PLACEMENT']);
  t.is(table(empty.stdout).rows.length, 0);

  const created = await drydock(t, ['zone', 'create', 'z1', '--name', 'Zone one', '--cpu-mode', 'default', '--max-migrations-per-zone', '2']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^zone z1 created/);
  t.regex(created.stdout, /CPU mode:\s+default/);

  const list = await drydock(t, ['zones']);
  const { rows } = table(list.stdout);
  t.is(rows.length, 1);
  t.deepEqual(rows[0]!.slice(0, 3), ['z1', 'Zone one', 'default']);

  const res = await json<{ zones: Array<{ id: string; name: string; cpu_mode: string; policy: { max_migrations_per_zone: number } }> }>(t, ['zones']);
  t.is(res.zones.length, 1);
  t.like(res.zones[0], { id: 'z1', name: 'Zone one', cpu_mode: 'CPU_MODE_DEFAULT', policy: { max_migrations_per_zone: 2 } });

  const show = await drydock(t, ['zone', 'show', 'z1']);
  t.is(show.code, 0, show.stderr);
  t.regex(show.stdout, /^ID:\s+z1$/m);
  t.regex(show.stdout, /Migrations per zone:\s+2/);
});

test.serial('zone create of an existing id is refused (exit 3), bad id is a usage error (exit 2)', async (t) => {
  const again = await drydock(t, ['zone', 'create', 'z1']);
  t.is(again.code, 3);
  t.regex(again.stderr, /^drydock: .*z1.* — choose another id/);
  t.is(again.stderr.trim().split('\n').length, 1);

  const bad = await drydock(t, ['zone', 'create', 'Not_Valid']);
  t.is(bad.code, 2, bad.stderr);
  const mode = await drydock(t, ['zone', 'create', 'z9', '--cpu-mode', 'turbo']);
  t.is(mode.code, 2);
  t.is(mode.stderr, 'drydock: --cpu-mode "turbo" is not a CPU mode — use one of: default, extended, passthrough\n');
});

test.serial('zone update keeps the rest of the policy and changes what was asked', async (t) => {
  const r = await drydock(t, ['--json', 'zone', 'update', 'z1', '--description', 'lab zone', '--stall-timeout', '3m', '--placement', 'pack']);
  t.is(r.code, 0, r.stderr);
  const z = JSON.parse(r.stdout) as {
    description: string;
    policy: { stall_timeout_s: number; placement: string; max_migrations_per_zone: number; settle_pause_s: number };
  };
  t.is(z.description, 'lab zone');
  t.is(z.policy.stall_timeout_s, 180);
  t.is(z.policy.placement, 'PLACEMENT_POLICY_PACK');
  t.is(z.policy.max_migrations_per_zone, 2, 'set at create, kept');
  // Only what the operator chose is stored; the rest follows the defaults.
  const set = (JSON.parse(r.stdout) as { policy_set: Record<string, unknown> }).policy_set;
  t.like(set, {
    stall_timeout_s: 180,
    placement: 'PLACEMENT_POLICY_PACK',
    max_migrations_per_zone: 2,
    max_migrations_per_source: 0,
    settle_pause_s: 0,
    cpu_overcommit_ratio: 0,
    allow_post_copy: false,
  });
  t.is(z.policy.settle_pause_s, 300, 'the default, shown as effective');
  const nothing = await drydock(t, ['zone', 'update', 'z1']);
  t.is(nothing.code, 2);
  t.regex(nothing.stderr, /^drydock: nothing to change — /);
  // Back to spread for the plan tests.
  t.is((await drydock(t, ['zone', 'update', 'z1', '--placement', 'spread'])).code, 0);
});

test.serial('not found: one line naming the id and how to list, exit 4', async (t) => {
  const z = await drydock(t, ['zone', 'show', 'nope']);
  t.is(z.code, 4);
  t.regex(z.stderr, /^drydock: .*nope.* — check the id; 'drydock zones' lists them\n$/);
  const h = await drydock(t, ['host', 'show', 'h404']);
  t.is(h.code, 4);
  t.regex(h.stderr, /'drydock hosts' lists them/);
});

test.serial('hosts: table of the registered hosts; host set moves them into the zone', async (t) => {
  const r = await drydock(t, ['hosts']);
  t.is(r.code, 0, r.stderr);
  const { header, rows } = table(r.stdout);
  t.deepEqual(header.slice(0, 5), ['ID', 'HOSTNAME', 'ZONE', 'STATUS', 'ENABLED']);
  t.deepEqual(
    rows.map((row) => row[0]),
    ['h1', 'h2', 'h3'],
  );
  for (const id of ['h1', 'h2', 'h3']) {
    const set = await drydock(t, ['host', 'set', id, '--zone', 'z1', '--label', `rack ${id}`]);
    t.is(set.code, 0, set.stderr);
    t.regex(set.stdout, new RegExp(`^host ${id} updated`));
  }
  const inZone = await json<{ hosts: Array<{ id: string; zone_id: string; label: string; online: boolean; enabled: boolean; memory_total_bytes: number }> }>(
    t,
    ['hosts', '--zone', 'z1'],
  );
  t.deepEqual(
    inZone.hosts.map((h) => [h.id, h.zone_id, h.label]),
    [
      ['h1', 'z1', 'rack h1'],
      ['h2', 'z1', 'rack h2'],
      ['h3', 'z1', 'rack h3'],
    ],
  );
  t.true(inZone.hosts.every((h) => h.online && h.enabled && h.memory_total_bytes === 16 * GiB));

  const table2 = table((await drydock(t, ['hosts', '--zone', 'z1'])).stdout);
  const h1 = table2.rows.find((row) => row[0] === 'h1')!;
  t.is(h1[2], 'z1');
  t.is(h1[3], 'online');
  t.is(h1[4], 'yes');
  t.true(h1.includes('16 GiB'), 'memory in human units');
  const noop = await drydock(t, ['host', 'set', 'h1']);
  t.is(noop.code, 2);
});

test.serial('host show: details, CPU view, eligibility', async (t) => {
  const r = await drydock(t, ['host', 'show', 'h2']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^ID:\s+h2$/m);
  t.regex(r.stdout, /^Zone:\s+z1$/m);
  t.regex(r.stdout, /^Enabled:\s+yes/m);
  t.regex(r.stdout, /^Online:\s+yes \(heartbeat /m);
  t.regex(r.stdout, /^Target:\s+yes/m);
  t.regex(r.stdout, /^Memory:\s+.* free of 16 GiB$/m);
  t.regex(r.stdout, /^CPU$/m);
  t.regex(r.stdout, /^ {2}Model:\s+Skylake-Server/m);
  t.regex(r.stdout, /^ {2}Default flags:/m);
  t.regex(r.stdout, /^ {2}Unmatching \(extra\):/m);
  const h = await json<{ id: string; cpu: { model: string; host_flags: string[] }; not_a_target_because: string[] }>(t, ['host', 'show', 'h2']);
  t.is(h.cpu.model, 'Skylake-Server');
  t.true(Array.isArray(h.cpu.host_flags));
  t.deepEqual(h.not_a_target_because, []);
});

test.serial('host disable/enable flip the Enabled switch and say it is not maintenance', async (t) => {
  const off = await drydock(t, ['host', 'disable', 'h3']);
  t.is(off.code, 0, off.stderr);
  t.regex(off.stdout, /^host h3 disabled: nothing is installed, booted or migrated onto it/);
  t.regex(off.stdout, /This is not maintenance\. To move its servers away: drydock maintenance enable h3 --confirm/);
  const h = await json<{ enabled: boolean; maintenance: string; not_a_target_because: string[] }>(t, ['host', 'show', 'h3']);
  t.false(h.enabled);
  t.is(h.maintenance, 'MAINTENANCE_STATE_NONE', 'the Enabled switch does not touch maintenance');
  t.true(h.not_a_target_because.length > 0);
  const shown = await drydock(t, ['host', 'show', 'h3']);
  t.regex(shown.stdout, /^Target:\s+no: /m);
  t.regex(shown.stdout, /^Enabled:\s+no/m);

  const on = await drydock(t, ['--json', 'host', 'enable', 'h3']);
  t.is(on.code, 0, on.stderr);
  t.true((JSON.parse(on.stdout) as { enabled: boolean }).enabled);
});

test.serial('servers: by host and by zone; server set changes how it moves', async (t) => {
  const r = await drydock(t, ['servers', '--host', 'h1']);
  t.is(r.code, 0, r.stderr);
  const { header, rows } = table(r.stdout);
  t.deepEqual(header.slice(0, 4), ['UUID', 'NAME', 'HOST', 'STATE']);
  const byName = new Map(rows.map((row) => [row[1], row]));
  t.deepEqual([...byName.keys()].sort(), ['db-1', 'idle-1', 'web-1']);
  t.is(byName.get('web-1')![3], 'running');
  t.is(byName.get('idle-1')![3], 'shutoff');
  t.true(byName.get('db-1')!.includes('2 GiB'));

  const zone = await json<{ servers: Array<{ uuid: string; host_id: string }> }>(t, ['servers', '--zone', 'z1']);
  t.is(zone.servers.length, 3);

  const set = await drydock(t, ['--json', 'server', 'set', WEB, '--no-hot-migration', '--smart']);
  t.is(set.code, 0, set.stderr);
  t.like(JSON.parse(set.stdout), { uuid: WEB, hot_migration: false, smart: true });
  const back = await drydock(t, ['server', 'set', WEB, '--hot-migration', '--no-smart']);
  t.is(back.code, 0, back.stderr);
  t.regex(back.stdout, /^server web-1 updated: hot migration on, smart off/);
  const none = await drydock(t, ['server', 'set', WEB]);
  t.is(none.code, 2);
  const missing = await drydock(t, ['server', 'set', '0a000000-0000-4000-8000-00000000ffff', '--smart']);
  t.is(missing.code, 4, missing.stderr);
});

test.serial('maintenance enable without --confirm is refused locally (exit 3), nothing sent', async (t) => {
  const r = await drydock(t, ['maintenance', 'enable', 'h1', '--stop-unmigratable']);
  t.is(r.code, 3);
  t.is(r.stdout, '');
  t.is(
    r.stderr,
    "drydock: refusing to enable maintenance on h1 without --confirm — review 'drydock maintenance plan h1', then re-run with --confirm (add --stop-unmigratable to stop servers that cannot move)\n",
  );
  // Refused before any call: even an unreachable coordinator gives the same answer.
  const offline = await drydock(t, ['maintenance', 'enable', 'h1'], { DRYDOCK_ADDRESS: '127.0.0.1:9' });
  t.is(offline.code, 3);
  const h = await json<{ maintenance: string; maintenance_operation_id: string }>(t, ['host', 'show', 'h1']);
  t.is(h.maintenance, 'MAINTENANCE_STATE_NONE');
  t.is(h.maintenance_operation_id, '');
});

test.serial('credentials: bad token, no token, too few permissions → exit 5', async (t) => {
  const bad = await drydock(t, ['zones'], { DRYDOCK_TOKEN: 'wrong' });
  t.is(bad.code, 5);
  t.regex(bad.stderr, /^drydock: invalid token — pass a valid token \(--token, --token-file or DRYDOCK_TOKEN\)/);
  const none = await drydock(t, ['zones'], { DRYDOCK_TOKEN: '' });
  t.is(none.code, 5);
  const viewerReads = await drydock(t, ['zones'], { DRYDOCK_TOKEN: VIEWER_TOKEN });
  t.is(viewerReads.code, 0, viewerReads.stderr);
  const viewerWrites = await drydock(t, ['host', 'disable', 'h2'], { DRYDOCK_TOKEN: VIEWER_TOKEN });
  t.is(viewerWrites.code, 5);
  t.regex(viewerWrites.stderr, /^drydock: .*hosts\.write.* — use credentials that hold the permission/);
  t.is((await json<{ enabled: boolean }>(t, ['host', 'show', 'h2'])).enabled, true, 'the refused call changed nothing');
});

test.serial('credentials from flags, env and config file, flags first', async (t) => {
  const cfgDir = path.join(t.context.dir, 'cfg');
  const file = path.join(cfgDir, 'cli.yaml');
  rmSync(cfgDir, { recursive: true, force: true });
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(path.join(cfgDir, 'token'), `${ADMIN_TOKEN}\n`);
  writeFileSync(file, `address: ${t.context.address}\ntokenFile: token\n`);
  // The file alone (relative tokenFile resolved against it).
  const fromFile = await drydock(t, ['--config', file, 'zones'], { DRYDOCK_ADDRESS: '', DRYDOCK_TOKEN: '' });
  t.is(fromFile.code, 0, fromFile.stderr);
  // The environment beats the file.
  const envWins = await drydock(t, ['zones'], { DRYDOCK_CONFIG: file, DRYDOCK_TOKEN: 'wrong' });
  t.is(envWins.code, 5);
  // A flag beats both.
  const flagWins = await drydock(t, ['--token', ADMIN_TOKEN, 'zones'], { DRYDOCK_CONFIG: file, DRYDOCK_TOKEN: 'wrong' });
  t.is(flagWins.code, 0, flagWins.stderr);
  // The default file under $HOME/.config is read when nothing else is given.
  const homeCfg = path.join(t.context.home, '.config', 'drydock');
  mkdirSync(homeCfg, { recursive: true });
  writeFileSync(path.join(homeCfg, 'cli.yaml'), `address: ${t.context.address}\ntoken: ${ADMIN_TOKEN}\n`);
  t.teardown(() => rmSync(path.join(t.context.home, '.config'), { recursive: true, force: true }));
  const fromHome = await drydock(t, ['zones'], { DRYDOCK_ADDRESS: '', DRYDOCK_TOKEN: '' });
  t.is(fromHome.code, 0, fromHome.stderr);
});

test.serial('unreachable coordinator: exit 6 with the address in the advice', async (t) => {
  const r = await drydock(t, ['hosts'], { DRYDOCK_ADDRESS: '127.0.0.1:9' });
  t.is(r.code, 6);
  t.is(
    r.stderr,
    'drydock: cannot reach the coordinator at 127.0.0.1:9 (ECONNREFUSED) — is the coordinator running and listening at 127.0.0.1:9 without TLS (else pass --ca)? Set --address or DRYDOCK_ADDRESS\n',
  );
});

test.serial('usage errors: exit 2, one line', async (t) => {
  const unknown = await drydock(t, ['hosts', '--bogus']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr, "drydock: unknown option '--bogus' — see 'drydock --help' or '<command> --help'\n");
  const missingArg = await drydock(t, ['host', 'show']);
  t.is(missingArg.code, 2);
  const group = await drydock(t, ['zone']);
  t.is(group.code, 2);
  const both = await drydock(t, ['maintenance', 'disable', 'h1', '--wait', '--detach']);
  t.is(both.code, 2);
  t.is(both.stderr, "drydock: option '--detach' cannot be used with option '--wait' — see 'drydock --help' or '<command> --help'\n");
  const help = await drydock(t, ['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes: 0 ok/);
  const version = await drydock(t, ['--version']);
  t.is(version.code, 0);
  t.is(version.stdout, `${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});

test.serial('snapshot -o FILE, then plan --snapshot FILE --host h1 offline', async (t) => {
  const file = path.join(t.context.dir, 'snap.json');
  const r = await drydock(t, ['snapshot', '-o', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /wrote .*snap\.json: 1 zone\(s\), 3 host\(s\), 3 server\(s\)/);
  t.true(existsSync(file));
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    kind: string;
    hosts: Array<{ id: string; zoneId: string }>;
    servers: Array<{ name: string; hostId: string }>;
  };
  t.is(snap.kind, 'drydock.inventory-snapshot');
  t.deepEqual(
    snap.hosts.map((h) => [h.id, h.zoneId]),
    [
      ['h1', 'z1'],
      ['h2', 'z1'],
      ['h3', 'z1'],
    ],
  );
  t.deepEqual(snap.servers.map((s) => s.name).sort(), ['db-1', 'idle-1', 'web-1']);
  // Local pools and real disks travel in the file: db-1's local disk can be placed offline.
  t.notRegex(r.stderr, /list no storage pools/);
  const full = JSON.parse(readFileSync(file, 'utf8')) as {
    hosts: Array<{ id: string; storagePools: Array<{ name: string; shared: boolean; available_bytes: number }> }>;
    servers: Array<{ name: string; disks: Array<{ path: string; pool: string; shared: boolean }> }>;
  };
  t.like(full.hosts.find((h) => h.id === 'h2')!.storagePools[0], { name: 'default', shared: false, available_bytes: 2 ** 39 });
  t.deepEqual(
    full.servers.find((s) => s.name === 'db-1')!.disks.map((d) => [d.path, d.pool, d.shared]),
    [['/var/lib/libvirt/images/db-1.qcow2', 'default', false]],
  );

  // Offline: the coordinator address is wrong on purpose.
  const plan = await drydock(t, ['plan', '--snapshot', file, '--host', 'h1'], { DRYDOCK_ADDRESS: '127.0.0.1:9' });
  t.is(plan.code, 0, plan.stderr);
  t.regex(plan.stdout, /^Maintenance plan for host h1 \(zone z1\)/);
  t.regex(plan.stdout, /^db-1\s+live\s+h[23]/m);
  t.regex(plan.stdout, /^web-1\s+live\s+h[23]/m);
  t.regex(plan.stdout, /^idle-1\s+cold\s+h[23]/m);
  t.regex(plan.stdout, /Result: runnable/);

  const pj = await drydock(t, ['--json', 'plan', '--snapshot', file, '--host', 'h1'], { DRYDOCK_ADDRESS: '127.0.0.1:9' });
  t.is(pj.code, 0, pj.stderr);
  const p = JSON.parse(pj.stdout) as { host_id: string; servers: Array<{ server_name: string; action: string; target_host_id: string }> };
  t.is(p.host_id, 'h1');
  t.deepEqual(p.servers.map((s) => s.server_name).sort(), ['db-1', 'idle-1', 'web-1']);
  t.true(p.servers.every((s) => s.target_host_id === 'h2' || s.target_host_id === 'h3'));

  const unknownHost = await drydock(t, ['plan', '--snapshot', file, '--host', 'h9']);
  t.is(unknownHost.code, 4);
  t.regex(unknownHost.stderr, /pick one of: h1, h2, h3/);
  const stdout = await drydock(t, ['snapshot']);
  t.is(stdout.code, 0);
  t.is((JSON.parse(stdout.stdout) as { kind: string }).kind, 'drydock.inventory-snapshot');
});

// ------------------------------------------------------------ TLS

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _out, stderr) => (err ? reject(new Error(`openssl ${args[0]}: ${stderr}`)) : resolve()));
  });
}

/** A throw-away CA, a server certificate for coordinator.test only, and a client certificate for alice.ops.test. */
async function makePki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=drydock-cli-test-ca'], dir);
  for (const [name, cn, ext] of [
    ['server', 'coordinator.test', 'subjectAltName=DNS:coordinator.test\nextendedKeyUsage=serverAuth\n'],
    ['client', 'alice.ops.test', 'subjectAltName=DNS:alice.ops.test\nextendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  }
}

test.serial('TLS and mTLS: --ca, --server-name, --cert/--key against a TLS coordinator', async (t) => {
  const pki = path.join(t.context.dir, 'pki');
  await makePki(pki);
  const users = path.join(t.context.dir, 'users-tls.yaml');
  writeFileSync(users, `users:\n  alice:\n    tokenSha256: ${sha256(ADMIN_TOKEN)}\n    certificateNames: [alice.ops.test]\n    roles: [admin]\n`);
  // A second coordinator on the same NATS (several may run): same inventory, TLS admin API.
  const tls = await startCoordinator(
    compileConfig(
      {
        coordinatorId: 'cli-test-tls',
        admin: {
          listen: '127.0.0.1:0',
          tls: { certFile: path.join(pki, 'server.pem'), keyFile: path.join(pki, 'server.key'), clientCaFile: path.join(pki, 'ca.pem') },
        },
        auth: { tokenFile: users },
        nats: { servers: [t.context.nats.url], ...t.context.natsAuth, kvReplicas: 1 },
        logLevel: 'silent',
      },
      {},
    ),
    { logger: silentLogger() },
  );
  t.teardown(() => tls.stop());
  const address = `127.0.0.1:${tls.port}`;
  const ca = ['--ca', path.join(pki, 'ca.pem'), '--server-name', 'coordinator.test'];

  // TLS + bearer token.
  const token = await drydock(t, ['--address', address, ...ca, '--json', 'zones']);
  t.is(token.code, 0, token.stderr);
  const plainZones = await json<{ zones: Array<{ id: string }> }>(t, ['zones']);
  t.deepEqual(
    (JSON.parse(token.stdout) as { zones: Array<{ id: string }> }).zones.map((z) => z.id),
    plainZones.zones.map((z) => z.id),
    'same inventory through either coordinator',
  );

  // mTLS: the certificate alone authenticates, no token.
  const mtls = await drydock(t, ['--address', address, ...ca, '--cert', path.join(pki, 'client.pem'), '--key', path.join(pki, 'client.key'), 'hosts'], {
    DRYDOCK_TOKEN: '',
  });
  t.is(mtls.code, 0, mtls.stderr);
  t.is(table(mtls.stdout).rows.length, 3);
  // The same from the environment.
  const env = await drydock(t, ['hosts'], {
    DRYDOCK_ADDRESS: address,
    DRYDOCK_TOKEN: '',
    DRYDOCK_CA: path.join(pki, 'ca.pem'),
    DRYDOCK_SERVER_NAME: 'coordinator.test',
    DRYDOCK_CERT: path.join(pki, 'client.pem'),
    DRYDOCK_KEY: path.join(pki, 'client.key'),
  });
  t.is(env.code, 0, env.stderr);

  // TLS without credentials: the server says who is missing.
  const anonymous = await drydock(t, ['--address', address, ...ca, 'zones'], { DRYDOCK_TOKEN: '' });
  t.is(anonymous.code, 5);
  t.regex(anonymous.stderr, /^drydock: credentials required: .* — pass a valid token/);
  // The certificate names coordinator.test, not 127.0.0.1: without --server-name the handshake fails.
  const wrongName = await drydock(t, ['--address', address, '--ca', path.join(pki, 'ca.pem'), 'zones']);
  t.is(wrongName.code, 6, wrongName.stderr);
  t.is(
    wrongName.stderr,
    `drydock: TLS handshake with the coordinator at ${address} failed: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list — check --ca (the CA that signed its certificate) and --server-name (a name its certificate carries)\n`,
  );
  // Plaintext to a TLS port.
  const plain = await drydock(t, ['--address', address, 'zones']);
  t.is(plain.code, 6, plain.stderr);
  t.is(
    plain.stderr,
    `drydock: cannot reach the coordinator at ${address} — is the coordinator running and listening at ${address} without TLS (else pass --ca)? Set --address or DRYDOCK_ADDRESS\n`,
  );
  // Half a client identity is a usage error, caught before connecting.
  const half = await drydock(t, ['--address', address, ...ca, '--cert', path.join(pki, 'client.pem'), 'zones']);
  t.is(half.code, 2);
  t.regex(half.stderr, /needs both --cert and --key/);
});

// ------------------------------------------------------------ maintenance

async function api<T>(t: { context: Ctx }, fn: (a: AdminApi) => Promise<T>): Promise<T> {
  const a = new AdminApi(resolveSettings({ address: t.context.address, token: ADMIN_TOKEN }, { HOME: t.context.home }));
  try {
    return await fn(a);
  } finally {
    a.close();
  }
}

async function serverOn(t: { context: Ctx }, uuid: string, hostId: string): Promise<void> {
  await until(`${uuid} on ${hostId} in the inventory`, () =>
    api(t, async (a) => ((await a.call('ListServers', { host_id: hostId, zone_id: '' })).servers.some((s) => s.uuid === uuid) ? true : undefined)),
  );
}

let enableOpId = '';

test.serial('maintenance plan: the servers, their action and target, as a table and as JSON', async (t) => {
  const r = await drydock(t, ['maintenance', 'plan', 'h1']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Plan for host h1 \(zone z1\): 3 server\(s\) to move, estimated /);
  const { header, rows } = table(r.stdout.split('\n\n')[1]!);
  t.deepEqual(header, ['SERVER', 'UUID', 'ACTION', 'TARGET', 'MEMORY', 'LOCAL DISK', 'RUNNING', 'EST', 'REASON']);
  const byName = new Map(rows.map((row) => [row[0], row]));
  t.deepEqual([...byName.keys()].sort(), ['db-1', 'idle-1', 'web-1']);
  t.is(byName.get('web-1')![2], 'live-migrate');
  t.is(byName.get('db-1')![2], 'live-migrate');
  t.is(byName.get('idle-1')![2], 'cold-migrate');
  for (const row of rows) t.true(row[3] === 'h2' || row[3] === 'h3');

  const explain = await drydock(t, ['maintenance', 'plan', 'h1', '--explain']);
  t.regex(explain.stdout, /\nCandidates\n/);
  t.regex(explain.stdout, /^ {4}h1: not eligible$/m);
  t.regex(explain.stdout, /^ {6}skip not-source: /m);

  const p = await json<{ host_id: string; servers: Array<{ server_uuid: string; action: string }>; blockers: unknown[] }>(t, ['maintenance', 'plan', 'h1']);
  t.is(p.host_id, 'h1');
  t.is(p.servers.length, 3);
  t.deepEqual(p.blockers, []);
  t.is((await json<{ maintenance: string }>(t, ['host', 'show', 'h1'])).maintenance, 'MAINTENANCE_STATE_NONE', 'a plan changes nothing');
});

test.serial('maintenance enable --confirm on a terminal follows the drain with bars to the end', async (t) => {
  const r = await drydockTty(['maintenance', 'enable', 'h1', '--confirm'], cliEnv(t));
  t.is(r.code, 0, r.stdout);
  const raw = r.stdout;
  t.regex(raw, /█/, 'cli-progress bars');
  t.regex(raw, /eta /);
  const frame = screen(raw).trimEnd().split('\n');
  const overall = frame.find((l) => l.includes(' overall '));
  t.truthy(overall, screen(raw));
  t.regex(overall!, /100% 3\/3 servers {2}eta 0s {2}succeeded/);
  t.regex(
    frame.find((l) => / web-1 /.test(l))!,
    / live -> h[23] +\|█+\| 100% done/,
  );
  t.regex(
    frame.find((l) => / db-1 /.test(l))!,
    / live -> h[23] +\|█+\| 100% done/,
  );
  t.regex(
    frame.find((l) => / idle-1 /.test(l))!,
    / cold -> h[23] +\|█+\| 100% done/,
  );
  const summary = /operation (\S+) succeeded: enable-maintenance of h1, 3\/3 servers done/.exec(frame.at(-1)!);
  t.truthy(summary, frame.at(-1));
  enableOpId = summary![1]!;
  const h1 = await json<{ maintenance: string; server_count: number }>(t, ['host', 'show', 'h1']);
  t.is(h1.maintenance, 'MAINTENANCE_STATE_IN_MAINTENANCE');
  t.is(t.context.agents.byId('h1').sim.servers().length, 0, 'h1 drained');
});

test.serial('ops list and ops show: the finished drain, its steps and the servers moved away', async (t) => {
  t.truthy(enableOpId, 'needs the enable test');
  const list = await drydock(t, ['ops', 'list', '--host', 'h1']);
  t.is(list.code, 0, list.stderr);
  const { header, rows } = table(list.stdout);
  t.deepEqual(header.slice(0, 6), ['ID', 'KIND', 'HOST', 'STATE', 'DONE', 'STAGE']);
  t.deepEqual(rows[0]!.slice(0, 5), [enableOpId, 'enable-maintenance', 'h1', 'succeeded', '3/3']);
  const active = await json<{ operations: unknown[] }>(t, ['ops', 'list', '--host', 'h1', '--active']);
  t.deepEqual(active.operations, []);

  const show = await drydock(t, ['ops', 'show', enableOpId]);
  t.is(show.code, 0, show.stderr);
  t.regex(show.stdout, /^State:\s+succeeded$/m);
  t.regex(show.stdout, /^Progress:\s+3\/3 servers$/m);
  t.regex(show.stdout, /^Requested by:\s+alice$/m);
  t.regex(show.stdout, /\nSteps\n {2}SERVER +ACTION +PHASE +FROM +TO /);
  t.regex(show.stdout, /^ {2}web-1 +live-migrate +done +h1 +h[23] /m);
  t.regex(show.stdout, /\nMoved away \(drydock servers return h1\)\n/);
  const op = await json<{ id: string; state: string; moved_away: Array<{ server_name: string }> }>(t, ['ops', 'show', enableOpId]);
  t.is(op.state, 'OPERATION_STATE_SUCCEEDED');
  t.deepEqual(op.moved_away.map((m) => m.server_name).sort(), ['db-1', 'idle-1', 'web-1']);
  const missing = await drydock(t, ['ops', 'show', 'op-that-never-was']);
  t.is(missing.code, 4, missing.stderr);
});

test.serial('ops watch of a finished operation on a pipe replays its events, one line each', async (t) => {
  const r = await drydock(t, ['ops', 'watch', enableOpId]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], `following enable-maintenance of h1: operation ${enableOpId}, succeeded`);
  t.truthy(lines.find((l) => /^\d\d:\d\d:\d\d (step|progress) web-1 live-migrate h1 -> h[23] /.test(l)));
  t.truthy(lines.find((l) => /^\d\d:\d\d:\d\d state succeeded/.test(l)));
  t.regex(lines.at(-1)!, new RegExp(`^operation ${enableOpId} succeeded`));
  t.false(r.stdout.includes('\x1b['));
});

test.serial('maintenance disable on a terminal follows the reboot stages; servers return --wait on a pipe', async (t) => {
  const off = await drydockTty(['maintenance', 'disable', 'h1'], cliEnv(t));
  t.is(off.code, 0, off.stdout);
  const frame = screen(off.stdout).trimEnd().split('\n');
  const overall = frame.find((l) => l.includes(' overall '));
  t.truthy(overall, screen(off.stdout));
  t.regex(overall!, /\|█+\| 100% succeeded/);
  t.notRegex(overall!, /0\/0 servers/, 'a disable shows stages, not servers');
  t.regex(frame.at(-1)!, /^operation \S+ succeeded: disable-maintenance of h1/);
  t.is((await json<{ maintenance: string }>(t, ['host', 'show', 'h1'])).maintenance, 'MAINTENANCE_STATE_NONE');

  const back = await drydock(t, ['servers', 'return', 'h1', '--wait']);
  t.is(back.code, 0, back.stderr);
  const lines = back.stdout.trim().split('\n');
  t.regex(lines[0]!, /^following return-servers of h1: operation \S+/);
  for (const name of ['web-1', 'db-1', 'idle-1'])
    t.truthy(
      lines.find((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d step ${name} \\S+ h[23] -> h1 done 100%`).test(l)),
      `${name} returned: ${back.stdout}`,
    );
  t.regex(lines.at(-1)!, /^operation \S+ succeeded: return-servers of h1, 3\/3 servers done/);
  await until('3 servers back on h1', async () =>
    (await json<{ servers: unknown[] }>(t, ['servers', '--host', 'h1'])).servers.length === 3 ? true : undefined,
  );
  t.deepEqual(
    t.context.agents
      .byId('h1')
      .sim.servers()
      .map((s) => s.name)
      .sort(),
    ['db-1', 'idle-1', 'web-1'],
  );

  // Off a terminal, without --wait: the operation is printed and the CLI returns.
  const again = await drydock(t, ['servers', 'return', 'h1']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /^operation (\S+) started: return-servers of h1 \(\w+\)\nfollow it: drydock ops watch \1\n$/);
});

test.serial('enable refused by the coordinator when a server fits nowhere: exit 3, one line, nothing changed', async (t) => {
  const HUGE = '0a000000-0000-4000-8000-0000000000ff';
  const h3 = t.context.agents.byId('h3').sim;
  h3.addServer({ uuid: HUGE, name: 'huge-1', memoryBytes: 40 * GiB, vcpus: 2, hotMigration: true });
  t.teardown(() => h3.removeServer(HUGE));
  await serverOn(t, HUGE, 'h3');
  const plan = await drydock(t, ['maintenance', 'plan', 'h3']);
  t.is(plan.code, 0, plan.stderr);
  t.regex(plan.stdout, /Cannot move \(enable needs --stop-unmigratable, which stops them\):\n/);
  t.regex(plan.stdout, /^huge-1 +0a000000-0000-4000-8000-0000000000ff +stop /m);

  const r = await drydock(t, ['maintenance', 'enable', 'h3', '--confirm']);
  t.is(r.code, 3, r.stderr);
  t.is(r.stdout, '');
  t.is(r.stderr.split('\n').length, 2, 'one line');
  t.regex(r.stderr, /huge-1/);
  t.regex(r.stderr, / — see 'drydock maintenance plan <host> --explain'; add --stop-unmigratable to stop servers that cannot move\n$/);
  t.is((await json<{ maintenance: string }>(t, ['host', 'show', 'h3'])).maintenance, 'MAINTENANCE_STATE_NONE');
});

test.serial('Ctrl-C while following a real drain detaches; the drain goes on; ops cancel stops it', async (t) => {
  // 8 GiB at 512 MiB/s: ~16 s of migration, time to detach and cancel.
  const BIG = '0a000000-0000-4000-8000-0000000000bb';
  const h2 = t.context.agents.byId('h2').sim;
  h2.addServer({ uuid: BIG, name: 'big-1', memoryBytes: 8 * GiB, vcpus: 2, hotMigration: true });
  await serverOn(t, BIG, 'h2');

  const r = await drydockTty(['maintenance', 'enable', 'h2', '--confirm'], cliEnv(t), { interruptOn: 'migrating' });
  t.is(r.code, 130, r.stdout);
  const m = /detached from operation (\S+); it continues in the coordinator — re-attach: drydock ops watch (\S+) {2}cancel: drydock ops cancel (\S+)/.exec(
    r.stdout,
  );
  t.truthy(m, r.stdout);
  const id = m![1]!;
  t.is(m![2], id);
  t.is(m![3], id);
  const running = await json<{ state: string }>(t, ['ops', 'show', id]);
  t.true(['OPERATION_STATE_RUNNING', 'OPERATION_STATE_PENDING'].includes(running.state), `still going after the detach: ${running.state}`);

  const cancel = await drydock(t, ['ops', 'cancel', id, '--reason', 'test detach then cancel']);
  t.is(cancel.code, 0, cancel.stderr);
  t.regex(cancel.stdout, new RegExp(`^operation ${id} `));
  const watched = await drydock(t, ['ops', 'watch', id]);
  t.is(watched.code, 7, watched.stdout + watched.stderr);
  t.regex(watched.stdout, new RegExp(`operation ${id} cancelled`));
  t.is(t.context.agents.fabric.whereIs(BIG)?.hostId, 'h2', 'a cancelled migration leaves the server where it was');
});

// ------------------------------------------------------------ zone CPU

test.serial('zone cpu: the baseline follows the weakest host; hosts show their flags against it', async (t) => {
  const before = await drydock(t, ['zone', 'cpu', 'z1']);
  t.is(before.code, 0, before.stderr);
  t.regex(before.stdout, /^Zone:\s+z1$/m);
  t.regex(before.stdout, /^Mode:\s+default$/m);

  t.is((await drydock(t, ['zone', 'update', 'z1', '--cpu-mode', 'extended'])).code, 0);
  const r = await drydock(t, ['zone', 'cpu', 'z1', '--recompute']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Mode:\s+extended$/m);
  t.regex(r.stdout, /^Model:\s+Haswell-noTSX$/m, r.stdout);
  t.regex(r.stdout, /\nHistory\n {2}AT +FROM +TO +LOST +GAINED +CAUSE +REASON +POWER CYCLE\n/);
  const cpu = await json<{ zone_id: string; mode: string; model: string; history: Array<{ to_model: string }> }>(t, ['zone', 'cpu', 'z1']);
  t.like(cpu, { zone_id: 'z1', mode: 'CPU_MODE_EXTENDED', model: 'Haswell-noTSX' });
  t.is(cpu.history.at(-1)!.to_model, 'Haswell-noTSX');
  t.regex((await drydock(t, ['zone', 'show', 'z1'])).stdout, /^CPU model:\s+Haswell-noTSX/m);

  // h1 (Skylake) can run the zone model; h3 is the model. (The flag lists
  // are the coordinator's arithmetic on reported features; the sim reports
  // models without feature lists, so they are empty here — test/cli-format
  // covers how they are shown.)
  const h1 = await drydock(t, ['host', 'show', 'h1']);
  t.regex(h1.stdout, /^ {2}Model:\s+Skylake-Server \(Intel\)$/m);
  t.regex(h1.stdout, /^ {2}Zone compatible:\s+yes$/m);
  t.regex(h1.stdout, /^ {2}Default flags:/m);
  t.regex(h1.stdout, /^ {2}Unmatching \(extra\):/m);
  const h3 = await json<{ cpu: { model: string; compatible: boolean; unmatching_extra_flags: string[]; unmatching_missing_flags: string[] } }>(t, [
    'host',
    'show',
    'h3',
  ]);
  t.like(h3.cpu, { model: 'Haswell-noTSX', compatible: true });
  t.deepEqual(h3.cpu.unmatching_missing_flags, []);

  const upgrade = await drydock(t, ['zone', 'cpu', 'z1', '--allow-upgrade']);
  t.is(upgrade.code, 2);
  t.is(upgrade.stderr, "drydock: --allow-upgrade only applies with --recompute — run 'drydock zone cpu z1 --recompute --allow-upgrade'\n");
  const both = await drydock(t, ['--json', 'zone', 'cpu', 'z1', '--recompute', '--allow-upgrade']);
  t.is(both.code, 0, both.stderr);
  t.is((JSON.parse(both.stdout) as { model: string }).model, 'Haswell-noTSX', 'no better model while h3 is in the zone');
  const missing = await drydock(t, ['zone', 'cpu', 'nope']);
  t.is(missing.code, 4);
});
