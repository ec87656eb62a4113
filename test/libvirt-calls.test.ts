// Which virsh calls the agent's migration path makes, and in what order:
// a shell script stands in for virsh (the hypervisor's `prefix`), records
// each call, answers from the captured fixtures (test/fixtures/libvirt) and
// can hold calls at a barrier to show which ones run at the same time.
// No daemon needed.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LibvirtHypervisor } from '../agent/hypervisor/libvirt.ts';
import { Virsh } from '../agent/hypervisor/virsh.ts';
import { VirshStandby } from '../agent/hypervisor/virsh-standby.ts';
import { PreparedVirshCall } from '../agent/hypervisor/virsh-prepared.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'libvirt');
const UUID = '11111111-1111-4111-8111-111111111111';

/**
 * A virsh stand-in: logs "start <cmd>" and "end <cmd>", answers dumpxml with
 * `dumpxml` and domstats with the domstats fixture. Each of the `together`
 * commands waits (up to 5 s) until all of them have started: run one after
 * another, the first waits the whole 5 s and ends before the others start.
 */
function fakeVirsh(t: { teardown(fn: () => void): void }, dumpxml: string, together: string[]): { hv: LibvirtHypervisor; log: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-calls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'virsh.sh');
  const waits = together.map((c) => `[ -e "$d/started-${c}" ]`).join(' && ') || 'true';
  writeFileSync(
    script,
    `d=${JSON.stringify(dir)}
cmd="$4"
echo "start $cmd" >> "$d/calls"
touch "$d/started-$cmd"
case " ${together.join(' ')} " in *" $cmd "*)
  i=0; while [ $i -lt 50 ] && ! { ${waits}; }; do sleep 0.1; i=$((i+1)); done ;;
esac
echo "end $cmd" >> "$d/calls"
case "$cmd" in
  dumpxml) cat ${JSON.stringify(path.join(FIXTURES, dumpxml))} ;;
  domstats) cat ${JSON.stringify(path.join(FIXTURES, 'domstats.txt'))} ;;
  domjobinfo) cat ${JSON.stringify(path.join(FIXTURES, 'domjobinfo-memory.txt'))} ;;
  domstate) echo 'running (post-copy)' ;;
  pool-list) echo local ;;
  pool-dumpxml) printf '<pool type="dir"><name>local</name><target><path>/var/lib/libvirt/images</path></target></pool>\\n' ;;
esac
exit 0
`,
  );
  const hv = new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.1/system', prefix: ['sh', script], readSessions: 0 });
  return { hv, log: () => readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') };
}

test('migrationSource reads the definition, the stats and the transient list at the same time', async (t) => {
  const reads = ['dumpxml', 'domstats', 'list'];
  const { hv, log } = fakeVirsh(t, 'dumpxml-running-nodisk.xml', reads);
  const { server } = await hv.migrationSource(UUID);
  t.is(server.uuid, UUID);
  t.is(server.state, 'SERVER_STATE_RUNNING');
  const calls = log();
  const firstEnd = calls.findIndex((l) => l.startsWith('end '));
  for (const c of reads) t.true(calls.indexOf(`start ${c}`) < firstEnd, `${c} started before any read ended: ${calls.join(', ')}`);
});

test('migrationSource of a domain without disks reads no storage pools; with a disk it classifies it from the pools', async (t) => {
  const bare = fakeVirsh(t, 'dumpxml-running-nodisk.xml', []);
  const { disks } = await bare.hv.migrationSource(UUID);
  t.deepEqual(disks, { local: [], declared: false });
  t.deepEqual(
    bare.log().filter((l) => l.startsWith('start pool')),
    [],
    'no pool-list or pool-dumpxml for a domain without disks',
  );

  const withDisk = fakeVirsh(t, 'dumpxml-running-localdisk.xml', []);
  const src = await withDisk.hv.migrationSource(UUID);
  t.is(src.disks.local.length, 1, 'the local disk is planned for copying');
  t.true(
    withDisk.log().some((l) => l === 'start pool-list'),
    'the pools were read to classify the disk',
  );
});

test('jobStats of a job started without post-copy is one domjobinfo; otherwise the state is asked too, for post-copy', async (t) => {
  const plain = fakeVirsh(t, 'dumpxml-running-nodisk.xml', []);
  const stats = await plain.hv.jobStats(UUID, undefined, { postCopyPossible: false });
  t.truthy(stats, 'the job is reported');
  t.false(stats!.postCopy);
  t.deepEqual(
    plain.log().filter((l) => l.startsWith('start ')),
    ['start domjobinfo'],
  );

  const maybe = fakeVirsh(t, 'dumpxml-running-nodisk.xml', []);
  const withState = await maybe.hv.jobStats(UUID);
  t.true(withState!.postCopy, 'the state reason (post-copy) is read');
  t.deepEqual(
    maybe
      .log()
      .filter((l) => l.startsWith('start '))
      .sort(),
    ['start domjobinfo', 'start domstate'],
  );
});

