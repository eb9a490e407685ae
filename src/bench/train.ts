/**
 * Training throughput: images/s of one full training step (forward, backward, weight decay, nnabla momentum update,
 * projection) of ResNet-20 on CIFAR-shaped data, float vs U3 vs P3 (weights and activations), per batch size and
 * backend.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../nn';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../train/config';
import { createSolver } from '../train/optimizer';
import { createTrainingStep } from '../train/step';
import { formatTable } from '../util/table';
import { timeIt } from './harness';
import { useProgress, type BenchSuite } from './suite';

const QUANTIZATIONS = ['float', 'U3', 'P3'] as const;

export interface TrainBenchRow {
  backend: string;
  model: string;
  quantization: (typeof QUANTIZATIONS)[number];
  batch: number;
  medianMs: number;
  imagesPerSecond: number;
}

export const trainSuite: BenchSuite<TrainBenchRow> = {
  name: 'train',
  description: 'ResNet-20 training step (forward, backward, update, projection), images/s, float vs U3 vs P3, batch 32 and 128',
  async run(ctx) {
    const batches = ctx.options.batches ?? (ctx.quick ? [4] : [32, 128]);
    const rows: TrainBenchRow[] = [];
    const progress = useProgress(ctx, 'train', ctx.backends.length * batches.length * QUANTIZATIONS.length);
    let done = 0;
    for (const { name } of ctx.backends) {
      await ctx.switchTo(name);
      for (const batch of batches) {
        for (const quantization of QUANTIZATIONS) {
          progress.update(done++, `${name} batch ${batch} ${quantization}`);
          const config = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { quant: { weights: quantization, activations: quantization }, learningRate: 0.01 });
          const model = createModel('resnet20', {
            inputShape: [32, 32, 3], numClasses: 10, quantization: { weights: quantization, activations: quantization, weightBits: 4, activationBits: 4 },
          });
          const solver = createSolver('momentum', 0.01);
          const stepper = createTrainingStep(model, config, solver);
          const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
          const y = tf.randomUniformInt([batch], 0, 10, 4) as tf.Tensor1D;
          const timing = await timeIt(async () => {
            await stepper.step(x, y);
          }, { warmup: 1, minIterations: ctx.quick ? 1 : 2, maxIterations: 20, budgetMs: ctx.quick ? 0 : 20_000 });
          rows.push({ backend: name, model: 'resnet20', quantization, batch, medianMs: timing.medianMs, imagesPerSecond: batch / (timing.medianMs / 1000) });
          tf.dispose([x, y]);
          solver.dispose();
          model.dispose();
        }
      }
    }
    progress.finish();
    return rows;
  },
  table(rows) {
    const columns = [...new Set(rows.map((r) => `${r.backend} b${r.batch}`))];
    const body = QUANTIZATIONS.filter((q) => rows.some((r) => r.quantization === q)).map((q) => [q, ...columns.map((col) => {
      const r = rows.find((x) => `${x.backend} b${x.batch}` === col && x.quantization === q);
      return r ? `${r.imagesPerSecond.toFixed(1)} img/s` : '–';
    })]);
    return 'ResNet-20 training step (CIFAR shape), images/s\n' + formatTable(['quantization', ...columns], body);
  },
};
