// Leader-only: notices zones whose members or CPU mode changed since their
// last recompute (tracking.members / tracking.mode in the zone record) and
// recomputes them. Polling the stored records, not reacting to a KV watcher's
// events: a watcher can stall (docs/field-notes.md, NATS) and a missed join
// must still be caught. The records come from the read model after its
// sync(), which holds every write acknowledged before the pass even when its
// watcher stalled (coordinator/reads/mirror.ts). A failed
// recompute (no healthy agent, a silent joiner) leaves the tracking as it
// was, so the next pass tries again.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import type { ReadModel } from '../reads/read-model.ts';
import type { HostRecord, ZoneRecord } from '../model.ts';
import { minus } from './features.ts';
import { cpuHash, trackingOf } from './tracking.ts';
import type { RecomputeTrigger, ZoneCpuService } from './recompute.ts';

/** What one zone needs now, or null (pure: tested with plain records). */
export function pendingTrigger(zone: ZoneRecord, hosts: readonly HostRecord[]): RecomputeTrigger | null {
  const t = trackingOf(zone);
  const members = hosts
    .filter((h) => h.zoneId === zone.id)
    .map((h) => h.id)
    .sort();
  if (t.mode !== zone.cpuMode) {
    if (members.length === 0 && t.mode === '') return null;
    return { reason: t.mode === '' ? 'initial' : 'mode-changed', joined: minus(members, t.members) };
  }
  const joined = minus(members, t.members);
  const left = minus(t.members, members);
  if (joined.length) return { reason: 'host-joined', joined };
  // A host left: nothing is raised by itself, but the fits and PASSTHROUGH's reference follow the members.
  if (left.length) return { reason: 'host-joined', joined: [] };
  // A host in service whose CPU is not the one its fit was computed from:
  // its return was not recomputed (the hook failed, or the CPU changed
  // without maintenance). Same trigger as the hook, so whichever runs first
  // decides and the other finds nothing to change.
  if (zone.cpuMode !== 'DEFAULT') {
    const changed = hosts.find((h) => h.zoneId === zone.id && h.maintenance === 'none' && h.cpu.xml && t.hosts[h.id]?.cpuHash !== cpuHash(h.cpu.xml));
    if (changed) return { reason: 'host-returned', causeHostId: changed.id };
  }
  return null;
}

/**
 * Every intervalMs (3 s), from the read model synced with KV: reading every
 * host record from KV instead cost 5,000 gets per pass at 5,000 hosts, most
 * of the coordinator's idle CPU. A pass whose zones and hosts are at the
 * revisions of a pass that found nothing to do is skipped (the records are
 * the same, so is the answer): idle, a pass costs the two revision requests
 * of the sync, not a walk of every host with a hash of its CPU.
 */
export async function watchZoneMembers(
  o: { reads: ReadModel; service: ZoneCpuService; logger: Logger; intervalMs: number },
  signal: AbortSignal,
): Promise<void> {
  const log = o.logger.child({ component: 'zone-cpu-watch' });
  let settled = '';
  while (!signal.aborted) {
    try {
      await o.reads.sync(signal, 'zones', 'hosts');
      const at = `${o.reads.zones.revision}/${o.reads.hosts.revision}`;
      if (at !== settled) settled = (await zonePass(o, log, signal)) ? at : '';
    } catch (err) {
      if (!signal.aborted) log.warn({ err: errorMessage(err) }, 'zone member pass failed');
    }
    await sleep(o.intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/** One pass over every zone; true when no zone needed anything (the same records need no new pass). */
async function zonePass(o: { reads: ReadModel; service: ZoneCpuService }, log: Logger, signal: AbortSignal): Promise<boolean> {
  const zones = [...o.reads.zones.values()];
  const hostRecords = [...o.reads.hosts.values()].map((h) => h.value);
  let quiet = true;
  for (const z of zones) {
    const trigger = pendingTrigger(z.value, hostRecords);
    if (!trigger) continue;
    quiet = false;
    try {
      const out = await o.service.recompute(z.key, trigger, signal);
      log.info({ zoneId: z.key, trigger, model: out.zone.cpu.model, changed: Boolean(out.change) }, 'zone CPU recomputed (members or mode changed)');
    } catch (err) {
      if (!signal.aborted) log.warn({ zoneId: z.key, trigger, err: errorMessage(err) }, 'zone CPU recompute failed; retried next pass');
    }
  }
  return quiet;
}
