/**
 * The uniform quantizer's SIMD passes on the wasm heap (quantize_simd.ts) against the JavaScript loops of
 * quantize_math.ts (themselves tested against the composed tfjs ops in test/quant/fused.test.ts): q and ∂x bit for
 * bit, on inputs crowded at the rounding ties, the clip edges, signed zeros, subnormals and huge values, on one part
 * and split among threads with a scalar tail; the two parameter sums against a float64 sum of the definition's terms.
 * Non-finite inputs must send the caller back to the loops.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { wasmHeapMemory } from '../../src/backend/kernels/conv_geometry';
import type { BackendWasm } from '../../src/backend/kernels/kernel_call';
import { jsPool } from '../../src/backend/kernels/js_pool';
import { roundHalfAway, uniformBackwardSums, uniformForward, type UniformGrid } from '../../src/backend/kernels/quantize_math';
import { quantizeSimdStats, uniformBackwardSimd, uniformForwardSimd, uniformSimdApplies } from '../../src/backend/kernels/quantize_simd';
import { heapOffset } from '../../src/backend/kernels/simd_program';
import { wasmThreadCount } from '../../src/backend/wasm_threads';
import { Random, f32Neighbours, testSeed } from '../helpers/random';

const seed = testSeed();

/** Inputs a fifth of which sit on the grid's hard spots, the rest spread over a few ranges. */
function inputs(r: Random, n: number, g: UniformGrid): Float32Array {
  const top = roundHalfAway(Math.fround(g.X / g.step));
  const special = (): number => {
    const tie = (r.int(-top - 2, top + 2) + 0.5) * g.step;
    return r.pick([
      tie,
      ...f32Neighbours(Math.fround(tie)),
      Math.fround(0.49999997 * g.step),
      -Math.fround(0.49999997 * g.step),
      0,
      -0,
      g.X,
      -g.X,
      ...f32Neighbours(g.X),
      ...f32Neighbours(-g.X),
      (top + 1) * g.step,
      -(top + 1) * g.step,
      1e-45,
      -3e-39,
      3e38,
      -3e38,
      r.int(-top, top) * g.step,
    ]);
  };
  return Float32Array.from({ length: n }, () => (r.next() < 0.2 ? special() : r.next() < 0.5 ? r.f32(-2 * g.X, 2 * g.X) : r.f32(-4, 4) * g.step));
}

const sameBits = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function assertSameBits(actual: Float32Array, expected: Float32Array, x: Float32Array, what: string): void {
  for (let i = 0; i < expected.length; i++)
    if (!sameBits(actual[i]!, expected[i]!)) assert.fail(`${what}: element ${i} (x = ${x[i]}) SIMD ${actual[i]}, loop ${expected[i]} [seed ${seed}]`);
}

/** The parameter sums from the definition, in float64: Σ dy·(q − clip(x)) and Σ dy·([x ≥ X] − [x ≤ −X]). */
function definitionSums(dy: Float32Array, x: Float32Array, q: Float32Array, g: UniformGrid): { sums: [number, number]; scale: [number, number] } {
  const lo = g.signed ? -g.X : 0;
  const sums: [number, number] = [0, 0];
  const scale: [number, number] = [0, 0];
  for (let i = 0; i < x.length; i++) {
    const c = Math.min(Math.max(x[i]!, lo), g.X);
    const t0 = dy[i]! * (q[i]! - c);
    const t1 = dy[i]! * (+(x[i]! >= g.X) - (g.signed ? +(x[i]! <= -g.X) : 0));
    sums[0] += t0;
    sums[1] += t1;
    scale[0] += Math.abs(t0);
    scale[1] += Math.abs(t1);
  }
  return { sums, scale };
}

/** Runs the SIMD passes on copies of the arrays in the wasm heap. */
function onHeap(x: Float32Array, dy: Float32Array, g: UniformGrid) {
  const backend = tf.backend() as unknown as BackendWasm;
  const memory = wasmHeapMemory(backend)!;
  const [xt, dyt, qt, dxt] = [tf.tensor1d(x), tf.tensor1d(dy), tf.zeros([x.length]), tf.zeros([x.length])];
  try {
    const offset = (t: tf.Tensor) => heapOffset(backend, t);
    const finite = uniformForwardSimd(backend, memory, offset(xt), offset(qt), x.length, g);
    const sums = uniformBackwardSimd(backend, memory, { dy: offset(dyt), x: offset(xt), dx: offset(dxt) }, x.length, g);
    return { finite, sums, q: qt.dataSync() as Float32Array, dx: dxt.dataSync() as Float32Array };
  } finally {
    tf.dispose([xt, dyt, qt, dxt]);
  }
}

