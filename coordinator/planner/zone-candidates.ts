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
// planner kept in test/helpers/planner-reference/.
import type { ServerRecord, ZonePolicy, ZoneRecord } from '../model.ts';
import type { CheckContext } from './checks.ts';
import { TARGET_CHECKS, candidateVerdict, checkSharedStorage, memoryHeadroom, placeLocalDisks } from './checks.ts';
import type { HostAllocation, InventoryIndex } from './inventory.ts';
import { allocationOf, isKvmHypervisor } from './inventory.ts';
import type { RankedHost } from './placement.ts';
import { NO_TARGET_HOSTS_SHOWN, chooseTarget } from './placement.ts';
import type { HostReservedTotals, Reservations } from './reservations.ts';
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

/** Where a server's local disks land on hosts of one pool layout: pool names and bytes, or nowhere. */
type LocalNeed = { fits: false } | { fits: true; byPool: [string, number][] };

const NO_ATTEMPTS: ReadonlySet<string> = new Set();

export class ZoneCandidates {
  readonly #in: ZoneCandidatesInput;
  readonly #nowMs: number;
  /** Same-zone hosts in id order; a host is known by its position here. */
  readonly #hosts: SnapshotHost[];
  readonly #allocation: HostAllocation[];
  readonly #reserved: HostReservedTotals[];
  /** Positions of hosts a "skip" check rules out whatever the server (source, not KVM, disabled, offline, in maintenance). */
  readonly #skipped: Int32Array;
  /** Positions of the other hosts: the only ones that can be eligible. */
  readonly #open: Int32Array;
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
  readonly #localLayouts: number;
  /** Per host, pool name → available bytes of the first local pool of that name (checkLocalDisk's lookup). */
  readonly #localAvailable: (Map<string, number> | undefined)[];
  readonly #positionsById = new Map<string, number[]>();
  readonly #notSourceCount: number;

  constructor(input: ZoneCandidatesInput) {
    this.#in = input;
    this.#nowMs = input.index.snapshot.takenAtMs;
    this.#hosts = input.index.hostsSorted.filter((h) => h.zoneId === input.zone.id);
    const n = this.#hosts.length;
    this.#allocation = new Array<HostAllocation>(n);
    this.#reserved = new Array<HostReservedTotals>(n);
    this.#headroom = new Float64Array(n);
    this.#noFacts = new Uint8Array(n);
    this.#hardwareKvm = new Uint8Array(n);
    this.#vcpuUsed = new Float64Array(n);
    this.#vcpuLimit = new Float64Array(n);
    this.#sharedLayout = new Int32Array(n);
    this.#localLayout = new Int32Array(n);
    this.#localAvailable = new Array<Map<string, number> | undefined>(n);
    const sharedIds = new Map<string, number>();
    const localIds = new Map<string, number>();
    const skipped: number[] = [];
    const open: number[] = [];
    let notSource = 0;
    for (let i = 0; i < n; i++) {
      const h = this.#hosts[i]!;
      const at = this.#positionsById.get(h.id);
      if (at) at.push(i);
      else this.#positionsById.set(h.id, [i]);
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
      // findPool looks at pools of one kind (p.shared === shared) by name, path and active.
      const layout = (shared: boolean) => JSON.stringify(h.storagePools.filter((p) => p.shared === shared).map((p) => [p.name, p.path, p.active]));
      this.#sharedLayout[i] = intern(sharedIds, layout(true));
      this.#localLayout[i] = intern(localIds, layout(false));
    }
    this.#skipped = Int32Array.from(skipped);
    this.#open = Int32Array.from(open);
    this.#sharedLayouts = sharedIds.size;
    this.#localLayouts = localIds.size;
    this.#notSourceCount = notSource;
  }

