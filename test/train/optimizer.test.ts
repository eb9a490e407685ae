/** The solvers follow nnabla's update rules (not tf.train's), checked against float64 formulas. */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adamSolver, momentumSolver, withWeightDecay } from '../../src/train/optimizer';
import { learningRateAt } from '../../src/train/schedule';
import { testBackends, useBackend } from '../helpers/backends';
import { fusedMomentum, useFastKernels } from '../../src/backend';
import { assertClose } from '../helpers/assert';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();

describe('nnabla solvers', () => {
  before(() => useBackend('cpu'));

  it('Momentum: v ← m·v + lr·g, w ← w − v, across a learning-rate drop (where tf.train.momentum differs)', async () => {
    const r = new Random(seed);
    const w0 = Array.from({ length: 5 }, () => r.f32(-1, 1));
    const gs = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => r.f32(-1, 1)));
    const lrs = [0.1, 0.1, 0.1, 0.01, 0.01, 0.01];
    const w = tf.variable(tf.tensor1d(w0));
    const solver = momentumSolver(0.1, 0.9);
    const ref = [...w0];
    const v = [0, 0, 0, 0, 0];
    for (let t = 0; t < gs.length; t++) {
      solver.learningRate = lrs[t]!;
      solver.update([{ name: 'w', variable: w, grad: tf.tensor1d(gs[t]!) }]);
      for (let i = 0; i < 5; i++) {
        v[i] = 0.9 * v[i]! + lrs[t]! * gs[t]![i]!;
        ref[i] = ref[i]! - v[i]!;
      }
    }
    const got = await w.data();
    ref.forEach((e, i) => assertClose(got[i]!, e, `w[${i}] [seed ${seed}]`, { rtol: 1e-5, atol: 1e-6 }));
    // tf.train.momentum's rule (a ← m·a + g; w ← w − lr·a) gives the same result at a constant rate but not after
    // the drop, which is why the solver is nnabla's own.
    const tfw = [...w0];
    const acc = [0, 0, 0, 0, 0];
    for (let t = 0; t < gs.length; t++) {
      for (let i = 0; i < 5; i++) {
        acc[i] = 0.9 * acc[i]! + gs[t]![i]!;
        tfw[i] = tfw[i]! - lrs[t]! * acc[i]!;
      }
    }
    const tfGot = tfw;
    assert.ok(
      ref.some((e, i) => Math.abs(tfGot[i]! - e) > 1e-3),
      'tf.train.momentum differs after the learning-rate drop',
    );
  });

  it('Adam: bias-corrected step alpha·√(1−β2^t)/(1−β1^t), eps outside the square root', async () => {
    const r = new Random(seed + 1);
    const w0 = Array.from({ length: 4 }, () => r.f32(-1, 1));
    const w = tf.variable(tf.tensor1d(w0));
    const solver = adamSolver(0.001);
    const ref = [...w0];
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    for (let t = 1; t <= 5; t++) {
      const g = Array.from({ length: 4 }, () => r.f32(-1, 1) * 10 ** r.int(-3, 1));
      solver.update([{ name: 'w', variable: w, grad: tf.tensor1d(g) }]);
      const alphaT = (0.001 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      for (let i = 0; i < 4; i++) {
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        ref[i] = ref[i]! - (alphaT * m[i]!) / (Math.sqrt(v[i]!) + 1e-8);
      }
    }
    const got = await w.data();
    ref.forEach((e, i) => assertClose(got[i]!, e, `w[${i}] [seed ${seed}]`, { rtol: 1e-5, atol: 1e-7 }));
    const state = await solver.state();
    assert.deepEqual(Array.from(state['optimizer/adam/t']!.data), [5]);
  });

  it('state round-trips: a restored solver continues exactly', async () => {
    const w = tf.variable(tf.tensor1d([0.5, -0.25]));
    const a = momentumSolver(0.1);
    a.update([{ name: 'p', variable: w, grad: tf.tensor1d([1, 2]) }]);
    const saved = await a.state();
    const b = momentumSolver(0.1);
    b.restore(saved, ['p']);
    const w2 = tf.variable(w.clone());
    a.update([{ name: 'p', variable: w, grad: tf.tensor1d([0.3, 0.1]) }]);
    b.update([{ name: 'p', variable: w2, grad: tf.tensor1d([0.3, 0.1]) }]);
    assert.deepEqual(Array.from(await w.data()), Array.from(await w2.data()));
    assert.throws(() => momentumSolver(0.1).restore(saved, ['p', 'q']), /lacks optimizer\/momentum\/v\/q/);
  });

  it('coupled weight decay adds wd·w to the gradient', async () => {
    const g = withWeightDecay(tf.tensor1d([1, -1]), tf.tensor1d([2, 4]), 0.5);
    assert.deepEqual(Array.from(await g.data()), [2, 1]);
  });
});

