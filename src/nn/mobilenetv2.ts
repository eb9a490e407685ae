/**
 * MobileNetV2 (Sandler et al., 2018) with quantized convolutions, depthwise ones included: the ImageNet network
 * (224×224, first conv stride 2: conv, then 17 inverted-residual blocks, conv 1×1 to 1280, fc — 53 weight layers as
 * in the paper's Fig. 5) and the usual CIFAR variant (first conv and the second block group at stride 1).
 * The official code has no MobileNetV2; as in its ResNet, every ReLU6 becomes an activation quantizer and the linear
 * bottleneck outputs (which feed additions, not nonlinearities) stay unquantized.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelBuilder, type ModelQuantization } from './builder';
import { BatchNorm, Nonlinearity, QConv2d, QDepthwiseConv2d } from './layers';
import { assembleModel, ClassifierHead, type QuantModel, type WeightLayer } from './model';

/** (expansion t, output channels c, repeats n, first stride s) of the inverted-residual groups. */
const IMAGENET_SETTINGS: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** Channels rounded to a multiple of 8, never more than 10 % below (the reference implementation's _make_divisible). */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor));
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

export interface MobileNetV2Options {
  variant: 'cifar' | 'imagenet';
  inputShape: readonly [number, number, number];
  numClasses: number;
  quantization: ModelQuantization;
  scaleLayer: boolean;
  seed: number;
  /** Width multiplier α (1.0 is the paper's network). */
  widthMultiplier?: number;
}

const down = (size: number, stride: number) => Math.ceil(size / stride);

export function createMobileNetV2(o: MobileNetV2Options): QuantModel {
  const alpha = o.widthMultiplier ?? 1;
  const name = `mobilenetv2-${o.variant}`;
  const m = new ModelBuilder(name, o.quantization, o.seed);
  const layers: WeightLayer[] = [];
  let [h, w, channels] = o.inputShape;
  const firstStride = o.variant === 'imagenet' ? 2 : 1;
  const stem = 'conv1';
  const stemOut = makeDivisible(32 * alpha);
  const stemConv = new QConv2d(m, stem, channels, stemOut, 3, { stride: firstStride, pad: 1 });
  [h, w] = [down(h, firstStride), down(w, firstStride)];
  const stemBn = new BatchNorm(m, stem, stemOut);
  const stemAct = new Nonlinearity(m, stem, [h, w, stemOut], 'relu6');
  layers.push({ name: stem, kind: 'conv', weightCount: stemConv.W.size, biasCount: 0 });
  channels = stemOut;

  type Step = (x: tf.Tensor4D, training: boolean) => tf.Tensor4D;
  const blocks: Step[] = [];
  let index = 0;
  IMAGENET_SETTINGS.forEach(([t, c, n, s], group) => {
    const out = makeDivisible(c * alpha);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? (o.variant === 'cifar' && group === 1 ? 1 : s) : 1;
      const scope = `block${++index}`;
      const hidden = channels * t;
      const expand =
        t !== 1
          ? {
              conv: new QConv2d(m, `${scope}/expand`, channels, hidden, 1),
              bn: new BatchNorm(m, `${scope}/expand`, hidden),
              act: new Nonlinearity(m, `${scope}/expand`, [h, w, hidden], 'relu6'),
            }
          : null;
      if (expand) layers.push({ name: `${scope}/expand`, kind: 'conv', weightCount: expand.conv.W.size, biasCount: 0 });
      const dw = new QDepthwiseConv2d(m, `${scope}/depthwise`, hidden, 3, stride, 1);
      const [ho, wo] = [down(h, stride), down(w, stride)];
      const dwBn = new BatchNorm(m, `${scope}/depthwise`, hidden);
      const dwAct = new Nonlinearity(m, `${scope}/depthwise`, [ho, wo, hidden], 'relu6');
      layers.push({ name: `${scope}/depthwise`, kind: 'depthwise', weightCount: dw.W.size, biasCount: 0 });
      const project = new QConv2d(m, `${scope}/project`, hidden, out, 1);
      const projectBn = new BatchNorm(m, `${scope}/project`, out);
      layers.push({ name: `${scope}/project`, kind: 'conv', weightCount: project.W.size, biasCount: 0 });
      const residual = stride === 1 && channels === out;
      blocks.push((x, training) => {
        let y = x;
        if (expand) y = expand.act.apply(expand.bn.apply(expand.conv.apply(y), training));
        y = dwAct.apply(dwBn.apply(dw.apply(y), training));
        y = projectBn.apply(project.apply(y), training);
        return residual ? tf.add(x, y) : y;
      });
      [h, w, channels] = [ho, wo, out];
    }
  });
  const lastChannels = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  const head = new QConv2d(m, 'conv_last', channels, lastChannels, 1);
  const headBn = new BatchNorm(m, 'conv_last', lastChannels);
  const headAct = new Nonlinearity(m, 'conv_last', [h, w, lastChannels], 'relu6');
  layers.push({ name: 'conv_last', kind: 'conv', weightCount: head.W.size, biasCount: 0 });
  const classifier = new ClassifierHead(m, lastChannels, o.numClasses, o.scaleLayer, layers);
  return assembleModel(m, { name, inputShape: o.inputShape, numClasses: o.numClasses }, layers, (x, training) => {
    let y = stemAct.apply(stemBn.apply(stemConv.apply(x), training));
    for (const block of blocks) y = block(y, training);
    return classifier.apply(headAct.apply(headBn.apply(head.apply(y), training)));
  });
}
