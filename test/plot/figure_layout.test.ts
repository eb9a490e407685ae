/**
 * Figures a reader can read (issue 11): every figure the plot builders make for the inputs the notebooks give them
 * (the notebooks' own numbers and names, and MobileNetV2's real layer list) renders, through the project's renderer
 * (vega-lite → vega View → SVG, the image/svg+xml the notebooks and the report embed), to at most 1000 px wide, with
 * no two texts overlapping. Text boxes are approximated from the SVG's positions and font sizes with DejaVu Sans
 * advance widths (test/helpers/figure_layout.ts says how). Plus the Pareto plot's axis: a diverged run does not
 * squeeze the others into a line.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/backend';
import { createModel, memoryReport, type MemoryReport } from '../../src/nn';
import {
  comparisonPlot,
  gaussianMsePlot,
  gaussianMseRows,
  gradientCurvePlot,
  layerBitsRows,
  layerBitwidthPlot,
  layerMemoryPlot,
  layerMemoryRows,
  maxGradientNormPlot,
  maxGradientNormRows,
  paretoPlot,
  quantizerCurves,
  renderSvg,
  trainingCurvesPlot,
  transferCurvePlot,
  type ComparisonRow,
  type ParetoRow,
  type TrainingCurveRow,
  type VegaLiteSpec,
} from '../../src/plot';
import { SHORT_NAME_LIST } from '../../src/quant';
import { gaussianExperiment } from '../../src/train/gaussian';
import { PAPER_FIG5_BITWIDTHS } from '../../src/train/presets/paper';
import { overlappingTexts, svgSize, textBoxes } from '../helpers/figure_layout';

const MAX_WIDTH = 1000;
const render = (spec: VegaLiteSpec) => renderSvg({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec });

async function assertReadable(name: string, spec: VegaLiteSpec): Promise<string> {
  const svg = await render(spec);
  const size = svgSize(svg);
  assert.ok(size.width <= MAX_WIDTH, `${name}: ${size.width} px wide (at most ${MAX_WIDTH})`);
  assert.ok(!size.viewBox || size.viewBox[2] <= MAX_WIDTH, `${name}: viewBox ${size.viewBox?.join(' ')} wider than ${MAX_WIDTH}`);
  const overlaps = overlappingTexts(svg);
  assert.deepEqual(overlaps, [], `${name}: ${overlaps.length} overlapping texts: ${overlaps.slice(0, 6).join('; ')}`);
  return svg;
}

/** Notebook 04 (committed output): Table 3 rows 1, 2, 3, 7 on mnistnet, uniform TQT diverged at 90.75 %. */
const NB04: ParetoRow[] = [
  { run: 'Fixed 2bit/32bit', memoryKB: 7.05322265625, error: 0.03275, group: 'uniform' },
  { run: 'Fixed 2bit/32bit', memoryKB: 7.05322265625, error: 0.028, group: 'pow2' },
  { run: 'TQT 2bit/32bit', memoryKB: 7.05322265625, error: 0.9075, group: 'uniform' },
  { run: 'TQT 2bit/32bit', memoryKB: 7.05322265625, error: 0.042, group: 'pow2' },
  { run: 'Ours learned/32bit', memoryKB: 7.05322265625, error: 0.04425, group: 'uniform' },
  { run: 'Ours learned/32bit', memoryKB: 7.4560546875, error: 0.03125, group: 'pow2' },
  { run: 'Ours learned/learned', memoryKB: 7.10205078125, error: 0.0325, group: 'uniform' },
  { run: 'Ours learned/learned', memoryKB: 6.851806640625, error: 0.0515, group: 'pow2' },
  { run: 'float', memoryKB: 112.8515625, error: 0.03625, group: 'float' },
];

/** All seven rows of Table 3 in both families (what `tableRows = [1, …, 7]` gives): 15 points in one cluster. */
const TABLE3_FULL: ParetoRow[] = [
  ...NB04,
  { run: 'Fixed 2bit/4bit', memoryKB: 7.05322265625, error: 0.0455, group: 'uniform' },
  { run: 'Fixed 2bit/4bit', memoryKB: 7.05322265625, error: 0.0391, group: 'pow2' },
  { run: 'TQT 2bit/4bit', memoryKB: 7.05322265625, error: 0.9002, group: 'uniform' },
  { run: 'TQT 2bit/4bit', memoryKB: 7.05322265625, error: 0.0478, group: 'pow2' },
  { run: 'Ours learned/learned', memoryKB: 7.2, error: 0.0342, group: 'uniform' },
  { run: 'Ours learned/learned', memoryKB: 6.93, error: 0.0401, group: 'pow2' },
];

