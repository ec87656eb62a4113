// The chaos suite's lab faults (scripts/chaos/lab-*.ts): the libvirt
// reading the invariant check uses in the lab, fed libvirt's own output
// (lines recorded from `virsh event --timestamp` in the lab), so a replayed
// or unattributed migration is seen; then one real trial of an agent killed
// mid live migration and one of a host's link cut mid-drain, each ending
// with zero violations read from libvirt. A lab trial takes 1.5-3 min on 2
// cores (RELIABILITY.md), so these run here rather than in the small default
// of `npm run chaos` (test/chaos.test.ts). Uses the lab `lchaos` only.
import test from 'ava';
import { checkInvariants, type SimState } from '../scripts/chaos/invariants.ts';
import { LAB_FAULTS } from '../scripts/chaos/lab-faults.ts';
import { migrationStarts, parseInfo, parseLifecycleLine, readHost, serverState, type LifecycleEvent } from '../scripts/chaos/libvirt-state.ts';
import { seededRandom, selectFaults } from '../scripts/chaos/runner.ts';
import { renderReport } from '../scripts/chaos/report.ts';
import { LAB_NAME, LAB_SUBNET } from '../scripts/chaos/lab-world.ts';
import { createLab, type LabHost } from '../scripts/lab/index.ts';

const U = 'e6dcb7d8-58de-4d62-aa84-bce4842b12a8';
const uuidOf = new Map([['g1', U]]);

/** Lines as virsh printed them in the lab: a live move h1 → h2 (with a job-completed block), then an offline move back. */
const RECORDED = [
  ['h2', "2026-11-28 07:04:57.238+0000: event 'lifecycle' for domain 'g1': Started Migrated"],
  ['h1', "2026-11-28 07:04:57.261+0000: event 'migration-iteration' for domain 'g1': iteration: '1'"],
  ['h1', "2026-11-28 07:04:57.387+0000: event 'lifecycle' for domain 'g1': Suspended Migrated"],
  ['h2', "2026-11-28 07:04:57.498+0000: event 'lifecycle' for domain 'g1': Defined Added"],
  ['h2', "2026-11-28 07:04:57.505+0000: event 'lifecycle' for domain 'g1': Resumed Migrated"],
  ['h1', "2026-11-28 07:04:59.210+0000: event 'lifecycle' for domain 'g1': Stopped Migrated"],
  ['h1', "2026-11-28 07:04:59.210+0000: event 'job-completed' for domain 'g1':"],
  ['h1', '\ttime_elapsed: 1706'],
  ['h2', "2026-11-28 07:05:01.176+0000: event 'lifecycle' for domain 'g1': Stopped Shutdown"],
  ['h1', "2026-11-28 07:05:01.249+0000: event 'lifecycle' for domain 'g1': Defined Added"],
] as const;

function recorded(): LifecycleEvent[] {
  return RECORDED.map(([h, l]) => parseLifecycleLine(h, l)).filter((e): e is LifecycleEvent => e !== null);
}

test('virsh event lines: lifecycle events parsed with their millisecond time, other lines skipped', (t) => {
  const ev = recorded();
  t.is(ev.length, 7);
  t.deepEqual(ev[0], { host: 'h2', atMs: Date.parse('2026-11-28T07:04:57.238Z'), domain: 'g1', event: 'Started', detail: 'Migrated' });
  t.is(
    parseLifecycleLine('h1', "2026-11-28 08:04:57.238+0100: event 'lifecycle' for domain 'g1': Started Booted")!.atMs,
    Date.parse('2026-11-28T07:04:57.238Z'),
  );
  t.is(parseLifecycleLine('h1', 'garbage'), null);
});

test('migration starts from libvirt events: a live move and an offline move, each once, with source and result', (t) => {
  t.deepEqual(migrationStarts(recorded(), new Map([['g1', 'h1']]), uuidOf), [
    { uuid: U, from: 'h1', to: 'h2', mode: 'live', startedAtMs: Date.parse('2026-11-28T07:04:57.238Z'), result: 'completed' },
    { uuid: U, from: 'h2', to: 'h1', mode: 'offline', startedAtMs: Date.parse('2026-11-28T07:05:01.249Z'), result: 'completed' },
  ]);
});