describe('uniform quantizer SIMD passes (wasm) = the JavaScript loops', () => {
  it('q and ∂x bit for bit, sums = float64 definition; one part, split parts, tails', async () => {
    await initBackend('wasm');
    const r = new Random(seed);
    const threads = wasmThreadCount();
    const splitBefore = jsPool(threads).splitRuns;
    const simdBefore = quantizeSimdStats.backward;
    const grids: UniformGrid[] = [];
    for (const signed of [false, true]) {
      grids.push(
        { step: 2 ** -4, X: 1.5, signed },
        { step: 2 ** -3, X: Math.fround(1.1), signed },
        { step: 1, X: Math.fround(0.3), signed },
        { step: 4, X: 40, signed },
      );
      grids.push({ step: 2 ** r.int(-10, 2), X: r.logF32(0.05, 8), signed });
    }
    let cases = 0;
    for (const g of grids) {
      assert.ok(uniformSimdApplies(g), `grid ${JSON.stringify(g)} should take the SIMD path`);
      for (const n of [1, 3, 4, 7, 300, 4 * (1 << 16) + r.int(1, 3)]) {
        const x = inputs(r, n, g);
        const dy = Float32Array.from({ length: n }, () => (r.next() < 0.05 ? r.pick([0, -0]) : r.f32(-1, 1)));
        const q = new Float32Array(n);
        const dx = new Float32Array(n);
        uniformForward(x, q, g);
        for (let i = 0; i < n; i++) {
          // The literal definition (d a power of two: the division and product are exact in float64).
          const clipped = Math.min(Math.max(x[i]!, g.signed ? -g.X : 0), g.X);
          const literal = roundHalfAway(Math.fround(clipped / g.step)) * g.step;
          assert.ok(sameBits(q[i]!, literal), `${JSON.stringify(g)}: the loop's Q(${x[i]}) = ${q[i]}, definition ${literal}`);
        }
        const loopSums = uniformBackwardSums(dy, x, dx, g);
        const simd = onHeap(x, dy, g);
        const what = `${JSON.stringify(g)} n=${n}`;
        assert.equal(simd.finite, true, `${what}: finite inputs reported non-finite`);
        assertSameBits(simd.q, q, x, `${what} q`);
        assertSameBits(simd.dx, dx, x, `${what} ∂x`);
        const { sums, scale } = definitionSums(dy, x, q, g);
        for (const k of [0, 1]) {
          // Two float64 sums of the same n terms in different orders: within 2·n·2^-53·Σ|term|.
          const tol = 2 * n * 2 ** -53 * scale[k]! + 1e-300;
          assert.ok(Math.abs(simd.sums![k]! - sums[k]!) <= tol, `${what}: sum ${k} SIMD ${simd.sums![k]}, definition ${sums[k]} [seed ${seed}]`);
          assert.ok(Math.abs(loopSums[k]! - sums[k]!) <= tol, `${what}: the loop's sum ${k} ${loopSums[k]} (reference check)`);
        }
        cases++;
      }
    }
    assert.equal(cases, grids.length * 6);
    assert.equal(quantizeSimdStats.backward - simdBefore, cases, 'every case ran the SIMD pass');
    if (threads > 1 && wasmHeapMemory(tf.backend())!.buffer instanceof SharedArrayBuffer)
      assert.ok(jsPool(threads).splitRuns > splitBefore, 'the large cases were split among the threads');
  });

  it('NaN or ±∞ anywhere hands the work back to the loops', async () => {
    await initBackend('wasm');
    const r = new Random(seed + 1);
    const g: UniformGrid = { step: 2 ** -2, X: 2, signed: true };
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const n of [8, 4 * (1 << 16)]) {
        const x = inputs(r, n, g);
        x[r.int(0, n - 1 - (n % 4))] = bad;
        const dy = Float32Array.from({ length: n }, () => r.f32(-1, 1));
        const simd = onHeap(x, dy, g);
        assert.equal(simd.finite, false, `x holding ${bad} (n=${n}): the forward pass must report it`);
        assert.equal(simd.sums, undefined, `x holding ${bad} (n=${n}): the backward pass must report it`);
      }
    }
  });

  it('grids it does not cover are refused (the loops take them)', () => {
    assert.equal(uniformSimdApplies({ step: 0.3, X: 1, signed: false }), false, 'a step that is not a power of two');
    assert.equal(uniformSimdApplies({ step: 2 ** -30, X: 1, signed: true }), false, 'top = X/d above 2^23');
    assert.equal(uniformSimdApplies({ step: 2 ** -120, X: 2 ** -110, signed: true }), false, 'a step near the float32 range end');
    assert.equal(uniformSimdApplies({ step: 1, X: Infinity, signed: true }), false, 'an infinite range');
    assert.equal(uniformSimdApplies({ step: 2 ** -8, X: 4, signed: true }), true);
  });
});
