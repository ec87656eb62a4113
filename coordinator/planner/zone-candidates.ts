// The hosts of one zone as a whole-host plan sees them, built once per plan
// and kept up to date as the plan reserves. It answers, for one server,
// exactly what running the full check chain on every host and then
// chooseTarget / trimCandidates / choiceReason would answer, without
// running the chain on every host:
//  - what decides the answer (eligible or not, any "skip", free memory
//    after) is computed from per-host numbers held in typed arrays: the
//    skip checks do not depend on the server and are decided once; memory
//    and vCPU headroom change only on the host the plan just reserved;
//    shared-storage reach and local-disk placement depend on the server and
//    the host's pool layout only, so they are decided once per server and
//    distinct layout; the CPU hook (pure, docs/design.md invariant 2) is
//    asked only about hosts that pass everything else;
//  - the full chain, with its reason strings, runs only on the candidates
//    the plan shows (DEFAULT_MAX_CANDIDATES per server), and on the first
//    few hosts a "fits nowhere" reason names.
// The order is the one trimCandidates and chooseTarget define: policy order
// for eligible hosts, most free memory first for the others, ties by host
// id; the position in the id-sorted host list stands for the id (equal to
// comparing ids, and to the stable sort the chain's callers relied on).
// test/planner-equivalence.test.ts holds this against the pre-optimisation
// planner kept in harness/planner-reference/.
import type { ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import type { CheckContext } from './checks.ts';
import { TARGET_CHECKS, candidateVerdict, checkSharedStorage, memoryHeadroom, placeLocalDisks } from './checks.ts';
import type { HostAllocation, InventoryIndex } from './inventory.ts';
import { allocationOf, isKvmHypervisor } from './inventory.ts';
import type { RankedHost } from './placement.ts';
import { cmp } from './compare.ts';
import { NO_TARGET_HOSTS_SHOWN, chooseTarget, trimCandidates } from './placement.ts';
import { PoolLayouts } from './pool-layouts.ts';
import type { HostReservedTotals, Reservations } from './reservations.ts';
import { TopK } from './top-k.ts';
import type { CandidateVerdict, CpuCompatibleFn, SnapshotHost } from './types.ts';

export interface ZoneCandidatesInput {
  index: InventoryIndex;
  source: SnapshotHost;
  zone: ZoneRecord;
  policy: ZonePolicy;
  /** The plan's reservations: read here, changed by the caller, who then calls reserved(). */
  reservations: Reservations;
  cpuCompatible?: CpuCompatibleFn | undefined;
}

/** What the plan needs about one server's candidates. */
export interface ServerCandidates {
  /** The best eligible host by the zone's policy (chooseTarget), with its full verdict. */
  chosen: CandidateVerdict | undefined;
  /** The next eligible host in policy order (choiceReason's runner-up). */
  runnerUp: RankedHost | undefined;
  eligibleCount: number;
  /** What trimCandidates keeps: full verdicts, in host-id order. */
  shown: CandidateVerdict[];
  /** Same-zone hosts evaluated (what evaluateCandidates returns the verdicts of). */
  total: number;
}

/** Per-server answer of a check that depends only on the server and the host's pool layout. */
const UNKNOWN = 0;
const PASS = 1;
const FAIL = 2;

/**
 * Where a server's local disks land on hosts of one local-pool layout:
 * nowhere (a disk without an active pool), or bytes per pool, the pool
 * given by its name and its index among the layout's names.
 */
interface LocalNeed {
  // One shape for both answers: the hot loop reads it, and a second object
  // shape there sends V8's optimised code back to the interpreter.
  fits: boolean;
  names: string[];
  nameIndex: Int32Array;
  bytes: Float64Array;
}

const FITS_NOWHERE: LocalNeed = { fits: false, names: [], nameIndex: new Int32Array(0), bytes: new Float64Array(0) };

const NO_ATTEMPTS: ReadonlySet<string> = new Set();

export class ZoneCandidates {
  readonly #in: ZoneCandidatesInput;
  readonly #nowMs: number;
  /** Same-zone hosts in id order; a host is known by its position here. */
  readonly #hosts: SnapshotHost[];
  readonly #allocation: HostAllocation[];
  readonly #reserved: HostReservedTotals[];
  /**
   * 1 where the host has disk reservations: the hot loop reads this instead
   * of the totals objects, which come in two shapes (a frozen empty one and
   * live ones) and would make V8 drop its optimised code.
   */
  readonly #diskReserved: Uint8Array;
  /** Positions of hosts a "skip" check rules out whatever the server (source, not KVM, disabled, offline, in maintenance). */
  readonly #skipped: Int32Array;
  /**
   * Positions of the other hosts, the only ones that can be eligible, by
   * headroom (most first, then position): the hosts a server fits in by
   * memory come first, so select() stops where memory runs out.
   */
  readonly #byHeadroom: Int32Array;
  /** Index of each open host in #byHeadroom (-1 for skipped hosts). */
  readonly #rank: Int32Array;
  /**
   * Open hosts whose headroom is not a finite number (a record without its
   * memory figures): the chain's sorts then have no total order, and
   * select() runs the chain itself (#selectByChain) to answer as it does.
   */
  #oddHeadrooms = 0;
  /** memoryHeadroom: memory the host can still promise, before the server. */
  readonly #headroom: Float64Array;
  /** Memory size or CPU count unknown: blocked whatever the server. */
  readonly #noFacts: Uint8Array;
  readonly #hardwareKvm: Uint8Array;
  /** vCPUs allocated plus reserved, and the overcommit limit. */
  readonly #vcpuUsed: Float64Array;
  readonly #vcpuLimit: Float64Array;
  /** Layout ids: hosts with the same shared (resp. local) pools answer a server's storage checks alike. */
  readonly #sharedLayout: Int32Array;
  readonly #localLayout: Int32Array;
  readonly #sharedLayouts: number;
  /** Per local layout, the distinct names of its pools. */
  readonly #localNames: string[][] = [];
  /**
   * Per open host, from #availableStart[i] on, one entry per name of its
   * local layout: available bytes of the first local pool of that name
   * (checkLocalDisk's lookup).
   */
  readonly #available: Float64Array;
  readonly #availableStart: Int32Array;
  readonly #notSourceCount: number;

  constructor(input: ZoneCandidatesInput) {
    this.#in = input;
    this.#nowMs = input.index.snapshot.takenAtMs;
    this.#hosts = input.index.hostsSorted.filter((h) => h.zoneId === input.zone.id);
    const n = this.#hosts.length;
    this.#allocation = new Array<HostAllocation>(n);
    this.#reserved = new Array<HostReservedTotals>(n);
    this.#diskReserved = new Uint8Array(n);
    this.#headroom = new Float64Array(n);
    this.#noFacts = new Uint8Array(n);
    this.#hardwareKvm = new Uint8Array(n);
    this.#vcpuUsed = new Float64Array(n);
    this.#vcpuLimit = new Float64Array(n);
    this.#sharedLayout = new Int32Array(n);
    this.#localLayout = new Int32Array(n);
    this.#availableStart = new Int32Array(n);
    const available: number[] = [];
    const sharedLayouts = new PoolLayouts(true);
    const localLayouts = new PoolLayouts(false);
    const skipped: number[] = [];
    const open: number[] = [];
    let notSource = 0;
    for (let i = 0; i < n; i++) {
      const h = this.#hosts[i]!;
      this.#allocation[i] = allocationOf(input.index, h.id);
      this.#refresh(i);
      // The skip checks of the chain (checks.ts): same-zone passes for every host here.
      const isSource = h.id === input.source.id;
      if (!isSource) notSource++;
      const skip = isSource || !isKvmHypervisor(h.hypervisorType) || !h.enabled || !h.online || h.maintenance !== 'none';
      (skip ? skipped : open).push(i);
      const logical = h.topology?.logical_cpus ?? 0;
      this.#noFacts[i] = h.memoryTotalBytes <= 0 || logical <= 0 ? 1 : 0;
      this.#hardwareKvm[i] = h.hypervisorType === 'kvm' ? 1 : 0;
      this.#vcpuLimit[i] = Math.floor(logical * input.policy.cpuOvercommitRatio);
      if (skip) continue; // never a target: its storage is never asked about
      this.#sharedLayout[i] = sharedLayouts.idOf(h.storagePools);
      const local = localLayouts.idOf(h.storagePools);
      this.#localLayout[i] = local;
      if (local === this.#localNames.length) this.#localNames.push([...new Set(h.storagePools.filter((p) => p.shared === false).map((p) => p.name))]);
      this.#availableStart[i] = available.length;
      for (const name of this.#localNames[local]!) available.push(Number(h.storagePools.find((p) => p.name === name && !p.shared)!.available_bytes));
    }
    this.#skipped = Int32Array.from(skipped);
    open.sort((a, b) => (this.#before(a, b) ? -1 : this.#before(b, a) ? 1 : 0));
    this.#byHeadroom = Int32Array.from(open);
    this.#rank = new Int32Array(n).fill(-1);
    open.forEach((i, r) => {
      this.#rank[i] = r;
      if (!Number.isFinite(this.#headroom[i])) this.#oddHeadrooms++;
    });
    this.#sharedLayouts = sharedLayouts.size;
    this.#available = Float64Array.from(available);
    this.#notSourceCount = notSource;
  }

  /** Call after the plan's reservations changed on `hostId`. */
  reserved(hostId: string): void {
    // #hosts is sorted by id (cmp): the host's first position by binary search, then any duplicates.
    let lo = 0;
    let hi = this.#hosts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.#hosts[mid]!.id, hostId) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#hosts.length && this.#hosts[i]!.id === hostId; i++) this.#update(i);
  }

  /** The candidates of one server, at most `max` shown (0 = all), as evaluateCandidates + chooseTarget + trimCandidates would give them. */
  select(server: ServerRecord, max: number): ServerCandidates {
    const total = this.#hosts.length;
    if (max <= 0 || total <= max || this.#oddHeadrooms > 0 || !Number.isFinite(server.memoryBytes)) return this.#selectByChain(server, max);
    // trimCandidates keeps slice(0, max): a fraction is cut off, NaN keeps none.
    max = Math.trunc(max) || 0;
    const { eligible, others, eligibleCount } = this.#scan(server, max);
    const shown: number[] = [];
    for (let j = 0; j < eligible.size && shown.length < max; j++) shown.push(eligible.position(j));
    for (let j = 0; j < others.size && shown.length < max; j++) shown.push(others.position(j));
    if (shown.length < max) {
      // Hosts that are no candidates at all come last, most free memory first.
      const skipped = new TopK(max - shown.length, false, this.#headroom, server.memoryBytes);
      for (let k = 0; k < this.#skipped.length; k++) skipped.offer(this.#skipped[k]!);
      for (let j = 0; j < skipped.size; j++) shown.push(skipped.position(j));
    }
    shown.sort((a, b) => a - b);
    const chosenAt = eligible.size > 0 ? eligible.position(0) : -1;
    let chosen: CandidateVerdict | undefined;
    const verdicts: CandidateVerdict[] = [];
    for (const i of shown) {
      const v = this.verdict(server, i);
      if (i === chosenAt) chosen = v;
      verdicts.push(v);
    }
    // Shown first whenever one is shown at all; a limit below one shows none.
    if (chosen === undefined && chosenAt >= 0) chosen = this.verdict(server, chosenAt);
    const runnerUp = eligible.size > 1 ? { hostId: this.#hosts[eligible.position(1)]!.id, memoryFreeAfterBytes: eligible.free(1) } : undefined;
    return { chosen, runnerUp, eligibleCount, shown: verdicts, total };
  }

  /**
   * The hot loop: every open host that could take the server, in headroom
   * order, into the best eligible ones (policy order) and, while fewer than
   * `max` are eligible, the best ineligible ones.
   */
  #scan(server: ServerRecord, max: number): { eligible: TopK; others: TopK; eligibleCount: number } {
    const pack = this.#in.policy.placement === 'PACK';
    const need = server.memoryBytes;
    const vcpus = server.vcpus;
    const needsHardware = server.domainType === 'kvm';
    const sharedAnswer = new Uint8Array(this.#sharedLayouts);
    const localAnswer = new Array<LocalNeed | undefined>(this.#localNames.length);
    // Two places for the runner-up even when one candidate is shown.
    const eligible = new TopK(Math.max(max, 2), pack, this.#headroom, need);
    const others = new TopK(max, false, this.#headroom, need);
    let eligibleCount = 0;
    const order = this.#byHeadroom;
    const headrooms = this.#headroom;
    const noFacts = this.#noFacts;
    const hardwareKvm = this.#hardwareKvm;
    const vcpuUsed = this.#vcpuUsed;
    const vcpuLimit = this.#vcpuLimit;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const headroom = headrooms[i]!;
      if (need > headroom) {
        // checkMemory blocks here and on every later host (less headroom):
        // they are ineligible, shown only when fewer than `max` are eligible,
        // most free first, which is the order they come in.
        if (eligibleCount < max) {
          for (; k < order.length; k++) {
            const j = order[k]!;
            if (others.isFullAndAbove(j)) break;
            others.offer(j);
          }
        }
        break;
      }
      // Same comparisons as checkMemory, checkKvm, checkVcpu (NaN included), cheapest first.
      let ok = noFacts[i] === 0 && (!needsHardware || hardwareKvm[i] === 1) && !(vcpuUsed[i]! + vcpus > vcpuLimit[i]!);
      if (ok) ok = this.#sharedOk(server, i, sharedAnswer) && this.#localOk(server, i, localAnswer) && this.#cpuOk(server, i);
      if (ok) {
        eligibleCount++;
        eligible.offer(i);
      } else if (eligibleCount < max) {
        // Shown only when fewer than `max` hosts are eligible; eligibleCount only grows.
        others.offer(i);
      }
    }
    return { eligible, others, eligibleCount };
  }

  /** The first NO_TARGET_HOSTS_SHOWN hosts that are not the source, with full verdicts, and how many there are (for noTargetSentence). */
  considered(server: ServerRecord): { first: CandidateVerdict[]; count: number } {
    const first: CandidateVerdict[] = [];
    for (let i = 0; i < this.#hosts.length && first.length < NO_TARGET_HOSTS_SHOWN; i++) {
      if (this.#hosts[i]!.id !== this.#in.source.id) first.push(this.verdict(server, i));
    }
    return { first, count: this.#notSourceCount };
  }

  /** Same-zone hosts: candidates that are not shown are counted from this. */
  get size(): number {
    return this.#hosts.length;
  }

  /** The full chain on the host at position i, as evaluateCandidates runs it. */
  verdict(server: ServerRecord, i: number): CandidateVerdict {
    return candidateVerdict(this.#context(server, i), TARGET_CHECKS);
  }

  /** The chain on every host, then chooseTarget and trimCandidates: for a limit that shows them all, and for numbers without an order. */
  #selectByChain(server: ServerRecord, max: number): ServerCandidates {
    const verdicts = this.#hosts.map((_, i) => this.verdict(server, i));
    const policy = this.#in.policy;
    const chosen = chooseTarget(verdicts, policy);
    const eligible = verdicts.filter((c) => c.eligible);
    const runnerUp =
      chosen === undefined
        ? undefined
        : chooseTarget(
            eligible.filter((c) => c !== chosen),
            policy,
          );
    return { chosen, runnerUp, eligibleCount: eligible.length, shown: trimCandidates(verdicts, chosen, policy, max), total: verdicts.length };
  }

  #context(server: ServerRecord, i: number): CheckContext {
    const { source, zone, policy, cpuCompatible } = this.#in;
    return {
      server,
      source,
      zone,
      policy,
      target: this.#hosts[i]!,
      allocation: this.#allocation[i]!,
      reserved: this.#reserved[i]!,
      attempted: NO_ATTEMPTS,
      nowMs: this.#nowMs,
      cpuCompatible,
    };
  }

  /** #refresh, then the host's place in #byHeadroom. */
  #update(i: number): void {
    const wasOdd = !Number.isFinite(this.#headroom[i]);
    this.#refresh(i);
    let r = this.#rank[i]!;
    if (r < 0) return;
    this.#oddHeadrooms += (Number.isFinite(this.#headroom[i]) ? 0 : 1) - (wasOdd ? 1 : 0);
    const order = this.#byHeadroom;
    while (r > 0 && this.#before(i, order[r - 1]!)) {
      order[r] = order[r - 1]!;
      this.#rank[order[r]!] = r;
      r--;
    }
    while (r < order.length - 1 && this.#before(order[r + 1]!, i)) {
      order[r] = order[r + 1]!;
      this.#rank[order[r]!] = r;
      r++;
    }
    order[r] = i;
    this.#rank[i] = r;
  }

  /** Host a comes before host b in #byHeadroom. */
  #before(a: number, b: number): boolean {
    const ha = this.#headroom[a]!;
    const hb = this.#headroom[b]!;
    return ha > hb || (ha === hb && a < b);
  }

  #refresh(i: number): void {
    const target = this.#hosts[i]!;
    const allocation = this.#allocation[i]!;
    const reserved = this.#in.reservations.onHost(target.id);
    this.#reserved[i] = reserved;
    this.#diskReserved[i] = reserved.diskByPool.size > 0 ? 1 : 0;
    this.#headroom[i] = memoryHeadroom({ target, allocation, reserved, policy: this.#in.policy });
    this.#vcpuUsed[i] = allocation.vcpus + reserved.vcpus;
  }

  /** checkSharedStorage passes (ok or warn): decided once per server and shared-pool layout. */
  #sharedOk(server: ServerRecord, i: number, answers: Uint8Array): boolean {
    const layout = this.#sharedLayout[i]!;
    let a = answers[layout]!;
    if (a === UNKNOWN) {
      a = checkSharedStorage(this.#context(server, i)).verdict === 'block' ? FAIL : PASS;
      answers[layout] = a;
    }
    return a === PASS;
  }

  /** checkLocalDisk passes: where the disks land is decided once per server and local-pool layout; whether they fit, per host. */
  #localOk(server: ServerRecord, i: number, answers: (LocalNeed | undefined)[]): boolean {
    const layout = this.#localLayout[i]!;
    let need = answers[layout];
    if (need === undefined) {
      need = this.#localNeed(server, i);
      answers[layout] = need;
    }
    if (!need.fits) return false;
    const start = this.#availableStart[i]!;
    const reserved = this.#diskReserved[i] === 1 ? this.#reserved[i]!.diskByPool : undefined;
    for (let k = 0; k < need.bytes.length; k++) {
      // As checkLocalDisk: available bytes of the pool less what is reserved
      // in it (x − 0 is x, so nothing is subtracted without reservations:
      // mixing in Map.get's untyped answer costs a boxed number per host).
      let free = this.#available[start + need.nameIndex[k]!]!;
      if (reserved !== undefined) free -= reserved.get(need.names[k]!) ?? 0;
      if (need.bytes[k]! > free) return false;
    }
    return true;
  }

  /**
   * Where the server's local disks land on the host at i (and on every host
   * of its local layout). A method of its own: a closure in #localOk would
   * make V8 allocate a context on every call of the hot loop.
   */
  #localNeed(server: ServerRecord, i: number): LocalNeed {
    const placement = placeLocalDisks(server, this.#hosts[i]!);
    if (placement.unplaced.length > 0 || placement.inactive.length > 0) return FITS_NOWHERE;
    const layoutNames = this.#localNames[this.#localLayout[i]!]!;
    const names = [...placement.byPool.keys()];
    return { fits: true, names, nameIndex: Int32Array.from(names, (n) => layoutNames.indexOf(n)), bytes: Float64Array.from(placement.byPool.values()) };
  }

  #cpuOk(server: ServerRecord, i: number): boolean {
    const hook = this.#in.cpuCompatible;
    return hook === undefined || Boolean(hook(server, this.#hosts[i]!, this.#in.zone).ok);
  }
}
