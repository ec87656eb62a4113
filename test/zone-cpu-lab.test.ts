// libvirt's own CPU algorithms through a real agent: a 1-host lab
// (scripts/lab), one drydock-agent process in it (qemu:///system, virt type
// qemu), and the coordinator's gRPC client calling BaselineCpu/CompareCpu
// on the cpu_map fixtures (Intel and AMD), plus the zone CPU pieces that
// turn those answers into a zone model (ZoneCpuAgents, CompareCache,
// changeEntry).
//
// Compare answers depend on the lab host's CPU: for virt type qemu that is
// QEMU's TCG host-model (AMD EPYC with QEMU 7.2), not the machine's. What is
// asserted is what holds on any host: the host's own CPU is IDENTICAL, a
// baseline that includes the host's CPU runs on it, another vendor's CPU is
// INCOMPATIBLE with a vendor message, and an INCOMPATIBLE answer names
// missing features when libvirt gives them.
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLab, type Lab } from '../scripts/lab/index.ts';
import { labCoordinatorTls, startLabAgents, type LabAgent } from '../harness/lab-agents.ts';
import { AgentClientPool, type AgentClient } from '../coordinator/agent-client.ts';
import type { HostFacts } from '../common/generated/drydock/agent/v1/HostFacts.ts';
import type { HostRecord } from '../coordinator/model.ts';
import { CompareCache } from '../coordinator/zone-cpu/compare-cache.ts';
import { ZoneCpuAgents, isNoCommonCpu } from '../coordinator/zone-cpu/zone-agents.ts';
import { changeEntry } from '../coordinator/zone-cpu/decide.ts';

interface Ctx {
  dir: string;
  lab: Lab;
  agents: LabAgent[];
  pool: AgentClientPool;
  client: AgentClient;
  facts: HostFacts;
}
const test = anyTest as TestFn<Ctx>;
const fx = (m: string) => readFileSync(new URL(`./fixtures/libvirt/cpu/${m}.xml`, import.meta.url), 'utf8');
const MIGRATABLE = { migratable: true, expand_features: false };

test.before(async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-zone-cpu-lab-'));
  t.context = { dir, agents: [] } as unknown as Ctx;
  const t0 = Date.now();
  t.context.lab = await createLab({ hosts: 1, name: 'ddcp', subnet: 46 });
  t.context.agents = await startLabAgents(t.context.lab, { dir });
  t.context.pool = new AgentClientPool({ tls: await labCoordinatorTls(), callTimeoutMs: 30_000 });
  t.context.client = t.context.pool.forHost(t.context.agents[0]!.host.name, t.context.agents[0]!.endpoint);
  t.context.facts = await t.context.client.getHostFacts();
  t.log(`lab + agent: ${Date.now() - t0} ms; host CPU ${t.context.facts.cpu?.vendor} ${t.context.facts.cpu?.model}`);
});

