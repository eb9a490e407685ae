/**
 * Images too small for a model are refused before training touches anything: mnistnet on 2×2 images used to hang
 * the default (wasm) backend (its MaxPool wrote out of bounds on the empty pooled map) and give NaN on cpu.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkModelInput, createModel, FLOAT_QUANTIZATION, ModelInputError } from '../../src/nn';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../../src/train/config';
import { train } from '../../src/train/trainer';
import { useBackend } from '../helpers/backends';
import { syntheticSource } from '../helpers/synthetic';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-input-'));
const config = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { model: 'mnistnet', epochs: 1, batchSize: 4, evalBatchSize: 4, augment: false });
const FLOAT = FLOAT_QUANTIZATION;

describe('model input shapes', () => {
  before(() => useBackend('wasm'));

  it('train() refuses 2×2 images for mnistnet with one clear error and creates no run folder', async () => {
    const outDir = path.join(root, 'tiny');
    const tiny = syntheticSource({ examples: 8, size: 2 });
    await assert.rejects(
      train({ config, train: tiny, test: syntheticSource({ examples: 4, size: 2, seed: 8 }), outDir, maxStepsPerEpoch: 1 }),
      (err: unknown) => {
        assert.ok(err instanceof ModelInputError);
        assert.equal(err.message, "mnistnet needs images of at least 4×4 pixels; the data's images are 2×2×1 (height × width × channels)");
        return true;
      },
    );
    assert.equal(fs.existsSync(outDir), false, 'nothing written');
  });

  it('train() refuses a given model that does not take the data, and test data unlike the training data', async () => {
    const model = createModel('mnistnet', { inputShape: [8, 8, 1], numClasses: 4, quantization: FLOAT });
    try {
      await assert.rejects(
        train({ config, model, train: syntheticSource({ examples: 8, size: 6 }), test: syntheticSource({ examples: 4, size: 6 }), outDir: null }),
        { name: 'ModelInputError', message: 'model mnistnet takes 8×8×1 images, but the training data holds 6×6×1 images' },
      );
      await assert.rejects(
        train({ config, model, train: syntheticSource({ examples: 8 }), test: syntheticSource({ examples: 4, classes: 3 }), outDir: null }),
        { name: 'ModelInputError', message: 'the test data (8×8×1 images, 3 classes) does not match the training data (8×8×1, 4 classes)' },
      );
    } finally {
      model.dispose();
    }
  });

  it('checkModelInput: the smallest image each model takes, and malformed shapes', () => {
    // Strided convolutions pad, so ResNet and MobileNetV2 take any size; mnistnet pools 2×2 twice without padding.
    for (const name of ['resnet20', 'mobilenetv2-cifar', 'mobilenetv2-imagenet']) checkModelInput(name, [1, 1, 3], 10);
    checkModelInput('mnistnet', [4, 4, 1], 10);
    checkModelInput('mnistnet', [4, 5, 3], 2);
    const refused: Array<[string, number[], number, RegExp]> = [
      ['mnistnet', [3, 3, 1], 10, /^mnistnet needs images of at least 4×4 pixels; the data's images are 3×3×1/],
      ['mnistnet', [28, 3, 1], 10, /at least 4×4 pixels; the data's images are 28×3×1/],
      ['resnet20', [0, 4, 3], 10, /^resnet20 takes images of height × width × channels, each a positive integer; got \[0, 4, 3\]$/],
      ['resnet20', [4, 4], 10, /got \[4, 4\]$/],
      ['resnet20', [4, 4, 1.5], 10, /got \[4, 4, 1.5\]$/],
      ['resnet20', [4, 4, 3], 1, /^resnet20 needs at least 2 classes; the data has 1$/],
      ['resnet21', [4, 4, 3], 10, /^unknown model "resnet21"; models: resnet20, /],
    ];
    for (const [name, shape, classes, message] of refused) {
      assert.throws(
        () => checkModelInput(name, shape, classes),
        (err: unknown) => err instanceof ModelInputError && message.test(err.message),
        `${name} ${shape}`,
      );
    }
    // createModel refuses the same, so notebooks building models by hand get the message too.
    assert.throws(() => createModel('mnistnet', { inputShape: [2, 2, 1], numClasses: 10, quantization: FLOAT }), ModelInputError);
  });
});
