/**
 * The official experiments by name: the transcribed cfg files, the code's Configuration (defaults, converters,
 * configparser inheritance), the mapping onto TrainConfig, the naming grammar, and the lookup errors.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  applyCodeConverters,
  codeConfigurationToTrainConfig,
  CFG_FILES,
  CODE_CONFIG_KEYS,
  CODE_CONFIGURATION_DEFAULTS,
  CodeConfigurationError,
  FP_CFG,
  initFromWeightfile,
  learningRateOfName,
  listPresets,
  parsePresetName,
  POW2_CFG,
  presetConfiguration,
  PresetLookupError,
  presetToTrainConfig,
  presetVariants,
  resolvePreset,
  sectionRawValues,
  type CfgFile,
  type CodeConfiguration,
} from '../../src/train/presets';
import { layerQuantizerSpec, resolveSpec, type LayerQuantization } from '../../src/quant';

/** A complete configuration: attrs defaults ← both files' [DEFAULT] ← the keys given. */
function expectedConfiguration(experiment: string, keys: Partial<CodeConfiguration>): CodeConfiguration {
  return {
    ...CODE_CONFIGURATION_DEFAULTS,
    experiment,
    num_layers: 20,
    shortcut_type: '',
    initial_learning_rate: 0.1,
    ...keys,
  };
}

function rejectsField(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CodeConfigurationError, `expected CodeConfigurationError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

function lookupError(fn: () => unknown): PresetLookupError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PresetLookupError, `expected PresetLookupError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a PresetLookupError');
}

const FLOAT_SHARED = ['DEFAULT', 'DEFAULT_', 'DEFAULT_INIT', 'DEFAULT_RLR', 'DEFAULT_INIT_RLR'];

describe('transcribed cfg files', () => {
  it('have the section counts of docs/EXPERIMENTS.md#experiment-names: 74 headers in the fp file and 83 in the pow2 file, [DEFAULT] included', () => {
    assert.equal(FP_CFG.sections.length + 1, 74);
    assert.equal(POW2_CFG.sections.length + 1, 83);
    const presets = listPresets();
    assert.equal(presets.length, 74 + 83);
    assert.equal(presets.filter((p) => p.file === 'fp').length, 74);
    assert.equal(presets.filter((p) => p.file === 'pow2').length, 83);
  });

  it('have unique section names per file, and share exactly the float sections between files', () => {
    for (const file of CFG_FILES) {
      const names = file.sections.map((s) => s.name);
      assert.equal(new Set(names).size, names.length, `${file.id}: duplicate section (configparser would refuse the file)`);
      assert.ok(!names.includes('DEFAULT'));
    }
    const fpNames = new Set(['DEFAULT', ...FP_CFG.sections.map((s) => s.name)]);
    const shared = ['DEFAULT', ...POW2_CFG.sections.map((s) => s.name)].filter((n) => fpNames.has(n));
    assert.deepEqual(shared, FLOAT_SHARED);
  });

  it('keep the [DEFAULT] section, the file order, the header comments and the group banners', () => {
    for (const file of CFG_FILES) {
      assert.deepEqual(file.defaults, { num_layers: '20', shortcut_type: '', initial_learning_rate: '0.1' });
      assert.deepEqual(
        file.sections.slice(0, 4).map((s) => s.name),
        FLOAT_SHARED.slice(1),
      );
    }
    assert.equal(FP_CFG.sections.at(-1)!.name, 'PARAMETRIC_FP_WASQ_DELTA_XMAX_CON_INIT_RRLR');
    assert.equal(POW2_CFG.sections.at(-1)!.name, 'PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT_RLR2');
    const commented = FP_CFG.sections.filter((s) => s.comment !== undefined).map((s) => [s.name, s.comment]);
    assert.deepEqual(commented, [
      ['PARAMETRIC_FP_WQ_DELTA_XMAX_INIT_ADAM', '#app66/0'],
      ['PARAMETRIC_FP_WQ_B_XMAX_INIT_ADAM', '#app66/1'],
      ['PARAMETRIC_FP_WQ_DELTA_B_INIT_ADAM', '#app66/2'],
      ['PARAMETRIC_FP_WAQ_DELTA_XMAX_INIT_ADAM', '#app66/3'],
    ]);
    assert.ok(POW2_CFG.sections.every((s) => s.comment === undefined));
    assert.equal(new Set(FP_CFG.sections.map((s) => s.group)).size, 6);
    assert.equal(new Set(POW2_CFG.sections.map((s) => s.group)).size, 5);
    assert.equal(
      FP_CFG.sections.find((s) => s.name === 'PARAMETRIC_FP_W2Q_B_XMAX_CON_INIT')!.group,
      'PARAMETRIC FIXED-POINT QUANTIZATION (CONSTRAINED - LEARN RANGE = XILINX)',
    );
  });

  it('list exactly the keys each section sets, in file order, with the raw values', () => {
    const section = (file: CfgFile, name: string) => file.sections.find((s) => s.name === name)!.values;
    assert.deepEqual(Object.entries(section(FP_CFG, 'FP_W2A4Q_INIT')), [
      ['weightfile', 'params_DEFAULT/params_best.h5'],
      ['initial_learning_rate', '0.03'],
      ['w_quantize', 'fp'],
      ['w_bitwidth', '2'],
      ['a_quantize', 'fp_relu'],
      ['a_bitwidth', '4'],
    ]);
    assert.deepEqual(Object.entries(section(POW2_CFG, 'PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT_RLR_FT4')), [
      ['weightfile', 'PARAMETRIC_POW2_W2A4Q_B_XMAX_CON_INIT_RRLR/params_best.h5'],
      ['initial_learning_rate', '0.01'],
      ['w_quantize', 'parametric_pow2_xmin_xmax'],
      ['w_bitwidth_min', '1'],
      ['a_quantize', 'parametric_pow2_xmin_xmax_relu'],
      ['a_bitwidth', '4'],
      ['target_weight_kbytes', '70.1'],
      ['target_activation_kbytes', '92.1'],
      ['target_activation_type', 'sum'],
      ['scale_layer', 'True'],
    ]);
    assert.deepEqual(section(FP_CFG, 'DEFAULT_'), { initial_learning_rate: '0.03' });
  });

  it('agree in key usage with the files (counts of sections setting each key)', () => {
    const usage = (file: CfgFile) => {
      const counts: Record<string, number> = {};
      for (const s of file.sections) for (const key of Object.keys(s.values)) counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    };
    assert.deepEqual(usage(FP_CFG), {
      initial_learning_rate: 73,
      w_quantize: 69,
      weightfile: 59,
      a_quantize: 39,
      target_weight_kbytes: 27,
      target_activation_kbytes: 18,
      target_activation_type: 18,
      a_bitwidth: 16,
      initial_cost_lambda2: 15,
      w_bitwidth: 12,
      initial_cost_lambda3: 10,
      optimizer: 6,
      w_bitwidth_min: 6,
      w_bitwidth_max: 6,
      a_bitwidth_min: 3,
      a_bitwidth_max: 3,
    });
    assert.deepEqual(usage(POW2_CFG), {
      initial_learning_rate: 82,
      w_quantize: 78,
      weightfile: 68,
      scale_layer: 54,
      w_bitwidth_min: 48,
      a_quantize: 46,
      target_weight_kbytes: 42,
      a_bitwidth: 34,
      target_activation_kbytes: 28,
      target_activation_type: 28,
      w_bitwidth: 12,
      w_bitwidth_max: 6,
      a_bitwidth_min: 3,
      a_bitwidth_max: 3,
    });
  });
});

