// Resources promised to servers that are moving (or will move) onto a
// target but do not yet show up in the target's reported facts. Capacity
// checks subtract them, so two servers of one plan, or of two concurrent
// operations, can never be promised the same memory, vCPUs or disk.
// Pure data: the executor persists `list()` with its operation and rebuilds
// the structure with `Reservations.from()` after a restart.
import { cmp } from './compare.ts';

export interface Reservation {
  /** One reservation per server at a time: reserving again replaces it. */
  serverUuid: string;
  hostId: string;
  memoryBytes: number;
  vcpus: number;
  /** Local disk bytes per target storage pool name. */
  localDisk: { pool: string; bytes: number }[];
  /** Operation holding the reservation ("" while only planned). */
  operationId: string;
}

export interface HostReservedTotals {
  memoryBytes: number;
  vcpus: number;
  /** Pool name → bytes. */
  diskByPool: Map<string, number>;
}

const EMPTY: HostReservedTotals = Object.freeze({ memoryBytes: 0, vcpus: 0, diskByPool: new Map<string, number>() });

export class Reservations {
  readonly #byServer = new Map<string, Reservation>();
  // Per-host sums kept up to date on every change: checks run per server ×
  // candidate, and must not re-sum the whole list each time.
  readonly #byHost = new Map<string, HostReservedTotals>();

  static from(list: readonly Reservation[] | Reservations | undefined): Reservations {
    const out = new Reservations();
    if (list === undefined) return out;
    for (const r of list instanceof Reservations ? list.list() : list) out.reserve(r);
    return out;
  }

  /** Adds (or replaces) the server's reservation. */
  reserve(r: Reservation): void {
    this.release(r.serverUuid);
    const copy: Reservation = { ...r, localDisk: r.localDisk.map((d) => ({ ...d })) };
    this.#byServer.set(r.serverUuid, copy);
    const totals = this.#mutableTotals(r.hostId);
    totals.memoryBytes += r.memoryBytes;
    totals.vcpus += r.vcpus;
    for (const d of r.localDisk) totals.diskByPool.set(d.pool, (totals.diskByPool.get(d.pool) ?? 0) + d.bytes);
  }

  /** Drops the server's reservation (target rejected, migration done or cancelled). Returns it, if any. */
  release(serverUuid: string): Reservation | undefined {
    const r = this.#byServer.get(serverUuid);
    if (r === undefined) return undefined;
    this.#byServer.delete(serverUuid);
    const totals = this.#mutableTotals(r.hostId);
    totals.memoryBytes -= r.memoryBytes;
    totals.vcpus -= r.vcpus;
    for (const d of r.localDisk) {
      const left = (totals.diskByPool.get(d.pool) ?? 0) - d.bytes;
      if (left === 0) totals.diskByPool.delete(d.pool);
      else totals.diskByPool.set(d.pool, left);
    }
    if (totals.memoryBytes === 0 && totals.vcpus === 0 && totals.diskByPool.size === 0) this.#byHost.delete(r.hostId);
    return r;
  }

  /** Releases every reservation an operation holds (cancel, finish). */
  releaseOperation(operationId: string): Reservation[] {
    const released: Reservation[] = [];
    for (const r of [...this.#byServer.values()]) {
      if (r.operationId === operationId) released.push(this.release(r.serverUuid)!);
    }
    return released;
  }

  get(serverUuid: string): Reservation | undefined {
    return this.#byServer.get(serverUuid);
  }

  has(serverUuid: string): boolean {
    return this.#byServer.has(serverUuid);
  }

  get size(): number {
    return this.#byServer.size;
  }

  /** What is reserved on a host (zeros when nothing). Do not mutate. */
  onHost(hostId: string): HostReservedTotals {
    return this.#byHost.get(hostId) ?? EMPTY;
  }

  /** Every reservation, sorted by server uuid (stable for persistence and tests). */
  list(): Reservation[] {
    return [...this.#byServer.values()].map((r) => ({ ...r, localDisk: r.localDisk.map((d) => ({ ...d })) })).sort((a, b) => cmp(a.serverUuid, b.serverUuid));
  }

  clone(): Reservations {
    return Reservations.from(this.list());
  }

  toJSON(): Reservation[] {
    return this.list();
  }

  #mutableTotals(hostId: string): HostReservedTotals {
    let t = this.#byHost.get(hostId);
    if (t === undefined) {
      t = { memoryBytes: 0, vcpus: 0, diskByPool: new Map() };
      this.#byHost.set(hostId, t);
    }
    return t;
  }
}
