// Agent config: file + environment, defaults, validation messages naming the
// field, and the shipped example (every option present and valid).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../common/config.ts';
import { compileAgentConfig, configFileFrom, KNOWN_KEYS, loadAgentConfig } from '../agent/config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-config-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// The default listen address is not loopback: mutual TLS is part of a minimal config.
const mtls = { certFile: '/etc/drydock/tls/agent.pem', keyFile: '/etc/drydock/tls/agent.key', clientCaFile: '/etc/drydock/tls/ca.pem' };
const minimal = { hostId: 'kvm-01', libvirt: { migrationUri: 'qemu+tcp://10.0.0.11/system' }, grpc: { advertisedEndpoint: '10.0.0.11:7400' }, tls: mtls };

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('defaults', (t) => {
  const c = compileAgentConfig(minimal);
  t.is(c.hostId, 'kvm-01');
  t.is(c.hypervisor, 'libvirt');
  t.is(c.libvirt.uri, 'qemu:///system');
  t.is(c.grpc.listenAddress, '0.0.0.0:7400');
  t.is(c.heartbeatIntervalMs, 2000);
  t.is(c.migration.stallTimeoutMs, 150_000);
  t.is(c.migration.deadlinePerGiBMs, 150_000);
  t.is(c.migration.minDeadlineMs, 120_000);
  t.is(c.migration.pollIntervalMs, 500);
  t.deepEqual(c.rebootCommand, ['/usr/bin/systemctl', 'reboot']);
  t.is(c.stateDir, '/var/lib/drydock/agent');
  t.deepEqual(c.nats.servers, []);
  t.false(c.grpc.insecure);
  // With a client CA, only the coordinator identity may call by default.
  t.deepEqual(c.tls.allowedClientIdentities, ['spiffe://drydock/coordinator']);
  t.is(c.metrics.listen, '');
});

test('a non-loopback listen address without mutual TLS is refused, naming the options', (t) => {
  const { tls: _tls, ...noTls } = minimal;
  for (const [what, raw] of [
    ['no TLS', noTls],
    ['TLS without a client CA', { ...noTls, tls: { certFile: mtls.certFile, keyFile: mtls.keyFile } }],
    ['an address of this host', { ...noTls, grpc: { listenAddress: '10.0.0.11:7400' } }],
    ['a wildcard IPv6 bind', { ...noTls, grpc: { listenAddress: '[::]:7400', advertisedEndpoint: '10.0.0.11:7400' } }],
  ] as const) {
    const err = t.throws(() => compileAgentConfig(raw), { instanceOf: ConfigError }, what);
    t.regex(err!.message, /^config grpc\.listenAddress: .*not a loopback address/, what);
    for (const option of ['tls.certFile', 'tls.keyFile', 'tls.clientCaFile', 'grpc.insecure'])
      t.true(err!.message.includes(option), `${what}: names ${option}`);
  }
});

test('without mutual TLS: loopback is served; anything else only with grpc.insecure, asked for by name', (t) => {
  const { tls: _tls, ...noTls } = minimal;
  t.is(compileAgentConfig({ ...noTls, grpc: { listenAddress: '127.0.0.1:7400' } }).grpc.insecure, false);
  t.is(compileAgentConfig({ ...noTls, grpc: { listenAddress: '[::1]:7400' } }).grpc.listenAddress, '[::1]:7400');
  t.true(compileAgentConfig(noTls, { DRYDOCK_AGENT_GRPC_INSECURE: 'true' }).grpc.insecure);
  // Set with mTLS it would only confuse the reader.
  t.throws(() => compileAgentConfig({ ...minimal, grpc: { ...minimal.grpc, insecure: true } }), { instanceOf: ConfigError, message: /grpc\.insecure/ });
});

test('metrics: loopback by choice; another address needs metrics.insecure', (t) => {
  t.is(compileAgentConfig({ ...minimal, metrics: { listen: '127.0.0.1:9465' } }).metrics.listen, '127.0.0.1:9465');
  t.throws(() => compileAgentConfig({ ...minimal, metrics: { listen: '0.0.0.0:9465' } }), {
    instanceOf: ConfigError,
    message: /metrics\.listen.*metrics\.insecure/,
  });
  t.true(compileAgentConfig({ ...minimal, metrics: { listen: '0.0.0.0:9465', insecure: true } }).metrics.insecure);
});

