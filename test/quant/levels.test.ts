/**
 * Quantized values lie on the grid (k·d_q for uniform, ±2^k between xmin and xmax for pow2, plus 0 where the zero
 * level exists), and the inferred bitwidth counts the levels: enough bits for every level, and no more than needed.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bitwidthOf, quantize, type QuantizerSpec } from '../../src/quant';
import { useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';
import { configurations, makeCase } from './cases';

const seed = testSeed();

/** Distinct outputs over a dense sweep of [−extent, extent] with spacing ≤ spacing (every level is hit). */
async function levelsOf(spec: QuantizerSpec, params: Record<string, number>, extent: number, spacing = extent / 10000): Promise<number[]> {
  const n = Math.min(2 * Math.ceil(extent / spacing) + 1, 400001);
  const xs = Array.from({ length: n }, (_, i) => -extent + (2 * extent * i) / (n - 1));
  const q = await quantize(tf.tensor1d(xs), spec, params).data();
  return [...new Set(Array.from(q, (v) => (v === 0 ? 0 : v)))].sort((a, b) => a - b);
}

/** Distinct outputs over ±(log-spaced points, 32 per octave, from lo to hi) and 0. */
async function pow2LevelsOf(spec: QuantizerSpec, params: Record<string, number>, lo: number, hi: number): Promise<number[]> {
  const xs = [0];
  for (let e = Math.log2(lo); e <= Math.log2(hi); e += 1 / 32) xs.push(2 ** e, -(2 ** e));
  const q = await quantize(tf.tensor1d(xs), spec, params).data();
  return [...new Set(Array.from(q, (v) => (v === 0 ? 0 : v)))].sort((a, b) => a - b);
}

const isPow2 = (v: number) => v > 0 && 2 ** Math.round(Math.log2(v)) === v;

describe('grids and level counts', () => {
  before(() => useBackend('cpu'));

  for (const { kind, signed, withZero } of configurations()) {
    it(`${kind} ${signed ? 'signed' : 'unsigned'}${kind.startsWith('P') ? (withZero ? ' with zero' : ' without zero') : ''}`, async () => {
      const r = new Random(seed ^ kind.charCodeAt(1) ^ (signed ? 0x55 : 0));
      for (let trial = 0; trial < 5; trial++) {
        const c = makeCase(r, kind, signed, withZero, 10);
        const where = `${c.label} [seed ${seed}]`;
        const params = c.params as Record<string, number>;
        const bits = (await bitwidthOf(c.spec, params).data())[0]!;
        const bMin = c.cfg.ranges.n[0];
        if (kind.startsWith('U')) {
          const { step, X } = c.ref.grid as { step: number; X: number };
          const levels = await levelsOf(c.spec, params, 2 * X + step, step / 4);
          for (const v of levels) assert.ok(Number.isInteger(v / step), `${v} is not a multiple of d_q = ${step} (${where})`);
          const positive = levels.filter((v) => v > 0).length;
          const R = Math.round(X / step);
          assert.equal(positive, Math.sign(R) * Math.floor(Math.abs(X / step) + 0.5), `positive levels = round(X/d_q) (${where})`);
          assert.equal(levels.length, signed ? 2 * positive + 1 : positive + 1, `levels symmetric around 0 (${where})`);
          if (kind === 'U1') {
            const nq =
              Math.sign(params.n!) * Math.floor(Math.min(Math.max(params.n!, c.cfg.ranges.n[0]), c.cfg.ranges.n[1]) + 0.5) - (signed ? 1 : 0);
            assert.equal(positive, 2 ** nq - 1, `U1 has exactly 2^nq − 1 positive levels (${where})`);
          }
          if (kind === 'U3') {
            const magnitudeBits = bits - (signed ? 1 : 0);
            assert.ok(2 ** magnitudeBits >= positive + 1, `${bits} bits cannot index ${levels.length} levels (${where})`);
            assert.ok(bits === bMin || 2 ** (magnitudeBits - 1) < positive + 1, `${bits} bits is more than needed (${where})`);
          }
        } else {
          const { a, b } = c.ref.grid as { a: number; b: number };
          if (a > b) continue; // xmin > xmax: only before the projection, which restores xmin ≤ xmax
          const levels = await pow2LevelsOf(c.spec, params, a / 8, 4 * b);
          const magnitudes = [...new Set(levels.map(Math.abs))].filter((v) => v !== 0);
          for (const v of magnitudes) assert.ok(isPow2(v) && v >= a && v <= b, `|${v}| is not a power of two in [${a}, ${b}] (${where})`);
          assert.equal(levels.includes(0), withZero || (!signed && false), `zero level present iff withZero (${where})`);
          if (!signed)
            assert.ok(
              levels.every((v) => v >= 0),
              `unsigned output is non-negative (${where})`,
            );
          if (kind === 'P3') {
            const L = Math.round(Math.log2(b / a));
            assert.equal(magnitudes.length, L + 1, `every exponent from xmin to xmax is used (${where})`);
            const exponentBits = bits - (signed ? 1 : 0) - (withZero ? 1 : 0);
            assert.ok(2 ** exponentBits >= L + 1, `${bits} bits cannot index ${L + 1} exponents (${where})`);
            assert.ok(bits === bMin || 2 ** (exponentBits - 1) < L + 1, `${bits} bits is more than needed (${where})`);
          }
        }
      }
    });
  }

  it('U2 can use more levels than its nominal bitwidth (docs/METHOD.md#uniform-parametrizations: unsigned b = 4, X = 1.3 → 21 levels)', async () => {
    const spec: QuantizerSpec = { kind: 'uniform', param: 'b_xmax', signed: false, ranges: { n: [1, 8], xmax: [2 ** -8, 255] } };
    const levels = await levelsOf(spec, { n: 4, xmax: 1.3 }, 3);
    assert.equal(levels.filter((v) => v > 0).length, 21);
    assert.equal((await bitwidthOf(spec, { n: 4, xmax: 1.3 }).data())[0], 4);
  });
});