/** Notebook 03's Table 1 comparison: seven labels, two settings, long source names, P2 diverging in the paper. */
function table1Rows(): ComparisonRow[] {
  const ours = { U1: 10.4, U2: 2.53, U3: 2.2, P1: 3.6, P2: 48.2, P3: 2.4, float32: 2.1 };
  const paper = { U1: 8.18, U2: 7.44, U3: 7.32, P1: 7.62, P2: 'diverging' as const, P3: 7.56, float32: 7.29 };
  return ['weights', 'weights+activations'].flatMap((setting) =>
    Object.keys(ours).map((label) => ({
      setting,
      label,
      ours: ours[label as keyof typeof ours],
      paper: paper[label as keyof typeof paper],
    })),
  );
}

/** Notebook 03's 13 training runs (names as runStudy gives them), a loss and error curve each. */
function table1Curves(): TrainingCurveRow[] {
  const runs = ['DEFAULT', ...['weights', 'weights+activations'].flatMap((s) => ['U1', 'U2', 'U3', 'P1', 'P2', 'P3'].map((p) => `${s} ${p}`))];
  return runs.flatMap((run, i) =>
    Array.from({ length: 75 }, (_, k) => [
      { run, x: 2 * k, metric: 'loss' as const, value: 2.3 / (1 + k * (0.05 + i / 100)) },
      { run, x: 2 * k, metric: 'train error' as const, value: 0.9 / (1 + k * (0.04 + i / 120)) },
    ]).flat(),
  );
}

let mobilenet: { start: MemoryReport; end: MemoryReport };

before(async () => {
  await initBackend('cpu');
  // Notebook 05's network: MobileNetV2-CIFAR ×0.35 on MNIST, U3 weights and activations at 8 bits.
  const net = createModel('mobilenetv2-cifar', {
    widthMultiplier: 0.35,
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 313,
    quantization: { weights: 'U3', activations: 'U3', weightBits: 8, activationBits: 8 },
  });
  const start = await memoryReport(net);
  net.dispose();
  // "Learned" bitwidths: 2 … 8 spread over the layers, as a short constrained run leaves them.
  const end: MemoryReport = { ...start, layers: start.layers.map((l, i) => ({ ...l, bits: l.role === 'bias' ? l.bits : 2 + ((i * 5) % 7) })) };
  mobilenet = { start, end };
});