test('migration starts: a failed live attempt is a start that did not complete; the domain stays where it was', (t) => {
  const ev = [
    "2026-11-28 07:00:00.000+0000: event 'lifecycle' for domain 'g1': Started Migrated",
    "2026-11-28 07:00:01.000+0000: event 'lifecycle' for domain 'g1': Stopped Failed",
  ].map((l) => parseLifecycleLine('h3', l)!);
  ev.push(parseLifecycleLine('h2', "2026-11-28 07:00:02.000+0000: event 'lifecycle' for domain 'g1': Started Migrated")!);
  ev.push(parseLifecycleLine('h2', "2026-11-28 07:00:03.000+0000: event 'lifecycle' for domain 'g1': Resumed Migrated")!);
  const starts = migrationStarts(ev, new Map([['g1', 'h1']]), uuidOf);
  t.deepEqual(
    starts.map((s) => [s.from, s.to, s.result]),
    [
      ['h1', 'h3', 'failed (Failed)'],
      ['h1', 'h2', 'completed'],
    ],
  );
});

/** The world after the recorded live move h1 → h2, as libvirt and the agents' files would give it. */
function libvirtWorld(starts: SimState['starts'], records: SimState['agentMigrations']): SimState {
  return {
    hosts: [
      { hostId: 'h1', memoryTotalBytes: 9 * 1024 ** 3, logicalCpus: 2, servers: [] },
      {
        hostId: 'h2',
        memoryTotalBytes: 9 * 1024 ** 3,
        logicalCpus: 2,
        servers: [{ uuid: U, name: 'g1', state: 'SERVER_STATE_RUNNING', memoryBytes: 128 * 1024 ** 2, vcpus: 1 }],
      },
    ],
    starts,
    agentMigrations: records,
  };
}

test('the lab view through the shared rules: a live migration libvirt started twice under one agent record is reported, one without a record too', (t) => {
  const exp = {
    servers: [{ uuid: U, name: 'g1', state: 'SERVER_STATE_RUNNING' }],
    forbidden: [{ hostId: 'h1', reason: 'in maintenance' }],
    memoryReserveBytes: 1024 ** 3,
    cpuOvercommitRatio: 4,
    capacityExempt: ['h1'],
  };
  const ops = [{ id: 'op-1', state: 'OPERATION_STATE_SUCCEEDED', reason: '' }];
  const record = { migrationId: 'op-1-s0-a1', serverUuid: U, sourceHostId: 'h1', startedAtMs: Date.parse('2026-11-28T07:00:00.000Z'), finishedAtMs: 0 };
  const once = migrationStarts(recorded().slice(0, 5), new Map([['g1', 'h1']]), uuidOf);
  t.deepEqual(checkInvariants(libvirtWorld(once, [record]), exp, ops), []);
  // A restarted agent replaying the same migration id: libvirt starts a second incoming QEMU.
  const replay = [
    "2026-11-28 07:04:50.000+0000: event 'lifecycle' for domain 'g1': Started Migrated",
    "2026-11-28 07:04:51.000+0000: event 'lifecycle' for domain 'g1': Stopped Failed",
  ].map((l) => parseLifecycleLine('h2', l)!);
  const twice = migrationStarts([...replay, ...recorded().slice(0, 5)], new Map([['g1', 'h1']]), uuidOf);
  t.deepEqual(
    checkInvariants(libvirtWorld(twice, [record]), exp, ops).map((v) => v.invariant),
    ['migration-started-twice'],
  );
  t.deepEqual(
    checkInvariants(libvirtWorld(once, []), exp, ops).map((v) => v.invariant),
    ['unattributed-migration'],
  );
});

test('virsh dominfo / nodeinfo text as key → value', (t) => {
  const info = parseInfo('Id:             1\nName:           g1\nUUID:           e6dc\nState:          shut off\nMax memory:     131072 KiB\n');
  t.is(info.get('State'), 'shut off');
  t.is(info.get('Max memory'), '131072 KiB');
  t.is(serverState(info.get('State')!), 'SERVER_STATE_SHUTOFF');
  t.is(serverState('running'), 'SERVER_STATE_RUNNING');
  t.regex(serverState('dying'), /unknown libvirt state "dying"/);
});

