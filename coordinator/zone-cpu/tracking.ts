// What the zone CPU work keeps beside the ZoneCpuState fields of model.ts, in
// the same zone record (zone.cpu.tracking): which hosts and which mode the
// last recompute saw (a host that joined since, or a mode change, triggers
// the next one), the zone model's full flag list, and each member host's fit
// against the zone model as libvirt answered it. Kept in the record, not in
// memory, so a new leader neither misses a join nor repeats one.
import { createHash } from 'node:crypto';
import type { CpuMode, ZoneCpuState, ZoneRecord } from '../model.ts';

export type CompareVerdict = 'IDENTICAL' | 'SUPERSET' | 'INCOMPATIBLE' | 'UNKNOWN';

/** One member host against the zone's CPU. */
export interface HostCpuFit {
  /** sha256 of the host CPU XML this fit was computed from. */
  cpuHash: string;
  model: string;
  /** CompareCpu of the zone model on this host (PASSTHROUGH: of the reference CPU). */
  verdict: CompareVerdict;
  /** Zone flags the host lacks (libvirt's list when it gave one). */
  missing: string[];
  /** Host flags beyond the zone's. */
  extra: string[];
  /** Operator advice for this host ("" = none). */
  advice: string;
}

export interface ZoneCpuTracking {
  /** Member host ids the last recompute covered (sorted). */
  members: string[];
  /** The zone's CPU mode at the last recompute ("" = never ran). */
  mode: CpuMode | '';
  /** Every flag of the zone model (libvirt's expanded baseline). */
  allFeatures: string[];
  hosts: Record<string, HostCpuFit>;
}

export type TrackedZoneCpu = ZoneCpuState & { tracking?: ZoneCpuTracking };

export function emptyTracking(): ZoneCpuTracking {
  return { members: [], mode: '', allFeatures: [], hosts: {} };
}

export function trackingOf(zone: ZoneRecord): ZoneCpuTracking {
  return (zone.cpu as TrackedZoneCpu).tracking ?? emptyTracking();
}

export function setTracking(zone: ZoneRecord, t: ZoneCpuTracking): void {
  (zone.cpu as TrackedZoneCpu).tracking = t;
}

export function cpuHash(xml: string): string {
  return createHash('sha256').update(xml).digest('hex').slice(0, 32);
}
