/**
 * wasm's one-pixel AvgPoolGrad (avg_pool_grad.ts: the option-A shortcut's subsampling) against the cpu backend's own
 * kernel (tfjs's loop, independent of mixprec), through tf.grad of tf.avgPool, over strides, odd sizes and both
 * paddings; larger windows must keep the backend's kernel and agree too.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { avgPoolGradStats } from '../../src/backend/kernels/avg_pool_grad';
import { useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();

async function poolGradient(
  x: Float32Array,
  shape: [number, number, number, number],
  window: number,
  stride: [number, number],
  pad: 'valid' | 'same',
  weights: Float32Array,
) {
  const xt = tf.tensor4d(x, shape);
  const grad = tf.grad((v: tf.Tensor) => {
    const pooled = tf.avgPool(v as tf.Tensor4D, window, stride, pad);
    return tf.sum(tf.mul(pooled, tf.tensor(weights.subarray(0, pooled.size), pooled.shape)));
  })(xt);
  const values = (await grad.data()) as Float32Array;
  tf.dispose([xt, grad]);
  return values;
}

describe('wasm AvgPoolGrad, one-pixel windows', () => {
  it('= the cpu backend, every stride and padding; larger windows keep the backend kernel', async () => {
    const r = new Random(seed);
    let onePixelCases = 0;
    for (let t = 0; t < 24; t++) {
      const window = t % 4 === 3 ? 2 : 1;
      const shape: [number, number, number, number] = [r.int(1, 3), r.int(1, 9), r.int(1, 9), r.pick([1, 3, 4, 16])];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const pad = r.pick(['valid', 'same'] as const);
      if (window > Math.min(shape[1], shape[2]) && pad === 'valid') continue;
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.f32(-1, 1));
      const weights = Float32Array.from({ length: x.length }, () => r.f32(-2, 2));
      await useBackend('cpu');
      const cpu = await poolGradient(x, shape, window, stride, pad, weights);
      await useBackend('wasm');
      const before = avgPoolGradStats.calls;
      const wasm = await poolGradient(x, shape, window, stride, pad, weights);
      const what = `shape [${shape}] window ${window} stride [${stride}] ${pad} [seed ${seed}]`;
      assert.equal(avgPoolGradStats.calls - before, window === 1 ? 1 : 0, `${what}: path taken`);
      for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(wasm[i]! - cpu[i]!) <= 1e-6, `${what}: ∂x[${i}] wasm ${wasm[i]}, cpu ${cpu[i]}`);
      if (window === 1) {
        onePixelCases++;
        assert.ok(
          cpu.every((v, i) => Object.is(v, wasm[i])),
          `${what}: one-pixel gradients are exact copies`,
        );
      }
    }
    assert.ok(onePixelCases >= 12, `only ${onePixelCases} one-pixel cases ran`);
  });
});
