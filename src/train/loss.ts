/**
 * The training objective of the official code (docs/METHOD.md#memory-penalty):
 *   loss = CE + λ2·relu(S_w − T_w)² + λ3·relu(S_x − T_x)²,
 * with S_w the weight memory and S_x the max or summed activation memory in KB, differentiable through the
 * quantizers' bitwidths (straight-through ceil/round).
 */
import * as tf from '@tensorflow/tfjs';
import { activationMemoryKB, weightMemoryKB, type QuantModel } from '../nn';
import type { MemoryTargets } from './config';

export interface LossParts {
  total: tf.Scalar;
  crossEntropy: tf.Scalar;
  weightPenalty: tf.Scalar;
  activationPenalty: tf.Scalar;
  logits: tf.Tensor2D;
}

const hasTarget = (t: number | null): t is number => t !== null && t > 0;

/** Mean softmax cross-entropy of integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(labels, logits.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** relu(S − T)², the squared violation of one memory target. */
export function memoryPenalty(sizeKB: tf.Scalar, targetKB: number): tf.Scalar {
  return tf.square(tf.relu(tf.sub(sizeKB, targetKB))) as tf.Scalar;
}

/** The loss parts for one batch; all scalars are kept (not tidied) for the caller to read and dispose. */
export function trainingLoss(model: QuantModel, x: tf.Tensor4D, labels: tf.Tensor1D, targets: MemoryTargets): LossParts {
  const logits = model.forward(x, true);
  const ce = crossEntropy(logits, labels);
  const weightPenalty = hasTarget(targets.weightKB) ? memoryPenalty(weightMemoryKB(model), targets.weightKB) : tf.scalar(0);
  const activationPenalty = hasTarget(targets.activationKB)
    ? memoryPenalty(activationMemoryKB(model, targets.activationType), targets.activationKB)
    : tf.scalar(0);
  const total = tf.addN([ce, tf.mul(weightPenalty, targets.lambda2), tf.mul(activationPenalty, targets.lambda3)]) as tf.Scalar;
  return { total, crossEntropy: ce, weightPenalty, activationPenalty, logits };
}

export { hasTarget };