/** A virsh stand-in for prepareStateOn: started as a shell (`-q`, no command) it logs, reads one command and answers; a plain call answers "shut off". */
function fakeShell(t: { teardown(fn: () => void): void }, mode: 'ok' | 'broken' | 'dead' | 'warns'): { hv: LibvirtHypervisor; log: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-shell-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'virsh.sh');
  writeFileSync(
    script,
    `d=${JSON.stringify(dir)}
if [ "$4" = "-q" ]; then
  echo "spawned $3" >> "$d/calls"
  if ${mode === 'dead' ? 'true' : 'false'}; then echo "error: failed to connect to the hypervisor" >&2; exit 1; fi
  read line
  echo "asked $line" >> "$d/calls"
  if ${mode === 'warns' ? 'true' : 'false'}; then echo "warning: something libvirt thought worth saying" >&2; fi
  if ${mode === 'broken' ? 'true' : 'false'}; then echo "error: failed to connect to the hypervisor" >&2; else echo "virsh # $line"; echo "running (migrated)"; echo "virsh # "; fi
  exit 0
fi
echo "fresh $4 $3" >> "$d/calls"
echo "shut off"
`,
  );
  const hv = new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.1/system', prefix: ['sh', script], readSessions: 0 });
  return { hv, log: () => readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') };
}

const waitFor = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

test('prepareStateOn starts its virsh (connected to the target) before the question, which it then sends on stdin', async (t) => {
  const target = 'qemu+tcp://10.99.0.2/system';
  const { hv, log } = fakeShell(t, 'ok');
  const p = hv.prepareStateOn(target, UUID);
  t.teardown(() => p.cancel());
  await waitFor('the prepared virsh', () => {
    try {
      return log().includes(`spawned ${target}`);
    } catch {
      return false;
    }
  });
  t.deepEqual(log(), [`spawned ${target}`], 'started and connected, nothing asked yet');
  t.is(p.reason(), null, 'no reason before the answer');
  t.is(await p.state(), 'SERVER_STATE_RUNNING');
  t.is(p.reason(), 'migrated', 'the reason came with the state: the guest verdict needs no call of its own');
  t.deepEqual(log(), [`spawned ${target}`, `asked domstate --domain ${UUID} --reason`]);
});

test('prepareStateOn asks on a new connection when the prepared one failed', async (t) => {
  const target = 'qemu+tcp://10.99.0.2/system';
  const { hv, log } = fakeShell(t, 'broken');
  const p = hv.prepareStateOn(target, UUID);
  t.is(await p.state(), 'SERVER_STATE_SHUTOFF', "the fresh call's answer");
  t.is(p.reason(), null, 'a fresh call reads no reason: the guest is then judged by a call of its own');
  t.true(log().includes(`fresh domstate ${target}`), log().join(', '));
});

test('prepareStateOn and prepareStateHere through real virsh (the test driver): the state, and null for a domain that is not there', async (t) => {
  const hv = new LibvirtHypervisor({ uri: 'test:///default', migrationUri: 'qemu+tcp://127.0.0.1/system' });
  // The test driver's built-in running domain "test".
  const there = hv.prepareStateOn('test:///default', '6695eb01-f6a4-8304-79aa-97f2502e193f');
  t.is(await there.state(), 'SERVER_STATE_RUNNING');
  const absent = hv.prepareStateOn('test:///default', UUID);
  t.is(await absent.state(), null);
  const here = hv.prepareStateHere('6695eb01-f6a4-8304-79aa-97f2502e193f');
  t.is(await here.state(), 'SERVER_STATE_RUNNING');
  const gone = hv.prepareStateHere(UUID);
  t.is(await gone.state(), null);
  for (const p of [there, absent, here, gone]) p.cancel();
});

test("prepareStateHere asks this host, not a target, once the answer is wanted, on this host's read shells: nothing is started before", async (t) => {
  const { hv, started } = countedVirsh(t, 2);
  const p = hv.prepareStateHere(TEST_DOMAIN);
  t.teardown(() => p.cancel());
  await new Promise((r) => setTimeout(r, 200));
  t.deepEqual(started(), [], 'nothing started while the move runs');
  t.is(await p.state(), 'SERVER_STATE_RUNNING');
  t.not(p.reason(), null, 'the reason comes with the state');
  t.deepEqual(started(), ['virsh -c test:///default -q'], "asked on a read shell of this host's daemon");
});

