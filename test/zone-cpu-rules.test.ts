// The pure parts of zone CPU: placement rules over cached answers, the
// PASSTHROUGH reference, the member watch's trigger, flag arithmetic, the
// CompareCpu cache's sharing and memory. Plain records, no I/O.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { simCpu, cpuXml } from '../harness/sim/cpu.ts';
import { makeHost, makeServer, makeZone } from '../coordinator/planner/index.ts';
import type { HostRecord, ServerRecord, ZoneRecord } from '../coordinator/model.ts';
import type { SnapshotHost } from '../coordinator/planner/index.ts';
import { CompareCache, type CompareAnswer } from '../coordinator/zone-cpu/compare-cache.ts';
import { cpuQuestions, cpuVerdict, zoneModelXml } from '../coordinator/zone-cpu/placement-rules.ts';
import { choosePassthroughReference, changeEntry, downgradeMessage } from '../coordinator/zone-cpu/decide.ts';
import { pendingTrigger } from '../coordinator/zone-cpu/members-watch.ts';
import { listForPeople, minus, withExtraFeatures } from '../coordinator/zone-cpu/features.ts';
import { cpuHash, setTracking, emptyTracking } from '../coordinator/zone-cpu/tracking.ts';

function host(id: string, cpu = simCpu('Skylake-Server'), extra: Partial<HostRecord> = {}): SnapshotHost {
  return { ...makeHost(id), cpu, incarnation: `${id}-inc`, grpcEndpoint: `${id}:1`, online: true, lastHeartbeatMs: 1, ...extra } as SnapshotHost;
}
function zone(mode: ZoneRecord['cpuMode'], cpu: Partial<ZoneRecord['cpu']> = {}): ZoneRecord {
  const z = makeZone('z1');
  return { ...z, cpuMode: mode, cpu: { ...z.cpu, ...cpu } };
}
function server(hostId: string, extra: Partial<ServerRecord> = {}): ServerRecord {
  return { ...makeServer('s1', hostId), ...extra };
}
/** A lookup from a table of (host id, xml) → answer. */
function answers(table: Array<[string, string, CompareAnswer]>) {
  return (h: SnapshotHost, xml: string) => {
    const hit = table.find(([id, x]) => id === h.id && x === xml);
    return hit ? { answer: hit[2] } : { failure: 'agent unreachable' };
  };
}
const A = (verdict: CompareAnswer['verdict'], missing: string[] = []): CompareAnswer => ({ verdict, missing, message: '' });

test('DEFAULT: a running host-model server asks the source host CPU; a shut-off one asks nothing; a custom guest CPU asks itself', (t) => {
  const src = host('h1');
  const z = zone('DEFAULT');
  t.deepEqual(
    cpuQuestions(server('h1'), z, src).map((q) => q.xml),
    [src.cpu.xml],
  );
  t.deepEqual(cpuQuestions(server('h1', { state: 'shutoff' }), z, src), []);
  const west = cpuXml('Westmere', 'Intel', []);
  t.deepEqual(
    cpuQuestions(server('h1', { cpu: { mode: 'custom', model: 'Westmere', features: [], xml: west } }), z, src).map((q) => q.xml),
    [west],
  );
  const tgt = host('h2', simCpu('Westmere'));
  const lookup = answers([['h2', src.cpu.xml, A('INCOMPATIBLE', ['avx2', 'avx512f'])]]);
  const v = cpuVerdict(server('h1'), tgt, z, src, lookup);
  t.false(v.ok);
  t.regex(v.reason, /cannot run guest CPU \(host-model of h1: Skylake-Server\): lacks avx2, avx512f/);
  t.true(cpuVerdict(server('h1', { state: 'shutoff' }), tgt, z, src, lookup).ok);
});

test('an unanswered question blocks with the failure as the reason, never waves the target through', (t) => {
  const src = host('h1');
  const v = cpuVerdict(server('h1'), host('h2'), zone('DEFAULT'), src, answers([]));
  t.false(v.ok);
  t.regex(v.reason, /unknown: agent unreachable/);
});

test('EXTENDED: the zone model with the operator extras must run on the target; flagged hosts are blocked first', (t) => {
  const zxml = cpuXml('Haswell-noTSX', 'Intel', []);
  const z = zone('EXTENDED', { model: 'Haswell-noTSX', xml: zxml, extraFeatures: ['pcid'] });
  const eff = zoneModelXml(z);
  t.regex(eff, /name='pcid'/);
  // A running host-model server in EXTENDED boots with the zone model: only the zone model is asked.
  t.deepEqual(
    cpuQuestions(server('h1'), z, host('h1')).map((q) => q.xml),
    [eff],
  );
  const ok = cpuVerdict(server('h1'), host('h2'), z, host('h1'), answers([['h2', eff, A('SUPERSET')]]));
  t.true(ok.ok);
  t.regex(ok.reason, /zone model Haswell-noTSX: superset/);
  const bad = cpuVerdict(server('h1'), host('h3'), z, host('h1'), answers([['h3', eff, A('INCOMPATIBLE', ['pcid'])]]));
  t.false(bad.ok);
  t.regex(bad.reason, /cannot run zone model Haswell-noTSX: lacks pcid/);
  const flagged = cpuVerdict(server('h1'), host('h4'), { ...z, cpu: { ...z.cpu, mismatchedHosts: ['h4'] } }, host('h1'), answers([['h4', eff, A('SUPERSET')]]));
  t.false(flagged.ok);
});

test('PASSTHROUGH: only a host identical to the source qualifies', (t) => {
  const z = zone('PASSTHROUGH', { model: 'Skylake-Server', xml: simCpu('Skylake-Server').xml });
  const src = host('h1');
  const sup = cpuVerdict(server('h1'), host('h2'), z, src, answers([['h2', src.cpu.xml, A('SUPERSET')]]));
  t.false(sup.ok);
  t.regex(sup.reason, /not identical/);
  t.true(cpuVerdict(server('h1'), host('h3'), z, src, answers([['h3', src.cpu.xml, A('IDENTICAL')]])).ok);
});