test('environment overrides the file, with human units', (t) => {
  const c = compileAgentConfig(minimal, {
    DRYDOCK_AGENT_HOST_ID: 'kvm-02',
    DRYDOCK_AGENT_NATS_SERVERS: 'nats://a:4222, nats://b:4222',
    DRYDOCK_AGENT_NATS_NKEY_SEED_FILE: '/etc/drydock/nats/agent.nk',
    DRYDOCK_AGENT_MIGRATION_STALL_TIMEOUT: '2m',
    DRYDOCK_AGENT_HEARTBEAT_INTERVAL: '500ms',
    DRYDOCK_AGENT_MIGRATION_MAX_CONCURRENT: '4',
    DRYDOCK_AGENT_STORAGE_SHARED_PATH_PREFIXES: '/mnt/nfs,/mnt/ceph',
  });
  t.is(c.hostId, 'kvm-02');
  t.deepEqual(c.nats.servers, ['nats://a:4222', 'nats://b:4222']);
  t.is(c.nats.nkeySeedFile, '/etc/drydock/nats/agent.nk');
  t.is(c.migration.stallTimeoutMs, 120_000);
  t.is(c.heartbeatIntervalMs, 500);
  t.is(c.migration.maxConcurrent, 4);
  t.deepEqual(c.storage.sharedPathPrefixes, ['/mnt/nfs', '/mnt/ceph']);
});

const bad: Array<[string, Record<string, unknown>, RegExp]> = [
  ['bad host id', { ...minimal, hostId: 'a.b' }, /hostId/],
  ['unknown hypervisor', { ...minimal, hypervisor: 'xen' }, /hypervisor/],
  ['no migration URI', { hostId: 'h', grpc: { advertisedEndpoint: 'h:1' }, tls: mtls }, /libvirt\.migrationUri/],
  ['migration URI with shell text', { ...minimal, libvirt: { migrationUri: 'qemu+tcp://$(id)/system' } }, /libvirt\.migrationUri/],
  [
    'migration URI naming a program (command=)',
    { ...minimal, libvirt: { migrationUri: 'qemu+tcp://10.0.0.11/system?command=/tmp/x' } },
    /libvirt\.migrationUri/,
  ],
  ['migration URI with user-info', { ...minimal, libvirt: { migrationUri: 'qemu+tcp://root@10.0.0.11/system' } }, /libvirt\.migrationUri/],
  [
    'local libvirt URI naming a socket file',
    { ...minimal, libvirt: { uri: 'qemu+unix:///system?socket=/tmp/s', migrationUri: 'qemu+tcp://10.0.0.11/system' } },
    /libvirt\.uri/,
  ],
  ['advertised endpoint that is not host:port', { ...minimal, grpc: { advertisedEndpoint: 'unix:/tmp/agent.sock' } }, /grpc\.advertisedEndpoint/],
  ['advertised endpoint with port 0', { ...minimal, grpc: { advertisedEndpoint: '10.0.0.11:0' } }, /grpc\.advertisedEndpoint/],
  ['wildcard bind without advertised endpoint', { ...minimal, grpc: { listenAddress: '0.0.0.0:7400' } }, /grpc\.advertisedEndpoint/],
  ['bad listen address', { ...minimal, grpc: { listenAddress: 'nowhere', advertisedEndpoint: 'h:1' } }, /grpc\.listenAddress/],
  ['bad duration', { ...minimal, migration: { stallTimeout: 'soon' } }, /migration\.stallTimeout/],
  ['poll too fast', { ...minimal, migration: { pollInterval: '1ms' } }, /migration\.pollInterval/],
  ['relative state dir', { ...minimal, stateDir: 'state' }, /stateDir/],
  ['reboot command as a shell string', { ...minimal, rebootCommand: 'reboot now' }, /rebootCommand/],
  ['key without cert', { ...minimal, tls: { keyFile: '/k' } }, /tls/],
  ['mTLS with no identity allowed', { ...minimal, tls: { ...mtls, allowedClientIdentities: [] } }, /tls\.allowedClientIdentities/],
  ['identities without mTLS', { ...minimal, tls: { allowedClientIdentities: ['coord'] } }, /tls\.allowedClientIdentities/],
  ['two NATS auths', { ...minimal, nats: { token: 't', credsFile: '/c' } }, /nats/],
  ['bad NATS url', { ...minimal, nats: { servers: ['http://x'], token: 't' } }, /nats\.servers/],
  ['NATS servers without credentials (anonymous)', { ...minimal, nats: { servers: ['nats://a:4222'] } }, /insecureNoAuth/],
  ['nkey seed and token at once', { ...minimal, nats: { servers: ['nats://a:4222'], nkeySeedFile: '/a.nk', token: 't' } }, /nats/],
  ['insecure mode with credentials', { ...minimal, nats: { servers: ['nats://a:4222'], nkeySeedFile: '/a.nk', insecureNoAuth: true } }, /insecureNoAuth/],
  ['relative shared path', { ...minimal, storage: { sharedPathPrefixes: ['nfs'] } }, /storage\.sharedPathPrefixes/],
];
for (const [what, raw, re] of bad) {
  test(`rejects: ${what}`, (t) => {
    const err = t.throws(() => compileAgentConfig(raw), { instanceOf: ConfigError });
    t.regex(err!.message, re);
  });
}

