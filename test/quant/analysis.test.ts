/**
 * The analysis behind Fig. 1 and Fig. 2: the library's autodiff per x against the paper's closed forms (float64,
 * written out here again from docs/METHOD.md#uniform-quantizer-in-the-paper,
 * docs/METHOD.md#power-of-two-quantizer-in-the-paper and docs/METHOD.md#maximum-gradient-norm, independently of
 * src/quant/analysis.ts), on grids that include the
 * half steps and the points beyond the range, for several θ.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/backend';
import {
  gradientCurve,
  maxGradientNormAutodiff,
  maxGradientNormClosedForm,
  maxNormProbePoints,
  paperValues,
  transferCurve,
} from '../../src/quant/analysis';
import type { ShortName } from '../../src/quant';

const LN2 = Math.LN2;

/** (3a)–(3c) and P1/P2/P3 of docs/METHOD.md#power-of-two-quantizer, for signed quantizers, evaluated at a float32 x. */
function reference(short: ShortName, b: number, d: number, qmax: number, x: number): Record<string, number> {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const h = 2 ** (b - 1);
  if (short[0] === 'U') {
    const Q = a <= qmax ? s * d * Math.floor(a / d + 0.5) : s * qmax;
    const inside = a <= qmax;
    if (short === 'U1') return inside ? { Q, b: 0, d: (Q - x) / d } : { Q, b: h * LN2 * d * s, d: (h - 1) * s };
    if (short === 'U2') return inside ? { Q, b: -((h * LN2) / (h - 1)) * (Q - x), qmax: (Q - x) / qmax } : { Q, b: 0, qmax: s };
    return inside ? { Q, d: (Q - x) / d, qmax: 0 } : { Q, d: 0, qmax: s };
  }
  const qmin = 2 ** (1 - h) * qmax;
  const Q = a <= qmin ? s * qmin : a <= qmax ? s * 2 ** Math.floor(0.5 + Math.log2(a)) : s * qmax;
  const lo = a <= qmin ? 1 : 0;
  const hi = a > qmax ? 1 : 0;
  if (short === 'P1') return { Q, b: -s * qmin * h * LN2 * LN2 * lo, qmax: s * (2 ** (1 - h) * lo + hi) };
  if (short === 'P2') return { Q, b: s * qmax * h * LN2 * LN2 * hi, qmin: s * (lo + 2 ** (h - 1) * hi) };
  return { Q, qmin: s * lo, qmax: s * hi };
}

before(async () => {
  await initBackend('cpu');
});

describe('gradient curves: library autodiff = paper closed forms (float32 precision)', () => {
  const cases: [ShortName, { b: number; d?: number; qmax?: number }][] = [
    ['U1', { b: 2, d: 0.5 }],
    ['U1', { b: 3, d: 0.25 }],
    ['U1', { b: 5, d: 2 ** -6 }],
    ['U2', { b: 2, d: 1 }],
    ['U2', { b: 3, d: 0.25 }],
    ['U2', { b: 6, d: 2 ** -5 }],
    ['U3', { b: 3, d: 0.25 }],
    ['U3', { b: 4, d: 2 ** -3 }],
    ['P1', { b: 3, qmax: 1 }],
    ['P1', { b: 4, qmax: 4 }],
    ['P2', { b: 3, qmax: 1 }],
    ['P2', { b: 4, qmax: 0.5 }],
    ['P3', { b: 3, qmax: 1 }],
    ['P3', { b: 4, qmax: 2 }],
  ];
  for (const [short, theta] of cases) {
    it(`${short} at ${JSON.stringify(theta)}`, async () => {
      const v = paperValues(short, theta);
      // A dense grid plus every half step and level, never exactly at ±qmax / ±qmin.
      const xs = new Set<number>();
      for (let i = 0; i <= 300; i++) xs.add(Math.fround(v.qmax * (-1.6 + (3.2 * i) / 300) + 1e-4));
      if (short[0] === 'U') for (let k = 0; k < Math.round(v.qmax / v.d); k++) for (const s of [1, -1]) xs.add(s * (k + 0.5) * v.d);
      const grid = [...xs].filter((x) => Math.abs(x) !== v.qmax && Math.abs(x) !== v.qmin);
      const points = await gradientCurve(short, theta, grid);
      const q = await transferCurve(short, theta, grid);
      for (const [i, p] of points.entries()) {
        const ref = reference(short, v.b, v.d, v.qmax, p.x);
        assert.equal(q[i], Math.fround(ref.Q!), `${short} Q(${p.x})`);
        assert.equal(p.q, Math.fround(ref.Q!), `${short} Q(${p.x}) in the gradient pass`);
        for (const [name, value] of Object.entries(p.partials)) {
          const want = ref[name]!;
          assert.ok(
            Math.abs(value - want) <= 2e-6 * Math.max(1, Math.abs(want)),
            `${short} ∂Q/∂${name} at x=${p.x}: autodiff ${value}, closed form ${want}`,
          );
        }
      }
    });
  }
});

describe('Fig. 1: maximum gradient norm', () => {
  it('the closed forms give the sample values of docs/METHOD.md#maximum-gradient-norm', () => {
    const U1 = [
      [1.004, 1.058, 1.709],
      [7.009, 7.136, 8.93],
      [127.1, 128.9, 154.9],
    ];
    [2, 4, 8].forEach((b, i) =>
      [2 ** -4, 0.25, 1].forEach((d, j) => {
        const want = U1[i]![j]!;
        const digits = want >= 100 ? 1 : 3;
        assert.equal(Number(maxGradientNormClosedForm('U1', b, d).toFixed(digits)), want, `U1 b=${b} d=${d}`);
        assert.equal(maxGradientNormClosedForm('U2', b, d), 1, `U2 b=${b} d=${d}`);
        assert.equal(maxGradientNormClosedForm('U3', b, d), 1, `U3 b=${b} d=${d}`);
      }),
    );
    // U2 grows beyond 1 for large steps: about d·ln2 at b = 2.
    assert.ok(maxGradientNormClosedForm('U2', 2, 8) > 5);
  });

  it('autodiff maxima over the probe grid equal the closed forms', async () => {
    for (const short of ['U1', 'U2', 'U3'] as const) {
      for (const b of [2, 3, 5, 8]) {
        for (const d of [2 ** -4, 0.5, 4]) {
          const auto = await maxGradientNormAutodiff(short, b, d, 32);
          const closed = maxGradientNormClosedForm(short, b, d);
          assert.ok(Math.abs(auto - closed) <= 1e-6 * closed, `${short} b=${b} d=${d}: autodiff ${auto}, closed form ${closed}`);
        }
      }
    }
  });

  it('the probe grid holds half steps and points beyond the range but never ±qmax', () => {
    const v = paperValues('U1', { b: 4, d: 0.25 });
    const xs = maxNormProbePoints(v, 16);
    assert.ok(xs.includes(0.125) && xs.includes(-0.125), 'half step');
    assert.ok(xs.some((x) => x > v.qmax) && xs.some((x) => x < -v.qmax), 'outside');
    assert.ok(!xs.includes(v.qmax) && !xs.includes(-v.qmax));
  });

  it('rejects θ the figures cannot use', () => {
    assert.throws(() => paperValues('U1', { b: 1, d: 0.5 }), /b must be an integer ≥ 2/);
    assert.throws(() => paperValues('P3', { b: 3 }), /needs a positive qmax/);
  });
});
