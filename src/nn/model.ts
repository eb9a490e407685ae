/** The model interface every architecture implements, and the registry that builds them by name. */
import * as tf from '@tensorflow/tfjs';
import type { ModelBuilder, ModelQuantization, NamedVariable, QuantizerSlot } from './builder';
import { QDense } from './layers';

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

/**
 * The classifier every model ends with: global average pooling of the features, the quantized fc layer (weights and
 * bias initialised U(±1/√features) as the code's `affi`), and the optional learnable scale of the logits.
 */
export class ClassifierHead {
  readonly fc: QDense;
  readonly scale: tf.Variable | null;

  constructor(m: ModelBuilder, features: number, numClasses: number, scaleLayer: boolean, layers: WeightLayer[]) {
    const limit = 1 / Math.sqrt(features);
    this.fc = new QDense(m, 'fc', features, numClasses, limit, limit);
    layers.push({ name: 'fc', kind: 'dense', weightCount: this.fc.W.size, biasCount: this.fc.b.size });
    this.scale = scaleLayer ? m.constant('fc/scale_layer', [1, 1], 1, 'scale') : null;
  }

  /** Logits from NHWC features (pooled over H and W) or from already flat features. */
  apply(features: tf.Tensor): tf.Tensor2D {
    const flat = features.rank === 4 ? (tf.mean(features, [1, 2]) as tf.Tensor2D) : (features as tf.Tensor2D);
    const logits = this.fc.apply(flat);
    return this.scale ? tf.mul(logits, this.scale) : logits;
  }
}

/** The QuantModel of a built network: `body` maps a batch to logits; everything else comes from the builder. */
export function assembleModel(
  m: ModelBuilder,
  o: { name: string; inputShape: readonly [number, number, number]; numClasses: number },
  weightLayers: readonly WeightLayer[],
  body: (x: tf.Tensor4D, training: boolean) => tf.Tensor2D,
): QuantModel {
  return {
    name: o.name,
    inputShape: o.inputShape,
    numClasses: o.numClasses,
    quantization: m.quantization,
    variables: m.variables,
    quantizers: m.quantizers,
    activationLayers: m.activations,
    weightLayers,
    forward: (x, training) => tf.tidy(() => body(x, training)),
    trainableVariables: () => m.variables.filter((v) => v.variable.trainable).map((v) => v.variable),
    dispose: () => {
      for (const v of m.variables) v.variable.dispose();
    },
  };
}

/** The input shape a model cannot use, or the class count it cannot classify into, as one clear error. */
export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelInputError';
  }
}

/** Throws a {@link ModelInputError} when the images are smaller than `min` pixels on a side. */
export function requireMinSide(model: string, inputShape: readonly number[], min: number): void {
  const [H = 0, W = 0] = inputShape;
  if (H < min || W < min) {
    throw new ModelInputError(
      `${model} needs images of at least ${min}×${min} pixels; the data's images are ${inputShape.join('×')} ` + '(height × width × channels)',
    );
  }
}
