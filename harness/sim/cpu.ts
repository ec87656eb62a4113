// The sim hypervisor's CPUs: plain set logic over feature lists and a small
// model table, good enough to drive zone-CPU scenarios; the real decisions
// come from libvirt's hypervisor-cpu-compare / -baseline.
import type { CpuDescription } from '../../agent/hypervisor/hypervisor.ts';
import type { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import { InvalidArgumentError } from '../../common/errors.ts';

// Each model implies the features of the one before it, plus its own.
const QEMU64 = ['fpu', 'sse', 'sse2', 'cx16', 'lm', 'syscall', 'nx'];
const WESTMERE = [...QEMU64, 'ssse3', 'sse4.1', 'sse4.2', 'popcnt', 'aes'];
const HASWELL_NO_TSX = [...WESTMERE, 'avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'movbe'];
const SKYLAKE_SERVER = [...HASWELL_NO_TSX, 'avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl', 'clwb', 'pku'];

/** Models the sim knows, weakest first, each with the features it implies. */
export const SIM_CPU_MODELS: ReadonlyArray<{ model: string; features: readonly string[] }> = [
  { model: 'qemu64', features: QEMU64 },
  { model: 'Westmere', features: WESTMERE },
  { model: 'Haswell-noTSX', features: HASWELL_NO_TSX },
  { model: 'Skylake-Server', features: SKYLAKE_SERVER },
];

const FEATURE_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** A CPU description in libvirt's <cpu> shape (model + required/disabled features). */
export function simCpu(model: string, extra: string[] = [], opts: { vendor?: string; disabled?: string[] } = {}): CpuDescription {
  const vendor = opts.vendor ?? 'Intel';
  const disabled = opts.disabled ?? [];
  return { arch: 'x86_64', vendor, model, features: [...extra], disabled_features: [...disabled], xml: cpuXml(model, vendor, extra, disabled) };
}

export function cpuXml(model: string, vendor: string, features: string[], disabled: string[] = []): string {
  const lines = [`<cpu mode='custom' match='exact'>`, `  <model fallback='forbid'>${model}</model>`, `  <vendor>${vendor}</vendor>`];
  for (const f of features) lines.push(`  <feature policy='require' name='${f}'/>`);
  for (const f of disabled) lines.push(`  <feature policy='disable' name='${f}'/>`);
  lines.push('</cpu>');
  return lines.join('\n');
}

/** Reads the model, vendor and features back from a <cpu> element (sim only: no XML entities, no nesting). */
export function parseSimCpuXml(xml: string): { model: string; vendor: string; required: string[]; disabled: string[] } {
  if (!/<cpu[\s>]/.test(xml)) throw new InvalidArgumentError('cpu_xml', 'not a <cpu> element');
  const model = /<model[^>]*>\s*([^<\s]+)\s*<\/model>/.exec(xml)?.[1] ?? '';
  const vendor = /<vendor>\s*([^<\s]+)\s*<\/vendor>/.exec(xml)?.[1] ?? '';
  const required: string[] = [];
  const disabled: string[] = [];
  for (const m of xml.matchAll(/<feature\s+([^>]*?)\/?>/g)) {
    const attrs = m[1]!;
    const name = /name=['"]([^'"]+)['"]/.exec(attrs)?.[1];
    const policy = /policy=['"]([^'"]+)['"]/.exec(attrs)?.[1] ?? 'require';
    if (!name || !FEATURE_NAME_RE.test(name)) throw new InvalidArgumentError('cpu_xml', `bad feature ${JSON.stringify(name)}`);
    if (policy === 'disable' || policy === 'forbid') disabled.push(name);
    else required.push(name);
  }
  if (model && !SIM_CPU_MODELS.some((m) => m.model === model)) throw new InvalidArgumentError('cpu_xml', `unknown CPU model ${JSON.stringify(model)}`);
  return { model, vendor, required, disabled };
}

/** Every feature a description implies (model features + required − disabled). */
export function expandSimCpu(xml: string): { vendor: string; features: Set<string> } {
  const p = parseSimCpuXml(xml);
  const base = SIM_CPU_MODELS.find((m) => m.model === p.model)?.features ?? [];
  const set = new Set([...base, ...p.required]);
  for (const d of p.disabled) set.delete(d);
  return { vendor: p.vendor, features: set };
}

export function simCompareCpu(hostXml: string, guestXml: string): { result: CpuCompareResult; missingFeatures: string[]; message: string } {
  const host = expandSimCpu(hostXml);
  const guest = expandSimCpu(guestXml);
  if (guest.vendor && host.vendor && guest.vendor !== host.vendor) {
    return { result: 'CPU_COMPARE_RESULT_INCOMPATIBLE', missingFeatures: [], message: `vendor ${guest.vendor} != host vendor ${host.vendor}` };
  }
  const missing = [...guest.features].filter((f) => !host.features.has(f)).sort();
  if (missing.length) {
    return { result: 'CPU_COMPARE_RESULT_INCOMPATIBLE', missingFeatures: missing, message: `host CPU lacks: ${missing.join(', ')}` };
  }
  if (host.features.size === guest.features.size) return { result: 'CPU_COMPARE_RESULT_IDENTICAL', missingFeatures: [], message: 'identical' };
  return { result: 'CPU_COMPARE_RESULT_SUPERSET', missingFeatures: [], message: 'host CPU is a superset' };
}

export function simBaselineCpu(xmls: string[], opts: { expandFeatures: boolean }): CpuDescription {
  if (xmls.length === 0) throw new InvalidArgumentError('cpu_xmls', 'at least one CPU description is needed');
  const all = xmls.map(expandSimCpu);
  const vendors = new Set(all.map((c) => c.vendor).filter(Boolean));
  if (vendors.size > 1) throw new InvalidArgumentError('cpu_xmls', `CPUs of different vendors have no baseline: ${[...vendors].join(', ')}`);
  const common = new Set(all[0]!.features);
  for (const c of all.slice(1)) for (const f of [...common]) if (!c.features.has(f)) common.delete(f);
  let best = SIM_CPU_MODELS[0]!;
  for (const m of SIM_CPU_MODELS) if (m.features.every((f) => common.has(f))) best = m;
  const missingFromModel = best.features.filter((f) => !common.has(f));
  const extra = opts.expandFeatures ? [...common].sort() : [...common].filter((f) => !best.features.includes(f)).sort();
  return simCpu(best.model, extra, { vendor: [...vendors][0] ?? 'Intel', disabled: missingFromModel });
}
