// A bounded best-k list of hosts for the zone view (zone-candidates.ts):
// the candidates a plan shows, in the order trimCandidates defines.

/**
 * The best k hosts offered, best first, by the memory each would have
 * free after the server (headroom − need): least first when `ascending`
 * (PACK among eligible hosts), else most first; equal free memory by
 * position, i.e. by host id. Hosts are offered by position and the free
 * memory computed here, so the hot loop passes no doubles around (they
 * would be boxed on every call).
 */
export class TopK {
  readonly #free: Float64Array;
  readonly #pos: Int32Array;
  #n = 0;

  constructor(
    readonly k: number,
    readonly ascending: boolean,
    readonly headroom: Float64Array,
    readonly need: number,
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

  /** Full, and the host at `pos` has strictly less free memory than the last kept (most-free-first order only). */
  isFullAndAbove(pos: number): boolean {
    return this.#n === this.k && this.headroom[pos]! - this.need < this.#free[this.#n - 1]!;
  }

  offer(pos: number): void {
    if (this.k === 0) return;
    const free = this.headroom[pos]! - this.need;
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
