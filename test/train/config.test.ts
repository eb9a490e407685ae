/**
 * The TrainConfig schema: every field's type and range checked in one place, one error naming the source, the field,
 * the value and what was expected; unknown fields named with the closest one; defaults and every preset valid.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  DEFAULT_TRAIN_CONFIG,
  mergeTrainConfig,
  suggestField,
  TRAIN_CONFIG_SCHEMA,
  TrainConfigError,
  validateTrainConfig,
  validateTrainConfigOverrides,
} from '../../src/train/config';
import { listPresets, presetToTrainConfig } from '../../src/train/presets';

/** Overrides as a `--config` file might hold them → the one-line error (source `config.json`). */
const BAD_OVERRIDES: readonly [unknown, string][] = [
  [{ lr: 0.1 }, 'unknown field "lr" (did you mean "learningRate"?)'],
  [{ learnigRate: 0.1 }, 'unknown field "learnigRate" (did you mean "learningRate"?)'],
  [{ batch_size: 64 }, 'unknown field "batch_size" (did you mean "batchSize"?)'],
  [{ evalBatch: 64 }, 'unknown field "evalBatch" (did you mean "evalBatchSize"?)'],
  [
    { colour: 'red' },
    'unknown field "colour" (TrainConfig fields: name, model, quant, scaleLayer, optimizer, momentum, learningRate, ' +
      'schedule, epochs, batchSize, evalBatchSize, weightDecay, targets, initFrom, augment, seed)',
  ],
  [{ quant: { weigths: 'U3' } }, 'unknown field "quant.weigths" (did you mean "quant.weights"?)'],
  [{ quant: { weight: { xmax: [0.1, 2] } } }, 'unknown field "quant.weight.xmax" (did you mean "quant.weight.xmaxRange"?)'],
  [{ targets: { lambda: 1 } }, 'unknown field "targets.lambda" (did you mean "targets.lambda2"?)'],
  [{ schedule: { kind: 'step', milestone: [0.5], factor: 0.1 } }, 'unknown field "schedule.milestone" (did you mean "schedule.milestones"?)'],
  [{ augment: 'no' }, 'field "augment" must be true or false, got "no"'],
  [{ scaleLayer: 1 }, 'field "scaleLayer" must be true or false, got 1'],
  [{ quant: 'U3' }, 'field "quant" must be an object with fields weights, activations, weightBits, activationBits, weight, activation, got "U3"'],
  [{ quant: { weights: 'U4' } }, 'field "quant.weights" must be one of "float", "fp", "pow2", "U1", "U2", "U3", "P1", "P2", "P3", got "U4"'],
  [{ targets: { weightKB: 'a' } }, 'field "targets.weightKB" must be a positive number or null, got "a"'],
  [{ targets: { weightKB: -5 } }, 'field "targets.weightKB" must be a positive number or null, got -5'],
  [{ targets: { activationKB: 0 } }, 'field "targets.activationKB" must be a positive number or null, got 0'],
  [{ targets: { activationType: 'mean' } }, 'field "targets.activationType" must be one of "max", "sum", got "mean"'],
  [{ targets: { lambda2: -0.1 } }, 'field "targets.lambda2" must be a number ≥ 0, got -0.1'],
  [{ quant: { weightBits: 1000 } }, 'field "quant.weightBits" must be an integer from 2 to 32, got 1000'],
  [{ quant: { weightBits: 1 } }, 'field "quant.weightBits" must be an integer from 2 to 32, got 1'],
  [{ quant: { activationBits: 0 } }, 'field "quant.activationBits" must be an integer from 1 to 32, got 0'],
  [{ quant: { activationBits: 3.5 } }, 'field "quant.activationBits" must be an integer from 1 to 32, got 3.5'],
  [{ quant: { weight: { bitwidth: 40 } } }, 'field "quant.weight.bitwidth" must be an integer from 2 to 32, got 40'],
  [{ quant: { weight: { stepsize: 0 } } }, 'field "quant.weight.stepsize" must be a positive number, got 0'],
  [
    { quant: { weight: { xmaxRange: [3, 1] } } },
    'field "quant.weight.xmaxRange" must be [min, max] with 0 < min ≤ max, got [3,1] (min 3 is greater than max 1)',
  ],
  [
    { quant: { activation: { xminRange: [0, 1] } } },
    'field "quant.activation.xminRange" must be [min, max] with 0 < min ≤ max, got [0,1] (min must be positive (the parameter is a magnitude), got 0)',
  ],
  [{ quant: { weight: { stepsizeRange: 0.5 } } }, 'field "quant.weight.stepsizeRange" must be [min, max] with 0 < min ≤ max, got 0.5'],
  [
    { quant: { activation: { bitwidthRange: [1, 64] } } },
    'field "quant.activation.bitwidthRange" must be [min, max] with 1 ≤ min ≤ max ≤ 32, got [1,64] (max 64 is above 32)',
  ],
  [
    { quant: { weight: { bitwidthRange: [0, 8] } } },
    'field "quant.weight.bitwidthRange" must be [min, max] with 1 ≤ min ≤ max ≤ 32, got [0,8] (min 0 is below 1)',
  ],
  [
    { model: 'vgg16' },
    'field "model" must be one of "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "mobilenetv2-cifar", ' +
      '"mobilenetv2-imagenet", "mnistnet", got "vgg16"',
  ],
  [{ optimizer: 'sgd' }, 'field "optimizer" must be one of "momentum", "adam", got "sgd"'],
  [{ momentum: 1 }, 'field "momentum" must be a number in [0, 1), got 1'],
  [{ learningRate: 0 }, 'field "learningRate" must be a positive number, got 0'],
  [{ learningRate: '0.1' }, 'field "learningRate" must be a positive number, got "0.1"'],
  [{ epochs: 0 }, 'field "epochs" must be a positive integer, got 0'],
  [{ epochs: 2.5 }, 'field "epochs" must be a positive integer, got 2.5'],
  [{ batchSize: -32 }, 'field "batchSize" must be a positive integer, got -32'],
  [{ evalBatchSize: null }, 'field "evalBatchSize" must be a positive integer, got null'],
  [{ weightDecay: -1e-4 }, 'field "weightDecay" must be a number ≥ 0, got -0.0001'],
  [{ seed: -1 }, 'field "seed" must be an integer from 0 to 4294967295, got -1'],
  [{ seed: 1.5 }, 'field "seed" must be an integer from 0 to 4294967295, got 1.5'],
  [{ seed: 2 ** 32 }, 'field "seed" must be an integer from 0 to 4294967295, got 4294967296'],
  [{ initFrom: '' }, 'field "initFrom" must be a non-empty string or null, got ""'],
  [{ name: 7 }, 'field "name" must be a non-empty string, got 7'],
  [{ schedule: 'cosine' }, 'field "schedule" must be an object with "kind": "constant", "step", "cosine", got "cosine"'],
  [{ schedule: { kind: 'warmup' } }, 'field "schedule.kind" must be one of "constant", "step", "cosine", got "warmup"'],
  [{ schedule: { kind: 'step', milestones: [0.5, 1.5], factor: 0.1 } }, 'field "schedule.milestones[1]" must be a number in (0, 1), got 1.5'],
  [{ schedule: { kind: 'step', milestones: 0.5, factor: 0.1 } }, 'field "schedule.milestones" must be a list of numbers in (0, 1), got 0.5'],
  [{ schedule: { kind: 'step', milestones: [0.5] } }, 'field "schedule.factor" is missing; expected a positive number'],
  [{ schedule: { kind: 'cosine', minFactor: 2 } }, 'field "schedule.minFactor" must be a number in [0, 1], got 2'],
  [[], 'expected a JSON object of TrainConfig fields, got []'],
  [null, 'expected a JSON object of TrainConfig fields, got null'],
];

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof TrainConfigError, `a TrainConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('no error');
};

describe('TrainConfig schema', () => {
  it('rejects each bad override with one message naming the source, the field, the value and what was expected', () => {
    for (const [overrides, expected] of BAD_OVERRIDES) {
      assert.equal(
        message(() => validateTrainConfigOverrides(overrides, 'config.json')),
        `config.json: ${expected}`,
        JSON.stringify(overrides),
      );
    }
  });

  it('names the field path on the error', () => {
    assert.throws(
      () => validateTrainConfigOverrides({ targets: { weightKB: 'a' } }, 'x.json'),
      (err: unknown) => err instanceof TrainConfigError && err.field === 'targets.weightKB' && err.source === 'x.json',
    );
  });

  it('checks the overrides that mergeTrainConfig and presetToTrainConfig take, and leaves nothing merged', () => {
    const before = JSON.stringify(DEFAULT_TRAIN_CONFIG);
    assert.equal(
      message(() => mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { lr: 0.1 } as never)),
      'overrides: unknown field "lr" (did you mean "learningRate"?)',
    );
    assert.equal(
      message(() => presetToTrainConfig('DEFAULT', { augment: 'no' } as never)),
      'overrides: field "augment" must be true or false, got "no"',
    );
    assert.equal(
      message(() => presetToTrainConfig('DEFAULT', { quant: { weights: 'U4' } } as never)),
      'overrides: field "quant.weights" must be one of "float", "fp", "pow2", "U1", "U2", "U3", "P1", "P2", "P3", got "U4"',
    );
    assert.equal(JSON.stringify(DEFAULT_TRAIN_CONFIG), before, 'the base config is not modified');
  });

  it('merges valid overrides; undefined means absent; null clears a target; seed 0 is a seed', () => {
    const c = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, {
      epochs: undefined,
      seed: 0,
      quant: { weights: 'U3', weight: { xmaxRange: [0.01, 4] } },
      targets: { weightKB: 70.1 },
      schedule: { kind: 'cosine', minFactor: 0 },
    });
    assert.equal(c.epochs, 160);
    assert.equal(c.seed, 0);
    assert.equal(c.quant.weights, 'U3');
    assert.equal(c.quant.activations, 'float');
    assert.deepEqual(c.quant.weight, { xmaxRange: [0.01, 4] });
    assert.deepEqual(c.targets, { ...DEFAULT_TRAIN_CONFIG.targets, weightKB: 70.1 });
    assert.equal(mergeTrainConfig(c, { targets: { weightKB: null } }).targets.weightKB, null);
    assert.deepEqual(validateTrainConfig(c), c);
  });

  it('requires every field of a complete config', () => {
    const { seed: _seed, ...noSeed } = DEFAULT_TRAIN_CONFIG;
    assert.equal(
      message(() => validateTrainConfig(noSeed)),
      'config: field "seed" is missing; expected an integer from 0 to 4294967295',
    );
    assert.equal(
      message(() => validateTrainConfig({ ...DEFAULT_TRAIN_CONFIG, quant: { ...DEFAULT_TRAIN_CONFIG.quant, weightBits: undefined } })),
      'config: field "quant.weightBits" is missing; expected an integer from 2 to 32',
    );
    assert.equal(
      message(() => validateTrainConfig({ ...DEFAULT_TRAIN_CONFIG, resumes: [] })),
      'config: unknown field "resumes" ' +
        '(TrainConfig fields: name, model, quant, scaleLayer, optimizer, momentum, learningRate, schedule, epochs, batchSize, evalBatchSize, ' +
        'weightDecay, targets, initFrom, augment, seed)',
    );
  });

  it('names the flag of a field when asked (the command line)', () => {
    assert.equal(
      message(() => validateTrainConfigOverrides({ batchSize: 0 }, 'command line', { labels: { batchSize: '--batch' } })),
      'command line: field "batchSize" (--batch) must be a positive integer, got 0',
    );
  });

  it('accepts every field of DEFAULT_TRAIN_CONFIG and every preset', () => {
    assert.deepEqual(Object.keys(TRAIN_CONFIG_SCHEMA.fields).sort(), Object.keys(DEFAULT_TRAIN_CONFIG).sort());
    validateTrainConfig(DEFAULT_TRAIN_CONFIG);
    validateTrainConfigOverrides(DEFAULT_TRAIN_CONFIG);
    const presets = listPresets();
    assert.equal(presets.length, 157);
    for (const p of presets) {
      const c = presetToTrainConfig(p.lookupName);
      assert.doesNotThrow(() => validateTrainConfig(c, p.lookupName), p.lookupName);
      assert.doesNotThrow(() => validateTrainConfigOverrides(c, p.lookupName), p.lookupName);
    }
  });

  it('suggests a field only when one is close', () => {
    const f = TRAIN_CONFIG_SCHEMA.fields;
    assert.equal(suggestField('lr', f), 'learningRate');
    assert.equal(suggestField('epoch', f), 'epochs');
    assert.equal(suggestField('Seed', f), 'seed');
    assert.equal(suggestField('initial_learning_rate', f), 'learningRate');
    assert.equal(suggestField('zzz', f), null);
  });
});
