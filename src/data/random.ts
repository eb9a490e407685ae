/**
 * Counter-based randomness for the loader: every random choice is a pure function of (seed, epoch, stream, index),
 * so a batch's contents never depend on what was drawn before it (resuming at any epoch or batch sees the same data).
 */

/** Streams of independent draws. */
export const STREAMS = { batchOrder: 1, rowOrder: 2, augment: 3 } as const;

/** A 32-bit hash of integer words (murmur3's finaliser per word). Words may be any safe integers. */
export function hashWords(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    // Both 32-bit halves, so that seeds ≥ 2^32 and negative ones stay distinct.
    for (const part of [word >>> 0, Math.floor(word / 2 ** 32) >>> 0]) {
      h = Math.imul(h ^ part, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** mulberry32: a small, fast generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** The largest seed a run takes (the config's `seed`, `--seed`): seeds are integers 0 … 2^32 − 1. */
export const MAX_SEED = 0xffffffff;

/** Whether `v` is a seed a run takes: an integer from 0 to {@link MAX_SEED}. */
export function isSeed(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEED;
}

/** The largest seed {@link tfjsSeed} maps (its image must stay a safe integer). */
const TFJS_SEED_MAX = Number.MAX_SAFE_INTEGER - 1;

/**
 * The seed to hand to tfjs for a user's seed: tfjs treats a seed of 0 as "unseeded" (a fresh random stream every
 * call), so 0 cannot be passed as it is. Seeds 1 … 2^32−1 are kept (they initialise as they always did); 0 becomes
 * 2^32 and a seed s ≥ 2^32 becomes s + 1, so every seed maps to its own nonzero safe integer and the seeds outside
 * 1 … 2^32−1 land above 2^32−1, where no seed of the kept range is. Throws a RangeError for a seed that is not an
 * integer from 0 to 2^53 − 2.
 */
export function tfjsSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > TFJS_SEED_MAX) {
    throw new RangeError(`seed must be an integer from 0 to ${TFJS_SEED_MAX}, got ${seed}`);
  }
  if (seed >= 1 && seed <= 0xffffffff) return seed;
  return seed === 0 ? 2 ** 32 : seed + 1;
}
