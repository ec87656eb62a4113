// Pure zone CPU decisions: the PASSTHROUGH reference CPU, the history
// entries and the operator's advice. The executor (recompute.ts) gathers
// libvirt's answers and hands them here; nothing in this file does I/O.
import type { HostRecord, ZoneCpuChange, ZoneRecord } from '../model.ts';
import { cpuIdentity, listForPeople, minus } from './features.ts';

/** History kept per zone (oldest dropped first). */
export const MAX_HISTORY = 100;

export type ChangeReason = ZoneCpuChange['reason'];

/**
 * PASSTHROUGH needs identical CPUs, so one CPU is the zone's reference and
 * every host that differs is flagged. The reference is the CPU most hosts
 * have (fewest hosts flagged); a tie keeps the current reference (a host
 * returning must not flip the zone), then the CPU of the lowest host id.
 */
export function choosePassthroughReference(hosts: readonly HostRecord[], current: { xml: string } | null): HostRecord | null {
  const withCpu = hosts.filter((h) => h.cpu.xml).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (withCpu.length === 0) return null;
  const groups = new Map<string, HostRecord[]>();
  for (const h of withCpu) groups.set(cpuIdentity(h.cpu), [...(groups.get(cpuIdentity(h.cpu)) ?? []), h]);
  const currentKey = current?.xml ? withCpu.find((h) => h.cpu.xml === current.xml) : undefined;
  const keyOfCurrent = currentKey ? cpuIdentity(currentKey.cpu) : '';
  let best: HostRecord[] | null = null;
  let bestKey = '';
  for (const [key, members] of groups) {
    if (!best || members.length > best.length || (members.length === best.length && key === keyOfCurrent && bestKey !== keyOfCurrent)) {
      best = members;
      bestKey = key;
    }
  }
  return best![0]!;
}

export interface ModelChange {
  from: { model: string; all: string[] };
  to: { model: string; all: string[] };
}

export function changeEntry(c: ModelChange, reason: ChangeReason, causeHostId: string, message: string, atMs: number): ZoneCpuChange {
  return {
    atMs,
    fromModel: c.from.model,
    toModel: c.to.model,
    featuresLost: minus(c.from.all, c.to.all),
    featuresGained: minus(c.to.all, c.from.all),
    causeHostId,
    reason,
    message,
  };
}

const how = (reason: ChangeReason) =>
  reason === 'host-returned' ? 'returned from maintenance' : reason === 'host-joined' ? 'joined the zone' : 'is in the zone';

/** The event text of a downgrade: which host, which flags, and what to do. */
export function downgradeMessage(zone: ZoneRecord, cause: HostRecord, c: ModelChange, reason: ChangeReason, hostMissing: string[]): string {
  const lost = minus(c.from.all, c.to.all);
  const lacks = hostMissing.length ? ` without ${listForPeople(hostMissing)}` : '';
  return (
    `host ${cause.id} (${cause.cpu.model || 'unknown CPU'}) ${how(reason)}${lacks}: zone ${zone.id} CPU model lowered from ${c.from.model} to ${c.to.model}` +
    `, flags lost: ${listForPeople(lost)}; running servers keep their CPU until their next power cycle. ` +
    `Consider moving ${cause.id} to a zone matching ${cause.cpu.model || 'its CPU'}.`
  );
}

export function downgradeAdvice(zone: ZoneRecord, cause: HostRecord, c: ModelChange): string {
  const lost = minus(c.from.all, c.to.all);
  return `host ${cause.id} (${cause.cpu.model}) lowered zone ${zone.id} from ${c.from.model} to ${c.to.model} (lost ${listForPeople(lost)}): move ${cause.id} to a zone matching ${cause.cpu.model}, then RecomputeZoneCpu with allow_upgrade`;
}

export function cannotRunAdvice(zone: ZoneRecord, host: HostRecord, missing: string[], why: string): string {
  return `host ${host.id} (${host.cpu.vendor} ${host.cpu.model}) cannot run zone ${zone.id}'s model ${zone.cpu.model}${missing.length ? ` (lacks ${listForPeople(missing)})` : ''}${why ? `: ${why}` : ''}; it is never a target — move it to a zone matching ${host.cpu.model}`;
}

export function passthroughAdvice(zone: ZoneRecord, host: HostRecord, reference: HostRecord): string {
  return `host ${host.id} (${host.cpu.vendor} ${host.cpu.model}) differs from zone ${zone.id}'s passthrough CPU (${reference.cpu.vendor} ${reference.cpu.model}, as on ${reference.id}); it is never a target — move it to a zone with identical CPUs`;
}

export function appendHistory(history: readonly ZoneCpuChange[], entry: ZoneCpuChange): ZoneCpuChange[] {
  return [...history, entry].slice(-MAX_HISTORY);
}
