/**
 * The plot builders: the data inside the Fig. 1 / Fig. 2 specs against the closed forms of docs/METHOD.md (evaluated here in
 * float64, independently of the library), every builder's spec compiled and rendered by vega-lite + vega, and the
 * comparison helpers (orderings, Kendall τ, Spearman ρ, Pareto front) against brute force.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/backend';
import {
  comparisonMarkdown,
  comparisonPlot,
  comparisonTableRows,
  curveRecorder,
  gaussianMsePlot,
  gaussianMseRows,
  gradientCurvePlot,
  layerBitsRows,
  layerBitwidthPlot,
  layerMemoryPlot,
  layerMemoryRows,
  maxGradientNormPlot,
  maxGradientNormRows,
  ordering,
  orderingAgreement,
  paretoFront,
  paretoPlot,
  quantizerCurves,
  rankCorrelation,
  renderSvg,
  savePlot,
  trainingCurvesPlot,
  transferCurvePlot,
  type QuantizerCurveRow,
  type MaxGradientNormRow,
  type VegaLiteSpec,
} from '../../src/plot';
import { gaussianExperiment } from '../../src/train/gaussian';
import type { MemoryReport } from '../../src/nn';

const LN2 = Math.LN2;
const valuesOf = <T>(spec: VegaLiteSpec) => (spec.data as { values: T[] }).values;

before(async () => {
  await initBackend('cpu');
});

describe('Fig. 2 plot data = paper eqs. (3a)–(3c), (2) at b = 3, d = 1/4', () => {
  it('every derivative value of the uniform panels', async () => {
    const spec = gradientCurvePlot(await quantizerCurves(['U1', 'U2', 'U3'], { points: 257 }));
    const rows = valuesOf<QuantizerCurveRow>(spec);
    const b = 3;
    const d = 0.25;
    const h = 2 ** (b - 1);
    const qmax = (h - 1) * d;
    assert.equal(rows.length, 3 * 3 * rows.filter((r) => r.parametrization === 'U3' && r.series === '∂Q/∂x').length);
    let checked = 0;
    for (const r of rows) {
      const x = r.x;
      const s = x < 0 ? -1 : 1;
      const inside = Math.abs(x) <= qmax;
      const Q = inside ? s * d * Math.floor(Math.abs(x) / d + 0.5) : s * qmax;
      const want: Record<string, number> =
        r.parametrization === 'U1'
          ? { '∂Q/∂b': inside ? 0 : h * LN2 * d * s, '∂Q/∂d': inside ? (Q - x) / d : (h - 1) * s, '∂Q/∂x': inside ? 1 : 0 }
          : r.parametrization === 'U2'
            ? { '∂Q/∂b': inside ? -((h * LN2) / (h - 1)) * (Q - x) : 0, '∂Q/∂qmax': inside ? (Q - x) / qmax : s, '∂Q/∂x': inside ? 1 : 0 }
            : { '∂Q/∂d': inside ? (Q - x) / d : 0, '∂Q/∂qmax': inside ? 0 : s, '∂Q/∂x': inside ? 1 : 0 };
      const w = want[r.series];
      assert.ok(w !== undefined, `unexpected series ${r.series}`);
      assert.ok(
        Math.abs(r.value - w) <= 2e-7 * Math.max(1, Math.abs(w)),
        `${r.parametrization} ${r.series} x=${x}: plotted ${r.value}, formula ${w}`,
      );
      checked++;
    }
    assert.ok(checked > 2000);
  });

  it('the power-of-two panels follow (5), (6) and docs/METHOD.md#derived-p1-and-p2-gradients', async () => {
    const rows = valuesOf<QuantizerCurveRow>(gradientCurvePlot(await quantizerCurves(['P1', 'P2', 'P3'], { points: 201 })));
    const b = 3;
    const h = 2 ** (b - 1);
    const qmax = 1;
    const qmin = 2 ** (1 - h) * qmax;
    for (const r of rows) {
      const a = Math.abs(r.x);
      const s = r.x < 0 ? -1 : 1;
      const lo = a <= qmin ? 1 : 0;
      const hi = a > qmax ? 1 : 0;
      const want: Record<string, number> = {
        '∂Q/∂x': !lo && !hi ? 2 ** Math.floor(0.5 + Math.log2(a)) / a : 0,
        ...(r.parametrization === 'P1' ? { '∂Q/∂b': -s * qmin * h * LN2 ** 2 * lo, '∂Q/∂qmax': s * (2 ** (1 - h) * lo + hi) } : {}),
        ...(r.parametrization === 'P2' ? { '∂Q/∂b': s * qmax * h * LN2 ** 2 * hi, '∂Q/∂qmin': s * (lo + 2 ** (h - 1) * hi) } : {}),
        ...(r.parametrization === 'P3' ? { '∂Q/∂qmin': s * lo, '∂Q/∂qmax': s * hi } : {}),
      };
      const w = want[r.series]!;
      assert.ok(
        Math.abs(r.value - w) <= 2e-7 * Math.max(1, Math.abs(w)),
        `${r.parametrization} ${r.series} x=${r.x}: plotted ${r.value}, formula ${w}`,
      );
    }
  });
});

describe('Fig. 1 plot data = docs/METHOD.md#maximum-gradient-norm', () => {
  it('closed-form lines and autodiff points', async () => {
    const spec = maxGradientNormPlot(await maxGradientNormRows([2, 3, 4, 6, 8], [2 ** -4, 0.25, 1, 4]));
    const rows = valuesOf<MaxGradientNormRow>(spec);
    assert.equal(rows.length, 3 * 5 * 4);
    for (const r of rows) {
      const h = 2 ** (r.b - 1);
      const qmax = r.d * (h - 1);
      const want =
        r.parametrization === 'U1'
          ? Math.sqrt((h * LN2 * r.d) ** 2 + (h - 1) ** 2)
          : r.parametrization === 'U2'
            ? Math.max(1, (r.d / 2) * Math.sqrt(((h * LN2) / (h - 1)) ** 2 + 1 / qmax ** 2))
            : 1;
      assert.ok(Math.abs(r.closedForm - want) <= 1e-12 * want, `${r.parametrization} b=${r.b} d=${r.d} line`);
      assert.ok(Math.abs(r.autodiff - want) <= 1e-6 * want, `${r.parametrization} b=${r.b} d=${r.d}: autodiff ${r.autodiff}, formula ${want}`);
    }
    // The paper's point: U1 explodes with b, U3 does not.
    const u1 = rows.filter((r) => r.parametrization === 'U1' && r.d === 0.25);
    assert.ok(u1.at(-1)!.autodiff / u1[0]!.autodiff > 50);
    assert.ok(rows.filter((r) => r.parametrization === 'U3').every((r) => r.autodiff === 1));
  });
});

const REPORT: MemoryReport = {
  weightsKB: 3,
  activationsMaxKB: 2,
  activationsSumKB: 3,
  layers: [
    { layer: 'conv1', role: 'weight', bits: 6, count: 1000, kilobytes: 0.73 },
    { layer: 'conv1', role: 'activation', bits: 4, count: 4096, kilobytes: 2 },
    { layer: 'fc', role: 'weight', bits: 3, count: 5000, kilobytes: 1.83 },
    { layer: 'fc', role: 'bias', bits: 8, count: 10, kilobytes: 0.01 },
  ],
};

describe('every builder renders with vega-lite and vega', () => {
  it('quantizer, training, memory, Pareto and comparison specs', async () => {
    const curves = await quantizerCurves(['U3', 'P3'], { points: 21 });
    const runs = await gaussianExperiment({ steps: 3, samples: 200, parametrizations: ['U1', 'U3'] });
    const rec = curveRecorder();
    for (let step = 1; step <= 4; step++)
      rec.record('a', {
        type: 'step',
        epoch: 1,
        step,
        stepsPerEpoch: 4,
        loss: 2 / step,
        error: 0.5 / step,
        learningRate: 0.1,
        imagesPerSecond: 10,
        meanBits: { weights: 4, activations: null },
      });
    const specs: VegaLiteSpec[] = [
      transferCurvePlot(curves),
      gradientCurvePlot(curves),
      gaussianMsePlot(gaussianMseRows(runs)),
      maxGradientNormPlot(await maxGradientNormRows([2, 4], [0.5], ['U1'])),
      trainingCurvesPlot(rec.rows),
      layerBitwidthPlot(layerBitsRows('r', REPORT)),
      layerMemoryPlot(layerMemoryRows('r', REPORT)),
      paretoPlot([
        { run: 'a', memoryKB: 1, error: 0.1 },
        { run: 'b', memoryKB: 2, error: 0.05 },
        { run: 'c', memoryKB: 3, error: 0.2 },
      ]),
      comparisonPlot([
        { setting: 'w', label: 'U3', ours: 1.2, paper: 7.3 },
        { setting: 'w', label: 'P2', ours: 3, paper: 'diverging' },
      ]),
    ];
    for (const spec of specs) {
      const svg = await renderSvg({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec });
      assert.match(svg, /^<svg[\s\S]*<\/svg>$/, String(spec.title));
      assert.ok(svg.length > 1000, String(spec.title));
    }
    assert.equal(rec.rows.length, 8);
    assert.deepEqual(
      layerBitsRows('r', REPORT).map((r) => [r.layer, r.role, r.index]),
      [
        ['conv1', 'weight', 0],
        ['conv1', 'activation', 0],
        ['fc', 'weight', 1],
      ],
    );
  });

  it('savePlot writes SVG and PNG atomically and refuses other extensions', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-plot-'));
    const spec = paretoPlot([{ run: 'a', memoryKB: 1, error: 0.1 }]);
    assert.match(fs.readFileSync(await savePlot(spec, path.join(dir, 'p.svg')), 'utf8'), /^<svg/);
    assert.deepEqual([...fs.readFileSync(await savePlot(spec, path.join(dir, 'p.png'))).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    await assert.rejects(savePlot(spec, path.join(dir, 'p.pdf')), /saved as \.svg or \.png/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['p.png', 'p.svg']);
  });
});

describe('comparisons', () => {
  it('ordering and Kendall τ against brute force', () => {
    const ours = { U1: 3, U2: 1.5, U3: 1.2, P3: 1.4, P2: 'diverging' as const };
    const paper = { U1: 8.18, U2: 7.44, U3: 7.32, P3: 7.56, P2: 23.01 };
    assert.deepEqual(ordering(ours), ['U3', 'P3', 'U2', 'U1', 'P2']);
    const a = orderingAgreement(ours, paper);
    const labels = Object.keys(ours);
    let c = 0;
    let dcount = 0;
    const v = (x: number | string) => (x === 'diverging' ? Infinity : (x as number));
    for (const i of labels)
      for (const j of labels)
        if (i < j) {
          const s =
            Math.sign(v(ours[i as keyof typeof ours]) - v(ours[j as keyof typeof ours])) *
            Math.sign(paper[i as keyof typeof paper] - paper[j as keyof typeof paper]);
          if (s > 0) c++;
          else if (s < 0) dcount++;
        }
    assert.equal(a.concordant, c);
    assert.equal(a.discordant, dcount);
    assert.equal(a.tau, (c - dcount) / 10);
    assert.equal(dcount, 1);
    assert.deepEqual(a.disagreements, [['P3', 'U2']]);
    assert.equal(a.sameBest, true);
  });

  it('markdown is written from the numbers', () => {
    const rows = [
      { setting: 'weights', label: 'U1', ours: 2.5, paper: 8.18 },
      { setting: 'weights', label: 'U3', ours: 1.25, paper: 7.32 },
      { setting: 'w+a', label: 'U1', ours: 1.0, paper: 9.03 },
      { setting: 'w+a', label: 'U3', ours: 3.0, paper: 7.4 },
    ];
    const text = comparisonMarkdown(rows, { ours: 'here', paper: 'there' });
    assert.match(text, /\*\*weights\.\*\* The paper \(there\): U3 \(7\.32%\) < U1 \(8\.18%\)\./);
    assert.match(text, /This run \(here\): U3 \(1\.25%\) < U1 \(2\.50%\)\./);
    assert.match(text, /weights[\s\S]*\*\*agree\*\* completely; the best is the same/);
    assert.match(text, /w\+a[\s\S]*\*\*disagree\*\*[\s\S]*swapped: U1 before U3; the best is different \(U1 here, U3 in the paper\)/);
    const table = comparisonTableRows(rows);
    assert.deepEqual(table[0], {
      '': 'U1',
      'weights: this run': '2.50%',
      'weights: paper': '8.18%',
      'w+a: this run': '1.00%',
      'w+a: paper': '9.03%',
    });
  });

  it('Spearman ρ and the Pareto front against brute force', () => {
    assert.equal(rankCorrelation([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(rankCorrelation([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.ok(Math.abs(rankCorrelation([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505138) < 1e-12);
    assert.ok(Number.isNaN(rankCorrelation([1, 2], [5, 5])));
    assert.throws(() => rankCorrelation([1], [1, 2]), /1 x values but 2 y values/);
    const pts = Array.from({ length: 40 }, (_, i) => ({ run: `r${i}`, memoryKB: ((i * 37) % 17) + 1, error: ((i * 11) % 13) / 13 }));
    const front = new Set(paretoFront(pts).map((p) => p.run));
    for (const p of pts) {
      const dominated = pts.some((q) => q.memoryKB <= p.memoryKB && q.error <= p.error && (q.memoryKB < p.memoryKB || q.error < p.error));
      assert.equal(front.has(p.run), !dominated, p.run);
    }
  });
});
