// The deployment artifacts hold together: the systemd units pass
// `systemd-analyze verify` (and keep their hardening), the commands they run
// work on the example configs, the examples load through the real config
// compilers and document every option, the units and configs agree on paths,
// and install.sh --dry-run says what it would do without doing it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { KNOWN_KEYS as AGENT_KEYS, loadAgentConfig } from '../agent/config.ts';
import { loadConfig as loadCoordinatorConfig } from '../coordinator/config.ts';
import { loadUsersFile } from '../coordinator/auth/tokens.ts';
import { findProgram } from '../common/command-env.mjs';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const DEPLOY = path.join(REPO, 'deploy');
const INSTALLED = '/opt/drydock';
const UNITS = ['drydock-agent.service', 'drydock-coordinator.service'] as const;
const example = (name: string) => path.join(DEPLOY, 'examples', name);

/** A unit file as key → values (a key may repeat, e.g. StateDirectory=, SystemCallFilter=). */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const unitText = (name: string) => readFileSync(path.join(DEPLOY, 'systemd', name), 'utf8');
const unit = (name: string) => parseUnit(unitText(name));
const one = (u: Map<string, string[]>, key: string) => u.get(key)?.at(-1) ?? '';

/** The unit's command line with its Environment= variables expanded and /opt/drydock pointing at this tree. */
function commandOf(u: Map<string, string[]>, key: string, env: Record<string, string>): string[] {
  let line = one(u, key).replaceAll(INSTALLED, REPO);
  for (const [k, v] of Object.entries(env)) line = line.replaceAll(`\${${k}}`, v);
  // Our units use no quoting: split on whitespace as systemd would.
  return line.split(/\s+/).filter(Boolean);
}

async function systemdAnalyze(): Promise<string> {
  // Set-up installs it (systemd, in scripts/prerequisites.mjs).
  const p = findProgram('systemd-analyze');
  if (!p) throw new Error('systemd-analyze not found: run npm run setup (package systemd)');
  return p;
}

test('systemd-analyze verify passes on both units, as shipped and pointed at this tree', async (t) => {
  const bin = await systemdAnalyze();
  // As shipped: ExecStart's `node` resolves through systemd's search path; the
  // scripts under /opt/drydock are arguments, which verify does not look at...
  await t.notThrowsAsync(exec(bin, ['verify', ...UNITS.map((u) => path.join(DEPLOY, 'systemd', u))]));
  // ...so verify copies whose /opt/drydock is this tree, and check that every
  // path under /opt/drydock a unit names exists in the tree install.sh copies.
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const u of UNITS) {
    const text = unitText(u);
    for (const m of text.matchAll(/\/opt\/drydock(\/[^\s$]*)?/g)) {
      const rel = m[1] ?? '';
      t.true(existsSync(path.join(REPO, rel)), `${u} names ${m[0]}, which the tree has`);
    }
    writeFileSync(path.join(dir, u), text.replaceAll(INSTALLED, REPO));
  }
  const { stdout, stderr } = await exec(bin, ['verify', ...UNITS.map((u) => path.join(dir, u))]);
  t.is(`${stdout}${stderr}`.trim(), '', 'no warnings');
  // A broken command is caught: the check above is not vacuous.
  writeFileSync(path.join(dir, 'broken.service'), unitText(UNITS[0]).replace('ExecStart=node ', 'ExecStart=node-that-does-not-exist '));
  await t.throwsAsync(exec(bin, ['verify', path.join(dir, 'broken.service')]));
});

test('the units keep their hardening (systemd-analyze security, offline)', async (t) => {
  const bin = await systemdAnalyze();
  // Exposure 0 (locked down) .. 10 (unprotected). The agent runs as root for
  // libvirt and the reboot; the coordinator needs nothing but the network.
  const limits: Record<(typeof UNITS)[number], number> = { 'drydock-agent.service': 3.5, 'drydock-coordinator.service': 2.0 };
  for (const u of UNITS) {
    const { stdout } = await exec(bin, ['security', '--offline=yes', '--no-pager', path.join(DEPLOY, 'systemd', u)]);
    const level = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(stdout)?.[1]);
    t.log(`${u}: exposure ${level}`);
    t.true(level <= limits[u], `${u}: exposure ${level} > ${limits[u]}`);
  }
});