describe('every figure of the notebooks fits 1000 px and has no overlapping text', () => {
  it('notebook 01: transfer curves, Fig. 2 (both families), Fig. 1', async () => {
    const curves = await quantizerCurves(SHORT_NAME_LIST, { points: 41 });
    await assertReadable(
      'transfer curves',
      transferCurvePlot(curves, { title: 'Q(x) at b = 3: uniform with d = 1/4 (qmax = 3/4), power-of-two with qmax = 1 (qmin = 1/8)' }),
    );
    await assertReadable(
      'Fig. 2 uniform',
      gradientCurvePlot(
        curves.filter((r) => r.family === 'uniform'),
        { title: 'Paper Fig. 2: derivatives of U1, U2, U3 (b = 3, d = 1/4)' },
      ),
    );
    await assertReadable(
      'Fig. 2 power-of-two',
      gradientCurvePlot(
        curves.filter((r) => r.family === 'power-of-two'),
        { title: 'The same for P1, P2, P3 (b = 3, qmax = 1)' },
      ),
    );
    await assertReadable('Fig. 2 all six', gradientCurvePlot(curves));
    await assertReadable('Fig. 1', maxGradientNormPlot(await maxGradientNormRows([2, 3, 4, 5, 6, 7, 8], [2 ** -4, 2 ** -2, 1, 4])));
  });

  it('notebook 02: Fig. 3', async () => {
    const runs = await gaussianExperiment({ steps: 4, samples: 200 });
    await assertReadable('Fig. 3', gaussianMsePlot(gaussianMseRows(runs)));
  });

  it("notebook 03: Table 1 comparison and the training curves of 13 runs (and the live widget's)", async () => {
    await assertReadable(
      'Table 1',
      comparisonPlot(table1Rows(), {
        ours: 'this run (mnistnet, mnist)',
        paper: 'paper: ResNet-20 on CIFAR-10',
        title: 'Table 1: test error per parametrization',
      }),
    );
    await assertReadable('training curves', trainingCurvesPlot(table1Curves(), { title: 'Training loss and running error of every run' }));
    await assertReadable(
      'widget curves',
      trainingCurvesPlot(
        table1Curves().filter((r) => r.run === 'weights U3'),
        { title: 'training curves', width: 200, height: 130 },
      ),
    );
  });

  it('notebook 04: the Pareto plot (committed numbers, and all of Table 3), bitwidths and memory per layer', async () => {
    await assertReadable('Pareto (notebook 04)', paretoPlot(NB04, { title: 'Test error against weight memory' }));
    await assertReadable('Pareto (Table 3, all rows)', paretoPlot(TABLE3_FULL, { title: 'Test error against weight memory' }));
    await assertReadable(
      'Pareto (three runs)',
      paretoPlot([
        { run: 'a', memoryKB: 1, error: 0.1 },
        { run: 'b', memoryKB: 2, error: 0.05 },
        { run: 'c', memoryKB: 3, error: 0.2 },
      ]),
    );
    await assertReadable('Pareto (one run)', paretoPlot([{ run: 'a', memoryKB: 1, error: 0.1 }]));
    const report = (bits: number[]): MemoryReport => ({
      weightsKB: 7,
      activationsMaxKB: 10,
      activationsSumKB: 20,
      layers: ['conv1', 'conv2', 'fc'].flatMap((layer, i) => [
        { layer, role: 'weight' as const, bits: bits[i]!, count: 1000 * (i + 1), kilobytes: (bits[i]! * 1000 * (i + 1)) / 8192 },
        { layer, role: 'bias' as const, bits: 32, count: 32, kilobytes: 0.125 },
        { layer, role: 'activation' as const, bits: bits[i]! + 1, count: 4096, kilobytes: ((bits[i]! + 1) * 4096) / 8192 },
      ]),
    });
    const runs = {
      'uniform (w/ constr. (8a))': report([2, 2, 2]),
      'pow2 (w/ constr. (8a))': report([3, 2, 4]),
      'uniform (w/ constr. (8a)+(8c))': report([4, 2, 3]),
      'pow2 (w/ constr. (8a)+(8c))': report([2, 3, 2]),
    };
    await assertReadable(
      'bitwidths (notebook 04)',
      layerBitwidthPlot(
        Object.entries(runs).flatMap(([n, r]) => layerBitsRows(n, r)),
        { title: 'Learned bitwidth per layer (Fig. 5 style)' },
      ),
    );
    await assertReadable(
      'memory (notebook 04)',
      layerMemoryPlot(
        Object.entries(runs).flatMap(([n, r]) => layerMemoryRows(n, r)),
        { title: 'Memory per layer' },
      ),
    );
  });

  it('notebook 05: MobileNetV2 per-layer bitwidths (real layer list, three runs), activations, memory, the live widget', async () => {
    const { start, end } = mobilenet;
    const ours = layerBitsRows('learned', end, ['weight']);
    const paperBits = PAPER_FIG5_BITWIDTHS.mobilenetV2.bits;
    assert.equal(ours.length, paperBits.length, "the real model has the paper's 53 weight layers");
    const paperRows = ours.map((r, i) => ({ ...r, run: 'paper (ImageNet, α = 1)', bits: paperBits[i]! }));
    const weights = await assertReadable(
      'MobileNetV2 weights',
      layerBitwidthPlot([...layerBitsRows('start (8 bit)', start, ['weight']), ...ours, ...paperRows], { title: 'Weight bitwidth per layer' }),
    );
    // Every layer is named on the chart (none dropped to make room).
    const texts = new Set(textBoxes(weights).map((b) => b.text));
    for (const r of ours) assert.ok(texts.has(r.layer), `layer ${r.layer} is labelled`);
    await assertReadable(
      'MobileNetV2 activations',
      layerBitwidthPlot(layerBitsRows('learned', end, ['activation']), { title: 'Activation bitwidth per layer' }),
    );
    await assertReadable(
      'MobileNetV2 memory',
      layerMemoryPlot([...layerMemoryRows('start (8 bit)', start), ...layerMemoryRows('learned', end)], { title: 'Memory per layer' }),
    );
    // display.training's chart: every role of one run, at the widget's height.
    await assertReadable(
      'MobileNetV2 widget bitwidths',
      layerBitwidthPlot(layerBitsRows('PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT', end.layers, ['weight', 'bias', 'activation']), {
        title: 'bitwidths after epoch 1',
        height: 90,
      }),
    );
  });
});

