// Flag-list arithmetic and CPU XML edits for zone CPU decisions. Pure: what
// a CPU can run is libvirt's answer (CompareCpu/BaselineCpu); this only
// diffs the lists libvirt gave and renders them for people.
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';

export function sorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

/** Items of `a` not in `b`, sorted. */
export function minus(a: readonly string[], b: readonly string[]): string[] {
  const s = new Set(b);
  return sorted(a.filter((x) => !s.has(x)));
}

/** "a, b, c and 4 more": keeps event messages and advice readable. */
export function listForPeople(xs: readonly string[], max = 8): string {
  if (xs.length === 0) return 'none';
  if (xs.length <= max) return xs.join(', ');
  return `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
}

/**
 * The zone CPU servers get: the baseline plus the operator's extra flags as
 * required features (EXTENDED). Extras already in the XML are not repeated.
 */
export function withExtraFeatures(xml: string, extras: readonly string[]): string {
  const present = new Set([...xml.matchAll(/<feature\b[^>]*\bname=['"]([^'"]+)['"]/g)].map((m) => m[1]!));
  const add = extras.filter((f) => /^[a-z0-9][a-z0-9_.-]{0,63}$/.test(f) && !present.has(f));
  if (add.length === 0 || !xml.includes('</cpu>')) return xml;
  const lines = add.map((f) => `  <feature policy='require' name='${f}'/>`).join('\n');
  return xml.replace('</cpu>', `${lines}\n</cpu>`);
}

/**
 * What makes two host CPUs "the same" for PASSTHROUGH before libvirt is
 * asked: vendor, model and the flags beyond it, enabled and disabled.
 */
export function cpuIdentity(cpu: Pick<CpuDescription, 'vendor' | 'model' | 'features' | 'disabled_features'>): string {
  return `${cpu.vendor}/${cpu.model}/+${sorted(cpu.features).join(',')}/-${sorted(cpu.disabled_features ?? []).join(',')}`;
}
