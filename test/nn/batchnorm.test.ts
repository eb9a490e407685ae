/**
 * Batch normalisation in training mode: the closed-form gradient (one op) against tfjs autodiff through the moments
 * (the path it replaces), and against central finite differences in float64 arithmetic on a small case.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels } from '../../src/backend';
import { BatchNorm } from '../../src/nn/layers';
import { ModelBuilder } from '../../src/nn/builder';
import { testBackends, useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();

/** A layer of a float model of its own (the builder names the variables). */
const floatBatchNorm = (model: string, scope: string, channels: number) =>
  new BatchNorm(new ModelBuilder(model, { weights: 'float', activations: 'float', weightBits: 4, activationBits: 4 }, 1), scope, channels);

function gradients(x: tf.Tensor4D, w: tf.Tensor4D, bn: BatchNorm) {
  const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    // The layer with its γ and β replaced by the inputs being differentiated.
    const layer = Object.create(bn) as BatchNorm;
    Object.defineProperty(layer, 'gamma', { value: g });
    Object.defineProperty(layer, 'beta', { value: b });
    return tf.sum(tf.mul(layer.apply(xi as tf.Tensor4D, true), w));
  };
  return tf.grads(f)([x, bn.gamma, bn.beta]);
}

describe('BatchNorm training gradient', () => {
  after(() => useFastKernels(true));
  {
    it('closed form = autodiff through the moments, on every backend', async () => {
      for (const backend of await testBackends()) {
        await useBackend(backend);
        const r = new Random(seed);
        for (const shape of [
          [2, 3, 4, 5],
          [4, 8, 8, 16],
          [1, 1, 3, 2],
        ] as [number, number, number, number][]) {
          const size = shape.reduce((a, b) => a * b, 1);
          const x = tf.tensor4d(
            Float32Array.from({ length: size }, () => r.normal() * 3 + 1),
            shape,
          );
          const w = tf.tensor4d(
            Float32Array.from({ length: size }, () => r.normal()),
            shape,
          );
          const bn = floatBatchNorm('bn', `bn${shape.join('x')}`, shape[3]);
          bn.gamma.assign(tf.tensor1d(Array.from({ length: shape[3] }, () => 0.5 + r.next())));
          useFastKernels(false);
          const slow = await Promise.all(gradients(x, w, bn).map((g) => g.data()));
          useFastKernels(true);
          const fast = await Promise.all(gradients(x, w, bn).map((g) => g.data()));
          ['x', 'gamma', 'beta'].forEach((name, k) => {
            const scale = Math.max(...Array.from(slow[k]!, Math.abs), 1e-3);
            for (let i = 0; i < slow[k]!.length; i++) {
              assert.ok(
                Math.abs(fast[k]![i]! - slow[k]![i]!) <= 2e-5 * scale + 1e-6,
                `${backend} ${shape} ∂${name}[${i}]: closed form ${fast[k]![i]}, autodiff ${slow[k]![i]} [seed ${seed}]`,
              );
            }
          });
          tf.dispose([x, w]);
        }
      }
    });
  }

  it('fused kernels: output and running statistics = the float64 definition, on every backend', async () => {
    for (const backend of await testBackends()) {
      await useBackend(backend);
      const r = new Random(seed + 2);
      // [16, 16, 16, 8]: 4,096 rows, so the WebGPU sums split into chunks.
      for (const shape of [
        [2, 3, 4, 5],
        [16, 16, 16, 8],
        [1, 1, 1, 3],
      ] as [number, number, number, number][]) {
        const size = shape.reduce((a, b) => a * b, 1);
        const c = shape[3];
        const xs = Float32Array.from({ length: size }, () => r.normal() * 2 + 3);
        const bn = floatBatchNorm('bnf', `bnf${shape.join('x')}`, c);
        const gamma = Array.from({ length: c }, () => 0.5 + r.next());
        const beta = Array.from({ length: c }, () => r.normal());
        const runMean = Array.from({ length: c }, () => r.normal());
        const runVar = Array.from({ length: c }, () => 0.5 + r.next());
        bn.gamma.assign(tf.tensor1d(gamma));
        bn.beta.assign(tf.tensor1d(beta));
        bn.mean.assign(tf.tensor1d(runMean));
        bn.variance.assign(tf.tensor1d(runVar));
        const x = tf.tensor4d(xs, shape);
        const before = tf.memory().numTensors;
        const yT = tf.tidy(() => bn.apply(x, true));
        assert.equal(tf.memory().numTensors, before + 1, `${backend}: the training-mode path leaks tensors`);
        const y = await yT.data();
        yT.dispose();
        const [m1, v1] = [await bn.mean.data(), await bn.variance.data()];
        const n = size / c;
        for (let k = 0; k < c; k++) {
          let mu = 0;
          for (let i = k; i < size; i += c) mu += xs[i]!;
          mu /= n;
          let sq = 0;
          for (let i = k; i < size; i += c) sq += (xs[i]! - mu) ** 2;
          const variance = sq / n;
          const what = `${backend} ${shape} channel ${k} [seed ${seed}]`;
          const close = (a: number, b: number, tol: number, name: string) =>
            assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${name} ${a}, float64 ${b}`);
          close(m1[k]!, 0.9 * runMean[k]! + 0.1 * mu, 1e-5, 'running mean');
          close(v1[k]!, 0.9 * runVar[k]! + 0.1 * variance * (n / Math.max(n - 1, 1)), 1e-5, 'running variance');
          for (let i = k; i < size; i += c) close(y[i]!, (gamma[k]! * (xs[i]! - mu)) / Math.sqrt(variance + 1e-5) + beta[k]!, 1e-4, `y[${i}]`);
        }
        tf.dispose(x);
      }
    }
  });

  it('closed form = central finite differences (float64 loss)', async () => {
    await useBackend('cpu');
    const r = new Random(seed + 1);
    const shape: [number, number, number, number] = [3, 2, 2, 2];
    const xs = Array.from({ length: 24 }, () => r.normal());
    const ws = Array.from({ length: 24 }, () => r.normal());
    const gamma = [1.3, 0.7];
    const beta = [0.1, -0.2];
    // y = γ(x − μ)/√(σ² + ε) + β per channel, loss = Σ w·y, all in float64.
    const loss = (v: number[]) => {
      let total = 0;
      for (let c = 0; c < 2; c++) {
        const vals = v.filter((_, i) => i % 2 === c);
        const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
        const varc = vals.reduce((a, b) => a + (b - mu) ** 2, 0) / vals.length;
        v.forEach((xi, i) => {
          if (i % 2 === c) total += ws[i]! * ((gamma[c]! * (xi - mu)) / Math.sqrt(varc + 1e-5) + beta[c]!);
        });
      }
      return total;
    };
    const bn = floatBatchNorm('bnfd', 'fd', 2);
    bn.gamma.assign(tf.tensor1d(gamma));
    bn.beta.assign(tf.tensor1d(beta));
    const x = tf.tensor4d(xs, shape);
    const w = tf.tensor4d(ws, shape);
    const dx = await gradients(x, w, bn)[0]!.data();
    for (let i = 0; i < 24; i++) {
      const h = 1e-6;
      const up = [...xs];
      up[i]! += h;
      const down = [...xs];
      down[i]! -= h;
      const fd = (loss(up) - loss(down)) / (2 * h);
      assert.ok(Math.abs(dx[i]! - fd) <= 1e-4 * Math.max(1, Math.abs(fd)), `∂x[${i}]: ${dx[i]} vs finite difference ${fd}`);
    }
    tf.dispose([x, w]);
  });
});