test('PASSTHROUGH reference: the majority CPU; a tie keeps the current reference, else the lowest host id', (t) => {
  const sky = simCpu('Skylake-Server');
  const has = simCpu('Haswell-noTSX');
  t.is(choosePassthroughReference([host('a', has), host('b', sky), host('c', sky)], null)!.cpu.model, 'Skylake-Server');
  t.is(choosePassthroughReference([host('a', has), host('b', sky)], null)!.id, 'a');
  t.is(choosePassthroughReference([host('a', has), host('b', sky)], { xml: sky.xml })!.id, 'b');
  t.is(choosePassthroughReference([], null), null);
});

test('member watch: first pass, joins, leaves, mode changes and an unrecomputed CPU change each trigger; nothing else does', (t) => {
  const z = zone('EXTENDED');
  const hs = [host('h1', simCpu('Skylake-Server'), { zoneId: 'z1' }), host('h2', simCpu('Skylake-Server'), { zoneId: 'z1' })];
  t.deepEqual(pendingTrigger(z, hs), { reason: 'initial', joined: ['h1', 'h2'] });
  t.is(pendingTrigger(z, []), null, 'an empty new zone waits');
  const tracked = structuredClone(z);
  const fit = (h: SnapshotHost) => ({ cpuHash: cpuHash(h.cpu.xml), model: h.cpu.model, verdict: 'IDENTICAL' as const, missing: [], extra: [], advice: '' });
  setTracking(tracked, { ...emptyTracking(), members: ['h1', 'h2'], mode: 'EXTENDED', hosts: { h1: fit(hs[0]!), h2: fit(hs[1]!) } });
  t.is(pendingTrigger(tracked, hs), null);
  t.deepEqual(pendingTrigger(tracked, [...hs, host('h3', simCpu('Westmere'), { zoneId: 'z1' })]), { reason: 'host-joined', joined: ['h3'] });
  t.deepEqual(pendingTrigger(tracked, [hs[0]!]), { reason: 'host-joined', joined: [] });
  t.deepEqual(pendingTrigger({ ...tracked, cpuMode: 'PASSTHROUGH' }, hs), { reason: 'mode-changed', joined: [] });
  const swapped = [hs[0]!, { ...hs[1]!, cpu: simCpu('Westmere') }];
  t.deepEqual(pendingTrigger(tracked, swapped), { reason: 'host-returned', causeHostId: 'h2' });
  t.is(pendingTrigger(tracked, [hs[0]!, { ...swapped[1]!, maintenance: 'returning' }]), null, "a returning host is the hook's to recompute");
});

test('history entry and message: lost/gained from the expanded lists, host and advice named', (t) => {
  const c = { from: { model: 'Skylake-Server', all: ['a', 'avx512f', 'b'] }, to: { model: 'Haswell-noTSX', all: ['a', 'b', 'c'] } };
  const e = changeEntry(c, 'host-returned', 'h4', 'msg', 42);
  t.deepEqual([e.featuresLost, e.featuresGained, e.causeHostId, e.atMs], [['avx512f'], ['c'], 'h4', 42]);
  const m = downgradeMessage(zone('EXTENDED'), host('h4', simCpu('Haswell-noTSX')), c, 'host-returned', ['avx512f']);
  t.regex(
    m,
    /^host h4 \(Haswell-noTSX\) returned from maintenance without avx512f: zone z1 CPU model lowered from Skylake-Server to Haswell-noTSX, flags lost: avx512f/,
  );
  t.regex(m, /Consider moving h4 to a zone matching Haswell-noTSX/);
});

test('flag helpers', (t) => {
  t.deepEqual(minus(['b', 'a', 'c'], ['c']), ['a', 'b']);
  t.is(listForPeople(['a', 'b', 'c'], 2), 'a, b and 1 more');
  t.is(listForPeople([]), 'none');
  const x = cpuXml('Westmere', 'Intel', ['aes']);
  t.is(withExtraFeatures(x, ['aes']), x, 'no duplicate');
  t.regex(withExtraFeatures(x, ['pcid', 'Bad Name']), /name='pcid'\/>\n<\/cpu>$/);
  t.notRegex(withExtraFeatures(x, ['pcid', 'Bad Name']), /Bad Name/);
});

test('compare cache: concurrent asks share one call, failures are remembered but not cached, the bound holds', async (t) => {
  let calls = 0;
  let fail = true;
  const cache = new CompareCache(
    async () => {
      calls++;
      await sleep(20);
      if (fail) throw new Error('boom');
      return { result: 'CPU_COMPARE_RESULT_SUPERSET', missing_features: [], message: 'ok' };
    },
    { maxEntries: 2 },
  );
  const h = { id: 'h1', incarnation: 'i1', grpcEndpoint: 'x' };
  await t.throwsAsync(Promise.all([cache.ensure(h, 'A'), cache.ensure(h, 'A')]));
  t.is(calls, 1);
  t.is(cache.failure(h, 'A'), 'boom');
  t.is(cache.get(h, 'A'), undefined);
  fail = false;
  const [a, b] = await Promise.all([cache.ensure(h, 'A'), cache.ensure(h, 'A')]);
  t.is(a, b);
  t.is(calls, 2);
  t.is(cache.failure(h, 'A'), undefined);
  await cache.ensure(h, 'B');
  await cache.ensure(h, 'C');
  t.is(cache.get(h, 'A'), undefined, 'oldest dropped beyond the bound');
  t.truthy(cache.get(h, 'C'));
});
