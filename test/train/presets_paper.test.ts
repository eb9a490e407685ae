/** The paper's published numbers and their links to the official runs. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PAPER_FIG5_BITWIDTHS, PAPER_TABLE1, PAPER_TABLE3, PAPER_TABLE4, presetToTrainConfig, type PresetLink } from '../../src/train/presets';
import type { TrainConfig } from '../../src/train/config';

function runsOf(link: PresetLink): TrainConfig[] {
  assert.ok(link.presets.length > 0, `no runs for ${link.basis}`);
  return link.presets.map((name) => presetToTrainConfig(`${link.file}:${name}`));
}

/** get_res.py's mapping of Table-1 uniform entries to runs. */
const GET_RES = {
  'U1 weights': 'PARAMETRIC_FP_WQ_DELTA_B_INIT_ADAM',
  'U2 weights': 'PARAMETRIC_FP_WQ_B_XMAX_INIT_ADAM',
  'U3 weights': 'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT_ADAM',
  'U1 weights+activations': 'PARAMETRIC_FP_WAQ_DELTA_B_INIT_ADAM',
  'U2 weights+activations': 'PARAMETRIC_FP_WAQ_B_XMAX_INIT_ADAM',
  'U3 weights+activations': 'PARAMETRIC_FP_WAQ_DELTA_XMAX_INIT_ADAM',
};

/** ResNet-20 sizes (docs/METHOD.md#resnet-20-sizes): 268,346 weights; 188,416 activations per sample, the largest layer 16,384. */
const RESNET20 = { weights: 268_346, activations: 188_416, largestActivation: 16_384 };
const kb = (count: number, bits: number) => (count * bits) / 8 / 1024;

describe('paper Table 1', () => {
  it('has both rows of the seven columns with the published errors (docs/EXPERIMENTS.md#published-results)', () => {
    const table = (quantized: string) => PAPER_TABLE1.filter((e) => e.quantized === quantized).map((e) => [e.column, e.randomInit, e.floatInit]);
    assert.deepEqual(table('weights'), [
      ['float32', 8.5, 7.29],
      ['U1', 17.8, 8.18],
      ['U2', 8.8, 7.44],
      ['U3', 8.5, 7.32],
      ['P1', 11.7, 7.9],
      ['P2', 53.07, 23.01],
      ['P3', 10.61, 7.56],
    ]);
    assert.deepEqual(table('weights+activations'), [
      ['float32', 8.5, 7.29],
      ['U1', 28.9, 9.03],
      ['U2', 9.43, 7.74],
      ['U3', 9.23, 7.4],
      ['P1', 22.91, 11.68],
      ['P2', 'diverging', 35.68],
      ['P3', 15.1, 9.86],
    ]);
  });

  it('links the uniform float-init entries to the get_res.py runs', () => {
    const reported = Object.fromEntries(
      PAPER_TABLE1.filter((e) => e.floatInitRuns.reportedBy !== null).map((e) => [`${e.column} ${e.quantized}`, e.floatInitRuns.reportedBy]),
    );
    assert.deepEqual(reported, GET_RES);
    for (const entry of PAPER_TABLE1) {
      if (entry.floatInitRuns.reportedBy !== null) assert.ok(entry.floatInitRuns.presets.includes(entry.floatInitRuns.reportedBy));
    }
  });

  it('links each entry to runs of its quantizer, rows and initialisation', () => {
    for (const entry of PAPER_TABLE1) {
      const what = `${entry.column} ${entry.quantized}`;
      for (const [runs, init] of [
        [runsOf(entry.randomInitRuns), false],
        [runsOf(entry.floatInitRuns), true],
      ] as const) {
        for (const run of runs) {
          const expected = entry.column === 'float32' ? 'float' : entry.column;
          assert.equal(run.quant.weights, expected, `${what} ${run.name}`);
          const activations = entry.quantized === 'weights+activations' && entry.column !== 'float32' ? expected : 'float';
          assert.equal(run.quant.activations, activations, `${what} ${run.name}`);
          assert.equal(run.initFrom, init ? 'DEFAULT' : null, `${what} ${run.name}`);
          assert.equal(run.targets.weightKB, null, 'no memory constraint');
        }
      }
    }
    const u3 = PAPER_TABLE1.find((e) => e.column === 'U3' && e.quantized === 'weights')!;
    assert.deepEqual(u3.randomInitRuns.presets, ['PARAMETRIC_FP_WQ_DELTA_XMAX', 'PARAMETRIC_FP_WQ_DELTA_XMAX_RLR']);
    const p2 = PAPER_TABLE1.find((e) => e.column === 'P2' && e.quantized === 'weights+activations')!;
    assert.deepEqual(p2.floatInitRuns, {
      file: 'pow2',
      presets: ['PARAMETRIC_POW2_WAQ_B_XMIN_INIT', 'PARAMETRIC_POW2_WAQ_B_XMIN_INIT_RLR'],
      reportedBy: null,
      basis: p2.floatInitRuns.basis,
    });
  });
});

