/**
 * On the embedded MNIST data, through the Arrow loader: a few training steps reduce the test loss of a float model,
 * and of U3 and P3 models fine-tuned from it (the paper's float-init procedure); the CLI's preset chain runs.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDefaultDatasets, openBatchSource, type DatasetBatchSource } from '../../src/data';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfigOverrides } from '../../src/train/config';
import { train } from '../../src/train/trainer';
import { useBackend } from '../helpers/backends';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-mnist-'));
let trainSet: DatasetBatchSource;
let testSet: DatasetBatchSource;

const config = (o: TrainConfigOverrides) =>
  mergeTrainConfig(DEFAULT_TRAIN_CONFIG, {
    model: 'mnistnet',
    epochs: 1,
    batchSize: 32,
    evalBatchSize: 250,
    learningRate: 0.03,
    ...o,
  });

async function testLossBeforeAndAfter(o: TrainConfigOverrides, steps: number, initCheckpoint: string | null, outDir: string | null) {
  const common = { train: trainSet, test: testSet, maxEvalBatches: 2, initCheckpoint };
  const before = await train({ ...common, config: config(o), outDir: null, maxStepsPerEpoch: 0 });
  before.model.dispose();
  const afterRun = await train({ ...common, config: config(o), outDir, maxStepsPerEpoch: steps });
  afterRun.model.dispose();
  const result = { before: before.history[0]!.testLoss, after: afterRun.history[0]!.testLoss, error: afterRun.history[0]!.testError };
  console.log(`${o.quant?.weights}: test loss ${result.before.toFixed(3)} → ${result.after.toFixed(3)}, error ${result.error}`);
  return result;
}

describe('training on MNIST', () => {
  before(async () => {
    await useBackend('wasm');
    const { train: trainFile, test: testFile } = await ensureDefaultDatasets();
    trainSet = await openBatchSource(trainFile);
    testSet = await openBatchSource(testFile);
  });
  after(async () => {
    await trainSet.close();
    await testSet.close();
  });

  it('float: 40 steps reduce the test loss', async () => {
    const r = await testLossBeforeAndAfter({ quant: { weights: 'float', activations: 'float' } }, 40, null, path.join(root, 'float'));
    assert.ok(r.after < r.before * 0.7, `test loss ${r.before} → ${r.after}`);
    assert.ok(r.error < 0.5, `test error ${r.error}`);
  });

  for (const q of ['U3', 'P3'] as const) {
    it(`${q} (weights and activations, from the float run): 30 steps reduce the test loss`, async () => {
      const r = await testLossBeforeAndAfter(
        { quant: { weights: q, activations: q }, learningRate: 0.01 },
        30,
        path.join(root, 'float', 'best.safetensors'),
        null,
      );
      assert.ok(r.after < r.before, `test loss ${r.before} → ${r.after}`);
      assert.ok(r.error < 0.5, `test error ${r.error}`);
    });
  }
});
