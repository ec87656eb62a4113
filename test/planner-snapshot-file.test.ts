// Snapshot files for offline what-if planning: round trip, defaults for
// hand-written files, and a precise error for each kind of malformed file.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../common/errors.ts';
import {
  SNAPSHOT_FILE_KIND,
  SNAPSHOT_FILE_VERSION,
  SnapshotFileError,
  formatPlan,
  parseSnapshot,
  planMaintenance,
  serializeSnapshot,
  snapshotFromJson,
  GIB,
  makeHost,
  makeServer,
  makeSnapshot,
  makeZone,
  randomSnapshot,
  sharedDisk,
  localDisk,
} from '../coordinator/planner/index.ts';

function sorted<T extends { takenAtMs: number; zones: { id: string }[]; hosts: { id: string }[]; servers: { uuid: string }[] }>(s: T): T {
  const by =
    <X>(k: (x: X) => string) =>
    (a: X, b: X) =>
      k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
  return { ...s, zones: [...s.zones].sort(by((z) => z.id)), hosts: [...s.hosts].sort(by((h) => h.id)), servers: [...s.servers].sort(by((x) => x.uuid)) };
}

test('round trip: serialize then parse gives the same snapshot, and the same plan', (t) => {
  const s = randomSnapshot(5, { hosts: 12, serversPerHost: 6, zones: 2 });
  s.zones[0]!.policy = { placement: 'PACK', cpuOvercommitRatio: 2.5, allowPostCopy: true };
  s.zones[0]!.cpu.history.push({
    atMs: 1,
    fromModel: 'Skylake',
    toModel: 'Haswell',
    featuresLost: ['avx512f'],
    featuresGained: [],
    causeHostId: 'h3',
    reason: 'host-returned',
    message: 'downgraded',
  });
  const text = serializeSnapshot(s);
  const file = JSON.parse(text);
  t.is(file.kind, SNAPSHOT_FILE_KIND);
  t.is(file.version, SNAPSHOT_FILE_VERSION);
  const back = parseSnapshot(text);
  t.deepEqual(back, sorted(s));
  t.is(serializeSnapshot(back), text, 'stable text');
  for (const h of ['h01', 'h02', 'h07']) {
    t.deepEqual(planMaintenance(back, { hostId: h, stopUnmigratable: true }), planMaintenance(s, { hostId: h, stopUnmigratable: true }), h);
  }
});

test('a minimal hand-written file gets neutral defaults and plans', (t) => {
  const text = JSON.stringify({
    kind: SNAPSHOT_FILE_KIND,
    version: 1,
    takenAtMs: 1_764_000_000_000,
    zones: [{ id: 'z1', policy: { placement: 'SPREAD' } }],
    hosts: [
      {
        id: 'h1',
        zoneId: 'z1',
        enabled: true,
        online: true,
        hypervisorType: 'kvm',
        memoryTotalBytes: 64 * GIB,
        memoryFreeBytes: 32 * GIB,
        topology: { logical_cpus: 16 },
      },
      {
        id: 'h2',
        zoneId: 'z1',
        enabled: true,
        online: true,
        hypervisorType: 'kvm',
        memoryTotalBytes: 64 * GIB,
        memoryFreeBytes: String(60 * GIB),
        topology: { logical_cpus: 16 },
        storagePools: [{ name: 'default', path: '/var/lib/libvirt/images', available_bytes: 500 * GIB }],
      },
    ],
    servers: [
      { uuid: 'a', hostId: 'h1', state: 'running', vcpus: 2, memoryBytes: 4 * GIB, hotMigration: true },
      {
        uuid: 'b',
        hostId: 'h1',
        state: 'running',
        vcpus: 2,
        memoryBytes: 2 * GIB,
        disks: [{ path: '/var/lib/libvirt/images/b.qcow2', allocation_bytes: 10 * GIB }],
      },
    ],
  });
  const s = parseSnapshot(text);
  t.like(s.hosts[0]!, { maintenance: 'none', hostname: 'h1', storagePools: [] });
  t.is(s.hosts[1]!.memoryFreeBytes, 60 * GIB, 'uint64 as a decimal string is accepted');
  t.like(s.hosts[1]!.storagePools[0]!, { shared: false, active: true, type: 'dir' });
  t.like(s.servers[1]!, { name: 'b', hotMigration: false, smart: false, domainType: 'kvm', operationId: '' });
  t.like(s.servers[1]!.disks[0]!, { shared: false, type: 'file', pool: '' });
  t.is(s.zones[0]!.cpuMode, 'DEFAULT');
  const p = planMaintenance(s, { hostId: 'h1', stopUnmigratable: false });
  t.deepEqual(
    p.servers.map((x) => [x.serverName, x.action, x.targetHostId]),
    [
      ['a', 'LIVE_MIGRATE', 'h2'],
      ['b', 'COLD_MIGRATE', 'h2'],
    ],
  );
  t.regex(formatPlan(p), /as of 2025-11-24T16:00:00\.000Z/);
});