describe('the code Configuration', () => {
  it('has the attrs defaults of train_resnet.py', () => {
    assert.deepEqual(
      { ...CODE_CONFIGURATION_DEFAULTS },
      {
        optimizer: null,
        weightfile: null,
        w_quantize: null,
        a_quantize: null,
        w_stepsize: 0.125,
        w_stepsize_min: 0.00390625,
        w_stepsize_max: 1,
        w_xmin_min: 1 / 65536,
        w_xmin_max: 127,
        w_xmax_min: 0.00390625,
        w_xmax_max: 127,
        w_bitwidth: 4,
        w_bitwidth_min: 2,
        w_bitwidth_max: 8,
        a_stepsize: 0.125,
        a_stepsize_min: 0.00390625,
        a_stepsize_max: 1,
        a_xmin_min: 1 / 16384,
        a_xmin_max: 255,
        a_xmax_min: 0.00390625,
        a_xmax_max: 255,
        a_bitwidth: 4,
        a_bitwidth_min: 1,
        a_bitwidth_max: 8,
        target_weight_kbytes: -1,
        target_activation_kbytes: -1,
        target_activation_type: 'max',
        initial_cost_lambda2: 0.1,
        initial_cost_lambda3: 0.1,
        scale_layer: false,
      },
    );
    assert.equal(CODE_CONFIG_KEYS.length, 33);
  });

  it('applies the converters: int, float, str, and bool on strings (non-empty is True, "False" included)', () => {
    const base = { num_layers: '20', shortcut_type: '', initial_learning_rate: '0.1' };
    const cfg = applyCodeConverters({ ...base, w_bitwidth: ' 3 ', target_weight_kbytes: '7e1', a_stepsize: '.5', scale_layer: 'False' }, 'X');
    assert.equal(cfg.w_bitwidth, 3);
    assert.equal(cfg.target_weight_kbytes, 70);
    assert.equal(cfg.a_stepsize, 0.5);
    assert.equal(cfg.scale_layer, true, 'converter=bool makes "False" True');
    assert.equal(applyCodeConverters({ ...base, scale_layer: '' }, 'X').scale_layer, false);
    assert.equal(applyCodeConverters({ ...base, scale_layer: '0' }, 'X').scale_layer, true);
    assert.equal(applyCodeConverters({ ...base, initial_cost_lambda3: '1_0.5' }, 'X').initial_cost_lambda3, 10.5);
    assert.equal(applyCodeConverters({ ...base, target_weight_kbytes: '-inf' }, 'X').target_weight_kbytes, -Infinity);
    assert.equal(applyCodeConverters({ ...base, optimizer: 'momentum' }, 'X').optimizer, 'momentum');
    assert.equal(cfg.experiment, 'X');
  });

  it('rejects what the code rejects, naming the field', () => {
    const base = { num_layers: '20', shortcut_type: '', initial_learning_rate: '0.1' };
    rejectsField(() => applyCodeConverters({ ...base, w_bitwidth: '2.0' }, 'X'), 'w_bitwidth', /int\(\) cannot convert "2.0"/);
    rejectsField(() => applyCodeConverters({ ...base, num_layers: '' }, 'X'), 'num_layers', /int\(\)/);
    rejectsField(() => applyCodeConverters({ ...base, initial_learning_rate: '' }, 'X'), 'initial_learning_rate', /float\(\)/);
    rejectsField(() => applyCodeConverters({ ...base, target_weight_kbytes: '70KB' }, 'X'), 'target_weight_kbytes', /float\(\)/);
    rejectsField(() => applyCodeConverters({ ...base, w_quantise: 'fp' }, 'X'), 'w_quantise', /not a field of Configuration/);
    rejectsField(() => applyCodeConverters({ ...base, experiment: 'Y' }, 'X'), 'experiment', /passed by the script/);
    rejectsField(() => applyCodeConverters({ num_layers: '20', shortcut_type: '' }, 'X'), 'initial_learning_rate', /required/);
    rejectsField(
      () => applyCodeConverters({ ...base, w_quantize: 'fp_relu' }, 'X'),
      'w_quantize',
      /unknown value "fp_relu".*parametric_pow2_xmin_xmax/,
    );
    rejectsField(() => applyCodeConverters({ ...base, a_quantize: 'parametric_fp_d_xmax' }, 'X'), 'a_quantize', /parametric_fp_d_xmax_relu/);
    rejectsField(() => applyCodeConverters({ ...base, target_activation_type: 'mean' }, 'X'), 'target_activation_type', /max, sum/);
  });
});

