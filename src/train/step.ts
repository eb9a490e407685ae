/**
 * One optimisation step exactly as the official loop does it (docs/METHOD.md#training-loop): loss and gradients, coupled weight decay
 * on every parameter, [clipping of the (d, xmax) / (xmin, xmax) gradients to ±d / ±xmin when a memory target is
 * set], the solver update, the projection of every quantizer's parameters. Shared by the trainer and the benchmark.
 */
import * as tf from '@tensorflow/tfjs';
import type { QuantModel } from '../nn';
import type { TrainConfig } from './config';
import { hasTarget, trainingLoss } from './loss';
import { withWeightDecay, type Solver } from './optimizer';

export interface NamedParam {
  name: string;
  variable: tf.Variable;
}

export interface StepResult {
  loss: number;
  crossEntropy: number;
  weightPenalty: number;
  activationPenalty: number;
  /** Misclassified examples of the batch. */
  wrong: number;
  finite: boolean;
  /** For a non-finite loss: which parameters and gradients hold NaN or ±∞ (nothing was updated). */
  nonFinite?: string;
}

export interface TrainingStep {
  step(x: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult>;
}

export function trainableParams(model: QuantModel): NamedParam[] {
  return model.variables.filter((v) => v.variable.trainable).map(({ name, variable }) => ({ name, variable }));
}

export async function readScalars(...ts: tf.Tensor[]): Promise<number[]> {
  const values = await Promise.all(ts.map((t) => t.data()));
  return values.map((v) => v[0]!);
}

/** For U3 / P3 quantizers: the code's clip_quant_grads bounds both parameters' gradients by ±d or ±xmin. */
export function gradientClipBounds(model: QuantModel): Map<tf.Variable, tf.Variable> {
  const bounds = new Map<tf.Variable, tf.Variable>();
  for (const slot of model.quantizers) {
    const { param } = slot.quantizer.spec;
    const vars = slot.quantizer.variables;
    const bound = param === 'd_xmax' ? vars.d : param === 'xmin_xmax' ? vars.xmin : undefined;
    if (bound === undefined) continue;
    for (const v of Object.values(vars)) bounds.set(v!, bound);
  }
  return bounds;
}

/** Which variables and gradients hold non-finite values, for the divergence message. */
export async function nonFiniteReport(model: QuantModel, grads: tf.NamedTensorMap): Promise<string> {
  const badParams: string[] = [];
  const badGrads: string[] = [];
  const finite = async (t: tf.Tensor) => {
    const all = tf.tidy(() => tf.all(tf.isFinite(t)));
    const ok = (await all.data())[0] === 1;
    all.dispose();
    return ok;
  };
  for (const { name, variable } of model.variables) {
    if (!(await finite(variable))) badParams.push(name);
    const g = grads[variable.name];
    if (g && !(await finite(g))) badGrads.push(name);
  }
  const list = (xs: string[]) => (xs.length > 6 ? `${xs.slice(0, 6).join(', ')} and ${xs.length - 6} more` : xs.join(', '));
  const parts = [];
  if (badParams.length) parts.push(`non-finite parameters: ${list(badParams)}`);
  if (badGrads.length) parts.push(`non-finite gradients: ${list(badGrads)}`);
  return parts.join('; ') || 'all parameters and gradients are finite (the forward pass overflowed)';
}

export function createTrainingStep(model: QuantModel, config: TrainConfig, solver: Solver): TrainingStep {
  const named = trainableParams(model);
  const constrained = hasTarget(config.targets.weightKB) || hasTarget(config.targets.activationKB);
  const clipBounds = constrained ? gradientClipBounds(model) : new Map<tf.Variable, tf.Variable>();
  return {
    async step(x, labels) {
      let kept: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(
        () => {
          const parts = trainingLoss(model, x, labels, config.targets);
          const miss = tf.sum(tf.cast(tf.notEqual(tf.argMax(parts.logits, 1), labels), 'float32'));
          kept = [parts.crossEntropy, parts.weightPenalty, parts.activationPenalty, miss].map((t) => tf.keep(t));
          return parts.total;
        },
        named.map((p) => p.variable),
      );
      const [loss, crossEntropy, weightPenalty, activationPenalty, wrong] = await readScalars(value, ...kept);
      const result: StepResult = {
        loss: loss!,
        crossEntropy: crossEntropy!,
        weightPenalty: weightPenalty!,
        activationPenalty: activationPenalty!,
        wrong: wrong!,
        finite: Number.isFinite(loss!),
      };
      if (!result.finite) {
        result.nonFinite = await nonFiniteReport(model, grads);
      } else {
        tf.tidy(() => {
          solver.update(
            named.map(({ name, variable }) => {
              // A parameter the loss does not reach still decays, as nnabla's solver.weight_decay covers every parameter.
              const g: tf.Tensor = grads[variable.name] ?? tf.zerosLike(variable);
              const bound = clipBounds.get(variable);
              // The clip bounds the decayed gradient; elsewhere the solver adds the decay (fused with its update).
              if (bound === undefined) return { name, variable, grad: g, decay: config.weightDecay };
              const decayed = withWeightDecay(g, variable, config.weightDecay);
              return { name, variable, grad: tf.minimum(tf.maximum(decayed, tf.neg(bound)), bound) };
            }),
          );
        });
        for (const slot of model.quantizers) slot.quantizer.project();
      }
      tf.dispose([value, ...kept, ...Object.values(grads)]);
      return result;
    },
  };
}
