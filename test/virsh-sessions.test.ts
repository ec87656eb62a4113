// The agent's reads on long-lived virsh shells (agent/hypervisor/virsh-sessions.ts),
// against real virsh and libvirt's test driver (test:///default, no daemon),
// behind a prefix that logs every virsh process started.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LibvirtHypervisor } from '../agent/hypervisor/libvirt.ts';
import { Virsh } from '../agent/hypervisor/virsh.ts';
import { VirshSessions } from '../agent/hypervisor/virsh-sessions.ts';

const TEST_DOMAIN = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const MISSING = '11111111-1111-4111-8111-111111111111';

/** A logging prefix: each virsh process started appends its arguments to a file. */
function counted(t: { teardown(fn: () => void): void }): { prefix: string[]; started: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-sessions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'virsh.sh');
  writeFileSync(script, `echo "$*" >> ${JSON.stringify(path.join(dir, 'started'))}\nexec "$@"\n`);
  const started = () => {
    try {
      return readFileSync(path.join(dir, 'started'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { prefix: ['sh', script], started };
}

function hypervisor(t: { teardown(fn: () => void): void }, readSessions: number): { hv: LibvirtHypervisor; started: () => string[] } {
  const { prefix, started } = counted(t);
  const hv = new LibvirtHypervisor({ uri: 'test:///default', migrationUri: 'qemu+tcp://127.0.0.1/system', prefix, readSessions });
  t.teardown(() => hv.closeReadSessions());
  return { hv, started };
}

function sessions(t: { teardown(fn: () => void): void }, o: { size?: number; queueWaitMs?: number; idleMs?: number } = {}) {
  const { prefix, started } = counted(t);
  const virsh = new Virsh({ uri: 'test:///default', prefix });
  const s = new VirshSessions(virsh, { size: o.size ?? 1, queueWaitMs: o.queueWaitMs ?? 1000, idleMs: o.idleMs ?? 60_000 });
  t.teardown(() => s.close());
  return { s, virsh, started };
}

test('the reads give the same answers on shells as each in its own virsh, and start only the shells', async (t) => {
  const alone = hypervisor(t, 0);
  const shared = hypervisor(t, 2);
  const read = async (hv: LibvirtHypervisor) => ({
    virtType: await hv.virtType(),
    servers: await hv.listServers(),
    server: await hv.getServer(TEST_DOMAIN),
    source: await hv.migrationSource(TEST_DOMAIN),
  });
  const expected = await read(alone.hv);
  t.true(alone.started().length >= 7, `each read its own virsh: ${alone.started().length}`);
  t.deepEqual(await read(shared.hv), expected);
  const first = shared.started();
  t.true(first.filter((l) => l === 'virsh -c test:///default -q').length <= 2, `at most 2 shells: ${first.join(' | ')}`);
  // Again, on the shells now started and connected: not one virsh more.
  t.deepEqual(await read(shared.hv), expected);
  t.deepEqual(shared.started(), first, 'no virsh started for the second reads');
});

test('a read that fails on a shell throws its typed error, and the shell serves the next read', async (t) => {
  const { s, started } = sessions(t, { size: 1, queueWaitMs: 30_000 });
  const err = await t.throwsAsync(s.read(['dumpxml', '--domain', MISSING], { context: { domain: MISSING } }, 10_000));
  t.is(err?.name, 'ServerNotFoundError', String(err));
  t.is(s.size, 1, 'the shell stays');
  t.is((await s.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000))?.trim(), 'running');
  t.deepEqual(started(), ['virsh -c test:///default -q'], 'one shell, no virsh of their own');
  // Through the hypervisor: the same typed error as each read in its own virsh.
  const { hv } = hypervisor(t, 1);
  t.is((await t.throwsAsync(hv.migrationSource(MISSING)))?.name, 'ServerNotFoundError');
});

test('a read that fails on a shell with anything but "not found" ends the shell and is left to a virsh of its own', async (t) => {
  const { s, virsh, started } = sessions(t, { size: 1 });
  // The test driver has no domain capabilities: an error that is not an answer about a domain.
  t.is(await s.read(['domcapabilities', '--virttype', 'qemu'], {}, 10_000), null);
  t.is(s.size, 0, 'the shell ended');
  const afresh = await t.throwsAsync(virsh.run(['domcapabilities', '--virttype', 'qemu']));
  t.is(afresh?.name, 'LibvirtError', 'run afresh, it reports its typed error');
  t.deepEqual(started(), ['virsh -c test:///default -q', 'virsh -c test:///default domcapabilities --virttype qemu']);
});

test('only reads of this host, in plain words, go to a shell: the others are left to a virsh of their own (null)', async (t) => {
  const { s, started } = sessions(t);
  t.is(await s.read(['start', '--domain', TEST_DOMAIN], {}, 10_000), null, 'not a read');
  t.is(await s.read(['domstate', '--domain', TEST_DOMAIN], { uri: 'test:///other' }, 10_000), null, 'another daemon');
  t.deepEqual(started(), [], 'nothing started for them');
  t.is(await s.read(['domstate', '--domain', 'test;list'], {}, 10_000), null, 'not a plain word');
  t.is((await s.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000))?.trim(), 'running');
});

test('a read that finds every shell busy waits at most queueWaitMs, then is left to a virsh of its own', async (t) => {
  const { s } = sessions(t, { size: 1, queueWaitMs: 0 });
  // The first read waits for the shell's start and connection; the second finds it busy.
  const [first, second] = await Promise.all([s.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000), s.read(['list', '--all', '--uuid'], {}, 10_000)]);
  t.is(first?.trim(), 'running');
  t.is(second, null);
  t.is(s.size, 1);
  // Waiting long enough, it gets the shell once the other read is done.
  const { s: patient } = sessions(t, { size: 1, queueWaitMs: 10_000 });
  const both = await Promise.all([patient.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000), patient.read(['list', '--all', '--uuid'], {}, 10_000)]);
  t.is(both[0]?.trim(), 'running');
  t.is(both[1]?.trim(), TEST_DOMAIN);
  t.is(patient.size, 1);
});

