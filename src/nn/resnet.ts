/**
 * ResNet for CIFAR as model_resnet.resnet_cifar10 builds it (docs/METHOD.md#resnet-for-cifar): conv1 3×3×16 → BN → nonl; three stages of
 * basic blocks (16/32/64 channels, strides 1/2/2); global average pooling; fc with bias; option-A shortcuts
 * (subsampling and zero channels, no 1×1 convolution). Every conv weight, the fc weight and bias are quantized;
 * every ReLU is an activation quantizer (19 in ResNet-20).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelBuilder, type ModelQuantization } from './builder';
import { BatchNorm, Nonlinearity, QConv2d } from './layers';
import { assembleModel, ClassifierHead, type QuantModel, type WeightLayer } from './model';

export const RESNET_DEPTHS = { 20: 3, 32: 5, 44: 7, 56: 9, 110: 18 } as const;
export type ResNetDepth = keyof typeof RESNET_DEPTHS;

interface Block {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

/** Option A: identity; stride 2 subsamples (nnabla average_pooling with a 1×1 kernel); extra channels are zeros. */
function shortcutA(x: tf.Tensor4D, outChannels: number, stride: number): tf.Tensor4D {
  let s = x;
  if (stride !== 1) s = tf.avgPool(x, 1, stride, 'valid');
  const extra = outChannels - s.shape[3];
  return extra > 0
    ? tf.pad(s, [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, extra],
      ])
    : s;
}

function basicBlock(m: ModelBuilder, scope: string, inC: number, outC: number, stride: number, hw: [number, number], layers: WeightLayer[]): Block {
  const [h, w] = hw;
  const conv1 = new QConv2d(m, `${scope}/basicblock1`, inC, outC, 3, { stride, pad: 1 });
  const bn1 = new BatchNorm(m, `${scope}/basicblock1`, outC);
  const nonl1 = new Nonlinearity(m, `${scope}/basicblock1`, [h, w, outC]);
  const conv2 = new QConv2d(m, `${scope}/basicblock2`, outC, outC, 3, { pad: 1 });
  const bn2 = new BatchNorm(m, `${scope}/basicblock2`, outC);
  const nonlOut = new Nonlinearity(m, scope, [h, w, outC]);
  layers.push({ name: conv1.scope, kind: 'conv', weightCount: conv1.W.size, biasCount: 0 });
  layers.push({ name: conv2.scope, kind: 'conv', weightCount: conv2.W.size, biasCount: 0 });
  return {
    apply(x, training) {
      const a = nonl1.apply(bn1.apply(conv1.apply(x), training));
      const b = bn2.apply(conv2.apply(a), training);
      return nonlOut.apply(tf.add(b, shortcutA(x, outC, stride)));
    },
  };
}

export interface ResNetOptions {
  depth: ResNetDepth;
  inputShape: readonly [number, number, number];
  numClasses: number;
  quantization: ModelQuantization;
  scaleLayer: boolean;
  seed: number;
}

export function createResNet(o: ResNetOptions): QuantModel {
  const blocksPerStage = RESNET_DEPTHS[o.depth];
  if (blocksPerStage === undefined) throw new Error(`ResNet depth must be one of ${Object.keys(RESNET_DEPTHS).join(', ')}, got ${o.depth}`);
  const name = `resnet${o.depth}`;
  const m = new ModelBuilder(name, o.quantization, o.seed);
  const [H, W, C] = o.inputShape;
  const layers: WeightLayer[] = [];
  const conv1 = new QConv2d(m, 'conv1', C, 16, 3, { pad: 1 });
  const bn1 = new BatchNorm(m, 'conv1', 16);
  const nonl1 = new Nonlinearity(m, 'conv1', [H, W, 16]);
  layers.push({ name: 'conv1', kind: 'conv', weightCount: conv1.W.size, biasCount: 0 });
  const blocks: Block[] = [];
  let channels = 16;
  let hw: [number, number] = [H, W];
  [16, 32, 64].forEach((outC, stage) => {
    for (let i = 0; i < blocksPerStage; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      if (stride === 2) hw = [Math.ceil(hw[0] / 2), Math.ceil(hw[1] / 2)];
      blocks.push(basicBlock(m, `res${stage + 1}/layer${i + 1}`, channels, outC, stride, hw, layers));
      channels = outC;
    }
  });
  const head = new ClassifierHead(m, channels, o.numClasses, o.scaleLayer, layers);
  return assembleModel(m, { name, inputShape: o.inputShape, numClasses: o.numClasses }, layers, (x, training) => {
    let h = nonl1.apply(bn1.apply(conv1.apply(x), training));
    for (const block of blocks) h = block.apply(h, training);
    return head.apply(h);
  });
}