describe('preset configurations', () => {
  it('DEFAULT: the float pre-training, [DEFAULT] over the attrs defaults', () => {
    assert.deepEqual(presetConfiguration('DEFAULT'), expectedConfiguration('DEFAULT', {}));
  });

  it('fp WAMQ RLR2: a_bitwidth 6, λ3 = 1.0, memory targets 70.1 KB / 8.1 KB max', () => {
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT_RLR2'),
      expectedConfiguration('PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT_RLR2', {
        weightfile: 'params_DEFAULT/params_best.h5',
        initial_learning_rate: 0.01,
        w_quantize: 'parametric_fp_d_xmax',
        a_quantize: 'parametric_fp_d_xmax_relu',
        a_bitwidth: 6,
        target_weight_kbytes: 70.1,
        target_activation_kbytes: 8.1,
        target_activation_type: 'max',
        initial_cost_lambda2: 0.1,
        initial_cost_lambda3: 1.0,
      }),
    );
  });

  it('fp WASQ RLR4: λ3 = 0.1, total-activation target 92.1 KB', () => {
    const cfg = presetConfiguration('fp:PARAMETRIC_FP_WASQ_DELTA_XMAX_CON_INIT_RLR4');
    assert.deepEqual(
      cfg,
      expectedConfiguration('PARAMETRIC_FP_WASQ_DELTA_XMAX_CON_INIT_RLR4', {
        weightfile: 'params_DEFAULT/params_best.h5',
        initial_learning_rate: 0.01,
        w_quantize: 'parametric_fp_d_xmax',
        a_quantize: 'parametric_fp_d_xmax_relu',
        a_bitwidth: 6,
        target_weight_kbytes: 70.1,
        target_activation_kbytes: 92.1,
        target_activation_type: 'sum',
        initial_cost_lambda2: 0.1,
        initial_cost_lambda3: 0.1,
      }),
    );
  });

  it('pow2 B_XMIN runs: a tenth of the grammar learning rate (0.003, RLR 0.001)', () => {
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_POW2_WQ_B_XMIN'),
      expectedConfiguration('PARAMETRIC_POW2_WQ_B_XMIN', {
        initial_learning_rate: 0.003,
        w_quantize: 'parametric_pow2_b_xmin',
      }),
    );
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_POW2_WAQ_B_XMIN_INIT_RLR'),
      expectedConfiguration('PARAMETRIC_POW2_WAQ_B_XMIN_INIT_RLR', {
        weightfile: 'params_DEFAULT/params_best.h5',
        initial_learning_rate: 0.001,
        w_quantize: 'parametric_pow2_b_xmin',
        a_quantize: 'parametric_pow2_b_xmin_relu',
      }),
    );
  });

  it('pow2 constrained P3 with FT4: w_bitwidth_min = 1, scale_layer, a_bitwidth 4, loads the TQT run', () => {
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT_RLR_FT4'),
      expectedConfiguration('PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT_RLR_FT4', {
        weightfile: 'PARAMETRIC_POW2_W2A4Q_B_XMAX_CON_INIT_RRLR/params_best.h5',
        initial_learning_rate: 0.01,
        w_quantize: 'parametric_pow2_xmin_xmax',
        w_bitwidth_min: 1,
        a_quantize: 'parametric_pow2_xmin_xmax_relu',
        a_bitwidth: 4,
        target_weight_kbytes: 70.1,
        target_activation_kbytes: 8.1,
        target_activation_type: 'max',
        scale_layer: true,
      }),
    );
  });

  it('pow2 TQT-like W2A4: bitwidths frozen by min = max, loading the static POW2_W2A4Q_INIT run', () => {
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_POW2_W2A4Q_B_XMAX_CON_INIT'),
      expectedConfiguration('PARAMETRIC_POW2_W2A4Q_B_XMAX_CON_INIT', {
        weightfile: 'POW2_W2A4Q_INIT/params_best.h5',
        initial_learning_rate: 0.03,
        w_quantize: 'parametric_pow2_b_xmax',
        a_quantize: 'parametric_pow2_b_xmax_relu',
        w_bitwidth: 2,
        w_bitwidth_min: 2,
        w_bitwidth_max: 2,
        a_bitwidth: 4,
        a_bitwidth_min: 4,
        a_bitwidth_max: 4,
        scale_layer: true,
      }),
    );
  });

  it('fp ADAM runs (the get_res.py runs): optimizer adam, lr 0.001', () => {
    assert.deepEqual(
      presetConfiguration('PARAMETRIC_FP_WQ_DELTA_XMAX_INIT_ADAM'),
      expectedConfiguration('PARAMETRIC_FP_WQ_DELTA_XMAX_INIT_ADAM', {
        weightfile: 'params_DEFAULT/params_best.h5',
        optimizer: 'adam',
        initial_learning_rate: 0.001,
        w_quantize: 'parametric_fp_d_xmax',
      }),
    );
  });

  it('follows configparser inheritance: [DEFAULT] applies unless the section overrides it', () => {
    const file: CfgFile = {
      id: 'fp',
      path: 'test.cfg',
      defaults: { num_layers: '32', shortcut_type: '', initial_learning_rate: '0.5', w_bitwidth: '3' },
      sections: [
        { name: 'OVERRIDES', group: 'G', values: { w_bitwidth: '5', initial_learning_rate: '0.01' } },
        { name: 'INHERITS', group: 'G', values: { a_quantize: 'fp_relu' } },
      ],
    };
    const overrides = presetConfiguration('OVERRIDES', [file]);
    assert.equal(overrides.w_bitwidth, 5);
    assert.equal(overrides.initial_learning_rate, 0.01);
    assert.equal(overrides.num_layers, 32);
    const inherits = presetConfiguration('INHERITS', [file]);
    assert.equal(inherits.w_bitwidth, 3, '[DEFAULT] value');
    assert.equal(inherits.initial_learning_rate, 0.5);
    assert.equal(inherits.a_bitwidth, 4, 'attrs default where neither sets it');
    assert.deepEqual(sectionRawValues(file, 'INHERITS'), {
      num_layers: '32',
      shortcut_type: '',
      initial_learning_rate: '0.5',
      w_bitwidth: '3',
      a_quantize: 'fp_relu',
    });
    assert.equal(presetToTrainConfig('DEFAULT').model, 'resnet20');
    // In the official files every section inherits num_layers and shortcut_type.
    for (const p of listPresets()) {
      const cfg = presetConfiguration(p.qualifiedName);
      assert.equal(cfg.num_layers, 20);
      assert.equal(cfg.shortcut_type, '');
    }
    assert.equal(presetConfiguration('DEFAULT_INIT').initial_learning_rate, 0.03, 'section overrides [DEFAULT] 0.1');
  });
});