test('restart semantics: the agent comes back after its reboot exit (75), not after a bad config (2)', (t) => {
  const a = unit('drydock-agent.service');
  t.is(one(a, 'Service.Restart'), 'on-failure');
  t.true(one(a, 'Service.RestartForceExitStatus').split(/\s+/).includes('75'), 'exit 75 is restarted whatever Restart= says');
  t.true(one(a, 'Service.SuccessExitStatus').split(/\s+/).includes('75'), 'and is not logged as a failure');
  t.true(one(a, 'Service.RestartPreventExitStatus').split(/\s+/).includes('2'), 'a config error (exit 2) is not restarted');
  // SIGTERM to the agent alone: it winds its migrations down itself.
  t.is(one(a, 'Service.KillMode'), 'mixed');
  t.is(one(a, 'Service.User'), 'root');
  const c = unit('drydock-coordinator.service');
  t.is(one(c, 'Service.Restart'), 'on-failure');
  t.is(one(c, 'Service.KillMode'), 'mixed');
  t.is(one(c, 'Service.User'), 'drydock');
  for (const [u, file] of [
    [a, '/etc/drydock/agent.yaml'],
    [c, '/etc/drydock/coordinator.yaml'],
  ] as const) {
    t.true(
      (u.get('Service.Environment') ?? []).some((e) => e.endsWith(`=${file}`)),
      `config at ${file}`,
    );
    t.is(one(u, 'Service.ExecStartPre'), `${one(u, 'Service.ExecStart')} --check`, 'ExecStartPre checks the config ExecStart will use');
  }
});

test('the units run the example configs: their ExecStartPre (--check) passes on them', async (t) => {
  const a = unit('drydock-agent.service');
  const agentCmd = commandOf(a, 'Service.ExecStartPre', { DRYDOCK_AGENT_CONFIG: example('agent.yaml') });
  t.is(agentCmd[0], 'node');
  const agent = await exec(process.execPath, agentCmd.slice(1), { cwd: REPO });
  t.is(JSON.parse(agent.stdout).hostId, 'kvm-01');

  const c = unit('drydock-coordinator.service');
  const coordCmd = commandOf(c, 'Service.ExecStartPre', { DRYDOCK_COORDINATOR_CONFIG: example('coordinator.yaml') });
  // The example's users file lives at /etc/drydock/users.yaml once installed; here, the example itself.
  const coord = await exec(process.execPath, coordCmd.slice(1), {
    cwd: REPO,
    env: { ...process.env, DRYDOCK_COORDINATOR_AUTH_TOKEN_FILE: example('users.yaml') },
  });
  t.regex(coord.stdout, /configuration OK \(3 users\)/);
});

