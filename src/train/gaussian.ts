/**
 * The paper's first experiment (§2.3, Fig. 3): learn each parametrization's parameters by gradient descent to
 * minimise the quantization error E[½(Q(x; θ) − x)²] on Gaussian data, with one learning rate for all.
 */
import * as tf from '@tensorflow/tfjs';
import { createQuantizer, layerQuantizerSpec, SHORT_NAME_LIST, type QuantizerState, type ShortName } from '../quant';
import { tfjsSeed } from '../data/random';

export interface GaussianExperimentOptions {
  parametrizations?: readonly ShortName[];
  /** Number of N(0, 1) samples (the paper: 10^4). */
  samples?: number;
  steps?: number;
  learningRate?: number;
  /** Initial bitwidth (the paper starts every run at 4 bits). */
  bits?: number;
  seed?: number;
  /** Called after every step. */
  onStep?: (event: { short: ShortName; step: number; mse: number }) => void;
}

export interface GaussianRun {
  short: ShortName;
  /** Mean squared error ½E[(Q − x)²] before the first step and after every step. */
  mse: number[];
  /** The bitwidth after every step. */
  bits: number[];
  final: QuantizerState;
}

export async function gaussianExperiment(options: GaussianExperimentOptions = {}): Promise<GaussianRun[]> {
  const { samples = 10_000, steps = 200, learningRate = 1, bits = 4, seed = 1 } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`gaussianExperiment: seed must be an integer from 0 to 4294967295, got ${seed}`);
  // tfjs treats a seed of 0 as "no seed": tfjsSeed maps it (and only it) to a seed of its own.
  const x = tf.randomNormal([samples], 0, 1, 'float32', tfjsSeed(seed));
  const maxAbs = (await tf.max(tf.abs(x)).data())[0]!;
  const runs: GaussianRun[] = [];
  for (const short of options.parametrizations ?? SHORT_NAME_LIST) {
    // Initialised as the code initialises from pre-trained weights: the step size from max|x| (docs/METHOD.md#initialization).
    const q = createQuantizer(layerQuantizerSpec(short, 'weight', { bits, maxAbsWeight: maxAbs }));
    const vars = Object.values(q.variables);
    const loss = () => tf.mul(tf.mean(tf.square(tf.sub(q.apply(x), x))), 0.5) as tf.Scalar;
    const run: GaussianRun = { short, mse: [], bits: [], final: await q.state() };
    for (let step = 0; step <= steps; step++) {
      const { value, grads } = tf.variableGrads(loss, vars);
      const mse = (await value.data())[0]!;
      run.mse.push(mse);
      if (step > 0) options.onStep?.({ short, step, mse });
      if (step < steps) {
        tf.tidy(() => {
          for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, learningRate)));
        });
        q.project();
        run.bits.push((await q.state()).bits);
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    run.final = await q.state();
    runs.push(run);
    q.dispose();
  }
  x.dispose();
  return runs;
}