const good = () =>
  JSON.parse(
    serializeSnapshot(
      makeSnapshot({
        zones: [makeZone('z1')],
        hosts: [makeHost('h1'), makeHost('h2')],
        servers: [makeServer('a', 'h1', { disks: [localDisk(GIB), sharedDisk('nfs')] })],
      }),
    ),
  );

const rejections: [string, (f: any) => unknown, RegExp][] = [
  ['wrong kind', (f) => ({ ...f, kind: 'something-else' }), /^kind: must be "drydock.inventory-snapshot"/],
  ['missing version', (f) => ({ ...f, version: undefined }), /^version: must be a positive integer/],
  ['newer version', (f) => ({ ...f, version: 2 }), /^version: file version 2 was written by a newer drydock/],
  ['not an object', () => [1, 2], /^\(file\): must be an object/],
  ['hosts not an array', (f) => ({ ...f, hosts: {} }), /^hosts: must be an array/],
  ['bad memory', (f) => ((f.hosts[1].memoryTotalBytes = 'lots'), f), /^hosts\[1\]\.memoryTotalBytes: must be a non-negative number, got "lots"/],
  ['negative', (f) => ((f.servers[0].memoryBytes = -1), f), /^servers\[0\]\.memoryBytes: must be a non-negative number/],
  ['missing enabled', (f) => (delete f.hosts[0].enabled, f), /^hosts\[0\]\.enabled: must be true or false, got nothing/],
  ['missing topology', (f) => (delete f.hosts[0].topology, f), /^hosts\[0\]\.topology: must be an object/],
  ['bad maintenance', (f) => ((f.hosts[0].maintenance = 'maybe'), f), /^hosts\[0\]\.maintenance: must be one of none, entering, in_maintenance, returning/],
  ['bad disk', (f) => ((f.servers[0].disks[1].shared = 'yes'), f), /^servers\[0\]\.disks\[1\]\.shared: must be true or false/],
  ['bad pool', (f) => (delete f.hosts[1].storagePools[0].available_bytes, f), /^hosts\[1\]\.storagePools\[0\]\.available_bytes/],
  ['empty uuid', (f) => ((f.servers[0].uuid = ''), f), /^servers\[0\]\.uuid: must not be empty/],
  ['duplicate host', (f) => ((f.hosts[1].id = 'h1'), f), /^hosts\[1\]: duplicate host id "h1" \(also at hosts\[0\]\)/],
  ['server on unknown host', (f) => ((f.servers[0].hostId = 'h9'), f), /^servers\[0\]\.hostId: host "h9" is not among the file's hosts/],
  ['policy typo', (f) => ((f.zones[0].policy = { placment: 'PACK' }), f), /^zones\[0\]\.policy\.placment: unknown policy field/],
  ['bad placement', (f) => ((f.zones[0].policy = { placement: 'RANDOM' }), f), /^zones\[0\]\.policy\.placement: must be one of SPREAD, PACK/],
  ['bad cpu mode', (f) => ((f.zones[0].cpuMode = 'HOST'), f), /^zones\[0\]\.cpuMode: must be one of DEFAULT, EXTENDED, PASSTHROUGH/],
  ['huge number', (f) => ((f.hosts[0].memoryTotalBytes = 2 ** 60), f), /too large to be exact/],
];

for (const [name, mutate, message] of rejections) {
  test(`rejects a malformed file: ${name}`, (t) => {
    const err = t.throws(() => snapshotFromJson(mutate(good())), { instanceOf: SnapshotFileError, message })!;
    t.true(err instanceof InvalidArgumentError);
    t.is((err as SnapshotFileError).code, status.INVALID_ARGUMENT);
  });
}

test('rejects text that is not JSON, naming the problem', (t) => {
  t.throws(() => parseSnapshot('{"kind": '), { instanceOf: SnapshotFileError, message: /^\(file\): not valid JSON/ });
  t.throws(() => parseSnapshot(''), { instanceOf: SnapshotFileError });
});

test('the good fixture itself parses', (t) => {
  t.notThrows(() => snapshotFromJson(good()));
});