test('the example configs load through the real config compilers and document every option', (t) => {
  const agent = loadAgentConfig({ file: example('agent.yaml'), required: true, env: {} });
  t.is(agent.hypervisor, 'libvirt', 'never the sim hypervisor in an example');
  t.false(agent.rebootRestartsAgent, 'a real host reboots: no restart exit');
  const agentDoc = readFileSync(example('agent.yaml'), 'utf8');
  const agentYaml = parseYaml(agentDoc) as Record<string, unknown>;
  for (const key of AGENT_KEYS) {
    const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], agentYaml);
    // An option may be shown commented out (an alternative, or off by default).
    t.true(value !== undefined || new RegExp(`^\\s*#\\s*${key.split('.').at(-1)}:`, 'm').test(agentDoc), `agent.yaml documents ${key}`);
  }

  const coordinator = loadCoordinatorConfig(example('coordinator.yaml'), {}, true);
  t.is(coordinator.nats.kvReplicas, 3, 'the example is a production cluster: replicas 3');
  t.true(coordinator.nats.servers.length >= 3);
  // coordinator/config.ts keeps its option list private; read it from the source.
  const src = readFileSync(path.join(REPO, 'coordinator', 'config.ts'), 'utf8');
  const known = [...(/const KNOWN = \[([\s\S]*?)\] as const/.exec(src)?.[1] ?? '').matchAll(/'([\w.]+)'/g)].map((m) => m[1]!);
  t.true(known.length > 15, `found the coordinator options (${known.length})`);
  const coordText = readFileSync(example('coordinator.yaml'), 'utf8');
  const coordYaml = parseYaml(coordText) as Record<string, unknown>;
  for (const key of known) {
    const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], coordYaml);
    // Alternatives (NATS user/password vs creds) may be shown commented out.
    const leaf = key.split('.').at(-1)!;
    t.true(value !== undefined || new RegExp(`^\\s*#\\s*${leaf}:`, 'm').test(coordText), `coordinator.yaml documents ${key}`);
  }

  const users = loadUsersFile(example('users.yaml'), coordinator.auth.roles);
  t.is(users.users.length, 3);
  // Every option is commented: walking up from an option line over sibling
  // options (certFile/keyFile share one comment) reaches a comment line.
  for (const f of ['agent.yaml', 'coordinator.yaml']) {
    const lines = readFileSync(example(f), 'utf8').split('\n');
    const indent = (l: string) => l.length - l.trimStart().length;
    const isOption = (l: string) => /^\s*[A-Za-z]+:\s*\S/.test(l) && !l.trimStart().startsWith('#');
    lines.forEach((line, i) => {
      if (!isOption(line)) return;
      // auth.roles holds role names (data), documented on `roles:` itself.
      const parent = lines
        .slice(0, i)
        .reverse()
        .find((l) => l.trim() && !l.trimStart().startsWith('#') && indent(l) < indent(line));
      if (parent?.trim() === 'roles:') return;
      let j = i - 1;
      while (j >= 0 && (isOption(lines[j]!) || /^\s*- /.test(lines[j]!)) && indent(lines[j]!) >= indent(line)) j--;
      // A section holding one option (`metrics:` / `listen:`) is documented above the section.
      const onlyChild = (k: number) => {
        let n = 0;
        for (let m = k + 1; m < lines.length && (!lines[m]!.trim() || indent(lines[m]!) > indent(lines[k]!)); m++) if (isOption(lines[m]!)) n++;
        return n === 1;
      };
      if (j >= 0 && /^\s*[A-Za-z]+:\s*$/.test(lines[j]!) && indent(lines[j]!) < indent(line) && onlyChild(j)) j--;
      t.true(j >= 0 && lines[j]!.trimStart().startsWith('#'), `${f}:${i + 1} ${line.trim()} has a comment`);
    });
  }
});

test('units and example configs agree on the writable paths', (t) => {
  const a = unit('drydock-agent.service');
  const c = unit('drydock-coordinator.service');
  const stateDirs = (u: Map<string, string[]>) => (u.get('Service.StateDirectory') ?? []).flatMap((v) => v.split(/\s+/)).map((d) => `/var/lib/${d}`);
  const agent = loadAgentConfig({ file: example('agent.yaml'), required: true, env: {} });
  t.true(
    stateDirs(a).some((d) => agent.stateDir === d || agent.stateDir.startsWith(`${d}/`)),
    `agent stateDir ${agent.stateDir} is a StateDirectory`,
  );
  // ProtectSystem=strict: the embedded nats-server's data must be in a StateDirectory, with the default too.
  t.is(one(c, 'Service.ProtectSystem'), 'strict');
  const coordinator = loadCoordinatorConfig(example('coordinator.yaml'), {}, true);
  const defaults = loadCoordinatorConfig('/nonexistent/coordinator.yaml', {}, false);
  for (const dataDir of [coordinator.nats.dataDir, defaults.nats.dataDir]) {
    t.true(
      stateDirs(c).some((d) => dataDir === d || dataDir.startsWith(`${d}/`)),
      `nats.dataDir ${dataDir} is writable (StateDirectory)`,
    );
  }
  // The unit must not override the operator's file through the environment.
  t.false(
    (c.get('Service.Environment') ?? []).some((e) => e.startsWith('DRYDOCK_COORDINATOR_NATS')),
    'no NATS override in the unit',
  );
});