  /** Call after the plan's reservations changed on `hostId`. */
  reserved(hostId: string): void {
    for (const i of this.#positionsById.get(hostId) ?? []) this.#refresh(i);
  }

  /** The candidates of one server, at most `max` shown (0 = all), as evaluateCandidates + chooseTarget + trimCandidates would give them. */
  select(server: ServerRecord, max: number): ServerCandidates {
    const total = this.#hosts.length;
    if (max <= 0 || total <= max) return this.#selectAll(server);
    const pack = this.#in.policy.placement === 'PACK';
    const need = server.memoryBytes;
    const vcpus = server.vcpus;
    const needsHardware = server.domainType === 'kvm';
    const sharedAnswer = new Uint8Array(this.#sharedLayouts);
    const localAnswer = new Array<LocalNeed | undefined>(this.#localLayouts);
    // Two places for the runner-up even when one candidate is shown.
    const eligible = new TopK(Math.max(max, 2), pack);
    const others = new TopK(max, false);
    let eligibleCount = 0;
    const open = this.#open;
    for (let k = 0; k < open.length; k++) {
      const i = open[k]!;
      const headroom = this.#headroom[i]!;
      const free = headroom - need;
      // Same comparisons as checkMemory, checkKvm, checkVcpu (NaN included), cheapest first.
      let ok = this.#noFacts[i] === 0 && !(need > headroom) && (!needsHardware || this.#hardwareKvm[i] === 1) && !(this.#vcpuUsed[i]! + vcpus > this.#vcpuLimit[i]!);
      if (ok) ok = this.#sharedOk(server, i, sharedAnswer) && this.#localOk(server, i, localAnswer) && this.#cpuOk(server, i);
      if (ok) {
        eligibleCount++;
        eligible.offer(free, i);
      } else if (eligibleCount < max) {
        // Shown only when fewer than `max` hosts are eligible; eligibleCount only grows.
        others.offer(free, i);
      }
    }
    const shown: number[] = [];
    for (let j = 0; j < eligible.size && shown.length < max; j++) shown.push(eligible.position(j));
    for (let j = 0; j < others.size && shown.length < max; j++) shown.push(others.position(j));
    if (shown.length < max) {
      // Hosts that are no candidates at all come last, most free memory first.
      const skipped = new TopK(max - shown.length, false);
      for (let k = 0; k < this.#skipped.length; k++) {
        const i = this.#skipped[k]!;
        skipped.offer(this.#headroom[i]! - need, i);
      }
      for (let j = 0; j < skipped.size; j++) shown.push(skipped.position(j));
    }
    shown.sort((a, b) => a - b);
    const verdicts = shown.map((i) => this.verdict(server, i));
    const chosen = eligible.size > 0 ? verdicts[shown.indexOf(eligible.position(0))] : undefined;
    const runnerUp = eligible.size > 1 ? { hostId: this.#hosts[eligible.position(1)]!.id, memoryFreeAfterBytes: eligible.free(1) } : undefined;
    return { chosen, runnerUp, eligibleCount, shown: verdicts, total };
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

  #selectAll(server: ServerRecord): ServerCandidates {
    const verdicts = this.#hosts.map((_, i) => this.verdict(server, i));
    const chosen = chooseTarget(verdicts, this.#in.policy);
    const eligible = verdicts.filter((c) => c.eligible);
    const runnerUp = chosen === undefined ? undefined : chooseTarget(eligible.filter((c) => c !== chosen), this.#in.policy);
    return { chosen, runnerUp, eligibleCount: eligible.length, shown: verdicts, total: verdicts.length };
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

  #refresh(i: number): void {
    const target = this.#hosts[i]!;
    const allocation = this.#allocation[i]!;
    const reserved = this.#in.reservations.onHost(target.id);
    this.#reserved[i] = reserved;
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
      const placement = placeLocalDisks(server, this.#hosts[i]!);
      need = placement.unplaced.length > 0 || placement.inactive.length > 0 ? { fits: false } : { fits: true, byPool: [...placement.byPool] };
      answers[layout] = need;
    }
    if (!need.fits) return false;
    if (need.byPool.length === 0) return true;
    const available = this.#localAvailableOf(i);
    const reserved = this.#reserved[i]!.diskByPool;
    for (const [pool, bytes] of need.byPool) {
      // As checkLocalDisk: the first local pool of that name, less what is reserved in it.
      const free = available.get(pool)! - (reserved.get(pool) ?? 0);
      if (bytes > free) return false;
    }
    return true;
  }

  #localAvailableOf(i: number): Map<string, number> {
    let m = this.#localAvailable[i];
    if (m === undefined) {
      m = new Map();
      for (const p of this.#hosts[i]!.storagePools) if (!p.shared && !m.has(p.name)) m.set(p.name, Number(p.available_bytes));
      this.#localAvailable[i] = m;
    }
    return m;
  }

  #cpuOk(server: ServerRecord, i: number): boolean {
    const hook = this.#in.cpuCompatible;
    return hook === undefined || Boolean(hook(server, this.#hosts[i]!, this.#in.zone).ok);
  }
}

function intern(ids: Map<string, number>, key: string): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size;
    ids.set(key, id);
  }
  return id;
}

/**
 * The best k (free memory, position) pairs seen, best first: least free
 * first when `ascending` (PACK among eligible hosts), else most free first;
 * equal free memory by position, i.e. by host id.
 */
class TopK {
  readonly #free: Float64Array;
  readonly #pos: Int32Array;
  #n = 0;

  constructor(
    readonly k: number,
    readonly ascending: boolean,
  ) {
    this.#free = new Float64Array(k);
    this.#pos = new Int32Array(k);
  }

  get size(): number {
    return this.#n;
  }

  position(j: number): number {
    return this.#pos[j]!;
  }

  free(j: number): number {
    return this.#free[j]!;
  }

  offer(free: number, pos: number): void {
    if (this.k === 0) return;
    let j: number;
    if (this.#n < this.k) j = this.#n++;
    else if (this.#before(free, pos, this.k - 1)) j = this.k - 1;
    else return;
    while (j > 0 && this.#before(free, pos, j - 1)) {
      this.#free[j] = this.#free[j - 1]!;
      this.#pos[j] = this.#pos[j - 1]!;
      j--;
    }
    this.#free[j] = free;
    this.#pos[j] = pos;
  }

  #before(free: number, pos: number, j: number): boolean {
    const other = this.#free[j]!;
    if (free !== other) return this.ascending ? free < other : free > other;
    return pos < this.#pos[j]!;
  }
}
