// The one rule for libvirt URIs and gRPC endpoints (common/uri.ts), and that
// every door that hands a URI to virsh applies it: the agent's MigrateServer
// (real gRPC server over the sim hypervisor), and a real LibvirtHypervisor
// running the real virsh against libvirt's built-in test driver
// (test:///default, no libvirtd needed), asked to reach a URI whose
// `command=` parameter names a marker script. libvirt runs that program for
// the ssh and ext transports; the marker must never appear.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertGrpcEndpoint, assertLibvirtUri, isGrpcEndpoint, isLibvirtUri } from '../common/uri.ts';
import { LibvirtHypervisor } from '../agent/hypervisor/libvirt.ts';
import { Virsh } from '../agent/hypervisor/virsh.ts';
import { startSimAgents } from '../harness/sim-cluster.ts';
import { agentClient, callError, migrateError } from './agent-helpers.ts';

const execFileP = promisify(execFile);

// Every form that, with the old validator, reached virsh: each names a
// program or a file, switches off verification, or hides one of those.
const EVIL_PARAMS = [
  'command=/tmp/x.sh',
  'netcat=/tmp/nc',
  'socket=/tmp/sock',
  'keyfile=/root/.ssh/id_rsa',
  'no_verify=1',
  'pkipath=/tmp/pki',
  'known_hosts=/tmp/kh',
  'known_hosts_verify=ignore',
  'sshauth=privkey',
  'no_tty=1',
  'mode=direct',
  'proxy=netcat',
  'tls_priority=NORMAL',
  'name=qemu:///system',
];

const REFUSED: [string, string][] = [
  ...EVIL_PARAMS.flatMap((p): [string, string][] => [
    [`qemu+tcp://10.0.0.2/system?${p}`, `parameter ${p}`],
    [`qemu+ssh://h2/system?${p}`, `ssh transport with ${p}`],
    [`qemu+tls://h2/system?${p}`, `tls with ${p}`],
    [`qemu:///system?${p}`, `local with ${p}`],
  ]),
  ['qemu+ext:///system?command=/tmp/x.sh', 'ext transport'],
  ['qemu+ssh://h2/system', 'ssh transport (runs the ssh client)'],
  ['qemu+libssh2://h2/system', 'libssh2 transport'],
  ['qemu+libssh://h2/system', 'libssh transport'],
  ['qemu+tcp://10.0.0.2/system?', 'empty query'],
  ['qemu+tcp://10.0.0.2/system#x', 'fragment'],
  ['qemu+tcp://root@10.0.0.2/system', 'user-info'],
  ['qemu+tcp://root:pw@10.0.0.2/system', 'user-info with password'],
  ['qemu+tcp://10.0.0.2/system%3Fcommand=/tmp/x.sh', 'percent-encoded ?'],
  ['qemu+tcp://10.0.0.2/system?%63ommand=/tmp/x.sh', 'percent-encoded name'],
  ['qemu%2Bssh://h2/system', 'percent-encoded scheme'],
  ['qemu+tcp://h%32/system', 'percent-encoded host'],
  ['qemu+tcp://10.0.0.2/system?command%3D/tmp/x.sh', 'percent-encoded ='],
  ['qemu+tcp://10.0.0.2/system ?command=/tmp/x.sh', 'space'],
  ['qemu+tcp://10.0.0.2/system\n', 'newline'],
  [' qemu+tcp://10.0.0.2/system', 'leading space'],
  ['qemu+tcp://10.0.0.2/system\t', 'tab'],
  ['qemu+tcp://10.0.0.2/sys\u00adtem', 'soft hyphen'],
  ['qemu+tcp://-oProxyCommand=x/system', 'option-looking host'],
  ['qemu+tcp://h2/system;id', 'shell text in the path'],
  ['qemu+tcp://$(reboot)/system', 'shell text in the host'],
  ['qemu+tcp:///system', 'tcp without host'],
  ['qemu+tls:///system', 'tls without host'],
  ['qemu+unix://h2/system', 'unix with a host'],
  ['test://h2/default', 'test driver with a host'],
  ['qemu+tcp://h2/session', 'session daemon'],
  ['qemu+tcp://h2/system/', 'trailing slash'],
  ['qemu+tcp://h2/../system', 'dotted path'],
  ['qemu+tcp://h2', 'no path'],
  ['qemu+tcp://h2:0/system', 'port 0'],
  ['qemu+tcp://h2:65536/system', 'port too large'],
  ['qemu+tcp://h2:/system', 'empty port'],
  ['qemu+tcp://h2:016509/system', 'port with leading zero'],
  ['qemu+tcp://010.0.0.2/system', 'IPv4 with leading zero (octal)'],
  ['qemu+tcp://127.1/system', 'short numeric host'],
  ['qemu+tcp://0x7f000001/system', 'hex numeric host'],
  ['qemu+tcp://256.0.0.1/system', 'IPv4 out of range'],
  ['qemu+tcp://[fe80::1%25eth0]/system', 'IPv6 zone'],
  ['qemu+tcp://[::g]/system', 'bad IPv6'],
  ['qemu+tcp://::1/system', 'IPv6 without brackets'],
  ['qemu+tcp://h..x/system', 'empty label'],
  ['http://h2/system', 'http'],
  ['xen+tcp://h2/system', 'another driver'],
  ['QEMU+TCP://h2/system', 'upper-case scheme'],
  ['', 'empty'],
  [`qemu+tcp://${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}/system`, 'too long'],
];

