/**
 * Quantized layers as the official code builds them (parametric_quantization.quantized_convolution / _affine,
 * model_resnet.nonl): float weights W, b are the trainable variables; every forward computes Q_w(W), Q_b(b).
 */
import * as tf from '@tensorflow/tfjs';
import { fastKernelsEnabled } from '../backend';
import { BATCH_NORM_KERNELS, fusedBatchNorm } from '../backend/kernels';
import type { Quantizer } from '../quant';
import { customOp } from '../quant/custom_op';
import { ModelBuilder } from './builder';

export type Padding = number | 'same' | 'valid';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** nnabla pads symmetrically (`pad=(1, 1)`); tfjs 'same' pads stride-2 convolutions asymmetrically, so be explicit. */
function explicitPad(pad: Padding): 'same' | 'valid' | ExplicitPadding {
  return typeof pad === 'number'
    ? [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]
    : pad;
}

/** nnabla's calc_uniform_lim_glorot: sqrt(6 / (K·(in + out))) with K the kernel area. */
export function glorotLimit(inChannels: number, outChannels: number, kernelArea = 1): number {
  return Math.sqrt(6 / (kernelArea * inChannels + kernelArea * outChannels));
}

function quantized(q: Quantizer | null, t: tf.Tensor): tf.Tensor {
  return q === null ? t : q.apply(t);
}

export interface Conv2dOptions {
  stride?: number;
  /** Symmetric padding in pixels (nnabla `pad=(p, p)`), or tfjs 'same' / 'valid'. */
  pad?: Padding;
  bias?: boolean;
}

/** A convolution with quantized weights (and bias); filters in tfjs's HWIO layout (nnabla stores OIHW). */
export class QConv2d {
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  readonly wq: Quantizer | null;
  readonly bq: Quantizer | null;
  readonly stride: number;
  readonly pad: Padding;

  constructor(
    m: ModelBuilder,
    readonly scope: string,
    inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    options: Conv2dOptions = {},
  ) {
    this.stride = options.stride ?? 1;
    this.pad = options.pad ?? 0;
    this.W = m.uniform(
      `${scope}/quantized_conv/W`,
      [kernel, kernel, inChannels, outChannels],
      glorotLimit(inChannels, outChannels, kernel * kernel),
      'weight',
    );
    this.b = options.bias ? m.constant(`${scope}/quantized_conv/b`, [outChannels], 0, 'bias') : null;
    this.wq = m.quantizer(scope, 'weight', `${scope}/quantized_conv/Wquant`, this.W.size, this.W);
    this.bq = this.b ? m.quantizer(scope, 'bias', `${scope}/quantized_conv/bquant`, this.b.size, this.W) : null;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, quantized(this.wq, this.W) as tf.Tensor4D, this.stride, explicitPad(this.pad) as 'same');
    return this.b ? tf.add(y, quantized(this.bq, this.b)) : y;
  }
}

/** A depthwise convolution (channel multiplier 1) with quantized weights, for MobileNetV2. */
export class QDepthwiseConv2d {
  readonly W: tf.Variable;
  readonly wq: Quantizer | null;

  constructor(
    m: ModelBuilder,
    readonly scope: string,
    channels: number,
    readonly kernel: number,
    readonly stride: number,
    readonly pad: Padding,
  ) {
    // nnabla's depthwise convolution initialiser sees one input map per group: glorot over (1, multiplier).
    this.W = m.uniform(`${scope}/quantized_depthwise_conv/W`, [kernel, kernel, channels, 1], glorotLimit(1, 1, kernel * kernel), 'weight');
    this.wq = m.quantizer(scope, 'weight', `${scope}/quantized_depthwise_conv/Wquant`, this.W.size, this.W);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.depthwiseConv2d(x, quantized(this.wq, this.W) as tf.Tensor4D, this.stride, explicitPad(this.pad) as 'same');
  }
}

/** A fully connected layer y = x·Q(W) + Q(b), W as (in, out) like nnabla's affine. */
export class QDense {
  readonly W: tf.Variable;
  readonly b: tf.Variable;
  readonly wq: Quantizer | null;
  readonly bq: Quantizer | null;

  constructor(
    m: ModelBuilder,
    readonly scope: string,
    inFeatures: number,
    outFeatures: number,
    limit: number,
    biasLimit: number | null,
  ) {
    this.W = m.uniform(`${scope}/quantized_affine/W`, [inFeatures, outFeatures], limit, 'weight');
    this.b =
      biasLimit === null
        ? m.constant(`${scope}/quantized_affine/b`, [outFeatures], 0, 'bias')
        : m.uniform(`${scope}/quantized_affine/b`, [outFeatures], biasLimit, 'bias');
    this.wq = m.quantizer(scope, 'weight', `${scope}/quantized_affine/Wquant`, this.W.size, this.W);
    this.bq = m.quantizer(scope, 'bias', `${scope}/quantized_affine/bquant`, this.b.size, this.W);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, quantized(this.wq, this.W) as tf.Tensor2D), quantized(this.bq, this.b));
  }
}