test.after.always(async (t) => {
  t.context.pool?.closeAll();
  await Promise.allSettled((t.context.agents ?? []).map((a) => a.stop()));
  await t.context.lab?.destroy();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const baseline = async (t: { context: Ctx }, xmls: string[], opts = MIGRATABLE) => (await t.context.client.baselineCpu({ cpu_xmls: xmls, ...opts })).cpu!;

test('BaselineCpu (Intel): Skylake-Server + Haswell-noTSX → Haswell-noTSX; + Westmere → Westmere; a zone model (guest <cpu>) is accepted as an input', async (t) => {
  const sh = await baseline(t, [fx('Skylake-Server'), fx('Haswell-noTSX')]);
  t.is(sh.model, 'Haswell-noTSX');
  t.is(sh.vendor, 'Intel');
  t.true(sh.xml.includes('<model'));
  const shw = await baseline(t, [fx('Skylake-Server'), fx('Haswell-noTSX'), fx('Westmere')]);
  t.is(shw.model, 'Westmere');
  // The downgrade's input: every host's CPU plus the current zone model, so nothing is raised by itself.
  const down = await baseline(t, [fx('Skylake-Server'), fx('Westmere'), sh.xml]);
  t.is(down.model, 'Westmere');
  const cs = await baseline(t, [fx('Cascadelake-Server'), fx('Skylake-Server')], { migratable: true, expand_features: true });
  t.is(cs.vendor, 'Intel');
  t.true(cs.features.length > 30, `${cs.model}: ${cs.features.length} features`);
  t.log(`Cascadelake+Skylake (migratable, TCG): ${cs.model}, ${cs.features.length} features`);
});

test('BaselineCpu (AMD and mixed): EPYC + EPYC-Rome → EPYC; Intel + AMD is refused, and the zone code reads it as "no common CPU", not as an agent down', async (t) => {
  const amd = await baseline(t, [fx('EPYC'), fx('EPYC-Rome')]);
  t.is(amd.model, 'EPYC');
  t.is(amd.vendor, 'AMD');
  const err = await t.throwsAsync(baseline(t, [fx('Skylake-Server'), fx('EPYC')]));
  t.regex(err!.message, /vendor/i);
  t.true(isNoCommonCpu(err), `${(err as { code?: number }).code}: ${err!.message}`);
});

test('CompareCpu: own CPU identical, a baseline including it runs here, another vendor incompatible, missing features listed', async (t) => {
  const { client, facts } = t.context;
  const own = facts.cpu!;
  t.is((await client.compareCpu(own.xml)).result, 'CPU_COMPARE_RESULT_IDENTICAL');
  const same = own.vendor === 'AMD' ? ['EPYC', 'EPYC-Rome'] : ['Westmere', 'Haswell-noTSX', 'Skylake-Server', 'Cascadelake-Server'];
  const other = own.vendor === 'AMD' ? 'Skylake-Server' : 'EPYC';
  for (const m of same) {
    const b = await baseline(t, [own.xml, fx(m)]);
    const r = await client.compareCpu(b.xml);
    t.true(['CPU_COMPARE_RESULT_IDENTICAL', 'CPU_COMPARE_RESULT_SUPERSET'].includes(r.result), `baseline(own, ${m}) = ${b.model}: ${r.result} ${r.message}`);
    const f = await client.compareCpu(fx(m));
    if (f.result === 'CPU_COMPARE_RESULT_INCOMPATIBLE') {
      t.true(f.missing_features.length > 0, `${m}: ${f.message}`);
      for (const x of f.missing_features) t.true(f.message.includes(x));
    }
    t.log(`${m} on ${own.model}: ${f.result.replace('CPU_COMPARE_RESULT_', '')} ${f.missing_features.join(',')}`);
  }
  const o = await client.compareCpu(fx(other));
  t.is(o.result, 'CPU_COMPARE_RESULT_INCOMPATIBLE');
  t.regex(o.message, /vendor/i);
  t.deepEqual(o.missing_features, []);
});

test("zone pieces on real answers: the compare cache asks once per incarnation and CPU; a downgrade lists the flags lost from libvirt's expanded baselines", async (t) => {
  const { client, facts, agents } = t.context;
  const host = { id: agents[0]!.host.name, incarnation: facts.incarnation, grpcEndpoint: agents[0]!.endpoint } as HostRecord;
  const cache = new CompareCache((h, xml, signal) => t.context.pool.forHost(h.id, h.grpcEndpoint).compareCpu(xml, signal ? { signal } : {}));
  const a1 = await cache.ensure(host, facts.cpu!.xml);
  const a2 = await cache.ensure(host, facts.cpu!.xml);
  t.is(a1.verdict, 'IDENTICAL');
  t.is(a2, a1);
  t.is(cache.calls, 1);
  t.is((await cache.ensure({ ...host, incarnation: 'next' }, facts.cpu!.xml)).verdict, 'IDENTICAL');
  t.is(cache.calls, 2, 'a new incarnation is asked again');

  const agentsOf = new ZoneCpuAgents(cache, async (_h, req) => (await client.baselineCpu(req)).cpu!);
  const from = await agentsOf.baseline('lab', [host], [fx('Skylake-Server'), fx('Haswell-noTSX')], { migratable: true, expand: false });
  const to = await agentsOf.baseline('lab', [host], [fx('Skylake-Server'), fx('Haswell-noTSX'), fx('Westmere'), from.xml], { migratable: true, expand: false });
  const fromAll = await agentsOf.allFeatures('lab', [host], from.xml);
  const toAll = await agentsOf.allFeatures('lab', [host], to.xml);
  const entry = changeEntry({ from: { model: from.model, all: fromAll }, to: { model: to.model, all: toAll } }, 'host-returned', 'h-westmere', 'test', 0);
  t.is(entry.fromModel, 'Haswell-noTSX');
  t.is(entry.toModel, 'Westmere');
  t.true(entry.featuresLost.includes('avx2'), entry.featuresLost.join(','));
  // Westmere's flags are all in Haswell's: nothing gained by the downgrade.
  t.deepEqual(entry.featuresGained, []);
  for (const f of ['sse4.2', 'aes', 'popcnt']) t.true(toAll.includes(f), f);
  t.log(`Haswell-noTSX → Westmere loses: ${entry.featuresLost.join(', ')}`);
});
