/**
 * A small CNN for MNIST-family data (28×28×1): two 5×5 convolutions (16, 32 channels) with BN, the activation
 * quantizer and 2×2 max pooling, then a fully connected layer; ≈ 29 k weights, so that every parametrization can be
 * trained in minutes on a CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelBuilder, type ModelQuantization } from './builder';
import { BatchNorm, Nonlinearity, QConv2d } from './layers';
import { assembleModel, ClassifierHead, requireMinSide, type QuantModel, type WeightLayer } from './model';

/** Two valid 2×2 poolings halve each side twice: a smaller image has no pixel left for the classifier. */
export const MNISTNET_MIN_SIDE = 4;

export interface MnistNetOptions {
  inputShape: readonly [number, number, number];
  numClasses: number;
  quantization: ModelQuantization;
  scaleLayer: boolean;
  seed: number;
}

export function createMnistNet(o: MnistNetOptions): QuantModel {
  requireMinSide('mnistnet', o.inputShape, MNISTNET_MIN_SIDE);
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
  const layers: WeightLayer[] = [
    { name: 'conv1', kind: 'conv', weightCount: conv1.W.size, biasCount: 0 },
    { name: 'conv2', kind: 'conv', weightCount: conv2.W.size, biasCount: 0 },
  ];
  const head = new ClassifierHead(m, features, o.numClasses, o.scaleLayer, layers);
  return assembleModel(m, { name: 'mnistnet', inputShape: o.inputShape, numClasses: o.numClasses }, layers, (x, training) => {
    let h = tf.maxPool(nonl1.apply(bn1.apply(conv1.apply(x), training)), 2, 2, 'valid');
    h = tf.maxPool(nonl2.apply(bn2.apply(conv2.apply(h), training)), 2, 2, 'valid');
    return head.apply(tf.reshape(h, [h.shape[0], features]));
  });
}
