// CPU descriptions as libvirt writes them: the host CPU of `capabilities`,
// the host-model of `domcapabilities`, a guest `<cpu>` of a domain, and the
// output of `hypervisor-cpu-baseline` / `hypervisor-cpu-compare`.
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';
import { CpuCompareResult } from '../../common/generated/drydock/agent/v1/CpuCompareResult.ts';
import { attr, children, escapeXml, extractElement, parseXml, text, type XNode } from './parse-xml.ts';

const DISABLING = new Set(['disable', 'forbid']);

/** Features of a `<cpu>` node split by policy (no policy = present, as in host CPUs). */
export function cpuFeatures(cpu: XNode | undefined): { features: string[]; disabled: string[] } {
  const features: string[] = [];
  const disabled: string[] = [];
  for (const f of children(cpu, 'feature')) {
    const name = attr(f, 'name');
    if (!name) continue;
    (DISABLING.has(attr(f, 'policy')) ? disabled : features).push(name);
  }
  return { features, disabled };
}

/** A CpuDescription from a `<cpu>` node and the XML it came from. */
export function cpuDescriptionFromNode(cpu: XNode | undefined, xml: string, arch = ''): CpuDescription {
  const { features, disabled } = cpuFeatures(cpu);
  return {
    arch: text(cpu, 'arch') || arch,
    vendor: text(cpu, 'vendor'),
    model: text(cpu, 'model'),
    features,
    disabled_features: disabled,
    xml,
  };
}

/** Any standalone `<cpu>` document (baseline output, a fixture, a guest CPU). */
export function parseCpuXml(xml: string, arch = ''): CpuDescription {
  const raw = extractElement(xml, 'cpu') || xml.trim();
  return cpuDescriptionFromNode(parseXml(raw).cpu as XNode | undefined, raw, arch);
}

/**
 * A `<cpu>` element libvirt accepts back in hypervisor-cpu-compare/baseline,
 * written from a description (used for domcapabilities' host-model, which
 * libvirt prints as a `<mode>` element, not as a `<cpu>`).
 */
export function buildCpuXml(cpu: { model: string; vendor: string; features: string[]; disabled_features: string[] }): string {
  const lines = [`<cpu mode='custom' match='exact'>`, `  <model fallback='forbid'>${escapeXml(cpu.model)}</model>`];
  if (cpu.vendor) lines.push(`  <vendor>${escapeXml(cpu.vendor)}</vendor>`);
  for (const f of cpu.features) lines.push(`  <feature policy='require' name='${escapeXml(f)}'/>`);
  for (const f of cpu.disabled_features) lines.push(`  <feature policy='disable' name='${escapeXml(f)}'/>`);
  lines.push('</cpu>');
  return lines.join('\n') + '\n';
}

/** stdout of `virsh hypervisor-cpu-compare` (without --error). */
export function parseCpuCompareOutput(stdout: string): CpuCompareResult {
  if (/\bis identical to\b/.test(stdout)) return CpuCompareResult.CPU_COMPARE_RESULT_IDENTICAL;
  if (/\bis a superset of\b/.test(stdout)) return CpuCompareResult.CPU_COMPARE_RESULT_SUPERSET;
  if (/\bis incompatible with\b/.test(stdout)) return CpuCompareResult.CPU_COMPARE_RESULT_INCOMPATIBLE;
  return CpuCompareResult.CPU_COMPARE_RESULT_UNSPECIFIED;
}

/** stdout of `virsh hypervisor-cpu-baseline`: one `<cpu>` element. */
export function parseCpuBaseline(stdout: string, arch = ''): CpuDescription {
  return parseCpuXml(stdout, arch);
}

/** One or more `<cpu>` elements from a text holding several (the input of baseline). */
export function splitCpuXmls(textIn: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const el = extractElement(textIn, 'cpu', from);
    if (!el) return out;
    out.push(el);
    from = textIn.indexOf(el, from) + el.length;
  }
}
