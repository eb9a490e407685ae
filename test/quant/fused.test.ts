/**
 * The fused parametric quantizer kernels (one forward and one backward kernel per quantizer, the grid and its chain
 * rule inside them; cpu, wasm and webgpu) against the composed
 * tfjs ops they replace, on the boundary-heavy cases of cases.ts: forward values and ∂x bit for bit (signed zeros and
 * NaN included), parameter gradients equal within the float32 rounding error of their sums. Also: the fused path really runs
 * (kernel counts), and a training step of a quantized model gives the same loss both ways.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels } from '../../src/backend';
import { quantize } from '../../src/quant';
import { createModel } from '../../src/nn';
import { testBackends, useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';
import { configurations, makeCase } from './cases';

const seed = testSeed();

async function run(c: ReturnType<typeof makeCase>, extra: number[]) {
  const names = Object.keys(c.params);
  const x = tf.tensor1d([...c.x, ...extra]);
  const w = tf.tensor1d([...c.w, ...extra.map(() => 0.5)]);
  const params = names.map((k) => tf.scalar(c.params[k as keyof typeof c.params]!));
  const f = (xi: tf.Tensor, ...ps: tf.Tensor[]) =>
    tf.sum(tf.mul(quantize(xi, c.spec, Object.fromEntries(names.map((k, i) => [k, ps[i] as tf.Scalar]))), w));
  const q = quantize(x, c.spec, Object.fromEntries(names.map((k, i) => [k, params[i] as tf.Scalar])));
  const grads = tf.grads(f)([x, ...params]);
  const out = { q: await q.data(), dx: await grads[0]!.data(), dp: await Promise.all(grads.slice(1).map(async (g) => (await g.data())[0]!)) };
  tf.dispose([x, w, q, ...params, ...grads]);
  return out;
}

const sameBits = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('fused quantizer kernels = composed ops', () => {
  after(() => useFastKernels(true));
  it('forward bit-identical, gradients equal, every configuration, on every backend', async () => {
    for (const backend of await testBackends()) {
      await useBackend(backend);
      const r = new Random(seed);
      let cases = 0;
      for (const { kind, signed, withZero } of configurations()) {
        for (let t = 0; t < 12; t++) {
          const c = makeCase(r, kind, signed, withZero, 300);
          const extra = t === 0 ? [NaN, Infinity, -Infinity] : [];
          useFastKernels(false);
          const composed = await run(c, extra);
          useFastKernels(true);
          const before = tf.memory().numTensors;
          const fused = await run(c, extra);
          assert.equal(tf.memory().numTensors, before, `${c.label}: the fused path leaks tensors`);
          const what = `${backend} ${c.label} [seed ${seed}]`;
          for (let i = 0; i < composed.q.length; i++) {
            assert.ok(
              sameBits(fused.q[i]!, composed.q[i]!),
              `${what}: Q(${c.x[i] ?? extra[i - c.x.length]}) fused ${fused.q[i]} composed ${composed.q[i]}`,
            );
            assert.ok(
              sameBits(fused.dx[i]!, composed.dx[i]!),
              `${what}: ∂x at ${c.x[i] ?? extra[i - c.x.length]} fused ${fused.dx[i]} composed ${composed.dx[i]}`,
            );
          }
          // Parameter gradients are sums over the tensor, accumulated in float32 (composed) or float64 (fused): they
          // agree to the float32 summation error, bounded by n·ε·Σ|terms| (the terms from the float64 reference).
          const names = Object.keys(c.params);
          composed.dp.forEach((g, k) => {
            const terms = c.x.reduce((sum, xi, i) => sum + Math.abs(c.w[i]! * (c.ref.element(xi).dqdp[names[k]!] ?? 0)), 0);
            const tol = c.x.length * 2 ** -24 * terms + 1e-6 * Math.abs(g);
            assert.ok(
              sameBits(g, fused.dp[k]!) || Math.abs(g - fused.dp[k]!) <= tol,
              `${what}: ∂${Object.keys(c.params)[k]} fused ${fused.dp[k]} composed ${g}`,
            );
          });
          cases++;
        }
      }
      assert.ok(cases >= 100);
    }
  });

  it('the fused kernels run: one forward and one backward kernel per quantizer', async () => {
    await useBackend('wasm');
    const model = createModel('resnet20', {
      inputShape: [8, 8, 3],
      numClasses: 10,
      quantization: { weights: 'U3', activations: 'P3', weightBits: 4, activationBits: 4 },
    });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const count = async () => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(x, true)) as tf.Scalar);
        tf.dispose([value, ...Object.values(grads)]);
      });
      const by = (name: string) => info.kernels.filter((k) => k.name === name).length;
      return {
        quantize: by('MixprecParametricQuantize'),
        quantizeGrad: by('MixprecParametricQuantizeGrad'),
        total: info.kernels.length,
      };
    };
    const fast = await count();
    useFastKernels(false);
    const slow = await count();
    useFastKernels(true);
    const slots = model.quantizers;
    assert.equal(fast.quantize, slots.length);
    assert.equal(fast.quantizeGrad, slots.length);
    assert.equal(slow.quantize + slow.quantizeGrad, 0);
    assert.ok(fast.total < slow.total * 0.7, `kernels per step: fused ${fast.total}, composed ${slow.total}`);
    tf.dispose(x);
    model.dispose();
  });
});