const WEIGHT_EXPECTED: Record<string, LayerQuantization> = {
  fp: 'fp',
  pow2: 'pow2',
  parametric_fp_d_b: 'U1',
  parametric_fp_b_xmax: 'U2',
  parametric_fp_d_xmax: 'U3',
  parametric_pow2_b_xmax: 'P1',
  parametric_pow2_b_xmin: 'P2',
  parametric_pow2_xmin_xmax: 'P3',
};

describe('preset → TrainConfig', () => {
  it('maps every preset of both files, with the right quantizers, lr, optimizer, targets and constants', () => {
    const counts: Record<string, number> = {};
    for (const preset of listPresets()) {
      const cfg = presetConfiguration(preset.lookupName);
      const train = presetToTrainConfig(preset.lookupName);
      const what = preset.qualifiedName;
      assert.equal(train.name, preset.name, what);
      assert.equal(train.model, 'resnet20', what);
      const weights = cfg.w_quantize === null ? 'float' : WEIGHT_EXPECTED[cfg.w_quantize]!;
      const activations = cfg.a_quantize === null ? 'float' : WEIGHT_EXPECTED[cfg.a_quantize.replace(/_relu$/, '')]!;
      assert.equal(train.quant.weights, weights, what);
      assert.equal(train.quant.activations, activations, what);
      counts[`${preset.file} ${weights}/${activations}`] = (counts[`${preset.file} ${weights}/${activations}`] ?? 0) + 1;
      assert.equal(train.quant.weightBits, cfg.w_bitwidth, what);
      assert.equal(train.quant.activationBits, cfg.a_bitwidth, what);
      assert.deepEqual(
        train.quant.weight,
        {
          stepsize: cfg.w_stepsize,
          stepsizeRange: [cfg.w_stepsize_min, cfg.w_stepsize_max],
          xminRange: [cfg.w_xmin_min, cfg.w_xmin_max],
          xmaxRange: [cfg.w_xmax_min, cfg.w_xmax_max],
          bitwidth: cfg.w_bitwidth,
          bitwidthRange: [cfg.w_bitwidth_min, cfg.w_bitwidth_max],
        },
        what,
      );
      assert.deepEqual(train.quant.activation.bitwidthRange, [cfg.a_bitwidth_min, cfg.a_bitwidth_max], what);
      assert.equal(train.learningRate, cfg.initial_learning_rate, what);
      assert.equal(train.optimizer, cfg.optimizer === 'adam' ? 'adam' : 'momentum', what);
      assert.equal(train.momentum, 0.9);
      assert.equal(train.scaleLayer, cfg.scale_layer, what);
      assert.deepEqual(
        train.targets,
        {
          weightKB: cfg.target_weight_kbytes > 0 ? cfg.target_weight_kbytes : null,
          activationKB: cfg.target_activation_kbytes > 0 ? cfg.target_activation_kbytes : null,
          activationType: cfg.target_activation_type,
          lambda2: cfg.initial_cost_lambda2,
          lambda3: cfg.initial_cost_lambda3,
        },
        what,
      );
      assert.deepEqual(train.schedule, { kind: 'step', milestones: [0.5, 0.75], factor: 0.1 });
      assert.equal(train.epochs, 160);
      assert.equal(train.batchSize, 128);
      assert.equal(train.evalBatchSize, 100);
      assert.equal(train.weightDecay, 2e-4);
      assert.equal(train.seed, 313);
      assert.equal(train.augment, true);
      // initFrom names a section of the same file (FT runs another section, INIT runs DEFAULT).
      if (cfg.weightfile === null) {
        assert.equal(train.initFrom, null, what);
      } else {
        assert.ok(
          train.initFrom !== null && sectionRawValues(preset.file === 'fp' ? FP_CFG : POW2_CFG, train.initFrom) !== undefined,
          `${what}: initFrom ${train.initFrom}`,
        );
      }
      // The quantization module accepts every preset's quantizers with their ranges and initial bitwidths.
      for (const [quantization, role, config, bits] of [
        [train.quant.weights, 'weight', train.quant.weight, train.quant.weightBits],
        [train.quant.activations, 'activation', train.quant.activation, train.quant.activationBits],
      ] as const) {
        assert.doesNotThrow(() => resolveSpec(layerQuantizerSpec(quantization, role, { bits, config })), `${what} ${role}`);
      }
    }
    assert.deepEqual(counts, {
      'fp float/float': 5,
      'fp fp/float': 3,
      'fp fp/fp': 3,
      'fp U3/float': 14,
      'fp U3/U3': 23,
      'fp U2/float': 8,
      'fp U2/U2': 8,
      'fp U1/float': 5,
      'fp U1/U1': 5,
      'pow2 float/float': 5,
      'pow2 pow2/float': 3,
      'pow2 pow2/pow2': 3,
      'pow2 P3/float': 18,
      'pow2 P3/P3': 32,
      'pow2 P1/float': 7,
      'pow2 P1/P1': 7,
      'pow2 P2/float': 4,
      'pow2 P2/P2': 4,
    });
  });

  it('resolves weightfile to the run it loads, keeping the exact section name', () => {
    assert.equal(initFromWeightfile('params_DEFAULT/params_best.h5'), 'DEFAULT');
    assert.equal(
      initFromWeightfile('PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT_RRLR_FT/params_best.h5'),
      'PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT_RRLR_FT',
    );
    assert.equal(initFromWeightfile('/ckpt/other.h5'), '/ckpt/other.h5');
    assert.equal(presetToTrainConfig('PARAMETRIC_FP_WQ_DELTA_XMAX_CON_INIT').initFrom, 'DEFAULT');
    assert.equal(presetToTrainConfig('PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT_RRLR_FT3').initFrom, 'PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT_RRLR_FT');
    assert.equal(presetToTrainConfig('PARAMETRIC_POW2_WQ_XMIN_XMAX_CON_INIT_RLR4').initFrom, 'PARAMETRIC_POW2_WQ_XMIN_XMAX_CON_INIT_RRLR');
    // The cfg's POW2_W2A4Q_INIT loads its own output folder; kept as written.
    assert.equal(presetToTrainConfig('POW2_W2A4Q_INIT').initFrom, 'POW2_W2A4Q_INIT');
    assert.equal(presetToTrainConfig('PARAMETRIC_FP_WQ_DELTA_XMAX').initFrom, null);
  });

  it('maps a constrained pow2 preset completely', () => {
    const train = presetToTrainConfig('PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT');
    assert.deepEqual(train, {
      name: 'PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT',
      model: 'resnet20',
      quant: {
        weights: 'P3',
        activations: 'P3',
        weightBits: 4,
        activationBits: 6,
        weight: {
          stepsize: 2 ** -3,
          stepsizeRange: [2 ** -8, 1],
          xminRange: [2 ** -16, 127],
          xmaxRange: [2 ** -8, 127],
          bitwidth: 4,
          bitwidthRange: [1, 8],
        },
        activation: {
          stepsize: 2 ** -3,
          stepsizeRange: [2 ** -8, 1],
          xminRange: [2 ** -14, 255],
          xmaxRange: [2 ** -8, 255],
          bitwidth: 6,
          bitwidthRange: [1, 8],
        },
      },
      scaleLayer: true,
      optimizer: 'momentum',
      momentum: 0.9,
      learningRate: 0.03,
      schedule: { kind: 'step', milestones: [0.5, 0.75], factor: 0.1 },
      epochs: 160,
      batchSize: 128,
      evalBatchSize: 100,
      weightDecay: 2e-4,
      targets: { weightKB: 70.1, activationKB: 92.1, activationType: 'sum', lambda2: 0.1, lambda3: 0.1 },
      initFrom: 'DEFAULT',
      augment: true,
      seed: 313,
    });
  });

  it('applies overrides last, without touching the preset', () => {
    const name = 'PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT_RLR2';
    const base = presetToTrainConfig(name);
    const train = presetToTrainConfig(name, {
      epochs: 2,
      name: 'smoke',
      quant: { activationBits: 8, weight: { bitwidthRange: [3, 8] } },
      targets: { lambda3: 5 },
    });
    assert.equal(train.epochs, 2);
    assert.equal(train.name, 'smoke');
    assert.equal(train.quant.activationBits, 8);
    assert.equal(train.quant.weights, 'U3', 'not overridden');
    assert.deepEqual(train.quant.weight.bitwidthRange, [3, 8]);
    assert.equal(train.quant.weight.stepsize, 2 ** -3, 'nested weight config merged, not replaced');
    assert.equal(train.targets.lambda3, 5);
    assert.equal(train.targets.activationKB, 8.1);
    assert.equal(train.learningRate, 0.01);
    assert.deepEqual(presetToTrainConfig(name), base);
    assert.equal(base.targets.lambda3, 1.0);
  });

  it('refuses what mixprec cannot build, naming the field', () => {
    const float = presetConfiguration('DEFAULT');
    rejectsField(() => codeConfigurationToTrainConfig({ ...float, shortcut_type: 'b' }), 'shortcut_type', /"b".*not supported.*option A/);
    rejectsField(() => codeConfigurationToTrainConfig({ ...float, shortcut_type: 'C' }), 'shortcut_type', /"C".*not supported/);
    rejectsField(() => codeConfigurationToTrainConfig({ ...float, num_layers: 18 }), 'num_layers', /no CIFAR ResNet with 18 layers/);
    assert.equal(codeConfigurationToTrainConfig({ ...float, num_layers: 56 }).model, 'resnet56');
  });
});

