/** The rounding primitives on every backend: half away from zero, exact power-of-two rounding, ⌈log2⌉. */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ceilLog2, pow2Round, roundHalfAway } from '../../src/quant';
import { testBackends, useBackend } from '../helpers/backends';
import { f32Neighbours, Random, testSeed } from '../helpers/random';
import { assertSameF32 } from '../helpers/assert';

const seed = testSeed();

/** Round half away from zero in float64 (exact for float32 inputs). */
const rnd = (z: number) => Math.sign(z) * Math.floor(Math.abs(z) + 0.5);
/** 2^round(log2 v) decided in exact arithmetic: v ≥ 2^k·√2 ⟺ (v/2^k)² ≥ 2, with v/2^k exact. */
function pow2Exact(v: number): number {
  if (v === 0) return 0;
  let p = 2 ** Math.floor(Math.log2(v));
  if (p > v) p /= 2;
  if (2 * p <= v) p *= 2;
  const m = v / p;
  return m * m >= 2 ? 2 * p : p;
}

describe('rounding primitives', async () => {
  for (const backend of await testBackends()) {
    describe(`on ${backend}`, () => {
      before(() => useBackend(backend));

      it('roundHalfAway: ties go away from zero, 0.49999997 rounds to 0, large integers stay', async () => {
        const special = [
          0.5,
          1.5,
          2.5,
          -0.5,
          -1.5,
          -2.5,
          0,
          -0,
          Math.fround(0.5 - 2 ** -25),
          -Math.fround(0.5 - 2 ** -25),
          Math.fround(1.5 - 2 ** -23),
          2 ** 23 + 1,
          -(2 ** 23 + 1),
          2 ** 24,
          3e38,
          -3e38,
          1e-40,
          0.49999997,
        ];
        const r = new Random(seed);
        const xs = [
          ...special,
          ...Array.from({ length: 2000 }, () => r.f32(-1000, 1000)),
          ...Array.from({ length: 200 }, () => Math.fround(r.int(-100, 100) + 0.5)),
        ];
        const out = roundHalfAway(tf.tensor1d(xs));
        assertSameF32(
          await out.data(),
          xs.map((v) => rnd(Math.fround(v))),
          `roundHalfAway [seed ${seed}]`,
          xs,
        );
        // tfjs's own round is banker's rounding: the reason this primitive exists.
        assert.equal((await tf.round(tf.scalar(2.5)).data())[0], 2);
      });

      it('pow2Round: exact at the midpoints 2^(k+½) and at exact powers of two', async () => {
        const xs: number[] = [];
        for (let k = -40; k <= 40; k++) {
          const mid = Math.fround(2 ** (k + 0.5));
          xs.push(2 ** k, ...f32Neighbours(2 ** k), mid, ...f32Neighbours(mid));
        }
        const r = new Random(seed + 1);
        for (let i = 0; i < 2000; i++) xs.push(r.logF32(1e-30, 1e30));
        const out = pow2Round(tf.tensor1d(xs));
        assertSameF32(
          await out.data(),
          xs.map((v) => pow2Exact(Math.fround(v))),
          `pow2Round [seed ${seed}]`,
          xs,
        );
        assert.equal((await pow2Round(tf.scalar(0)).data())[0], 0);
      });

      it('ceilLog2: the bits that index u levels, exact for 1 … 70000', async () => {
        const us = Array.from({ length: 70000 }, (_, i) => i + 1);
        const out = await ceilLog2(tf.tensor1d(us)).data();
        us.forEach((u, i) => {
          const k = out[i]!;
          assert.ok(2 ** k >= u && (k === 0 || 2 ** (k - 1) < u), `ceilLog2(${u}) = ${k}`);
        });
      });
    });
  }
});