test('install.sh --dry-run prints the install without doing it, and never overwrites a config', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const etc = path.join(dir, 'etc');
  const units = path.join(dir, 'units');
  const prefix = path.join(dir, 'opt', 'drydock');
  // An operator's existing agent config.
  await exec('mkdir', ['-p', etc]);
  writeFileSync(path.join(etc, 'agent.yaml'), 'hostId: mine\n');
  const { stdout } = await exec('bash', [path.join(DEPLOY, 'install.sh'), '--dry-run', '--prefix', prefix], {
    env: { ...process.env, DRYDOCK_ETC_DIR: etc, SYSTEMD_UNIT_DIR: units },
  });
  t.regex(stdout, new RegExp(`\\+ cp -a ${REPO}/agent ${prefix}\\.new/`));
  t.regex(stdout, /\+ npm ci --omit=dev .*--prefix \S+drydock\.new/);
  t.regex(stdout, new RegExp(`\\+ mv ${prefix}\\.new ${prefix}`));
  for (const u of UNITS) t.true(stdout.includes(`+ install -m 0644 ${DEPLOY}/systemd/${u} ${units}/${u}`), `installs ${u}`);
  t.regex(stdout, new RegExp(`kept ${etc}/agent\\.yaml`));
  t.false(stdout.includes(`${etc}/agent.yaml\n+`) || new RegExp(`install .*examples/agent\\.yaml`).test(stdout), 'the existing agent.yaml is not overwritten');
  t.regex(stdout, /install -m 0640 -o root -g drydock \S+examples\/coordinator\.yaml/);
  t.regex(stdout, /install -m 0640 -o root -g drydock \S+examples\/users\.yaml/);
  t.regex(stdout, /\+ systemctl daemon-reload/);
  // Nothing happened.
  t.false(existsSync(prefix) || existsSync(`${prefix}.new`) || existsSync(units));
  t.is(readFileSync(path.join(etc, 'agent.yaml'), 'utf8'), 'hostId: mine\n');

  const agentOnly = await exec('bash', [path.join(DEPLOY, 'install.sh'), '--dry-run', '--role', 'agent', '--prefix', prefix], {
    env: { ...process.env, DRYDOCK_ETC_DIR: path.join(dir, 'etc2'), SYSTEMD_UNIT_DIR: units },
  });
  t.false(agentOnly.stdout.includes('drydock-coordinator.service'), 'an agent host gets the agent unit only');
  t.false(agentOnly.stdout.includes('useradd'), 'and no coordinator user');
  await t.throwsAsync(exec('bash', [path.join(DEPLOY, 'install.sh'), '--role', 'both', '--dry-run']), { message: /--role must be/ });
});