describe('the Pareto plot shows the differences among the runs that did not diverge', () => {
  it('a diverged run is drawn at the edge with its value; the others span the axis', async () => {
    const spec = paretoPlot(NB04);
    const svg = await render(spec);
    // The error axis covers the runs that trained (2.8 % … 5.15 %), not 0 … 100 %.
    const yTicks = textBoxes(svg)
      .map((b) => b.text)
      .filter((t) => /^\d+(\.\d+)?%$/.test(t))
      .map((t) => parseFloat(t));
    assert.ok(yTicks.length >= 3, `error axis ticks: ${yTicks.join(', ')}`);
    assert.ok(Math.max(...yTicks) < 10, `error axis reaches ${Math.max(...yTicks)} %: the diverged run squeezes the rest`);
    // The diverged run is still there, labelled with its true error.
    assert.ok(
      textBoxes(svg).some((b) => b.text.includes('TQT 2bit/32bit') && b.text.includes('90.8%')),
      'the diverged run is labelled with 90.8%',
    );
  });
});

describe('the Table 1 chart shows the differences among the parametrizations that trained', () => {
  it("a diverged run's bar is broken at the top of its panel, with its value; the other bars keep their resolution", async () => {
    const spec = comparisonPlot(table1Rows(), { ours: 'this run (mnistnet, mnist)', paper: 'paper: ResNet-20 on CIFAR-10' });
    const svg = await render(spec);
    // Our "weights" panel: P2 at 48.2 % beside 2.2 … 10.4 %. Its axis ends near the bulk, not at 50.
    const values = (spec.data as { values: { source: string; setting: string; label: string; error: number | null }[] }).values;
    const cell = values.filter((d) => d.source === 'this run (mnistnet, mnist)' && d.setting === 'weights');
    const plotted = Object.fromEntries(cell.map((d) => [d.label, d.error]));
    assert.ok(plotted.P2! < 15, `P2 is drawn to ${plotted.P2} % in its panel: it squeezes U3 (2.2 %) and P3 (2.4 %) together`);
    assert.equal(plotted.U3, 2.2);
    assert.equal(plotted.U1, 10.4, 'U1 (10.4 %) is not cut: the rest keeps over a third of the axis');
    // Its true value is still written on it.
    assert.ok(
      textBoxes(svg).some((b) => b.text === '48.20%'),
      'the broken bar is labelled 48.20%',
    );
  });
});

describe('the training curves show the runs that trained beside one that blew up', () => {
  it('a loss of thousands puts the loss axis on a log scale; 13 runs get 13 colours; one run has no legend', async () => {
    const rows = table1Curves().map((r) => (r.run === 'weights P2' && r.metric === 'loss' && r.x < 40 ? { ...r, value: 5000 } : r));
    const spec = trainingCurvesPlot(rows, { title: 'Training loss and running error of every run' });
    const [loss, error] = spec.hconcat as {
      encoding?: { y: { scale?: { type?: string } }; color: { scale?: { scheme?: string } } };
      layer?: unknown[];
    }[];
    assert.equal(loss!.encoding!.y.scale?.type, 'log', 'loss axis is logarithmic');
    assert.equal(loss!.encoding!.color.scale?.scheme, 'tableau20', '13 runs: a 20-colour scheme');
    assert.ok(error!.layer!.length >= 1);
    await assertReadable('training curves (diverged run)', spec);
    const one = trainingCurvesPlot(table1Curves().filter((r) => r.run === 'DEFAULT'));
    assert.equal((one.hconcat as { encoding: { color: { legend: unknown } } }[])[0]!.encoding.color.legend, null);
    assert.notEqual(
      (trainingCurvesPlot(table1Curves()).hconcat as { encoding: { y: { scale?: { type?: string } } } }[])[0]!.encoding.y.scale?.type,
      'log',
      'losses within a factor 20: linear',
    );
  });
});