test('a read past its deadline ends its shell and throws VirshTimeoutError; an aborted one ends it and throws CancelledError', async (t) => {
  const { s } = sessions(t, { size: 1 });
  // 1 ms: the shell has not even started.
  const late = await t.throwsAsync(s.read(['domstate', '--domain', TEST_DOMAIN], {}, 1));
  t.is(late?.name, 'VirshTimeoutError', String(late));
  t.is(s.size, 0, 'the shell ended');
  // Aborted while its (new) shell starts: the read is on the shell by then.
  const ac = new AbortController();
  const reading = s.read(['domstate', '--domain', TEST_DOMAIN], { signal: ac.signal }, 10_000);
  setTimeout(() => ac.abort(), 1);
  const cancelled = await t.throwsAsync(reading);
  t.is(cancelled?.name, 'CancelledError', String(cancelled));
  t.is(s.size, 0);
  t.is((await s.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000))?.trim(), 'running', 'a new shell for the next read');
});

test('a shell unused for idleMs ends; close() ends the rest and leaves later reads to their own virsh', async (t) => {
  const { s } = sessions(t, { size: 2, idleMs: 100 });
  await Promise.all([s.read(['domstate', '--domain', TEST_DOMAIN], {}, 10_000), s.read(['version'], {}, 10_000)]);
  t.is(s.size, 2);
  await new Promise((r) => setTimeout(r, 400));
  t.is(s.size, 0, 'idle shells ended');
  await s.read(['version'], {}, 10_000);
  t.is(s.size, 1);
  s.close();
  t.is(s.size, 0);
  t.is(await s.read(['version'], {}, 10_000), null);
});
