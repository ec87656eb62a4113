// Host-level reasons a host cannot receive servers right now, as the
// operator reads them on the host (Host.not_a_target_because). The planner
// (coordinator/planner/) makes the placement decision with its own named
// checks; this is the host-only subset, for display.
import type { HostRecord } from './model.ts';

/** Hypervisor types that are KVM compute resources (agent.proto HostFacts). */
export const KVM_TYPES = new Set(['kvm', 'qemu']);

export function notATargetBecause(
  h: Pick<HostRecord, 'enabled' | 'maintenance' | 'zoneId' | 'hypervisorType'> & { online: boolean },
  cpuCompatible: boolean,
): string[] {
  const out: string[] = [];
  if (!h.enabled) out.push('disabled (Enabled switch off)');
  if (!h.online) out.push('offline');
  if (h.maintenance !== 'none') out.push(`maintenance: ${h.maintenance}`);
  if (!h.zoneId) out.push('not assigned to a compute zone');
  if (!KVM_TYPES.has(h.hypervisorType)) out.push(`not a KVM compute resource (${h.hypervisorType || 'unknown hypervisor'})`);
  if (!cpuCompatible) out.push('CPU incompatible with the zone model');
  return out;
}
