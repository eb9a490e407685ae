/**
 * The training loop: memory penalties reach their target, a resumed run is bit-identical to an uninterrupted one
 * (cpu), NaN stops training with the step and the offending tensors named, interrupts stop at a step boundary,
 * checkpoints and the metrics log hold what they promise, float runs initialise quantized ones.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfig, type TrainConfigOverrides } from '../../src/train/config';
import { train, TrainingDivergedError, type EpochMetrics } from '../../src/train/trainer';
import { readCheckpoint } from '../../src/train/checkpoint';
import { findDelta } from '../../src/quant';
import { useBackend } from '../helpers/backends';
import { poisoned, syntheticSource } from '../helpers/synthetic';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-train-'));
const data = syntheticSource({ examples: 256 });
const test = syntheticSource({ examples: 64, seed: 8 });

function config(overrides: TrainConfigOverrides): TrainConfig {
  return mergeTrainConfig(DEFAULT_TRAIN_CONFIG, {
    model: 'mnistnet',
    epochs: 3,
    batchSize: 32,
    evalBatchSize: 32,
    learningRate: 0.05,
    augment: false,
    quant: { weights: 'U3', activations: 'U3', weightBits: 4, activationBits: 4 },
    ...overrides,
  });
}

const withoutTimes = (m: EpochMetrics) => ({ ...m, seconds: 0, imagesPerSecond: 0 });

describe('training loop', () => {
  before(() => useBackend('cpu'));

  it('drives weight memory under its target with the penalty, from a float network, and keeps learning', async () => {
    const float = await train({
      config: config({ epochs: 2, quant: { weights: 'float', activations: 'float' } }),
      train: data,
      test,
      outDir: path.join(root, 'penalty-float'),
    });
    float.model.dispose();
    const init = path.join(root, 'penalty-float', 'best.safetensors');
    const start = await train({ config: config({ epochs: 1 }), train: data, test, outDir: null, maxStepsPerEpoch: 0, initCheckpoint: init });
    const initialKB = start.memory.weightsKB;
    start.model.dispose();
    const target = +(initialKB * 0.6).toFixed(3);
    const result = await train({
      config: config({ epochs: 5, learningRate: 0.05, targets: { weightKB: target, lambda2: 0.1 } }),
      train: data,
      test,
      outDir: null,
      initCheckpoint: init,
    });
    const trace = result.history.map((m) => m.weightKB);
    console.log(`weight memory per epoch (from ${initialKB.toFixed(2)} KB, target ${target} KB): ${trace.map((kb) => kb.toFixed(2)).join(', ')}`);
    const last = result.history.at(-1)!;
    // The penalty pushes memory below the target; below it only the cross-entropy acts, so memory hovers around the
    // target, and — as in the code — the best model is taken among epochs that meet the constraint.
    assert.ok(trace[0]! < initialKB, 'memory falls from the start');
    const met = result.history.filter((m) => m.constraintsMet);
    assert.ok(met.length > 0 && met.every((m) => m.weightKB <= target), `some epoch meets the target: ${trace}`);
    assert.equal(result.bestTestError, Math.min(...met.map((m) => m.testError)), 'the best error is taken over epochs that meet the constraint');
    assert.ok(Math.max(...trace) < initialKB, `memory stays below the 4-bit start: ${trace}`);
    assert.ok(last.testError < 0.3, `test error ${last.testError} (4 classes: chance is 0.75)`);
    result.model.dispose();
  });

  it('resumes bit-identically: 2 epochs + resume = 3 epochs straight (cpu)', async () => {
    const cfg = config({ epochs: 3, targets: { weightKB: 5, lambda2: 0.1 } });
    const straight = await train({ config: cfg, train: data, test, outDir: path.join(root, 'straight') });
    straight.model.dispose();
    const controller = new AbortController();
    const first = await train({
      config: cfg,
      train: data,
      test,
      outDir: path.join(root, 'resumed'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'epoch' && e.metrics.epoch === 2) controller.abort();
      },
    });
    assert.equal(first.interrupted, true);
    assert.equal(first.epochsCompleted, 2);
    first.model.dispose();
    const resumed = await train({ config: cfg, train: data, test, outDir: path.join(root, 'resumed'), resume: true });
    assert.equal(resumed.epochsCompleted, 3);
    const a = readCheckpoint(path.join(root, 'straight', 'checkpoint.safetensors'));
    const b = readCheckpoint(path.join(root, 'resumed', 'checkpoint.safetensors'));
    assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
    for (const [name, t] of Object.entries(a.tensors)) {
      assert.deepEqual(Buffer.from(b.tensors[name]!.data.buffer), Buffer.from(t.data.buffer), `${name} differs after resuming`);
    }
    const log = (dir: string) =>
      fs
        .readFileSync(path.join(root, dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => withoutTimes(JSON.parse(l)));
    assert.deepEqual(log('resumed'), log('straight'), 'the metrics log of the resumed run equals the uninterrupted one');
    resumed.model.dispose();
  });

  it('resumes bit-identically from the middle of an epoch: stopped at epoch 2 step 3 + resume = 2 epochs straight (cpu)', async () => {
    const cfg = config({ epochs: 2, targets: { weightKB: 5, lambda2: 0.1 } });
    const straight = await train({ config: cfg, train: data, test, outDir: path.join(root, 'straight-2') });
    straight.model.dispose();
    const controller = new AbortController();
    const first = await train({
      config: cfg,
      train: data,
      test,
      outDir: path.join(root, 'mid-epoch'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step' && e.epoch === 2 && e.step === 3) controller.abort();
      },
    });
    assert.deepEqual([first.interrupted, first.epochsCompleted, first.interruptedAt?.epoch, first.interruptedAt?.step], [true, 1, 2, 3]);
    first.model.dispose();
    const steps: number[] = [];
    const resumed = await train({
      config: cfg,
      train: data,
      test,
      outDir: path.join(root, 'mid-epoch'),
      resume: true,
      onEvent: (e) => {
        if (e.type === 'step') steps.push(e.step);
      },
    });
    assert.deepEqual(steps, [4, 5, 6, 7, 8], 'the resumed epoch goes on after step 3');
    const a = readCheckpoint(path.join(root, 'straight-2', 'checkpoint.safetensors'));
    const b = readCheckpoint(path.join(root, 'mid-epoch', 'checkpoint.safetensors'));
    assert.deepEqual([b.meta.epoch, b.meta.epochStep, b.meta.globalStep], [2, 0, 16]);
    for (const [name, t] of Object.entries(a.tensors)) {
      assert.deepEqual(Buffer.from(b.tensors[name]!.data.buffer), Buffer.from(t.data.buffer), `${name} differs after resuming`);
    }
    const log = (dir: string) =>
      fs
        .readFileSync(path.join(root, dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => withoutTimes(JSON.parse(l)));
    assert.deepEqual(log('mid-epoch'), log('straight-2'), "the partial epoch's sums carry over: its metrics equal the uninterrupted ones");
    resumed.model.dispose();
  });

  it('refuses to resume with a different model or quantization, naming the field', async () => {
    await assert.rejects(
      train({
        config: config({ quant: { weights: 'P3', activations: 'P3' } }),
        train: data,
        test,
        outDir: path.join(root, 'straight'),
        resume: true,
      }),
      /cannot resume from .*checkpoint\.safetensors: it was trained with different settings: quant\.weights "U3" → "P3", quant\.activations "U3" → "P3", targets\.weightKB 5 → null \(/,
    );
  });

  it('writes a checkpoint with every variable and the solver state, and one metrics line per epoch', async () => {
    const { meta, tensors } = readCheckpoint(path.join(root, 'straight', 'checkpoint.safetensors'));
    assert.equal(meta.epoch, 3);
    assert.equal(meta.globalStep, 3 * 8);
    assert.equal(meta.config.model, 'mnistnet');
    for (const name of [
      'conv1/quantized_conv/W',
      'conv1/bn/mean',
      'conv1/quantized_conv/Wquant/parametric_fp_d_xmax/d',
      'fc/quantized_affine/bquant/parametric_fp_d_xmax/xmax',
      'optimizer/momentum/v/conv2/quantized_conv/W',
    ]) {
      assert.ok(tensors[name], `checkpoint lacks ${name}`);
    }
    assert.equal(tensors['optimizer/momentum/v/conv1/bn/mean'], undefined, 'BN statistics are not optimised');
    const lines = fs
      .readFileSync(path.join(root, 'straight', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochMetrics);
    assert.deepEqual(
      lines.map((m) => m.epoch),
      [1, 2, 3],
    );
    const m = lines[0]!;
    for (const key of ['loss', 'crossEntropy', 'weightPenalty', 'trainError', 'testError', 'weightKB', 'activationMaxKB', 'seconds'] as const) {
      assert.equal(typeof m[key], 'number', key);
    }
    assert.deepEqual(
      m.bitwidths.map((b) => `${b.layer}:${b.role}`),
      ['conv1:weight', 'conv1:activation', 'conv2:weight', 'conv2:activation', 'fc:weight', 'fc:bias'],
    );
    assert.ok(fs.existsSync(path.join(root, 'straight', 'best.safetensors')) === lines.some((l) => l.constraintsMet));
  });

  it('stops on a NaN loss, naming the step and the tensors with non-finite values', async () => {
    await assert.rejects(train({ config: config({}), train: poisoned(data), test, outDir: null }), (err: unknown) => {
      assert.ok(err instanceof TrainingDivergedError);
      assert.equal(err.epoch, 1);
      assert.equal(err.step, 1);
      assert.match(err.message, /^training diverged at epoch 1, step 1 \(global step 1\): the loss is NaN \(cross-entropy NaN/);
      assert.match(err.message, /non-finite gradients: .*conv1\/quantized_conv\/W/);
      return true;
    });
  });

  it('stops at a step boundary when interrupted, checkpoints the partial epoch, and leaves the model usable', async () => {
    const controller = new AbortController();
    let steps = 0;
    const result = await train({
      config: config({ epochs: 2 }),
      train: data,
      test,
      outDir: path.join(root, 'interrupted'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step' && ++steps === 3) controller.abort();
      },
    });
    assert.equal(result.interrupted, true);
    assert.equal(steps, 3);
    assert.equal(result.epochsCompleted, 0);
    const checkpoint = path.join(root, 'interrupted', 'checkpoint.safetensors');
    assert.deepEqual(result.interruptedAt, { epoch: 1, step: 3, stepsPerEpoch: 8, checkpoint });
    const { meta } = readCheckpoint(checkpoint);
    assert.deepEqual([meta.epoch, meta.epochStep, meta.globalStep], [0, 3, 3]);
    assert.equal(fs.readFileSync(path.join(root, 'interrupted', 'metrics.jsonl'), 'utf8'), '', 'a partial epoch is not logged');
    const logits = result.model.forward(tf.zeros([2, 8, 8, 1]) as tf.Tensor4D, false);
    assert.deepEqual(logits.shape, [2, 4]);
    result.model.dispose();
  });

  it('float pre-training initialises a quantized run: weights loaded, quantizers from find_delta(max|W|)', async () => {
    const float = await train({
      config: config({ epochs: 1, quant: { weights: 'float', activations: 'float' } }),
      train: data,
      test,
      outDir: path.join(root, 'float'),
    });
    float.model.dispose();
    const quant = await train({
      config: config({ epochs: 1 }),
      train: data,
      test,
      outDir: null,
      maxStepsPerEpoch: 0,
      initCheckpoint: path.join(root, 'float', 'best.safetensors'),
    });
    const { tensors } = readCheckpoint(path.join(root, 'float', 'best.safetensors'));
    const W = tensors['conv2/quantized_conv/W']!.data as Float32Array;
    const loadedW = await quant.model.variables.find((v) => v.name === 'conv2/quantized_conv/W')!.variable.data();
    assert.deepEqual(Array.from(loadedW), Array.from(W));
    const maxAbs = W.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const slot = quant.model.quantizers.find((s) => s.layer === 'conv2' && s.role === 'weight')!;
    const state = await slot.quantizer.state();
    assert.equal(state.params.d, findDelta(maxAbs, 4));
    assert.equal(state.params.xmax, Math.fround(findDelta(maxAbs, 4) * 7));
    quant.model.dispose();
  });
});
