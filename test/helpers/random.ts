/**
 * Seeded randomness for tests: a fresh seed every run (printed, and in every failure message), or a fixed one from
 * MIXPREC_TEST_SEED to reproduce a failure.
 */
import { mulberry32 } from '../../src/data/random';

export function testSeed(): number {
  const fromEnv = process.env.MIXPREC_TEST_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** mulberry32 (the library's generator; any decent one would do for test inputs). */
export const rng = mulberry32;

export class Random {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = rng(seed);
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** A float32 value, uniform in [lo, hi). */
  f32(lo: number, hi: number): number {
    return Math.fround(this.uniform(lo, hi));
  }
  /** log-uniform float32 in [lo, hi). */
  logF32(lo: number, hi: number): number {
    return Math.fround(Math.exp(this.uniform(Math.log(lo), Math.log(hi))));
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** The float32 values just below and above v (v itself a float32). */
export function f32Neighbours(v: number): [number, number] {
  const buf = new Float32Array([v]);
  const bits = new Int32Array(buf.buffer);
  const base = bits[0]!;
  bits[0] = v > 0 ? base - 1 : base + 1;
  const towardZero = buf[0]!;
  bits[0] = v > 0 ? base + 1 : base - 1;
  const away = buf[0]!;
  return v > 0 ? [towardZero, away] : [away, towardZero];
}
