// Pool layouts: which hosts' storage pools look alike to the storage
// checks, so the zone view (zone-candidates.ts) decides a server's
// shared-storage reach and local-disk placement once per layout.
import type { StoragePool } from '../../common/generated/drydock/agent/v1/StoragePool.ts';

/**
 * Layout ids of pool lists: two lists get the same id when their pools of
 * one kind (p.shared === shared) have the same names, paths and active
 * flags in the same order, which is all findPool, placeLocalDisks and
 * checkSharedStorage look at. Hosts of a zone share a few layouts, so a new
 * list is first compared field by field with the first few layouts seen
 * (no string built); else it is keyed by a length-prefixed string. Lists
 * with a name or path that is not a string get an id of their own.
 */
export class PoolLayouts {
  static readonly COMPARED = 4;
  readonly #examples: (readonly StoragePool[])[] = [];
  readonly #ids = new Map<string, number>();

  constructor(readonly shared: boolean) {}

  get size(): number {
    return this.#examples.length;
  }

  idOf(pools: readonly StoragePool[]): number {
    const n = Math.min(this.#examples.length, PoolLayouts.COMPARED);
    for (let id = 0; id < n; id++) if (this.#same(this.#examples[id]!, pools)) return id;
    const key = this.#key(pools);
    let id = key === undefined ? undefined : this.#ids.get(key);
    if (id === undefined) {
      id = this.#examples.length;
      this.#examples.push(pools);
      if (key !== undefined) this.#ids.set(key, id);
    }
    return id;
  }

  #same(a: readonly StoragePool[], b: readonly StoragePool[]): boolean {
    let i = 0;
    let j = 0;
    for (;;) {
      while (i < a.length && a[i]!.shared !== this.shared) i++;
      while (j < b.length && b[j]!.shared !== this.shared) j++;
      if (i === a.length || j === b.length) return i === a.length && j === b.length;
      const p = a[i++]!;
      const q = b[j++]!;
      if (typeof p.name !== 'string' || typeof p.path !== 'string' || p.name !== q.name || p.path !== q.path || !p.active !== !q.active) return false;
    }
  }

  /** Length-prefixed, so no name or path runs into the next field; undefined when one is not a string. */
  #key(pools: readonly StoragePool[]): string | undefined {
    let key = '';
    for (let k = 0; k < pools.length; k++) {
      const p = pools[k]!;
      if (p.shared !== this.shared) continue;
      if (typeof p.name !== 'string' || typeof p.path !== 'string') return undefined;
      key += `${p.name.length}:${p.name}${p.path.length}:${p.path}${p.active ? 1 : 0}`;
    }
    return key;
  }
}