const ACCEPTED = [
  'qemu:///system',
  'qemu+unix:///system',
  'test:///default',
  'qemu+tcp://10.0.0.2/system',
  'qemu+tcp://10.0.0.2:16509/system',
  'qemu+tls://kvm-01.example.com/system',
  'qemu://kvm-01/system',
  'qemu+tcp://kvm_7.sim/system',
  'qemu+tcp://[2001:db8::2]/system',
  'qemu+tls://[::1]:16514/system',
];

test('libvirt URIs: only plain scheme://host[:port]/path of the schemes drydock uses; no parameters, user-info, encoding or odd transports', (t) => {
  for (const uri of ACCEPTED) {
    t.true(isLibvirtUri(uri), uri);
    t.is(assertLibvirtUri('u', uri), uri);
  }
  for (const [uri, what] of REFUSED) {
    t.false(isLibvirtUri(uri), `${what}: ${JSON.stringify(uri)}`);
    t.throws(() => assertLibvirtUri('target_uri', uri), { name: 'InvalidArgumentError', message: /^target_uri: / }, what);
  }
});

test('an error about a huge URI quotes only its start', (t) => {
  const huge = `qemu+tcp://h/system?command=${'x'.repeat(100_000)}`;
  const err = t.throws(() => assertLibvirtUri('target_uri', huge));
  t.true(err!.message.length < 400, `message is ${err!.message.length} characters`);
});

test('gRPC endpoints: host:port with a host name, IPv4 or [IPv6] and a port 1-65535, nothing else', (t) => {
  for (const ok of ['10.0.0.1:7400', 'kvm-01.example.com:7400', '[2001:db8::1]:7400', '127.0.0.1:1', 'h:65535', 'kvm_7.sim:7400']) {
    t.true(isGrpcEndpoint(ok), ok);
  }
  const bad = [
    '10.0.0.1',
    'h:0',
    'h:65536',
    'h:',
    ':7400',
    'h:74a0',
    'h:07400',
    'dns:///h:7400',
    'unix:/tmp/agent.sock',
    'unix:///tmp/x',
    'user@h:7400',
    'h:7400/x',
    'h:7400?x=1',
    'h%3A7400',
    'h :7400',
    ' h:7400',
    'h:7400\n',
    '-h:7400',
    '2001:db8::1:7400',
    '[2001:db8::1]',
    '[fe80::1%eth0]:7400',
    '010.0.0.1:7400',
    '127.1:7400',
    'h..x:7400',
    '',
    'a'.repeat(400) + ':1',
  ];
  for (const b of bad) {
    t.false(isGrpcEndpoint(b), JSON.stringify(b));
    t.throws(() => assertGrpcEndpoint('grpc_endpoint', b), { name: 'InvalidArgumentError' }, JSON.stringify(b));
  }
});

test('agent MigrateServer: a target_uri with parameters, user-info or encoding is INVALID_ARGUMENT, and no migration starts', async (t) => {
  const cluster = await startSimAgents({ count: 2 });
  t.teardown(() => cluster.stop());
  const [h1, h2] = cluster.agents as [(typeof cluster.agents)[0], (typeof cluster.agents)[0]];
  const client = agentClient(h1.endpoint);
  t.teardown(() => client.close());
  const s = h1.sim.addServer({ name: 'uri-victim' });
  const base = h2.migrationUri; // qemu+tcp://<id>.sim/system
  const host = base.slice('qemu+tcp://'.length, -'/system'.length);
  const cases = [
    `${base}?command=/tmp/x.sh`,
    `${base}?netcat=/tmp/nc`,
    `${base}?socket=/tmp/sock`,
    `${base}?keyfile=/root/.ssh/id_rsa`,
    `${base}?no_verify=1`,
    `${base}?pkipath=/tmp/pki`,
    `qemu+tcp://root@${host}/system`,
    `${base}%3Fcommand=/tmp/x.sh`,
    `${base}?%63ommand=/tmp/x.sh`,
    `qemu+ssh://${host}/system?command=/tmp/x.sh`,
    `qemu+ext:///system?command=/tmp/x.sh`,
  ];
  let n = 0;
  for (const target_uri of cases) {
    const migration_id = `uri-bad-${process.pid}-${++n}`;
    const e = await migrateError(client, { migration_id, server_uuid: s.uuid, mode: 'MIGRATION_MODE_LIVE', target_host_id: h2.hostId, target_uri });
    t.is(e.code, status.INVALID_ARGUMENT, `${target_uri}: ${e.details}`);
    t.regex(e.details, /target_uri/, target_uri);
    t.is(e.events, 0, target_uri);
    t.is((await callError(client, 'GetMigration', { migration_id })).code, status.NOT_FOUND, `${target_uri}: no record`);
  }
  t.is(cluster.fabric.migrations.length, 0, 'no migration started');
  t.is(cluster.fabric.whereIs(s.uuid), h1.sim);
});

