/**
 * A small seeded generator (mulberry32): the same sequence for the same seed everywhere, so
 * elections and simulations replay exactly.
 */

/** A generator of numbers in [0, 1) seeded with `seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `items` (not empty), chosen with `random`. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("nothing to pick from");
  return items[Math.floor(random() * items.length)]!;
}
