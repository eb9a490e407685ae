/** The fixed baselines against nnabla's fixed_point_quantize / pow2_quantize semantics, on every backend. */
import { describe, it, before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { bitwidthOf, quantize, type QuantizerSpec } from '../../src/quant';
import { testBackends, useBackend } from '../helpers/backends';
import { f32Neighbours, Random, testSeed } from '../helpers/random';
import { assertSameF32 } from '../helpers/assert';
import { fixedPointRef, pow2FixedRef } from './reference';
import * as assert from 'node:assert/strict';

const seed = testSeed();

function inputs(r: Random, scale: number, special: number[]): number[] {
  const xs = [0, -0];
  for (const s of special) xs.push(s, -s, ...f32Neighbours(s), ...f32Neighbours(-s));
  while (xs.length < 600) xs.push(Math.fround(r.normal() * scale));
  return xs;
}

describe('fixed baselines (docs/METHOD.md#fixed-baselines)', async () => {
  for (const backend of await testBackends()) {
    describe(`on ${backend}`, () => {
      before(() => useBackend(backend));

      it('fp: F.fixed_point_quantize forward and fine-grained STE', async () => {
        const r = new Random(seed);
        for (const signed of [true, false]) {
          for (let trial = 0; trial < 6; trial++) {
            const n = r.int(2, 8);
            const d = 2 ** r.int(-8, -1);
            const max = (2 ** (signed ? n - 1 : n) - 1) * d;
            const spec: QuantizerSpec = { kind: 'fp', signed, init: { n, d } };
            const xs = inputs(r, max, [max, 2 * max, d / 2, 1.5 * d, Math.fround(d * (0.5 - 2 ** -25))]);
            const ref = xs.map((x) => fixedPointRef(x, signed, n, d));
            const w = xs.map(() => Math.fround(r.normal()));
            const x = tf.tensor1d(xs);
            const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(quantize(t, spec), tf.tensor1d(w))))([x]);
            const where = `fp n=${n} d=${d} signed=${signed} [seed ${seed}]`;
            assertSameF32(
              await quantize(x, spec).data(),
              ref.map((e) => e.q),
              `q ${where}`,
              xs,
            );
            assertSameF32(
              await dx!.data(),
              ref.map((e, i) => e.dqdx * w[i]!),
              `dx ${where}`,
              xs,
            );
            assert.equal((await bitwidthOf(spec).data())[0], n);
          }
        }
      });

      it('pow2fixed: F.pow2_quantize forward and fine-grained STE, with and without zero', async () => {
        const r = new Random(seed + 7);
        for (const signed of [true, false]) {
          for (const withZero of [true, false]) {
            for (let trial = 0; trial < 6; trial++) {
              const n = r.int(2 + (signed ? 1 : 0), 6);
              const m = r.int(-3, 3);
              const spec: QuantizerSpec = { kind: 'pow2fixed', signed, withZero, init: { n, xmax: 2 ** m } };
              const nq = n - (signed ? 1 : 0) - (withZero ? 1 : 0);
              const pMin = 2 ** (m - (2 ** nq - 1));
              const xs = inputs(r, 2 ** m, [2 ** m, 2 ** m * Math.SQRT2, pMin, Math.fround(pMin * Math.SQRT1_2), 2 ** (m - 0.5)].map(Math.fround));
              const ref = xs.map((x) => pow2FixedRef(x, signed, withZero, n, m));
              const w = xs.map(() => Math.fround(r.normal()));
              const x = tf.tensor1d(xs);
              const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(quantize(t, spec), tf.tensor1d(w))))([x]);
              const where = `pow2 n=${n} m=${m} signed=${signed} zero=${withZero} [seed ${seed}]`;
              assertSameF32(
                await quantize(x, spec).data(),
                ref.map((e) => e.q),
                `q ${where}`,
                xs,
              );
              assertSameF32(
                await dx!.data(),
                ref.map((e, i) => e.dqdx * w[i]!),
                `dx ${where}`,
                xs,
              );
            }
          }
        }
      });

      it('float is the identity with gradient 1 and 32 bits', async () => {
        const xs = [-3, 0.1, 7e-20, 1e30];
        const spec: QuantizerSpec = { kind: 'float', signed: true };
        const x = tf.tensor1d(xs);
        assertSameF32(await quantize(x, spec).data(), xs, 'float');
        const [dx] = tf.grads((t: tf.Tensor) => tf.sum(quantize(t, spec)))([x]);
        assertSameF32(await dx!.data(), [1, 1, 1, 1], 'float dx');
        assert.equal((await bitwidthOf(spec).data())[0], 32);
      });
    });
  }
});