// ---------------------------------------------------------- real virsh

/** A temp dir with an executable that, if ever run, creates `ran` next to itself. */
function markerScript(t: { teardown: (fn: () => void) => void }): { dir: string; script: string; ran: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-urimark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ran = path.join(dir, 'ran');
  const script = path.join(dir, 'marker.sh');
  writeFileSync(script, `#!/bin/sh\necho "$@" >> ${ran}\nexit 1\n`);
  chmodSync(script, 0o755);
  return { dir, script, ran };
}

const TEST_DOMAIN = '6695eb01-f6a4-8304-79aa-97f2502e193f'; // "test" in test:///default: running, disk /guest/diskimage1

test("the marker works: virsh itself runs a URI's command= program (so the tests below can fail)", async (t) => {
  const m = markerScript(t);
  await execFileP('virsh', ['-c', `qemu+ssh://localhost/system?command=${m.script}`, 'list'], { timeout: 20_000 }).catch(() => undefined);
  t.true(existsSync(m.ran), 'virsh ran the command= program');
});

test('a real LibvirtHypervisor never runs a program named in a target URI (migrate, offline move, start, disk copy, lookups)', async (t) => {
  const m = markerScript(t);
  const hv = new LibvirtHypervisor({ uri: 'test:///default', migrationUri: 'qemu+tcp://127.0.0.1/system', callTimeoutMs: 20_000 });
  const targets = [
    `qemu+ssh://localhost/system?command=${m.script}`,
    `qemu+ext:///system?command=${m.script}`,
    `qemu+tcp://127.0.0.1/system?command=${m.script}`,
  ];
  for (const target of targets) {
    const signal = new AbortController().signal;
    // Live with copy-storage: the local disk makes the agent look at the target's pools first.
    const { disks } = await hv.migrationSource(TEST_DOMAIN);
    t.true(disks.local.length > 0, 'the test domain has a local disk to copy');
    const err = await t.throwsAsync(
      hv.migrateLive({
        uuid: TEST_DOMAIN,
        targetUri: target,
        signal,
        disks,
        copyStorage: true,
        unsafe: false,
        postCopy: false,
        autoConverge: false,
        bandwidthMiBps: 0,
      }),
    );
    t.false(existsSync(m.ran), `migrateLive ${target} ran the command= program`);
    t.is(err?.name, 'InvalidArgumentError', `migrateLive ${target}: ${err?.message}`);
    for (const [what, call] of [
      ['migrateOffline', () => hv.migrateOffline(TEST_DOMAIN, target)],
      ['startOn', () => hv.startOn(target, TEST_DOMAIN)],
      ['serverOn', () => hv.serverOn(target, TEST_DOMAIN)],
      ['stateOn', () => hv.stateOn(target, TEST_DOMAIN)],
      ['copyDiskTo', () => hv.copyDiskTo('/default-pool/x.img', target)],
      ['removeDiskCopyOn', () => hv.removeDiskCopyOn(target, '/default-pool/x.img')],
    ] as const) {
      const e = await t.throwsAsync(call());
      t.false(existsSync(m.ran), `${what} ${target} ran the command= program`);
      t.is(e?.name, 'InvalidArgumentError', `${what} ${target}: ${e?.message}`);
    }
  }
  t.false(existsSync(m.ran), 'the command= program never ran');
});

test('Virsh itself refuses such a URI as connection or --desturi (defence in depth, whatever the caller checked)', async (t) => {
  const m = markerScript(t);
  const evil = `qemu+ssh://localhost/system?command=${m.script}`;
  t.throws(() => new Virsh({ uri: evil }), { name: 'InvalidArgumentError' });
  const v = new Virsh({ uri: 'test:///default' });
  await t.throwsAsync(v.run(['list'], { uri: evil }), { name: 'InvalidArgumentError' });
  await t.throwsAsync(v.run(['migrate', '--offline', '--domain', TEST_DOMAIN, '--desturi', evil]), { name: 'InvalidArgumentError' });
  await t.throwsAsync(v.run(['migrate', '--offline', '--domain', TEST_DOMAIN, `--desturi=${evil}`]), { name: 'InvalidArgumentError' });
  t.throws(() => v.spawnLong(['event', '--loop'], evil), { name: 'InvalidArgumentError' });
  t.false(existsSync(m.ran), 'the command= program never ran');
  // And a good call still works (the test driver answers).
  t.regex((await v.run(['list', '--all', '--name'])).stdout, /test/);
});