const TARGET = 'qemu+tcp://10.99.0.2/system';
const liveSpec = (prepared?: ReturnType<LibvirtHypervisor['prepareLiveMigration']>) => ({
  uuid: UUID,
  targetUri: TARGET,
  disks: { local: [], declared: false },
  copyStorage: false,
  unsafe: false,
  postCopy: false,
  autoConverge: false,
  bandwidthMiBps: 0,
  signal: new AbortController().signal,
  prepared,
});
const MIGRATE = `migrate --live --p2p --persistent --undefinesource --domain ${UUID} --desturi ${TARGET}`;

test('a live migration runs on the virsh prepared ahead: started and connected before the command is known, then sent it on stdin', async (t) => {
  const { hv, log } = fakeShell(t, 'ok');
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  await waitFor('the prepared virsh', () => {
    try {
      return log().includes('spawned qemu:///system');
    } catch {
      return false;
    }
  });
  t.deepEqual(log(), ['spawned qemu:///system'], "this host's libvirt, connected, nothing asked yet");
  await hv.migrateLive(liveSpec(prepared));
  t.deepEqual(log(), ['spawned qemu:///system', `asked ${MIGRATE}`], 'the migration ran on the prepared virsh, no fresh one');
});

test('a live migration whose prepared virsh already exited (its connection failed) runs afresh, once', async (t) => {
  const { hv, log } = fakeShell(t, 'dead');
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  await waitFor('the prepared virsh', () => {
    try {
      return log().includes('spawned qemu:///system');
    } catch {
      return false;
    }
  });
  await new Promise((r) => setTimeout(r, 300)); // it exits right after
  await hv.migrateLive(liveSpec(prepared));
  t.deepEqual(log(), ['spawned qemu:///system', `fresh migrate qemu:///system`]);
});

test('a prepared call fails on an error virsh printed, not on a warning: a migration that did its work is not reported failed', async (t) => {
  const warned = fakeShell(t, 'warns');
  const prepared = warned.hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  await warned.hv.migrateLive(liveSpec(prepared));
  t.deepEqual(warned.log(), ['spawned qemu:///system', `asked ${MIGRATE}`]);
  const broken = fakeShell(t, 'broken');
  const failing = broken.hv.prepareLiveMigration();
  t.teardown(() => failing.cancel());
  await t.throwsAsync(broken.hv.migrateLive(liveSpec(failing)), { message: /failed to connect/ });
});

