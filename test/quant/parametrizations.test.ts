/**
 * The parametrization table against a reference written out here from the paper (§2, Table 1) and the official code
 * (parametric_quantization.py, the cfg files' method values and section names), and every consumer of the table
 * against it: specs, the grid registry, the cfg methods, the presets' names and configurations, the figures.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  createQuantizer,
  layerQuantizerSpec,
  PARAMETRIZATION_TABLE,
  PARAMETRIZATIONS,
  resolveSpec,
  scopeName,
  SHORT_NAME_LIST,
  specFor,
  type ShortName,
} from '../../src/quant';
import { LEARNED_PARAMS } from '../../src/quant/analysis';
import { LAYER_QUANTIZATIONS } from '../../src/train/config';
import {
  activationQuantization,
  listPresets,
  PAPER_TABLE1,
  parsePresetName,
  presetConfiguration,
  weightQuantization,
  ACTIVATION_QUANTIZE_METHODS,
  WEIGHT_QUANTIZE_METHODS,
} from '../../src/train/presets';
import { defaultTheta, gaussianMseRows, maxGradientNormPlot, maxGradientNormRows } from '../../src/plot/quantizer';
import { useBackend } from '../helpers/backends';

/** Official method → what it is: the paper's name, the spec pair, the learned pair (code / paper), the name token. */
const REFERENCE = {
  parametric_fp_d_b: { short: 'U1', kind: 'uniform', param: 'd_b', code: ['n', 'd'], paper: ['b', 'd'], token: 'DELTA_B' },
  parametric_fp_b_xmax: { short: 'U2', kind: 'uniform', param: 'b_xmax', code: ['n', 'xmax'], paper: ['b', 'qmax'], token: 'B_XMAX' },
  parametric_fp_d_xmax: { short: 'U3', kind: 'uniform', param: 'd_xmax', code: ['d', 'xmax'], paper: ['d', 'qmax'], token: 'DELTA_XMAX' },
  parametric_pow2_b_xmax: { short: 'P1', kind: 'pow2', param: 'b_xmax', code: ['n', 'xmax'], paper: ['b', 'qmax'], token: 'B_XMAX' },
  parametric_pow2_b_xmin: { short: 'P2', kind: 'pow2', param: 'b_xmin', code: ['n', 'xmin'], paper: ['b', 'qmin'], token: 'B_XMIN' },
  parametric_pow2_xmin_xmax: { short: 'P3', kind: 'pow2', param: 'xmin_xmax', code: ['xmin', 'xmax'], paper: ['qmin', 'qmax'], token: 'XMIN_XMAX' },
} as const;
const METHODS = Object.keys(REFERENCE) as (keyof typeof REFERENCE)[];
const byShort = new Map(METHODS.map((method) => [REFERENCE[method].short as string, { method, ...REFERENCE[method] }]));
const ref = (short: ShortName) => byShort.get(short)!;

