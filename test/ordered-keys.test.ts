// The read model's key order (coordinator/reads/ordered-keys.ts): against a
// plain sort of the live keys through random adds, deletes and re-adds, in
// small steps (binary insertion) and large batches (the merge), and the
// order is never sorted again as a whole once built.
import test from 'ava';
import { OrderedKeys } from '../coordinator/reads/ordered-keys.ts';

/** A deterministic pseudo-random sequence (the run repeats exactly). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function liveInOrder(o: OrderedKeys, live: Set<string>): string[] {
  return o.keys((k) => live.has(k)).filter((k) => live.has(k));
}

test('the order equals a sort of the live keys through adds, deletes and re-adds, in small steps and in batches', (t) => {
  const rand = rng(7);
  const o = new OrderedKeys();
  const live = new Set<string>();
  const add = (k: string) => {
    if (live.has(k)) return;
    live.add(k);
    o.added(k);
  };
  const del = (k: string) => {
    if (!live.delete(k)) return;
    o.removed();
  };
  for (let round = 0; round < 100; round++) {
    // Batches of 1 to 2,000 changes: both the insertion path and the merge.
    const n = round % 10 === 0 ? 2000 : 1 + Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) {
      const k = `k${Math.floor(rand() * 5000)}`;
      if (rand() < 0.35) del(k);
      else add(k);
    }
    const got = liveInOrder(o, live);
    t.deepEqual(got, [...live].sort(), `round ${round}`);
    const all = o.keys((k) => live.has(k));
    t.is(new Set(all).size, all.length, `no key twice (round ${round})`);
  }
  t.true(o.stats.compactions > 0, 'deleted keys were dropped at some point');
});

test('once built, new keys are sorted as a batch of their own: the order is never sorted again as a whole', (t) => {
  const o = new OrderedKeys();
  const live = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const k = `s${String((i * 7919) % 100_000).padStart(6, '0')}`;
    live.add(k);
    o.added(k);
  }
  t.is(liveInOrder(o, live).length, 100_000);
  t.is(o.stats.keysSorted, 100_000);
  for (const size of [1, 20, 600, 5000]) {
    const before = o.stats.keysSorted;
    for (let i = 0; i < size; i++) {
      const k = `t${size}-${i}`;
      live.add(k);
      o.added(k);
    }
    t.deepEqual(liveInOrder(o, live), [...live].sort());
    t.is(o.stats.keysSorted - before, size, `${size} new keys: only they were sorted`);
  }
});