/** Real virsh against the test driver, behind a prefix that logs each virsh process started ("<args>"). */
function countedVirsh(t: { teardown(fn: () => void): void }, readSessions = 0): { hv: LibvirtHypervisor; started: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-count-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'virsh.sh');
  writeFileSync(script, `echo "$*" >> ${JSON.stringify(path.join(dir, 'started'))}\nexec "$@"\n`);
  const hv = new LibvirtHypervisor({ uri: 'test:///default', migrationUri: 'qemu+tcp://127.0.0.1/system', prefix: ['sh', script], readSessions });
  t.teardown(() => hv.closeReadSessions());
  const started = () => {
    try {
      return readFileSync(path.join(dir, 'started'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { hv, started };
}
const TEST_DOMAIN = '6695eb01-f6a4-8304-79aa-97f2502e193f';

test("migrationSource on this host's read shells (real virsh, test driver): no virsh of its own, the same answer; the live move's prepared virsh is left for its migrate", async (t) => {
  const alone = countedVirsh(t);
  const afresh = await alone.hv.migrationSource(TEST_DOMAIN);
  t.true(alone.started().length >= 3, `the reads afresh start their own virsh: ${alone.started().join(' | ')}`);
  const { hv, started } = countedVirsh(t, 2);
  await hv.migrationSource(TEST_DOMAIN); // starts the read shells
  const before = started().length;
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  const source = await hv.migrationSource(TEST_DOMAIN);
  t.deepEqual(source, afresh, 'the same server and disk plan as the reads afresh');
  t.deepEqual(started().slice(before), ['virsh -c test:///default -q'], 'only the prepared virsh was started');
  // The prepared virsh still runs the one command.
  const call = prepared.take(['domstate', '--domain', TEST_DOMAIN]);
  t.truthy(call, 'still usable after the reads');
  t.is((await call!.run(['domstate', '--domain', TEST_DOMAIN], { timeoutMs: 10_000 })).stdout.trim(), 'running');
});

test('migrationSource of a domain not defined is reported typed, and the prepared virsh stays usable', async (t) => {
  const { hv } = countedVirsh(t, 2);
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  const err = await t.throwsAsync(hv.migrationSource(UUID));
  t.is(err?.name, 'ServerNotFoundError', String(err));
  const call = prepared.take(['domstate', '--domain', TEST_DOMAIN]);
  t.teardown(() => call?.cancel()); // taken, but no command sent: its owner would not end it
  t.truthy(call, 'the failed reads did not use up the migration virsh');
});

test("a shell's read returns each read's output as run alone would, null (asks nothing) for an argument that is not a plain word, and reads again", async (t) => {
  const { hv } = countedVirsh(t);
  const shell = new PreparedVirshCall(hv.virsh, hv.virsh.uri);
  t.teardown(() => shell.cancel());
  t.is(await shell.read([['dumpxml', '--domain', 'test;', 'list']], 10_000), null, 'not sent: not a plain word');
  const fresh = await Promise.all(
    [
      ['domstate', '--domain', 'test'],
      ['list', '--all', '--uuid'],
    ].map((a) => hv.virsh.run(a)),
  );
  const read = await shell.read(
    [
      ['domstate', '--domain', 'test'],
      ['list', '--all', '--uuid'],
    ],
    10_000,
  );
  t.deepEqual(
    read && 'outputs' in read ? read.outputs.map((o) => o.trim()) : read,
    fresh.map((r) => r.stdout.trim()),
  );
  const again = await shell.read([['list', '--all', '--uuid']], 10_000);
  t.deepEqual(again && 'outputs' in again ? again.outputs.map((o) => o.trim()) : again, [fresh[1]!.stdout.trim()], 'reads again');
});

/** A stand-in shell (fakeShell) with the shells of a live move to TARGET armed, once both have started. */
async function armedShells(t: Parameters<typeof fakeShell>[0], mode: Parameters<typeof fakeShell>[1]): Promise<ReturnType<typeof fakeShell>> {
  const shell = fakeShell(t, mode);
  t.teardown(() => shell.hv.closeStandby());
  shell.hv.armStandby(TARGET);
  await waitFor('the armed shells', () => {
    try {
      return shell.log().includes('spawned qemu:///system') && shell.log().includes(`spawned ${TARGET}`);
    } catch {
      return false;
    }
  });
  return shell;
}

test('shells armed during a live move serve the next move: its target check and its migration start no virsh of their own', async (t) => {
  const { hv, log } = await armedShells(t, 'ok');
  t.deepEqual([...log()].sort(), [`spawned ${TARGET}`, 'spawned qemu:///system'].sort(), 'both connected, nothing asked yet');
  // The next move's request: the check of the target, then the migration.
  t.is(await hv.stateOn(TARGET, UUID), 'SERVER_STATE_RUNNING');
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  await hv.migrateLive(liveSpec(prepared));
  const calls = log();
  t.is(calls.filter((l) => l.startsWith('spawned') || l.startsWith('fresh')).length, 2, `no virsh started after the request: ${calls.join(', ')}`);
  t.true(calls.includes(`asked domstate --domain ${UUID}`), calls.join(', '));
  t.is(calls.at(-1), `asked ${MIGRATE}`);
  // Taken: the next request starts its own, as before any move.
  t.is(await hv.stateOn(TARGET, UUID), 'SERVER_STATE_SHUTOFF', "a fresh call (the stand-in's plain answer)");
  t.is(log().at(-1), `fresh domstate ${TARGET}`);
});

test('an armed shell whose connection failed is not used: the check and the migration run afresh', async (t) => {
  const { hv, log } = await armedShells(t, 'dead');
  await new Promise((r) => setTimeout(r, 300)); // they exit right after
  t.is(await hv.stateOn(TARGET, UUID), 'SERVER_STATE_SHUTOFF');
  t.true(log().includes(`fresh domstate ${TARGET}`), log().join(', '));
  const prepared = hv.prepareLiveMigration();
  t.teardown(() => prepared.cancel());
  await new Promise((r) => setTimeout(r, 300));
  await hv.migrateLive(liveSpec(prepared));
  t.is(log().at(-1), 'fresh migrate qemu:///system');
});

test('an armed shell left unused ends after its time; one per URI', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-standby-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'virsh.sh');
  // A shell that waits on stdin forever and records its pid.
  writeFileSync(script, `echo $$ >> ${JSON.stringify(path.join(dir, 'pids'))}\nexec cat > /dev/null\n`);
  const standby = new VirshStandby(new Virsh({ uri: 'qemu:///system', prefix: ['sh', script] }), 300);
  t.teardown(() => standby.close());
  standby.arm('qemu:///system');
  standby.arm('qemu:///system');
  t.is(standby.size, 1, 'a second arm for the same URI starts nothing');
  await waitFor('the shell', () => {
    try {
      return readFileSync(path.join(dir, 'pids'), 'utf8').trim() !== '';
    } catch {
      return false;
    }
  });
  const pid = Number(readFileSync(path.join(dir, 'pids'), 'utf8').trim());
  await waitFor('the shell to end', () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  t.is(standby.size, 0);
  t.is(standby.take('qemu:///system'), null, 'nothing to take once it ended');
  t.is(readFileSync(path.join(dir, 'pids'), 'utf8').trim().split('\n').length, 1, 'one shell was started');
});