describe('preset lookup', () => {
  it('resolves a name both files define alike without a prefix, and takes a file prefix', () => {
    assert.equal(resolvePreset('DEFAULT_INIT').file.id, 'fp');
    assert.equal(resolvePreset('pow2:DEFAULT_INIT').file.id, 'pow2');
    assert.deepEqual(presetConfiguration('pow2:DEFAULT_INIT'), presetConfiguration('fp:DEFAULT_INIT'));
    assert.equal(resolvePreset('PARAMETRIC_POW2_WQ_B_XMAX').file.id, 'pow2');
    const listed = listPresets()
      .filter((p) => p.name === 'DEFAULT_INIT')
      .map((p) => p.lookupName);
    assert.deepEqual(listed, ['DEFAULT_INIT', 'pow2:DEFAULT_INIT']);
    for (const p of listPresets()) assert.equal(resolvePreset(p.lookupName).file.id, p.file);
  });

  it('refuses a name defined differently in two files, listing the qualified forms', () => {
    const files: CfgFile[] = [
      {
        id: 'fp',
        path: 'a.cfg',
        defaults: { num_layers: '20', shortcut_type: '', initial_learning_rate: '0.1' },
        sections: [{ name: 'X', group: 'G', values: { w_quantize: 'fp' } }],
      },
      {
        id: 'pow2',
        path: 'b.cfg',
        defaults: { num_layers: '20', shortcut_type: '', initial_learning_rate: '0.1' },
        sections: [{ name: 'X', group: 'G', values: { w_quantize: 'pow2' } }],
      },
    ];
    const err = lookupError(() => resolvePreset('X', files));
    assert.equal(err.reason, 'ambiguous');
    assert.deepEqual(err.suggestions, ['fp:X', 'pow2:X']);
    assert.match(err.message, /"X" is defined differently.*fp:X, pow2:X/);
    assert.equal(presetConfiguration('pow2:X', files).w_quantize, 'pow2');
  });

  it('names the closest presets for an unknown name', () => {
    const typo = lookupError(() => presetToTrainConfig('PARAMETRIC_FP_WQ_DELTA_XMAX_INTI'));
    assert.equal(typo.reason, 'unknown');
    assert.equal(typo.suggestions[0], 'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT');
    assert.equal(typo.suggestions.length, 5);
    assert.match(typo.message, /unknown preset "PARAMETRIC_FP_WQ_DELTA_XMAX_INTI"; closest: PARAMETRIC_FP_WQ_DELTA_XMAX_INIT, /);
    assert.equal(lookupError(() => presetConfiguration('default')).suggestions[0], 'DEFAULT', 'case-sensitive, suggested');
    const wrongFile = lookupError(() => presetConfiguration('pow2:PARAMETRIC_FP_WQ_DELTA_XMAX'));
    assert.equal(wrongFile.suggestions[0], 'fp:PARAMETRIC_FP_WQ_DELTA_XMAX');
    const badPrefix = lookupError(() => presetConfiguration('fp2:DEFAULT_RLR'));
    assert.equal(badPrefix.suggestions[0], 'DEFAULT_RLR');
  });
});