describe('the parametrization table', () => {
  before(() => useBackend('cpu'));

  it('matches the reference row by row, in the paper order U1, U2, U3, P1, P2, P3', () => {
    assert.deepEqual(
      PARAMETRIZATION_TABLE.map((e) => e.method),
      METHODS,
    );
    for (const e of PARAMETRIZATION_TABLE) {
      const r = REFERENCE[e.method];
      assert.deepEqual(
        { short: e.short, kind: e.kind, param: e.param, code: e.params, paper: e.paperParams, token: e.nameToken },
        { short: r.short, kind: r.kind, param: r.param, code: r.code, paper: r.paper, token: r.token },
        e.method,
      );
      assert.equal(e.label, `${r.short} θ=[${r.paper.join(',')}]`);
    }
    assert.deepEqual(SHORT_NAME_LIST, ['U1', 'U2', 'U3', 'P1', 'P2', 'P3']);
  });

  it('specs, the grid registry and the quantizers agree with it', () => {
    assert.deepEqual(
      PARAMETRIZATIONS.map((e) => [e.short, e.kind, e.param]),
      SHORT_NAME_LIST.map((s) => [s, ref(s).kind, ref(s).param]),
    );
    assert.equal(new Set(PARAMETRIZATIONS.map((e) => e.family)).size, 2, 'one quantizer per family');
    for (const short of SHORT_NAME_LIST) {
      const r = ref(short);
      assert.deepEqual(LEARNED_PARAMS[short], r.paper);
      for (const role of ['weight', 'activation'] as const) {
        const resolved = resolveSpec(layerQuantizerSpec(short, role));
        assert.deepEqual([resolved.kind, resolved.param, resolved.short, resolved.params], [r.kind, r.param, short, r.code], `${short} ${role}`);
        assert.deepEqual(Object.keys(resolved.init).sort(), [...r.code].sort(), `${short} ${role}: init holds the learned pair`);
        assert.equal(scopeName(resolved), r.method);
      }
      const q = createQuantizer(specFor(short, { signed: true }));
      try {
        assert.deepEqual(Object.keys(q.variables).sort(), [...r.code].sort());
        assert.match(q.scope, new RegExp(`/${r.method}$`));
      } finally {
        q.dispose();
      }
    }
  });

  it('the cfg methods, the preset names and the presets agree with it', () => {
    assert.deepEqual(WEIGHT_QUANTIZE_METHODS, ['fp', 'pow2', ...METHODS]);
    assert.deepEqual(ACTIVATION_QUANTIZE_METHODS, ['fp_relu', 'pow2_relu', ...METHODS.map((m) => `${m}_relu`)]);
    for (const method of METHODS) {
      assert.equal(weightQuantization(method), REFERENCE[method].short);
      assert.equal(activationQuantization(`${method}_relu`), REFERENCE[method].short);
    }
    for (const short of SHORT_NAME_LIST) {
      const r = ref(short);
      const name = `PARAMETRIC_${r.kind === 'uniform' ? 'FP' : 'POW2'}_WQ_${r.token}`;
      assert.equal(parsePresetName(name)?.parametrization, short, name);
      assert.ok(LAYER_QUANTIZATIONS.includes(short));
    }
    // A token belongs to its family: B_XMAX is U2 or P1, DELTA_* only uniform, B_XMIN and XMIN_XMAX only pow2.
    assert.equal(parsePresetName('PARAMETRIC_FP_WQ_B_XMAX')?.parametrization, 'U2');
    assert.equal(parsePresetName('PARAMETRIC_POW2_WQ_B_XMAX')?.parametrization, 'P1');
    for (const name of ['PARAMETRIC_POW2_WQ_DELTA_B', 'PARAMETRIC_POW2_WQ_DELTA_XMAX', 'PARAMETRIC_FP_WQ_B_XMIN', 'PARAMETRIC_FP_WQ_XMIN_XMAX']) {
      assert.equal(parsePresetName(name), null, name);
    }
    // Every official run's quantizers are fixed, float or a row of the table, and its name says the same row.
    for (const preset of listPresets()) {
      const cfg = presetConfiguration(preset.lookupName);
      const learned = [cfg.w_quantize, cfg.a_quantize?.replace(/_relu$/, '') ?? null].filter(
        (m): m is keyof typeof REFERENCE => m !== null && m !== 'fp' && m !== 'pow2',
      );
      for (const m of learned) assert.ok(m in REFERENCE, `${preset.qualifiedName}: ${m}`);
      const named = parsePresetName(preset.name)?.parametrization ?? null;
      assert.equal(named, learned.length === 0 ? null : REFERENCE[learned[0]!].short, preset.qualifiedName);
    }
    for (const entry of PAPER_TABLE1) {
      if (entry.column === 'float32') continue;
      const r = ref(entry.column);
      assert.equal(entry.randomInitRuns.file, r.kind === 'uniform' ? 'fp' : 'pow2');
      for (const run of entry.randomInitRuns.presets) assert.equal(parsePresetName(run)?.parametrization, entry.column, run);
    }
  });

  it('the figures agree with it', async () => {
    const rows = gaussianMseRows(
      SHORT_NAME_LIST.map((short) => ({ short, mse: [1], bits: [4], final: { kind: 'uniform', short, params: {}, bits: 4 } })),
    );
    assert.deepEqual(
      rows.map((r) => r.family),
      SHORT_NAME_LIST.map((s) => (ref(s).kind === 'uniform' ? 'uniform' : 'power-of-two')),
    );
    for (const short of SHORT_NAME_LIST)
      assert.deepEqual(Object.keys(defaultTheta(short)), ref(short).kind === 'uniform' ? ['b', 'd'] : ['b', 'qmax']);
    const fig1 = maxGradientNormPlot(await maxGradientNormRows([2], [1])) as {
      data: { values: { parametrization: string }[] };
      facet: { header: { labelExpr: string } };
    };
    assert.deepEqual(
      fig1.data.values.map((r) => r.parametrization),
      ['U1', 'U2', 'U3'],
    );
    assert.equal(fig1.facet.header.labelExpr, "datum.value == 'U1' ? 'U1 θ=[b,d]' : datum.value == 'U2' ? 'U2 θ=[b,qmax]' : 'U3 θ=[d,qmax]'");
  });
});
