// The zone CPU executor: gathers the zone's hosts and libvirt's answers
// (BaselineCpu on a healthy agent, CompareCpu on each host), lets decide.ts
// word the outcome, and writes the zone record with CAS. One recompute per
// zone at a time in this process; across instances the write is CAS on the
// zone record and refuses a decision made from a CPU state that changed
// meanwhile (StaleZoneCpuError → recompute again).
import { ConflictError, FailedPreconditionError, UnavailableError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';
import type { HostRecord, ZoneCpuChange, ZoneRecord } from '../model.ts';
import type { Store } from '../store/store.ts';
import type { ReadModel } from '../reads/read-model.ts';
import { sameValue } from '../store/repository.ts';
import { mapSettled } from '../concurrency.ts';
import { runs } from './compare-cache.ts';
import { cpuIdentity, listForPeople, minus, sorted } from './features.ts';
import {
  appendHistory,
  cannotRunAdvice,
  changeEntry,
  choosePassthroughReference,
  downgradeAdvice,
  downgradeMessage,
  passthroughAdvice,
  type ChangeReason,
  type ModelChange,
} from './decide.ts';
import { cpuHash, setTracking, trackingOf, type HostCpuFit, type ZoneCpuTracking } from './tracking.ts';
import { isNoCommonCpu, type ZoneCpuAgents } from './zone-agents.ts';

export interface RecomputeTrigger {
  reason: ChangeReason;
  /** The host whose return caused this ("" = none). */
  causeHostId?: string;
  /** Hosts that joined since the last recompute. */
  joined?: string[];
  /** Operator: raise the zone model if libvirt's baseline of the hosts is higher. */
  allowUpgrade?: boolean;
}

export interface RecomputeOutcome {
  zone: ZoneRecord;
  /** The history entry this recompute added (null: the zone model stayed). */
  change: ZoneCpuChange | null;
  /** What an upgrade would be, when one exists and was not allowed ("" = none). */
  upgradeOffer: string;
  /** Running servers (uuids) that see a raised model only after a power cycle. */
  serversNeedingPowerCycle: string[];
}

export class StaleZoneCpuError extends ConflictError {}

export interface ZoneCpuServiceOptions {
  store: Store;
  /**
   * The zone's hosts and their servers, synced first (every write
   * acknowledged before the recompute is in): reading every host record from
   * KV instead cost 5,000 gets per zone at 5,000 hosts, 50,000 on the first
   * pass over 10 zones after a start, and every server record 100,000.
   */
  reads: Pick<ReadModel, 'sync' | 'hosts' | 'serversOfHost'>;
  /** Liveness (which agents are healthy) and a facts refresh for a returning host. */
  inventory: {
    hostLiveness(hostId: string, nowMs?: number): { online: boolean } | null;
    refreshHost(hostId: string): Promise<void>;
  };
  agents: ZoneCpuAgents;
  logger: Logger;
  clock?: () => number;
  /** Parallel CompareCpu calls of one recompute. */
  concurrency?: number;
}

/** The zone model a recompute settles on. */
interface ZoneModel {
  model: string;
  vendor: string;
  features: string[];
  xml: string;
  all: string[];
}

interface Decision {
  model: ZoneModel;
  fits: Record<string, HostCpuFit>;
  mismatched: string[];
  entry: ZoneCpuChange | null;
  upgradeOffer: string;
  powerCycle: string[];
}

/** What the steps of an EXTENDED recompute share: its inputs, the current model, and libvirt's answers through the zone's helpers. */
interface ExtendedContext {
  zone: ZoneRecord;
  hosts: HostRecord[];
  helpers: HostRecord[];
  prev: ZoneCpuTracking;
  trigger: RecomputeTrigger;
  now: number;
  signal?: AbortSignal;
  /** The hosts whose CPU is known, and the zone model now. */
  withCpu: HostRecord[];
  cur: ZoneModel;
  /** libvirt's migratable baseline (no common CPU: a FailedPreconditionError naming the vendors), and every flag of one CPU. */
  baseline(xmls: string[]): Promise<CpuDescription>;
  allOf(xml: string): Promise<string[]>;
}

/** The vendor most hosts have; a tie goes to the vendor of the lowest host id (hosts come sorted). */
function majorityVendor(hosts: HostRecord[]): string {
  const n = new Map<string, number>();
  for (const h of hosts) n.set(h.cpu.vendor, (n.get(h.cpu.vendor) ?? 0) + 1);
  let best = '';
  for (const h of hosts) if (!best || n.get(h.cpu.vendor)! > n.get(best)!) best = h.cpu.vendor;
  return best;
}

const byId = (a: HostRecord, b: HostRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const EMPTY_MODEL: ZoneModel = { model: '', vendor: '', features: [], xml: '', all: [] };

export class ZoneCpuService {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly log: Logger;
  private readonly clock: () => number;

  constructor(private readonly o: ZoneCpuServiceOptions) {
    this.log = o.logger.child({ component: 'zone-cpu' });
    this.clock = o.clock ?? Date.now;
  }

  /** One recompute per zone at a time here; callers queue. */
  private serial<T>(zoneId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(zoneId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.locks.set(zoneId, tail);
    void tail.then(() => {
      if (this.locks.get(zoneId) === tail) this.locks.delete(zoneId);
    });
    return next;
  }

  async idle(): Promise<void> {
    while (this.locks.size > 0) await Promise.allSettled([...this.locks.values()]);
  }

  recompute(zoneId: string, trigger: RecomputeTrigger, signal?: AbortSignal): Promise<RecomputeOutcome> {
    return this.serial(zoneId, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.once(zoneId, trigger, signal);
        } catch (err) {
          if (!(err instanceof StaleZoneCpuError) || attempt >= 2) throw err;
        }
      }
    });
  }

  /** DisableMaintenance's hook: the host is back and healthy; its CPU may have changed while it was away. */
  async hostReturned(hostId: string, operationId: string, signal?: AbortSignal): Promise<RecomputeOutcome | null> {
    // The record may still hold the CPU from before the reboot: read the facts afresh first.
    await this.o.inventory
      .refreshHost(hostId)
      .catch((err) => this.log.warn({ hostId, err: errorMessage(err) }, 'facts refresh before the zone CPU recompute failed'));
    const host = await this.o.store.hosts.get(hostId, signal);
    if (!host?.value.zoneId) return null;
    const out = await this.recompute(host.value.zoneId, { reason: 'host-returned', causeHostId: hostId }, signal);
    this.log.info(
      { hostId, operationId, zoneId: host.value.zoneId, model: out.zone.cpu.model, changed: Boolean(out.change) },
      'zone CPU recomputed after a host returned',
    );
    return out;
  }

  private healthy(h: HostRecord, nowMs: number): boolean {
    return Boolean(h.grpcEndpoint) && h.maintenance === 'none' && (this.o.inventory.hostLiveness(h.id, nowMs)?.online ?? false);
  }

  private async once(zoneId: string, trigger: RecomputeTrigger, signal?: AbortSignal): Promise<RecomputeOutcome> {
    const zone = (await this.o.store.zones.require(zoneId, signal)).value;
    await this.o.reads.sync(signal, 'hosts');
    const hosts = [...this.o.reads.hosts.values()]
      .map((v) => v.value)
      .filter((h) => h.zoneId === zoneId)
      .sort(byId);
    const now = this.clock();
    const helpers = hosts.filter((h) => this.healthy(h, now));
    const prev = trackingOf(zone);
    let d: Decision;
    if (zone.cpuMode === 'EXTENDED') d = await this.extended(zone, hosts, helpers, prev, trigger, now, signal);
    else if (zone.cpuMode === 'PASSTHROUGH') d = await this.passthrough(zone, hosts, helpers, prev, trigger, now, signal);
    else d = this.defaultMode(zone, trigger, now);

    const tracking: ZoneCpuTracking = { members: hosts.map((h) => h.id), mode: zone.cpuMode, allFeatures: d.model.all, hosts: d.fits };
    const advice = hosts.map((h) => d.fits[h.id]?.advice ?? '').filter(Boolean);
    const res = await this.o.store.zones.mutate(
      zoneId,
      (cur) => {
        if (cur.cpuMode !== zone.cpuMode || cur.cpu.xml !== zone.cpu.xml) throw new StaleZoneCpuError(`zone ${zoneId} CPU changed during the recompute`);
        const next: ZoneRecord = {
          ...cur,
          cpu: {
            ...cur.cpu,
            model: d.model.model,
            vendor: d.model.vendor,
            features: d.model.features,
            xml: d.model.xml,
            history: d.entry ? appendHistory(cur.cpu.history, d.entry) : cur.cpu.history,
            advice,
            mismatchedHosts: d.mismatched,
          },
        };
        setTracking(next, tracking);
        // Skip the write when nothing but the time would change (no revision churn per reconcile).
        if (sameValue({ ...next.cpu, updatedAtMs: 0 }, { ...cur.cpu, updatedAtMs: 0 })) return undefined;
        next.cpu.updatedAtMs = now;
        return next;
      },
      signal,
    );
    if (d.entry) this.log.info({ zoneId, change: d.entry }, 'zone CPU model changed');
    return { zone: res.value, change: d.entry, upgradeOffer: d.upgradeOffer, serversNeedingPowerCycle: d.powerCycle };
  }

  // ------------------------------------------------------------ DEFAULT

  private defaultMode(zone: ZoneRecord, trigger: RecomputeTrigger, now: number): Decision {
    // Servers use host-model: there is no zone model; a model left from another mode is dropped, visibly.
    const entry = zone.cpu.xml
      ? changeEntry(
          { from: { model: zone.cpu.model, all: trackingOf(zone).allFeatures }, to: { model: '', all: [] } },
          'mode-changed',
          trigger.causeHostId ?? '',
          `zone ${zone.id} is in DEFAULT mode: servers use libvirt host-model; zone model ${zone.cpu.model} no longer applies`,
          now,
        )
      : null;
    return { model: EMPTY_MODEL, fits: {}, mismatched: [], entry, upgradeOffer: '', powerCycle: [] };
  }

  // ------------------------------------------------------------ shared

  private modelOf(cpu: CpuDescription, all: string[]): ZoneModel {
    return { model: cpu.model, vendor: cpu.vendor, features: sorted(cpu.features), xml: cpu.xml, all };
  }

  private currentModel(zone: ZoneRecord, prev: ZoneCpuTracking): ZoneModel {
    return { model: zone.cpu.model, vendor: zone.cpu.vendor, features: zone.cpu.features, xml: zone.cpu.xml, all: prev.allFeatures };
  }

  /**
   * Every member against `xml` (CompareCpu on its own agent, cached per
   * incarnation). A host that cannot answer keeps its previous fit if its
   * CPU and the zone CPU are unchanged, else it is UNKNOWN (not flagged:
   * only libvirt's "incompatible" flags a host).
   */
  private async fits(
    zone: ZoneRecord,
    hosts: HostRecord[],
    helpers: HostRecord[],
    xml: string,
    all: string[],
    prev: ZoneCpuTracking,
    sameZoneXml: boolean,
    now: number,
    signal?: AbortSignal,
    /** Keep a host's advice while its CPU is unchanged (a later downgrade does not make it right). */
    keepAdvice = sameZoneXml,
  ): Promise<Record<string, HostCpuFit>> {
    const out: Record<string, HostCpuFit> = {};
    await mapSettled(hosts, this.o.concurrency ?? 8, async (h) => {
      const hash = cpuHash(h.cpu.xml);
      const old = prev.hosts[h.id];
      const keepOld = old && old.cpuHash === hash && sameZoneXml;
      let fit: HostCpuFit = keepOld ? { ...old } : { cpuHash: hash, model: h.cpu.model, verdict: 'UNKNOWN', missing: [], extra: [], advice: '' };
      // Any online agent can say what its host runs, in maintenance or not.
      if (h.grpcEndpoint && this.o.inventory.hostLiveness(h.id, now)?.online) {
        try {
          const a = await this.o.agents.cache.ensure(h, xml, signal);
          const hostAll = await this.o.agents.allFeatures(zone.id, helpers, h.cpu.xml, signal).catch(() => [] as string[]);
          fit = {
            cpuHash: hash,
            model: h.cpu.model,
            verdict: a.verdict,
            missing: runs(a) ? [] : a.missing.length ? a.missing : minus(all, hostAll),
            extra: hostAll.length ? minus(hostAll, all) : [],
            advice: keepAdvice && old && old.cpuHash === hash ? old.advice : '',
          };
        } catch (err) {
          signal?.throwIfAborted();
          this.log.warn({ zoneId: zone.id, hostId: h.id, err: errorMessage(err) }, 'CompareCpu failed');
        }
      }
      out[h.id] = fit;
    });
    return out;
  }

  private async poweredServers(hostIds: string[], signal?: AbortSignal): Promise<string[]> {
    await this.o.reads.sync(signal, 'servers');
    return hostIds
      .flatMap((id) => this.o.reads.serversOfHost(id, '', Number.MAX_SAFE_INTEGER))
      .map((s) => s.value)
      .filter((s) => s.state === 'running' || s.state === 'paused')
      .map((s) => s.uuid)
      .sort();
  }

  // ------------------------------------------------------------ EXTENDED

  /** EXTENDED: the zone model is libvirt's baseline of its hosts; once set it only goes down (a host lacks a flag) unless the operator asks for an upgrade. */
  private async extended(
    zone: ZoneRecord,
    hosts: HostRecord[],
    helpers: HostRecord[],
    prev: ZoneCpuTracking,
    trigger: RecomputeTrigger,
    now: number,
    signal?: AbortSignal,
  ): Promise<Decision> {
    const withCpu = hosts.filter((h) => h.cpu.xml);
    const cur = this.currentModel(zone, prev);
    const none: Decision = { model: cur, fits: {}, mismatched: [], entry: null, upgradeOffer: '', powerCycle: [] };
    if (withCpu.length === 0) return none;
    const baseline = (xmls: string[]) =>
      this.o.agents.baseline(zone.id, helpers, xmls, { migratable: true, expand: false }, signal).catch((err) => {
        if (isNoCommonCpu(err)) {
          throw new FailedPreconditionError(
            `zone ${zone.id}: libvirt finds no CPU model common to its hosts (${errorMessage(err)}); vendors: ${sorted(withCpu.map((h) => `${h.id}=${h.cpu.vendor}`)).join(', ')}`,
            { cause: err },
          );
        }
        throw err;
      });
    const allOf = (xml: string) => this.o.agents.allFeatures(zone.id, helpers, xml, signal);
    // A model stored without its full flag list (written before tracking existed): ask libvirt once.
    if (cur.xml && cur.all.length === 0 && prev.mode === 'EXTENDED') cur.all = await allOf(cur.xml).catch(() => []);
    const x: ExtendedContext = { zone, hosts, helpers, prev, trigger, now, signal, withCpu, cur, baseline, allOf };

    // First model (or back from another mode): libvirt's baseline of every host.
    if (!zone.cpu.xml || prev.mode !== 'EXTENDED') return this.extendedFirstModel(x);

    const fits = await this.fits(zone, hosts, helpers, cur.xml, cur.all, prev, true, now, signal);
    // The host that caused this must have answered: deciding without it would miss the very downgrade asked about.
    const mustAnswer = [trigger.causeHostId, ...(trigger.joined ?? [])].filter((id): id is string => Boolean(id) && hosts.some((h) => h.id === id));
    const silent = mustAnswer.filter((id) => fits[id]?.verdict === 'UNKNOWN');
    if (silent.length) throw new UnavailableError(`zone ${zone.id}: ${silent.join(', ')} did not answer CompareCpu; the recompute is retried`);

    // Another vendor's CPU shares no model with the zone: such hosts are only
    // flagged (by their fits), never let into a baseline they would break.
    const sameVendor = withCpu.filter((h) => !cur.vendor || h.cpu.vendor === cur.vendor);
    const lacking = sameVendor.filter((h) => fits[h.id]?.verdict === 'INCOMPATIBLE');
    if (lacking.length > 0) return this.extendedDowngrade(x, fits, sameVendor, lacking);

    if (trigger.reason === 'operator-recompute' || trigger.reason === 'operator-upgrade') {
      const upgrade = await this.extendedUpgrade(x, fits, sameVendor);
      if (upgrade) return upgrade;
    }
    return { ...this.flag(zone, hosts, fits, cur), entry: null, upgradeOffer: '', powerCycle: [] };
  }

  /** The first EXTENDED model of a zone (or after another mode): libvirt's baseline of every host, of the majority vendor's when vendors are mixed. */
  private async extendedFirstModel(x: ExtendedContext): Promise<Decision> {
    const { zone, hosts, helpers, prev, trigger, now, signal, withCpu, baseline, allOf } = x;
    const base = await baseline(withCpu.map((h) => h.cpu.xml)).catch(async (err) => {
      // Hosts of two vendors have no common model: the vendor most hosts
      // have sets it, and the others are flagged by their fits below.
      if (!(err instanceof FailedPreconditionError)) throw err;
      const majority = majorityVendor(withCpu);
      const same = withCpu.filter((h) => h.cpu.vendor === majority);
      if (same.length === withCpu.length || same.length === 0) throw err;
      return baseline(same.map((h) => h.cpu.xml));
    });
    const model = this.modelOf(base, await allOf(base.xml));
    // The first model of a zone is "initial"; one after another mode is a mode change.
    const reason: ChangeReason = prev.mode !== '' && prev.mode !== 'EXTENDED' ? 'mode-changed' : 'initial';
    const fits = await this.fits(zone, hosts, helpers, model.xml, model.all, prev, false, now, signal);
    const entry = changeEntry(
      { from: { model: zone.cpu.model, all: zone.cpu.xml ? prev.allFeatures : [] }, to: model },
      reason,
      trigger.causeHostId ?? trigger.joined?.[0] ?? '',
      `zone ${zone.id} CPU model set to ${model.model} (${model.vendor}): libvirt's baseline of ${withCpu.length} host(s) (${withCpu.map((h) => h.id).join(', ')}), migratable flags only`,
      now,
    );
    return { ...this.flag(zone, hosts, fits, model), entry, upgradeOffer: '', powerCycle: [] };
  }

  /** Same-vendor hosts lack flags of the model: downgrade to what every host and the model share (never a flag the old one lacked, so nothing is raised by itself). */
  private async extendedDowngrade(x: ExtendedContext, fits: Record<string, HostCpuFit>, sameVendor: HostRecord[], lacking: HostRecord[]): Promise<Decision> {
    const { zone, hosts, helpers, prev, trigger, now, signal, cur, allOf } = x;
    let base: CpuDescription;
    try {
      base = await this.o.agents.baseline(zone.id, helpers, [...sameVendor.map((h) => h.cpu.xml), cur.xml], { migratable: true, expand: false }, signal);
    } catch (err) {
      if (!isNoCommonCpu(err)) throw err;
      // No common CPU at all (another vendor): the model stays and the odd hosts are flagged.
      for (const h of lacking) fits[h.id] = { ...fits[h.id]!, advice: cannotRunAdvice(zone, h, fits[h.id]!.missing, errorMessage(err)) };
      return { ...this.flag(zone, hosts, fits, cur), entry: null, upgradeOffer: '', powerCycle: [] };
    }
    const model = this.modelOf(base, await allOf(base.xml));
    const preferred = [trigger.causeHostId, ...(trigger.joined ?? [])];
    const cause = lacking.find((h) => preferred.includes(h.id)) ?? lacking[0]!;
    const reason: ChangeReason = cause.id === trigger.causeHostId ? trigger.reason : trigger.joined?.includes(cause.id) ? 'host-joined' : trigger.reason;
    const change: ModelChange = { from: cur, to: model };
    const entry = changeEntry(change, reason, cause.id, downgradeMessage(zone, cause, change, reason, fits[cause.id]!.missing), now);
    const downFits = await this.fits(zone, hosts, helpers, model.xml, model.all, prev, false, now, signal, true);
    downFits[cause.id] = { ...downFits[cause.id]!, advice: downgradeAdvice(zone, cause, change) };
    return { ...this.flag(zone, hosts, downFits, model), entry, upgradeOffer: '', powerCycle: [] };
  }

  /** Operator recompute: when libvirt's baseline of the same-vendor hosts gains flags, offer the upgrade (or make it, when allowed); null: the model stays. */
  private async extendedUpgrade(x: ExtendedContext, fits: Record<string, HostCpuFit>, sameVendor: HostRecord[]): Promise<Decision | null> {
    const { zone, hosts, helpers, prev, trigger, now, signal, cur, baseline, allOf } = x;
    const cand = await baseline(sameVendor.map((h) => h.cpu.xml));
    const candAll = await allOf(cand.xml);
    const gained = minus(candAll, cur.all);
    if (gained.length === 0 || cand.xml === cur.xml) return null;
    const running = await this.poweredServers(
      hosts.map((h) => h.id),
      signal,
    );
    if (!trigger.allowUpgrade) {
      const offer =
        `an upgrade is available: libvirt's baseline of the zone's ${sameVendor.length} ${cur.vendor} host(s) is ${cand.model} (gains ${listForPeople(gained)}); ` +
        `RecomputeZoneCpu with allow_upgrade raises the zone to it, and ${running.length} running server(s) would need a power cycle to see it`;
      return { ...this.flag(zone, hosts, fits, cur), entry: null, upgradeOffer: offer, powerCycle: [] };
    }
    const model = this.modelOf(cand, candAll);
    const change: ModelChange = { from: cur, to: model };
    const entry = {
      ...changeEntry(
        change,
        'operator-upgrade',
        '',
        `operator raised zone ${zone.id} from ${cur.model} to ${model.model} (gains ${listForPeople(gained)}); ${running.length} running server(s) need a power cycle to see it`,
        now,
      ),
      serversNeedingPowerCycle: running,
    };
    // The advice of earlier downgrades is about a model that no longer applies.
    const upFits = await this.fits(zone, hosts, helpers, model.xml, model.all, { ...prev, hosts: {} }, false, now, signal);
    return { ...this.flag(zone, hosts, upFits, model), entry, upgradeOffer: '', powerCycle: running };
  }

  /** Hosts libvirt says cannot run the zone model are flagged (never targets) and advised. */
  private flag(zone: ZoneRecord, hosts: HostRecord[], fits: Record<string, HostCpuFit>, model: ZoneModel): Pick<Decision, 'model' | 'fits' | 'mismatched'> {
    const mismatched: string[] = [];
    for (const h of hosts) {
      const f = fits[h.id];
      if (f?.verdict !== 'INCOMPATIBLE') continue;
      mismatched.push(h.id);
      if (!f.advice) f.advice = cannotRunAdvice({ ...zone, cpu: { ...zone.cpu, model: model.model } }, h, f.missing, '');
    }
    return { model, fits, mismatched: mismatched.sort() };
  }

  // ------------------------------------------------------------ PASSTHROUGH

  private async passthrough(
    zone: ZoneRecord,
    hosts: HostRecord[],
    helpers: HostRecord[],
    prev: ZoneCpuTracking,
    trigger: RecomputeTrigger,
    now: number,
    signal?: AbortSignal,
  ): Promise<Decision> {
    const current = zone.cpu.xml && prev.mode === 'PASSTHROUGH' ? { xml: zone.cpu.xml } : null;
    const ref = choosePassthroughReference(hosts, current);
    if (!ref) return { model: this.currentModel(zone, prev), fits: {}, mismatched: [], entry: null, upgradeOffer: '', powerCycle: [] };
    const refAll = await this.o.agents.allFeatures(zone.id, helpers, ref.cpu.xml, signal).catch(() => [] as string[]);
    const model: ZoneModel = { model: ref.cpu.model, vendor: ref.cpu.vendor, features: sorted(ref.cpu.features), xml: ref.cpu.xml, all: refAll };
    const fits = await this.fits(zone, hosts, helpers, ref.cpu.xml, refAll, prev, current?.xml === ref.cpu.xml, now, signal);
    const refKey = cpuIdentity(ref.cpu);
    const mismatched: string[] = [];
    for (const h of hosts) {
      const f = fits[h.id]!;
      // Identical needs both: the same description, and libvirt's "identical" when it could be asked.
      const same = cpuIdentity(h.cpu) === refKey && (f.verdict === 'IDENTICAL' || f.verdict === 'UNKNOWN');
      if (same) {
        f.advice = '';
        continue;
      }
      mismatched.push(h.id);
      f.advice = passthroughAdvice(zone, h, ref);
    }
    let entry: ZoneCpuChange | null = null;
    if (ref.cpu.xml !== zone.cpu.xml) {
      const reason: ChangeReason = prev.mode !== '' && prev.mode !== 'PASSTHROUGH' ? 'mode-changed' : !zone.cpu.xml ? 'initial' : trigger.reason;
      const shared = hosts.length - mismatched.length;
      entry = changeEntry(
        { from: { model: zone.cpu.model, all: zone.cpu.xml ? prev.allFeatures : [] }, to: model },
        reason,
        trigger.causeHostId ?? trigger.joined?.[0] ?? '',
        `zone ${zone.id} passthrough reference CPU: ${ref.cpu.vendor} ${ref.cpu.model} (as on ${ref.id}), shared by ${shared} of ${hosts.length} host(s)${mismatched.length ? `; differing, never targets: ${mismatched.join(', ')}` : ''}`,
        now,
      );
    }
    return { model, fits, mismatched: mismatched.sort(), entry, upgradeOffer: '', powerCycle: [] };
  }
}