test('anonymous NATS only when asked for by name (nats.insecureNoAuth)', (t) => {
  const c = compileAgentConfig({ ...minimal, nats: { servers: ['nats://a:4222'], insecureNoAuth: true } }, {});
  t.true(c.nats.insecureNoAuth);
  t.false(compileAgentConfig(minimal, {}).nats.insecureNoAuth);
});

test('unknown keys in the file are rejected, naming them', (t) => {
  const f = write('typo.yaml', 'hostId: h\nmigration:\n  stalTimeout: 5s\n');
  const err = t.throws(() => loadAgentConfig({ file: f, env: {} }), { instanceOf: ConfigError });
  t.regex(err!.message, /migration\.stalTimeout/);
});

test('a missing file is an error only when named explicitly; malformed YAML always is', (t) => {
  t.throws(() => loadAgentConfig({ file: path.join(dir, 'nope.yaml'), required: true, env: {} }), { message: /does not exist/ });
  const c = loadAgentConfig({
    file: path.join(dir, 'nope.yaml'),
    required: false,
    env: { DRYDOCK_AGENT_HYPERVISOR: 'sim', DRYDOCK_AGENT_GRPC_LISTEN_ADDRESS: '127.0.0.1:7400' },
  });
  t.is(c.hypervisor, 'sim');
  const broken = write('broken.yaml', 'hostId: [\n');
  t.throws(() => loadAgentConfig({ file: broken, env: {} }), { message: /not valid YAML/ });
});

test('config file from --config, --config=, DRYDOCK_AGENT_CONFIG, default', (t) => {
  t.deepEqual(configFileFrom(['--config', '/a.yaml'], {}), { file: '/a.yaml', explicit: true });
  t.deepEqual(configFileFrom(['--config=/b.yaml'], {}), { file: '/b.yaml', explicit: true });
  t.deepEqual(configFileFrom([], { DRYDOCK_AGENT_CONFIG: '/c.yaml' }), { file: '/c.yaml', explicit: true });
  t.deepEqual(configFileFrom([], {}), { file: '/etc/drydock/agent.yaml', explicit: false });
  t.throws(() => configFileFrom(['--config'], {}), { instanceOf: ConfigError });
});

test('the shipped example sets every option and is valid', (t) => {
  const file = path.join(import.meta.dirname, '..', 'deploy', 'examples', 'agent.yaml');
  const c = loadAgentConfig({ file, env: {} });
  t.is(c.hostId, 'kvm-01');
  t.deepEqual(c.tls.allowedClientIdentities, ['spiffe://drydock/coordinator']);
  t.is(c.migration.shutdownTimeoutMs, 120_000);
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const has = (dotted: string) =>
    dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), raw) !== undefined;
  for (const key of KNOWN_KEYS) t.true(has(key), `example lacks ${key}`);
});