describe('paper Table 3', () => {
  it('has the eight rows with the published errors', () => {
    assert.deepEqual(
      PAPER_TABLE3.map((r) => [r.method, r.uniform.error, r.pow2.error]),
      [
        ['Baseline', 7.29, 7.29],
        ['Fixed', 10.81, 8.99],
        ['TQT (Jain et al., 2019)', 9.47, 8.79],
        ['Ours (w/ constr. (8a))', 8.59, 8.53],
        ['Fixed', 11.3, 11.62],
        ['TQT (Jain et al., 2019)', 9.62, 11.29],
        ['Ours (w/ constr. (8a) and (8b))', 9.38, 11.29],
        ['Ours (w/ constr. (8a) and (8c))', 8.58, 11.23],
      ],
    );
  });

  it('prints the sizes the ResNet-20 arithmetic gives for fixed bitwidths', () => {
    for (const row of PAPER_TABLE3) {
      const { weights, activations } = row.bitwidth;
      // The paper rounds: 1048.2 KB prints as 1048KB, 65.51 KB as 65.5KB.
      if (typeof weights === 'number') assert.ok(Math.abs(kb(RESNET20.weights, weights) - row.sizeKB.weights) < 0.25, row.method);
      if (typeof activations === 'number') {
        assert.equal(row.sizeKB.activationMax, kb(RESNET20.largestActivation, activations), row.method);
        assert.equal(row.sizeKB.activationSum, kb(RESNET20.activations, activations), row.method);
      }
    }
  });

  it('links each row to runs of the matching quantizers, bitwidths and constraints', () => {
    for (const row of PAPER_TABLE3) {
      for (const [family, link] of [
        ['uniform', row.uniform.runs],
        ['pow2', row.pow2.runs],
      ] as const) {
        assert.equal(link.file, family === 'uniform' ? 'fp' : 'pow2');
        for (const run of runsOf(link)) {
          const what = `${row.method} ${family} ${run.name}`;
          const learnedBits = row.bitwidth.weights === 'learned';
          const weights =
            row.bitwidth.weights === 32
              ? 'float'
              : row.qmax.weights === 'fixed'
                ? family === 'uniform'
                  ? 'fp'
                  : 'pow2'
                : learnedBits
                  ? family === 'uniform'
                    ? 'U3'
                    : 'P3'
                  : family === 'uniform'
                    ? 'U2'
                    : 'P1';
          assert.equal(run.quant.weights, weights, what);
          assert.equal(run.quant.activations, row.bitwidth.activations === 32 ? 'float' : weights === 'float' ? 'float' : weights, what);
          if (typeof row.bitwidth.weights === 'number' && row.bitwidth.weights < 32) assert.equal(run.quant.weightBits, row.bitwidth.weights, what);
          if (row.qmax.weights === 'learned' && !learnedBits) {
            assert.deepEqual(run.quant.weight.bitwidthRange, [row.bitwidth.weights, row.bitwidth.weights], `${what}: TQT freezes b`);
          }
          if (learnedBits) {
            // The targets are the printed sizes plus 0.1 KB of slack (docs/METHOD.md#memory-penalty).
            assert.equal(run.targets.weightKB, row.sizeKB.weights + 0.1, what);
            const activationTarget =
              row.bitwidth.activations === 32
                ? null
                : row.sizeKB.activationMax !== null
                  ? row.sizeKB.activationMax + 0.1
                  : row.sizeKB.activationSum! + 0.1;
            assert.equal(run.targets.activationKB, activationTarget, what);
            if (activationTarget !== null) assert.equal(run.targets.activationType, row.sizeKB.activationMax !== null ? 'max' : 'sum', what);
          } else {
            assert.equal(run.targets.weightKB, null, what);
          }
        }
      }
    }
  });
});

describe('paper Table 4 and Fig. 5', () => {
  it('has the ImageNet rows', () => {
    assert.deepEqual(
      PAPER_TABLE4.map((r) => [r.method, r.mobilenetV2.error, r.resnet18.error]),
      [
        ['Baseline', 29.82, 29.72],
        ['Fixed', 36.27, 34.15],
        ['TQT (Jain et al., 2019)', 32.21, 30.49],
        ['Ours (w/ constr. (8a) and (8c))', 30.26, 29.92],
        ['Ours (w/o constr.)', 29.41, 29.34],
      ],
    );
    assert.deepEqual(
      PAPER_TABLE4.map((r) => [
        r.mobilenetV2.sizeMB.weights,
        r.mobilenetV2.sizeMB.activationMax,
        r.resnet18.sizeMB.weights,
        r.resnet18.sizeMB.activationMax,
      ]),
      [
        [13.23, 4.59, 44.56, 3.04],
        [1.65, 0.57, 5.57, 0.38],
        [1.65, 0.57, 5.57, 0.38],
        [1.55, 0.57, 5.4, 0.38],
        [3.14, 1.58, 10.5, 1.05],
      ],
    );
  });

  it('Fig. 5 ResNet-18 bitwidths times the layer sizes give the 5.40 MB of Table 4', () => {
    const { layers, bits } = PAPER_FIG5_BITWIDTHS.resnet18;
    assert.equal(layers.length, 21);
    assert.equal(bits.length, 21);
    const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
    const block = (c: number) => [conv(3, c, c), conv(3, c, c)];
    const first = (cin: number, c: number) => [conv(3, cin, c), conv(3, c, c), conv(1, cin, c)];
    const counts = [
      conv(7, 3, 64),
      ...block(64),
      ...block(64),
      ...first(64, 128),
      ...block(128),
      ...first(128, 256),
      ...block(256),
      ...first(256, 512),
      ...block(512),
      512 * 1000 + 1000,
    ];
    assert.equal(
      counts.reduce((a, b) => a + b),
      11_679_912,
      'conv + fc parameters of ResNet-18 (docs/METHOD.md#memory-units)',
    );
    const mib = counts.reduce((sum, n, i) => sum + n * bits[i]!, 0) / 8 / 1024 / 1024;
    assert.equal(Math.round(mib * 100) / 100, PAPER_TABLE4[3]!.resnet18.sizeMB.weights);
    assert.equal(PAPER_FIG5_BITWIDTHS.mobilenetV2.bits.length, 53);
  });
});