describe('naming grammar', () => {
  it('parses every section name, and each part agrees with the configuration', () => {
    for (const preset of listPresets()) {
      const what = preset.qualifiedName;
      const parts = parsePresetName(preset.name);
      assert.ok(parts !== null, `${what} does not parse`);
      const cfg = presetConfiguration(preset.lookupName);
      const train = presetToTrainConfig(preset.lookupName);
      const expectedQuantizer =
        cfg.w_quantize === null
          ? 'float'
          : cfg.w_quantize === 'fp'
            ? 'fixed-uniform'
            : cfg.w_quantize === 'pow2'
              ? 'fixed-pow2'
              : cfg.w_quantize.startsWith('parametric_fp')
                ? 'learned-uniform'
                : 'learned-pow2';
      assert.equal(parts.quantizer, expectedQuantizer, what);
      assert.equal(parts.activationsQuantized, cfg.a_quantize !== null, what);
      if (parts.parametrization !== null) {
        assert.equal(parts.parametrization, train.quant.weights, what);
        if (parts.activationsQuantized) assert.equal(parts.parametrization, train.quant.activations, what);
      }
      if (parts.weightBits !== null) assert.equal(cfg.w_bitwidth, parts.weightBits, what);
      if (parts.activationBits !== null) assert.equal(cfg.a_bitwidth, parts.activationBits, what);
      assert.equal(parts.activationMemoryTarget, cfg.target_activation_kbytes > 0 ? cfg.target_activation_type : null, what);
      const frozenBits = cfg.w_bitwidth_min === cfg.w_bitwidth_max;
      assert.equal(parts.constrained, cfg.target_weight_kbytes > 0 || frozenBits, what);
      assert.equal(parts.init, cfg.weightfile !== null, what);
      if (parts.fineTune !== null) assert.notEqual(train.initFrom, 'DEFAULT', what);
      assert.equal(parts.learningRateToken === 'ADAM', cfg.optimizer === 'adam', what);
      assert.equal(learningRateOfName(preset.name, parts), cfg.initial_learning_rate, `${what}: learning rate of the name`);
    }
  });

  it('parses the parts of a long name, and rejects names outside the grammar', () => {
    assert.deepEqual(parsePresetName('PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT_RRLR_FT3'), {
      quantizer: 'learned-pow2',
      activationsQuantized: true,
      weightBits: null,
      activationBits: null,
      activationMemoryTarget: 'max',
      parametrization: 'P3',
      constrained: true,
      init: true,
      learningRateToken: 'RRLR',
      repeat: null,
      fineTune: 3,
      stem: 'PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT',
    });
    assert.equal(parsePresetName('PARAMETRIC_FP_WQ_DELTA_XMAX_CON_INIT_RLR_FT')!.fineTune, 1);
    assert.equal(parsePresetName('FP_W2A4Q_INIT')!.activationBits, 4);
    assert.equal(parsePresetName('PARAMETRIC_FP_WQ_B_XMIN'), null, 'B_XMIN is a pow2 parametrization');
    assert.equal(parsePresetName('PARAMETRIC_FP_WQ'), null, 'a learned quantizer needs its parametrization');
    assert.equal(parsePresetName('FP_WQ_DELTA_XMAX'), null, 'a fixed quantizer has none');
    assert.equal(parsePresetName('RESNET'), null);
  });

  it('groups variants by stem', () => {
    assert.deepEqual(presetVariants(FP_CFG, 'FP_W2Q_INIT'), ['FP_W2Q_INIT', 'FP_W2Q_INIT_RLR', 'FP_W2Q_INIT_RRLR']);
    assert.deepEqual(presetVariants(FP_CFG, 'PARAMETRIC_FP_WQ_DELTA_B_INIT'), [
      'PARAMETRIC_FP_WQ_DELTA_B_INIT',
      'PARAMETRIC_FP_WQ_DELTA_B_INIT_RLR',
      'PARAMETRIC_FP_WQ_DELTA_B_INIT_ADAM',
    ]);
    assert.deepEqual(presetVariants(POW2_CFG, 'DEFAULT'), ['DEFAULT', 'DEFAULT_', 'DEFAULT_RLR']);
    assert.equal(presetVariants(POW2_CFG, 'PARAMETRIC_POW2_WQ_XMIN_XMAX_CON_INIT').length, 14);
  });

  it('describes each preset in one distinct line', () => {
    const presets = listPresets();
    for (const file of ['fp', 'pow2']) {
      const lines = presets.filter((p) => p.file === file).map((p) => p.description);
      assert.equal(new Set(lines).size, lines.length, `${file}: descriptions tell the sections apart`);
      for (const line of lines) assert.ok(!line.includes('\n') && !line.includes('?'), line);
    }
    const byName = (name: string) => presets.find((p) => p.lookupName === name)!.description;
    assert.equal(byName('DEFAULT'), 'float32 pre-training (the float net INIT runs start from); random init; SGD lr 0.1');
    assert.equal(
      byName('PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT_RLR2'),
      'learned uniform U3 θ=[d,qmax] weights + activations (initial activations 6 bit); memory targets weights ≤ 70.1 KB, ' +
        'max activation ≤ 8.1 KB (λ3 = 1); init from DEFAULT (float); SGD lr 0.01, variant 2',
    );
    assert.equal(
      byName('PARAMETRIC_POW2_W2Q_B_XMAX_CON_INIT_RRLR'),
      'learned power-of-two P1 θ=[b,qmax] weights, float activations; bitwidth frozen at W2, range learned (TQT-like); ' +
        'init from DEFAULT (float); SGD lr 0.003; learnable logit scale',
    );
    assert.match(byName('POW2_W2A4Q_INIT'), /^fixed power-of-two weights 2 bit \+ activations 4 bit; init from its own output POW2_W2A4Q_INIT/);
    assert.match(byName('PARAMETRIC_FP_WQ_B_XMAX_INIT_ADAM'), /Adam lr 0\.001$/);
    assert.equal(presets.find((p) => p.name === 'PARAMETRIC_FP_WQ_B_XMAX_INIT_ADAM')!.comment, '#app66/1');
  });
});
