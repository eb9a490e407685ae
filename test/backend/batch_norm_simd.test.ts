/**
 * Batch norm's SIMD passes on the wasm heap (batch_norm_simd.ts) against the loops of batch_norm_math.ts (which
 * test/nn/batchnorm.test.ts holds to the float64 definition and to finite differences): the affine pass bit for bit,
 * the per-channel sums against float64 sums of the same terms, for channel counts with and without a program, on one
 * part and split among threads.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { wasmHeapMemory } from '../../src/backend/kernels/conv_geometry';
import type { BackendWasm } from '../../src/backend/kernels/kernel_call';
import { INLINE_PASSES, type ChannelPasses } from '../../src/backend/kernels/batch_norm_math';
import { MAX_SIMD_CHANNELS, batchNormSimdApplies, batchNormSimdStats, simdChannelPasses } from '../../src/backend/kernels/batch_norm_simd';
import { jsPool } from '../../src/backend/kernels/js_pool';
import { wasmThreadCount } from '../../src/backend/wasm_threads';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();

/** Counts the loops' calls, to tell which path a pass took. */
function countingLoops(): { passes: ChannelPasses; calls: () => number } {
  let calls = 0;
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A) => {
      calls++;
      return fn(...args);
    };
  return {
    passes: {
      sums: wrap(INLINE_PASSES.sums),
      squaredDeviations: wrap(INLINE_PASSES.squaredDeviations),
      gradSums: wrap(INLINE_PASSES.gradSums),
      affine: wrap(INLINE_PASSES.affine),
    },
    calls: () => calls,
  };
}

/** Two float64 sums of the same `terms` terms in different orders differ by at most 2·terms·2^-53·Σ|term|. */
function assertClose(actual: Float64Array, expected: Float64Array, scale: Float64Array, terms: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let k = 0; k < expected.length; k++) {
    const tol = 2 * terms * 2 ** -53 * scale[k]! + 1e-300;
    assert.ok(Math.abs(actual[k]! - expected[k]!) <= tol, `${what}[${k}]: SIMD ${actual[k]}, float64 ${expected[k]} [seed ${seed}]`);
  }
}

describe('batch norm SIMD passes (wasm) = the loops', () => {
  it('sums, squared deviations, gradient sums and both affine passes, over channel counts and row splits', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const memory = wasmHeapMemory(backend)!;
    const r = new Random(seed);
    const threads = wasmThreadCount();
    const splitBefore = jsPool(threads).splitRuns;
    const simdBefore = batchNormSimdStats.affine;
    let simdCases = 0;
    for (const c of [4, 8, 12, 16, 32, 64, MAX_SIMD_CHANNELS, 6, 3, MAX_SIMD_CHANNELS + 4]) {
      for (const rows of [1, 5, Math.ceil((3 << 16) / c) + r.int(0, 3)]) {
        const n = rows * c;
        // Offsets far from zero per channel, so that the deviations are small against the values (where sums lose most).
        const centre = Array.from({ length: c }, () => r.f32(-50, 50));
        const fill = (spread: number) => Float32Array.from({ length: n }, (_, i) => centre[i % c]! * (spread === 1 ? 1 : 0) + r.f32(-spread, spread));
        const [xt, dyt, outt, out2t] = [tf.tensor1d(fill(1)), tf.tensor1d(fill(0.5)), tf.zeros([n]), tf.zeros([n])];
        try {
          const loops = countingLoops();
          // Passes first (they reserve heap scratch), then the views.
          const simd = simdChannelPasses(backend, memory, c, loops.passes);
          const view = (t: tf.Tensor) => backend.typedArrayFromHeap(t) as Float32Array;
          const [x, dy, out, out2] = [view(xt), view(dyt), view(outt), view(out2t)];
          const mean = Float64Array.from(centre, (v) => v + r.f32(-0.1, 0.1));
          const [a, b, c0] = [0, 1, 2].map(() => Float64Array.from({ length: c }, () => r.uniform(-2, 2)));
          const what = `c=${c} rows=${rows}`;
          // float64 sums of the definition's terms, and of their magnitudes for the tolerance.
          const def = { s: new Float64Array(c), sq: new Float64Array(c), sb: new Float64Array(c), sg: new Float64Array(c) };
          const mag = { s: new Float64Array(c), sq: new Float64Array(c), sb: new Float64Array(c), sg: new Float64Array(c) };
          for (let i = 0; i < n; i++) {
            const k = i % c;
            const d = x[i]! - mean[k]!;
            const terms = { s: x[i]!, sq: d * d, sb: dy[i]!, sg: dy[i]! * d };
            for (const key of ['s', 'sq', 'sb', 'sg'] as const) {
              def[key][k]! += terms[key];
              mag[key][k]! += Math.abs(terms[key]);
            }
          }
          assertClose(simd.sums(x, c), def.s, mag.s, rows, `${what} Σx`);
          assertClose(simd.squaredDeviations(x, c, mean), def.sq, mag.sq, rows, `${what} Σ(x − μ)²`);
          const g = simd.gradSums(dy, x, c, mean);
          assertClose(g.subarray(0, c), def.sb, mag.sb, rows, `${what} Σdy`);
          assertClose(g.subarray(c), def.sg, mag.sg, rows, `${what} Σdy·(x − μ)`);
          simd.affine(x, null, a!, b!, c0!, out);
          simd.affine(dy, x, a!, b!, c0!, out2);
          const [ref, ref2] = [new Float32Array(n), new Float32Array(n)];
          INLINE_PASSES.affine(x, null, a!, b!, c0!, ref);
          INLINE_PASSES.affine(dy, x, a!, b!, c0!, ref2);
          for (let i = 0; i < n; i++) {
            if (!Object.is(out[i], ref[i])) assert.fail(`${what}: a·u + c0 at ${i}: SIMD ${out[i]}, loop ${ref[i]} [seed ${seed}]`);
            if (!Object.is(out2[i], ref2[i])) assert.fail(`${what}: a·u + b·v + c0 at ${i}: SIMD ${out2[i]}, loop ${ref2[i]} [seed ${seed}]`);
          }
          assert.equal(loops.calls(), batchNormSimdApplies(c) ? 0 : 5, `${what}: passes taken by the loops`);
          if (batchNormSimdApplies(c)) simdCases++;
        } finally {
          tf.dispose([xt, dyt, outt, out2t]);
        }
      }
    }
    assert.equal(batchNormSimdStats.affine - simdBefore, 2 * simdCases, 'the SIMD affine pass ran for every covered case');
    // Kept on one thread (moments): the same sums, no split.
    const rows = 1 << 14;
    const xt = tf.tensor1d(Float32Array.from({ length: rows * 16 }, () => r.f32(-3, 3)));
    try {
      const oneThread = simdChannelPasses(backend, memory, 16, INLINE_PASSES, false);
      const x = backend.typedArrayFromHeap(xt) as Float32Array;
      const splitRuns = jsPool(threads).splitRuns;
      const sums = oneThread.sums(x, 16);
      assert.equal(jsPool(threads).splitRuns, splitRuns, 'split false ran on one thread');
      const expected = INLINE_PASSES.sums(x, 16);
      assertClose(
        sums,
        expected,
        Float64Array.from(expected, () => 3 * rows),
        rows,
        'one thread Σx',
      );
    } finally {
      xt.dispose();
    }
    if (threads > 1 && memory.buffer instanceof SharedArrayBuffer) assert.ok(jsPool(threads).splitRuns > splitBefore, 'the large cases were split');
  });
});