test('install.sh for real, into scratch directories: tree, units, configs kept, rollback copy, a failed npm ci changes nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-install-real-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const etc = path.join(dir, 'etc');
  const units = path.join(dir, 'units');
  const prefix = path.join(dir, 'opt', 'drydock');
  // npm stands in for the registry (no network here): it links this tree's
  // node_modules, so the installed tree can run. Its last argument is the prefix.
  const bin = path.join(dir, 'bin');
  await exec('mkdir', ['-p', bin]);
  writeFileSync(
    path.join(bin, 'npm'),
    `#!/bin/sh\nfor last; do :; done\n[ -n "$FAIL_NPM" ] && exit 1\necho "$@" >> "${dir}/npm.log"\nln -s "${REPO}/node_modules" "$last/node_modules"\n`,
    { mode: 0o755 },
  );
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DRYDOCK_ETC_DIR: etc, SYSTEMD_UNIT_DIR: units };
  // --role agent: no system user is created on the test machine.
  const install = (extra: Record<string, string> = {}) =>
    exec('bash', [path.join(DEPLOY, 'install.sh'), '--role', 'agent', '--prefix', prefix], { env: { ...env, ...extra } });

  await install();
  t.regex(readFileSync(path.join(dir, 'npm.log'), 'utf8'), /^ci --omit=dev .*--prefix \S+drydock\.new$/m);
  for (const f of [
    'package.json',
    'package-lock.json',
    'agent/main.ts',
    'coordinator/main.ts',
    'cli/main.ts',
    'proto',
    'bin/drydock.mjs',
    'deploy/examples/agent.yaml',
  ]) {
    t.true(existsSync(path.join(prefix, f)), `installed ${f}`);
  }
  for (const f of ['test', 'scripts', 'bench', '.git', '.cache', 'harness']) t.false(existsSync(path.join(prefix, f)), `not installed: ${f}`);
  t.true(existsSync(path.join(units, 'drydock-agent.service')));
  t.false(existsSync(path.join(units, 'drydock-coordinator.service')));
  const { stdout: mode } = await exec('stat', ['-c', '%a', path.join(etc, 'agent.yaml')]);
  t.is(mode.trim(), '640');
  // The installed tree runs on its own (nothing it imports was left out): the units' --check.
  const check = await exec(process.execPath, ['--import', 'tsx', path.join(prefix, 'agent/main.ts'), '--config', path.join(etc, 'agent.yaml'), '--check'], {
    cwd: prefix,
  });
  t.is(JSON.parse(check.stdout).hostId, 'kvm-01');
  // The sim hypervisor lives in harness/, which is not installed: `hypervisor: sim` is refused by name.
  const sim = await exec(process.execPath, ['--import', 'tsx', path.join(prefix, 'agent/main.ts'), '--config', path.join(etc, 'agent.yaml'), '--check'], {
    cwd: prefix,
    env: { ...process.env, DRYDOCK_AGENT_HYPERVISOR: 'sim' },
  }).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  t.is(sim?.code, 2);
  t.regex(sim?.stderr ?? '', /config hypervisor: "sim" is a test harness/);
  const coordCheck = await exec(
    process.execPath,
    ['--import', 'tsx', path.join(prefix, 'coordinator/main.ts'), '--config', path.join(prefix, 'deploy/examples/coordinator.yaml'), '--check'],
    {
      cwd: prefix,
      env: { ...process.env, DRYDOCK_COORDINATOR_AUTH_TOKEN_FILE: path.join(prefix, 'deploy/examples/users.yaml') },
    },
  );
  t.regex(coordCheck.stdout, /configuration OK/);

  // The operator edits the config; an upgrade keeps it and keeps the old tree for a rollback.
  writeFileSync(path.join(etc, 'agent.yaml'), 'hostId: edited\n');
  writeFileSync(path.join(prefix, 'marker'), 'old tree\n');
  const upgrade = await install();
  t.regex(upgrade.stdout, /kept .*agent\.yaml/);
  t.is(readFileSync(path.join(etc, 'agent.yaml'), 'utf8'), 'hostId: edited\n');
  t.true(existsSync(path.join(`${prefix}.previous`, 'marker')), 'the previous tree is kept');
  t.false(existsSync(path.join(prefix, 'marker')));

  // A failing npm ci: the installed tree stays, no stage is left.
  writeFileSync(path.join(prefix, 'marker'), 'current tree\n');
  const failed = await install({ FAIL_NPM: '1' }).then(
    () => null,
    (err: { stderr: string }) => err,
  );
  t.truthy(failed, 'install.sh fails');
  t.regex(failed?.stderr ?? '', /unchanged/);
  t.is(readFileSync(path.join(prefix, 'marker'), 'utf8'), 'current tree\n');
  t.false(existsSync(`${prefix}.new`));
});
