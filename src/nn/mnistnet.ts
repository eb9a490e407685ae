/**
 * A small CNN for MNIST-family data (28×28×1): two 5×5 convolutions (16, 32 channels) with BN, the activation
 * quantizer and 2×2 max pooling, then a fully connected layer; ≈ 29 k weights, so that every parametrization can be
 * trained in minutes on a CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelBuilder, type ModelQuantization } from './builder';
import { BatchNorm, Nonlinearity, QConv2d, QDense } from './layers';
import type { QuantModel } from './model';

export interface MnistNetOptions {
  inputShape: readonly [number, number, number];
  numClasses: number;
  quantization: ModelQuantization;
  scaleLayer: boolean;
  seed: number;
}

export function createMnistNet(o: MnistNetOptions): QuantModel {
  const m = new ModelBuilder('mnistnet', o.quantization, o.seed);
  const [H, W, C] = o.inputShape;
  const conv1 = new QConv2d(m, 'conv1', C, 16, 5, { pad: 2 });
  const bn1 = new BatchNorm(m, 'conv1', 16);
  const nonl1 = new Nonlinearity(m, 'conv1', [H, W, 16]);
  const h2 = Math.floor(H / 2);
  const w2 = Math.floor(W / 2);
  const conv2 = new QConv2d(m, 'conv2', 16, 32, 5, { pad: 2 });
  const bn2 = new BatchNorm(m, 'conv2', 32);
  const nonl2 = new Nonlinearity(m, 'conv2', [h2, w2, 32]);
  const features = Math.floor(h2 / 2) * Math.floor(w2 / 2) * 32;
  const limit = 1 / Math.sqrt(features);
  const fc = new QDense(m, 'fc', features, o.numClasses, limit, limit);
  const scale = o.scaleLayer ? m.constant('fc/scale_layer', [1, 1], 1, 'scale') : null;
  return {
    name: 'mnistnet', inputShape: o.inputShape, numClasses: o.numClasses, quantization: o.quantization,
    variables: m.variables, quantizers: m.quantizers, activationLayers: m.activations,
    weightLayers: [
      { name: 'conv1', kind: 'conv', weightCount: conv1.W.size, biasCount: 0 },
      { name: 'conv2', kind: 'conv', weightCount: conv2.W.size, biasCount: 0 },
      { name: 'fc', kind: 'dense', weightCount: fc.W.size, biasCount: fc.b.size },
    ],
    forward(x, training) {
      return tf.tidy(() => {
        let h = tf.maxPool(nonl1.apply(bn1.apply(conv1.apply(x), training)), 2, 2, 'valid');
        h = tf.maxPool(nonl2.apply(bn2.apply(conv2.apply(h), training)), 2, 2, 'valid');
        const logits = fc.apply(tf.reshape(h, [h.shape[0], features]) as tf.Tensor2D);
        return scale ? tf.mul(logits, scale) : logits;
      });
    },
    trainableVariables: () => m.variables.filter((v) => v.variable.trainable).map((v) => v.variable),
    dispose: () => {
      for (const v of m.variables) v.variable.dispose();
    },
  };
}