/**
 * Batch normalisation as nnabla's PF.batch_normalization: batch statistics while training (biased variance to
 * normalise; the running variance is updated with the unbiased estimate), running statistics otherwise;
 * decay 0.9, eps 1e-5. Not quantized and not counted in the memory (docs/METHOD.md#batch-normalization).
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly mean: tf.Variable;
  readonly variance: tf.Variable;
  static readonly decay = 0.9;
  static readonly eps = 1e-5;

  constructor(
    m: ModelBuilder,
    readonly scope: string,
    channels: number,
  ) {
    this.beta = m.constant(`${scope}/bn/beta`, [channels], 0, 'bn');
    this.gamma = m.constant(`${scope}/bn/gamma`, [channels], 1, 'bn');
    this.mean = m.constant(`${scope}/bn/mean`, [channels], 0, 'bn-stat', false);
    this.variance = m.constant(`${scope}/bn/var`, [channels], 1, 'bn-stat', false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const [beta, gamma] = [this.beta as tf.Tensor as tf.Tensor1D, this.gamma as tf.Tensor as tf.Tensor1D];
    if (!training)
      return tf.batchNorm4d(x, this.mean as tf.Tensor as tf.Tensor1D, this.variance as tf.Tensor as tf.Tensor1D, beta, gamma, BatchNorm.eps);
    if (!fastKernelsEnabled()) {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      this.updateRunningStatistics(mean as tf.Tensor1D, variance as tf.Tensor1D, x.size / x.shape[3]);
      return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, BatchNorm.eps);
    }
    if (fusedBatchNorm()) return fusedBatchNormTraining(x, gamma, beta, this);
    return batchNormTraining(x, gamma, beta, (mean, variance, n) => this.updateRunningStatistics(mean, variance, n));
  }

  /** Running statistics are state: decay 0.9, the variance updated with the unbiased estimate (nnabla). */
  private updateRunningStatistics(mean: tf.Tensor1D, variance: tf.Tensor1D, n: number): void {
    const decay = BatchNorm.decay;
    this.mean.assign(tf.tidy(() => tf.add(tf.mul(this.mean, decay), tf.mul(mean, 1 - decay))));
    this.variance.assign(tf.tidy(() => tf.add(tf.mul(this.variance, decay), tf.mul(variance, (1 - decay) * (n / Math.max(n - 1, 1))))));
  }
}

/**
 * y = γ·(x − μ)/σ + β with batch statistics μ, σ² = moments(x) as one differentiable op whose gradient is the closed
 * form instead of autodiff through the moments (which costs a Tile per layer, a full-size ones tensor per mean and a
 * dozen full-size kernels):
 *   ∂β = Σ dy,  ∂γ = Σ dy·x̂,  ∂x = γ/(σ·N) · (N·dy − ∂β − x̂·∂γ),  x̂ = (x − μ)/σ, sums over N = batch·H·W.
 * The moments are computed inside the op, so they never reach the gradient tape.
 */
function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  onStatistics: (mean: tf.Tensor1D, variance: tf.Tensor1D, n: number) => void,
): tf.Tensor4D {
  return customOp([x, gamma, beta], ([xIn, g, b], save) => {
    const { mean, variance } = tf.moments(xIn!, [0, 1, 2]) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
    onStatistics(mean, variance, xIn!.size / xIn!.shape[3]!);
    save([xIn!, g!, mean, variance]);
    return {
      value: tf.batchNorm4d(xIn as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, BatchNorm.eps),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, g0, m0, v0] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const n = x0.size / x0.shape[3];
        const inv = tf.rsqrt(tf.add(v0, BatchNorm.eps));
        const xhat = tf.mul(tf.sub(x0, m0), inv);
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xhat), [0, 1, 2]);
        const scale = tf.div(tf.mul(g0, inv), n);
        const dx = tf.mul(scale, tf.sub(tf.sub(tf.mul(dy, n), dBeta), tf.mul(xhat, dGamma)));
        return [dx, dGamma, dBeta];
      },
    };
  }) as tf.Tensor4D;
}

/**
 * batchNormTraining on mixprec's fused kernels (src/backend/kernels/batch_norm.ts): the moments and the running
 * averages in one kernel, the normalisation in one, the whole gradient in one.
 */
function fusedBatchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, bn: BatchNorm): tf.Tensor4D {
  const eps = { eps: BatchNorm.eps };
  return customOp([x, gamma, beta], ([xIn, g, b], save) => {
    const [mean, variance, runMean, runVar] = tf
      .engine()
      .runKernel(BATCH_NORM_KERNELS.moments, { x: xIn!, runMean: bn.mean, runVar: bn.variance }, { decay: BatchNorm.decay }) as tf.Tensor[];
    bn.mean.assign(runMean!);
    bn.variance.assign(runVar!);
    save([xIn!, g!, mean!, variance!]);
    return {
      value: tf
        .engine()
        .runKernel(BATCH_NORM_KERNELS.normalize, { x: xIn!, mean: mean!, variance: variance!, gamma: g!, beta: b! }, eps) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, g0, m0, v0] = saved;
        return tf.engine().runKernel(BATCH_NORM_KERNELS.grad, { dy, x: x0!, gamma: g0!, mean: m0!, variance: v0! }, eps) as tf.Tensor[];
      },
    };
  }) as tf.Tensor4D;
}

/**
 * The code's `nonl`: an unsigned activation quantizer replacing the ReLU (or ReLU/ReLU6 in float), registering the
 * per-sample activation size C·H·W it accounts for.
 */
export class Nonlinearity {
  readonly quantizer: Quantizer | null;

  constructor(
    m: ModelBuilder,
    readonly scope: string,
    readonly shape: [number, number, number],
    readonly floatActivation: 'relu' | 'relu6' = 'relu',
  ) {
    const size = shape[0] * shape[1] * shape[2];
    m.activations.push({ layer: scope, size });
    this.quantizer = m.quantizer(scope, 'activation', `${scope}/Aquant`, size);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (this.quantizer !== null) return this.quantizer.apply(x) as tf.Tensor4D;
    return this.floatActivation === 'relu6' ? tf.relu6(x) : tf.relu(x);
  }
}