describe('learning-rate schedule', () => {
  it('the code: lr0 for 80 epochs, lr0/10 for 40, lr0/100 for 40 — and the same fractions for shorter runs', () => {
    const s = { kind: 'step' as const, milestones: [0.5, 0.75], factor: 0.1 };
    const lrs = Array.from({ length: 160 }, (_, e) => learningRateAt(s, 0.1, e, 160));
    assert.equal(lrs.filter((x) => x === 0.1).length, 80);
    assert.equal(lrs.filter((x) => Math.abs(x - 0.01) < 1e-12).length, 40);
    assert.equal(lrs.filter((x) => Math.abs(x - 0.001) < 1e-12).length, 40);
    assert.deepEqual(
      Array.from({ length: 8 }, (_, e) => +learningRateAt(s, 1, e, 8).toFixed(6)),
      [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01],
    );
    assert.equal(learningRateAt({ kind: 'constant' }, 0.3, 99, 100), 0.3);
    assert.ok(Math.abs(learningRateAt({ kind: 'cosine', minFactor: 0 }, 1, 50, 100) - 0.5) < 1e-12);
  });
});

describe('the fused momentum update (MixprecMomentumUpdate), on every backend', async () => {
  const backends = await testBackends();
  const r = new Random(seed ^ 0x5eed);
  const n = 4099; // not a multiple of a workgroup
  const v0 = Array.from({ length: n }, () => r.f32(-1, 1));
  const g0 = Array.from({ length: n }, () => r.f32(-1, 1));
  const w0 = Array.from({ length: n }, () => r.f32(-2, 2));
  const attrs = { momentum: 0.9, lr: 0.0123, decay: 5e-4 };
  /** One solver step from (v0, w0) with gradient g0: the fused kernel when `fast`, the composed tfjs ops otherwise. */
  const step = async (fast: boolean, decay: number) => {
    useFastKernels(fast);
    try {
      const solver = momentumSolver(attrs.lr, attrs.momentum);
      const w = tf.variable(tf.tensor(w0, [n]));
      solver.restore({ 'optimizer/momentum/v/w': { dtype: 'F32', shape: [n], data: Float32Array.from(v0) } }, ['w']);
      const g = tf.tensor(g0, [n]);
      solver.update([{ name: 'w', variable: w, grad: g, decay }]);
      const state = await solver.state();
      const out = { w: (await w.data()) as Float32Array, v: state['optimizer/momentum/v/w']!.data as Float32Array };
      tf.dispose([w, g]);
      solver.dispose();
      return out;
    } finally {
      useFastKernels(true);
    }
  };
  for (const backend of backends) {
    it(`${backend}: v' = v·m + (g + w·wd)·lr, w' = w − v' — the composed ops' bits on cpu and wasm, within 2 ulp on webgpu`, async () => {
      await useBackend(backend);
      assert.ok(fusedMomentum(), `${backend} runs the fused kernel`);
      for (const decay of [attrs.decay, 0]) {
        const fused = await step(true, decay);
        const composed = await step(false, decay);
        for (let i = 0; i < n; i++) {
          // float64 reference of the velocity
          const ref = v0[i]! * attrs.momentum + (g0[i]! + w0[i]! * decay) * attrs.lr;
          assertClose(fused.v[i]!, ref, `v[${i}] vs float64 (${backend}, decay ${decay})`, { rtol: 1e-6, atol: 1e-9 });
          if (backend === 'webgpu') {
            assertClose(fused.v[i]!, composed.v[i]!, `v[${i}] fused vs composed (webgpu, decay ${decay})`, { rtol: 2.5e-7, atol: 1e-12 });
          } else {
            assert.ok(
              Object.is(fused.v[i], composed.v[i]) && Object.is(fused.w[i], composed.w[i]),
              `[${i}] fused ${fused.v[i]}/${fused.w[i]} vs composed ${composed.v[i]}/${composed.w[i]} (${backend}, decay ${decay})`,
            );
          }
        }
      }
    });
  }
});
