/** The model interface every architecture implements, and the registry that builds them by name. */
import * as tf from '@tensorflow/tfjs';
import type { ModelQuantization, NamedVariable, QuantizerSlot } from './builder';

/** One layer with weights, for memory reports and per-layer bitwidth charts. */
export interface WeightLayer {
  name: string;
  kind: 'conv' | 'depthwise' | 'dense';
  weightCount: number;
  biasCount: number;
}

export interface QuantModel {
  readonly name: string;
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly quantization: ModelQuantization;
  /** Every variable with its canonical (official-code) name: weights, BN parameters and statistics, quantizer parameters. */
  readonly variables: readonly NamedVariable[];
  readonly quantizers: readonly QuantizerSlot[];
  readonly weightLayers: readonly WeightLayer[];
  /** Every nonlinearity with the per-sample size C·H·W of its input (what activation memory counts). */
  readonly activationLayers: readonly { layer: string; size: number }[];
  /** Logits for a batch NHWC; `training` selects batch statistics in BN (and updates the running ones). */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  trainableVariables(): tf.Variable[];
  dispose(): void;
}

/** Number of trainable parameters (weights, biases, BN scale/shift, quantizer parameters, scale layer). */
export function parameterCount(model: QuantModel, kinds: readonly NamedVariable['kind'][] = ['weight', 'bias', 'bn', 'quantizer', 'scale']): number {
  return model.variables.filter((v) => kinds.includes(v.kind)).reduce((n, v) => n + v.variable.size, 0);
}