test('fault selection: the lab faults only with --lab or by name; the default stays sim-only', (t) => {
  const names = (l: { name: string }[]) => l.map((f) => f.name);
  t.false(names(selectFaults()).some((n) => n.startsWith('lab-')));
  t.deepEqual(
    names(selectFaults(undefined, true)).filter((n) => n.startsWith('lab-')),
    ['lab-agent-kill-source-live', 'lab-agent-kill-target-live', 'lab-agent-kill-source-cold', 'lab-agent-kill-target-cold', 'lab-link-cut'],
  );
  t.deepEqual(names(selectFaults(['lab-link-cut', 'baseline'])), ['baseline', 'lab-link-cut']);
  t.throws(() => selectFaults(['lab-nope']), { message: /unknown fault\(s\): lab-nope/ });
});

test("RELIABILITY.md: a trial error carrying an exited process's multi-line stderr stays on one line (the Markdown list holds)", (t) => {
  const fault = LAB_FAULTS[0]!;
  const trial = {
    outcome: 'error: coordinator exited; stderr: kv.js:100\n        throw new Error(`invalid key`);\n   ^\n\nError: invalid key',
    violations: [],
    lost: 0,
    recoveryMs: null,
    durationMs: 0,
    notes: [],
    findings: [],
  };
  const text = renderReport({
    startedAt: new Date(0),
    seed: 1,
    servers: 1,
    requests: 1,
    command: 'npm run chaos',
    runs: [{ fault, trials: [trial] }],
    durationMs: 0,
  });
  const lines = text.split('\n');
  t.true(
    lines.includes(
      `- found, open: ${fault.name}: trial 1 could not finish: coordinator exited; stderr: kv.js:100 throw new Error(\`invalid key\`); ^ Error: invalid key`,
    ),
    text,
  );
  t.false(
    lines.some((l) => l.startsWith('Error: invalid key')),
    'no stderr line escapes the list',
  );
});

// The reading itself against real libvirt (no agents, guests not started): a
// guest defined on two hosts, as a stale copy left by a crashed move would be,
// is read back from virsh as two definitions and reported by the shared rules.
test.serial('lab: libvirt read back — a server defined on two hosts is reported; sizes come from nodeinfo and dominfo', async (t) => {
  t.timeout(120_000);
  const lab = await createLab({ hosts: 2, name: LAB_NAME, subnet: LAB_SUBNET });
  t.teardown(() => lab.destroy());
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  const g = await lab.defineGuest(h1, { name: 'lc-twice', memoryMiB: 192, vcpus: 2, start: false });
  const hosts = [await readHost(h1), await readHost(h2)];
  t.deepEqual(hosts[0]!.servers, [{ uuid: g.uuid, name: 'lc-twice', state: 'SERVER_STATE_SHUTOFF', memoryBytes: 192 * 1024 ** 2, vcpus: 2 }]);
  t.true(hosts[0]!.memoryTotalBytes > 1024 ** 3 && hosts[0]!.logicalCpus >= 1, JSON.stringify(hosts[0]));
  const exp = {
    servers: [{ uuid: g.uuid, name: 'lc-twice', state: 'SERVER_STATE_SHUTOFF' }],
    forbidden: [],
    memoryReserveBytes: 1024 ** 3,
    cpuOvercommitRatio: 4,
    capacityExempt: [],
  };
  t.deepEqual(checkInvariants({ hosts, starts: [], agentMigrations: [] }, exp, []), []);
  await lab.defineGuest(h2, { name: 'lc-twice', uuid: g.uuid, memoryMiB: 192, vcpus: 2, start: false });
  const again = [await readHost(h1), await readHost(h2)];
  t.deepEqual(
    checkInvariants({ hosts: again, starts: [], agentMigrations: [] }, exp, []).map((v) => v.invariant),
    ['exactly-one-host'],
  );
});

// The real lab: one live agent kill and one link cut (the other lab faults run in `npm run chaos -- --lab`).
for (const name of ['lab-agent-kill-source-live', 'lab-link-cut']) {
  test.serial(`chaos lab: ${name} (one trial) holds every invariant read from libvirt`, async (t) => {
    t.timeout(480_000);
    const fault = LAB_FAULTS.find((f) => f.name === name)!;
    const result = await fault.run({ servers: 0, requests: 0, random: seededRandom(42), log: (m) => t.log(m) });
    t.log(`${result.outcome}; recovery ${result.recoveryMs ?? '-'} ms; ${result.notes.join('; ')}`);
    t.false(result.outcome.startsWith('error'), result.outcome);
    t.is(result.outcome, 'succeeded');
    t.deepEqual(result.violations, []);
    t.is(result.lost, 0);
  });
}
