// Which CPU questions a move asks, and the verdict from libvirt's answers.
// Pure: `prepare` (placement.ts) asks the questions this file lists, and the
// planner's synchronous check reads the answers through the same functions,
// so the two can never disagree about what was needed.
//
// Rules (issue 5):
//  - PASSTHROUGH zone, or a host-passthrough guest: the guest sees the
//    source host's CPU as is, so the target must be IDENTICAL to the source,
//    and never a host flagged as differing from the zone's reference CPU.
//  - A guest with a concrete CPU (custom model, or a running host-model
//    guest, which libvirt shows expanded): the target must run it
//    (CompareCpu IDENTICAL or SUPERSET). A running host-model guest whose
//    XML has no model runs the source's host-model CPU; a shut-off
//    host-model guest takes the target's CPU at its next boot.
//  - EXTENDED with a zone model: the target must also run the zone model
//    (with the operator's extra flags); its servers boot with it.
import type { HostRecord, ServerRecord, ZoneRecord } from '../model.ts';
import type { SnapshotHost } from '../planner/index.ts';
import { runs, type CompareAnswer } from './compare-cache.ts';
import { listForPeople, withExtraFeatures } from './features.ts';

export interface CpuQuestion {
  /** The <cpu> XML to compare on the target. */
  xml: string;
  /** What it is, for the reason ("zone model Haswell-noTSX"). */
  what: string;
  /** IDENTICAL only (passthrough), else IDENTICAL or SUPERSET. */
  identical: boolean;
}

const isPassthroughGuest = (s: ServerRecord) => s.cpu.mode === 'host-passthrough';
const hasConcreteCpu = (s: ServerRecord) => Boolean(s.cpu.xml && s.cpu.model);

/** The zone model as servers get it (EXTENDED), or "" when there is none yet. */
export function zoneModelXml(zone: ZoneRecord): string {
  return zone.cpuMode === 'EXTENDED' && zone.cpu.xml ? withExtraFeatures(zone.cpu.xml, zone.cpu.extraFeatures) : '';
}

/** The questions moving `server` (now on `source`) to any target asks. */
export function cpuQuestions(server: ServerRecord, zone: ZoneRecord, source: HostRecord | undefined): CpuQuestion[] {
  const out: CpuQuestion[] = [];
  if (zone.cpuMode === 'PASSTHROUGH' || isPassthroughGuest(server)) {
    if (source?.cpu.xml) out.push({ xml: source.cpu.xml, what: `the CPU of ${source.id} (${source.cpu.model}, passthrough)`, identical: true });
    return out;
  }
  const running = server.state === 'running' || server.state === 'paused';
  if (hasConcreteCpu(server)) out.push({ xml: server.cpu.xml, what: `guest CPU ${server.cpu.model}`, identical: false });
  else if (running && zone.cpuMode === 'DEFAULT' && source?.cpu.xml) {
    out.push({ xml: source.cpu.xml, what: `guest CPU (host-model of ${source.id}: ${source.cpu.model})`, identical: false });
  }
  const zoneXml = zoneModelXml(zone);
  if (zoneXml) out.push({ xml: zoneXml, what: `zone model ${zone.cpu.model}`, identical: false });
  return out;
}

export type Lookup = (host: SnapshotHost, xml: string) => { answer?: CompareAnswer; failure?: string };

/** The planner's verdict for one server on one target, from cached answers only. */
export function cpuVerdict(
  server: ServerRecord,
  target: SnapshotHost,
  zone: ZoneRecord,
  source: HostRecord | undefined,
  lookup: Lookup,
): { ok: boolean; reason: string } {
  if (zone.cpu.mismatchedHosts.includes(target.id)) {
    const why =
      zone.cpuMode === 'PASSTHROUGH'
        ? `CPU differs from zone ${zone.id}'s passthrough CPU (${zone.cpu.model || 'reference'})`
        : `CPU cannot run zone ${zone.id}'s model ${zone.cpu.model}`;
    return { ok: false, reason: `${target.id}: ${why}` };
  }
  const qs = cpuQuestions(server, zone, source);
  if (qs.length === 0) {
    return {
      ok: true,
      reason: server.cpu.mode === 'host-model' || !server.cpu.mode ? 'host-model: takes the target CPU at its next boot' : 'no CPU constraint',
    };
  }
  const oks: string[] = [];
  for (const q of qs) {
    const { answer, failure } = lookup(target, q.xml);
    if (!answer) return { ok: false, reason: `CPU compatibility with ${q.what} unknown${failure ? `: ${failure}` : ' (not asked yet)'}` };
    if (q.identical && answer.verdict !== 'IDENTICAL') {
      const detail = answer.missing.length
        ? `lacks ${listForPeople(answer.missing)}`
        : answer.verdict === 'SUPERSET'
          ? 'has more flags'
          : answer.message || 'differs';
      return { ok: false, reason: `not identical to ${q.what}: ${detail}` };
    }
    if (!runs(answer)) {
      return {
        ok: false,
        reason: `cannot run ${q.what}: ${answer.missing.length ? `lacks ${listForPeople(answer.missing)}` : answer.message || 'incompatible'}`,
      };
    }
    oks.push(`${q.what}: ${answer.verdict.toLowerCase()}`);
  }
  return { ok: true, reason: oks.join('; ') };
}
