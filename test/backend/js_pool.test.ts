/**
 * The JavaScript kernels split among threads (src/backend/kernels/js_pool.ts): the same bits as one thread for the
 * elementwise results and the same sums up to float64 rounding, on a shared heap that may be replaced (growth), with
 * a helper's error reported; and through the wasm quantizer kernels on tensors large enough to be split, against
 * the cpu backend's (inline) kernels.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { JsPool, jsPool } from '../../src/backend/kernels/js_pool';
import { wasmThreadCount } from '../../src/backend';
import { TASK, runTask, type QuantizerParams } from '../../src/backend/kernels/js_pool_tasks';
import { INLINE_PASSES } from '../../src/backend/kernels/batch_norm_math';
import { BATCH_NORM_KERNELS } from '../../src/backend/kernels';
import { useBackend } from '../helpers/backends';
import { quantize } from '../../src/quant';
import { configurations, makeCase } from '../quant/cases';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();

function shared(r: Random, n: number, scale: number, extra: number[] = []): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(n * 4));
  for (let i = 0; i < n; i++) a[i] = i < extra.length ? extra[i]! : Math.fround(r.normal() * scale);
  return a;
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i]!)));

describe('JavaScript kernels on several threads', () => {
  const pool = new JsPool(3);
  after(() => pool.close());

  it('split = one thread: forward and ∂x bit for bit, sums to float64 rounding, for each family', () => {
    const r = new Random(seed);
    const n = 200_003; // not a multiple of the ranges
    const cases: Array<[string, QuantizerParams]> = [
      ['uniform signed, power-of-two step', [0, 1, 1, 0.125, 1.5]],
      ['uniform unsigned, power-of-two step', [0, 0, 1, 0.0625, 1.9]],
      ['uniform unsigned, other step', [0, 0, 1, 0.1237, 1.8]],
      ['pow2 signed with zero', [1, 1, 1, 2 ** -6, 2]],
      ['pow2 unsigned without zero', [1, 0, 0, 2 ** -5, 1]],
    ];
    for (const [what, params] of cases) {
      const x = shared(r, n, 1.2, [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30]);
      const dy = shared(r, n, 1);
      const [outSplit, outOne, dxSplit, dxOne] = [0, 0, 0, 0].map(() => new Float32Array(new SharedArrayBuffer(n * 4)));
      pool.run(TASK.quantize, [x, outSplit!], params);
      runTask(TASK.quantize, [x, outOne!], params);
      assert.ok(sameBits(outSplit!, outOne!), `${what}: forward [seed ${seed}]`);
      const split = pool.run(TASK.quantizeGrad, [dy, x, dxSplit!], params);
      // Without the non-finite inputs the sums are finite and comparable.
      const one = runTask(TASK.quantizeGrad, [dy, x, dxOne!], params);
      assert.ok(sameBits(dxSplit!, dxOne!), `${what}: ∂x [seed ${seed}]`);
      const finite = [x.subarray(7), dy.subarray(7)] as const;
      const s = pool.run(TASK.quantizeGrad, [finite[1], finite[0], dxSplit!.subarray(7)], params);
      const o = runTask(TASK.quantizeGrad, [finite[1], finite[0], dxOne!.subarray(7)], params);
      s.forEach((v, k) => assert.ok(Math.abs(v - o[k]!) <= 1e-9 * (1 + Math.abs(o[k]!)), `${what}: sum ${k} split ${v} one thread ${o[k]}`));
      assert.equal(split.length, one.length);
    }
  });

  it('follows a replaced heap (wasm memory growth), and a failed task names it and leaves the pool working', () => {
    const r = new Random(seed + 1);
    for (let round = 0; round < 3; round++) {
      const x = shared(r, 100_000, 1);
      const [a, b] = [new Float32Array(new SharedArrayBuffer(400_000)), new Float32Array(new SharedArrayBuffer(400_000))];
      pool.run(TASK.quantize, [x, a], [0, 1, 1, 0.25, 1]);
      runTask(TASK.quantize, [x, b], [0, 1, 1, 0.25, 1]);
      assert.ok(sameBits(a, b), `heap ${round}`);
    }
    // Arrays on a heap shared with nothing run inline; an unknown task fails on the main thread's range first.
    assert.throws(() => pool.run(99 as never, [shared(r, 100_000, 1)], [0, 0, 0, 0, 0]), /unknown JavaScript kernel task 99/);
    // The pool still works after the failure.
    const x = shared(r, 100_000, 1);
    const [a, b] = [new Float32Array(new SharedArrayBuffer(400_000)), new Float32Array(new SharedArrayBuffer(400_000))];
    pool.run(TASK.quantize, [x, a], [1, 0, 1, 2 ** -4, 1]);
    runTask(TASK.quantize, [x, b], [1, 0, 1, 2 ** -4, 1]);
    assert.ok(sameBits(a, b));
  });

  it('no answer is missed: thousands of short split tasks, each helper answering about when the main thread ends', () => {
    // A helper that answers between the main thread's check and its wait would leave the main thread asleep until
    // the deadline; the deadline is short here, and running out of it throws.
    const quick = new JsPool(3, 10_000);
    try {
      const r = new Random(seed + 2);
      const n = 1 << 16; // the smallest split size: helpers and main thread end within microseconds of each other
      const heap = new SharedArrayBuffer(2 * n * 4);
      const [x, out] = [new Float32Array(heap, 0, n), new Float32Array(heap, n * 4, n)];
      for (let i = 0; i < n; i++) x[i] = Math.fround(r.normal());
      const expected = new Float32Array(n);
      runTask(TASK.quantize, [x, expected], [0, 1, 1, 0.25, 1]);
      for (let k = 0; k < 12_000; k++) quick.run(TASK.quantize, [x, out], [0, 1, 1, 0.25, 1]);
      assert.equal(quick.splitRuns, 12_000);
      assert.ok(sameBits(out, expected));
    } finally {
      void quick.close();
    }
  });

  it('wasm quantizer kernels on tensors split among threads = the cpu kernels', async () => {
    const r = new Random(seed + 2);
    await useBackend('wasm');
    const splitBefore = jsPool(wasmThreadCount()).splitRuns;
    for (const { kind, signed, withZero } of configurations()) {
      const c = makeCase(r, kind, signed, withZero, 300);
      // The case's boundary inputs, repeated with noise to 2^17 elements (above the split threshold).
      const n = 1 << 17;
      const xs = Float32Array.from({ length: n }, (_, i) => Math.fround(c.x[i % c.x.length]! * (i < c.x.length ? 1 : 1 + 1e-3 * r.normal())));
      const ws = Float32Array.from({ length: n }, () => Math.fround(r.normal()));
      const names = Object.keys(c.params);
      const run = async () => {
        const x = tf.tensor1d(xs);
        const w = tf.tensor1d(ws);
        const params = names.map((k) => tf.scalar(c.params[k as keyof typeof c.params]!));
        const f = (xi: tf.Tensor, ...ps: tf.Tensor[]) =>
          tf.sum(tf.mul(quantize(xi, c.spec, Object.fromEntries(names.map((k, i) => [k, ps[i] as tf.Scalar]))), w));
        const q = quantize(x, c.spec, Object.fromEntries(names.map((k, i) => [k, params[i] as tf.Scalar])));
        const grads = tf.grads(f)([x, ...params]);
        const out = { q: await q.data(), dx: await grads[0]!.data(), dp: await Promise.all(grads.slice(1).map(async (g) => (await g.data())[0]!)) };
        tf.dispose([x, w, q, ...params, ...grads]);
        return out;
      };
      await useBackend('cpu');
      const cpu = await run();
      await useBackend('wasm');
      const wasm = await run();
      const what = `${c.label} [seed ${seed}]`;
      assert.ok(sameBits(wasm.q as Float32Array, cpu.q as Float32Array), `${what}: forward`);
      assert.ok(sameBits(wasm.dx as Float32Array, cpu.dx as Float32Array), `${what}: ∂x`);
      // Parameter gradients: float64 sums in another order, then float32 rounding: equal or neighbours.
      cpu.dp.forEach((g, k) =>
        assert.ok(Math.abs(g - wasm.dp[k]!) <= 4 * 2 ** -24 * Math.abs(g) + 1e-30, `${what}: ∂p${k} wasm ${wasm.dp[k]} cpu ${g}`),
      );
    }
    // Each configuration's forward and backward ran split (when the build has more than one thread).
    if (wasmThreadCount() > 1) assert.ok(jsPool(wasmThreadCount()).splitRuns - splitBefore >= 2 * configurations().length, 'the kernels ran split');
  });

  it("batch norm's passes split by rows = inline: sums to float64 rounding, the affine pass bit for bit", () => {
    const r = new Random(seed + 3);
    for (const c of [3, 16, 64]) {
      const rows = 70_001; // an odd row count: the ranges end on whole rows
      const [x, dy] = [shared(r, rows * c, 1.5), shared(r, rows * c, 1)];
      const mean = Float64Array.from({ length: c }, () => r.normal() * 0.1);
      const close = (a: Float64Array, b: Float64Array, what: string) =>
        a.forEach((v, k) => assert.ok(Math.abs(v - b[k]!) <= 1e-9 * (1 + Math.abs(b[k]!)), `c ${c} ${what}[${k}]: split ${v} inline ${b[k]}`));
      const split = pool.channelPasses();
      close(split.sums(x, c), INLINE_PASSES.sums(x, c), 'Σx');
      close(split.squaredDeviations(x, c, mean), INLINE_PASSES.squaredDeviations(x, c, mean), 'Σ(x−μ)²');
      close(split.gradSums(dy, x, c, mean), INLINE_PASSES.gradSums(dy, x, c, mean), 'Σdy, Σdy(x−μ)');
      const [a, b, c0] = [0, 1, 2].map(() => Float64Array.from({ length: c }, () => r.normal()));
      const [outSplit, outInline] = [0, 1].map(() => new Float32Array(new SharedArrayBuffer(rows * c * 4)));
      split.affine(dy, x, a!, b!, c0!, outSplit!);
      INLINE_PASSES.affine(dy, x, a!, b!, c0!, outInline!);
      assert.ok(sameBits(outSplit!, outInline!), `c ${c}: affine`);
    }
  });

  it('wasm batch-norm kernels on tensors split among threads = the cpu kernels', async () => {
    const r = new Random(seed + 4);
    const shape = [8, 32, 32, 16];
    const size = 8 * 32 * 32 * 16;
    const [xs, dys] = [0, 1].map(() => Float32Array.from({ length: size }, () => Math.fround(r.normal() * 2 + 0.3)));
    const gamma = Float32Array.from({ length: 16 }, () => Math.fround(1 + 0.2 * r.normal()));
    const beta = Float32Array.from({ length: 16 }, () => Math.fround(0.1 * r.normal()));
    const run = async () => {
      const x = tf.tensor(xs!, shape);
      const dy = tf.tensor(dys!, shape);
      const [g, b, rm, rv] = [gamma, beta, new Float32Array(16), new Float32Array(16).fill(1)].map((v) => tf.tensor1d(v));
      const e = tf.engine();
      const [mean, variance, runMean, runVar] = e.runKernel(
        BATCH_NORM_KERNELS.moments,
        { x, runMean: rm!, runVar: rv! },
        { decay: 0.9 },
      ) as tf.Tensor[];
      const y = e.runKernel(BATCH_NORM_KERNELS.normalize, { x, mean: mean!, variance: variance!, gamma: g!, beta: b! }, { eps: 1e-5 }) as tf.Tensor;
      const grads = e.runKernel(BATCH_NORM_KERNELS.grad, { dy, x, gamma: g!, mean: mean!, variance: variance! }, { eps: 1e-5 }) as tf.Tensor[];
      const all = [mean!, variance!, runMean!, runVar!, y, ...grads];
      const values = await Promise.all(all.map((t) => t.data() as Promise<Float32Array>));
      tf.dispose([x, dy, g!, b!, rm!, rv!, ...all]);
      return values;
    };
    await useBackend('cpu');
    const cpu = await run();
    await useBackend('wasm');
    const splitBefore = jsPool(wasmThreadCount()).splitRuns;
    const wasm = await run();
    const names = ['mean', 'variance', 'running mean', 'running variance', 'y', '∂x', '∂γ', '∂β'];
    cpu.forEach((want, k) => {
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      wasm[k]!.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-5 * scale, `${names[k]}[${i}]: wasm ${v} cpu ${want[i]} [seed ${seed}]`));
    });
    // normalize (1 pass) and grad (2) ran split; moments runs on one thread (batch_norm.ts says why)
    if (wasmThreadCount() > 1) assert.equal(jsPool(wasmThreadCount()).splitRuns - splitBefore, 3, 'the batch-norm passes ran split');
  });
});
