/**
 * Memory of a quantized model as the official code counts it (docs/METHOD.md#memory-accounting): weight memory Σ b_l·numel_l over conv and
 * fc weights and biases (BN not counted); activation memory per nonlinearity b_l·(C·H·W), the max or the sum over
 * layers; kilobytes = bits / 8 / 1024. Differentiable through the quantizers' bitwidths for the penalty.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from '../quant/custom_op';
import type { QuantModel } from './model';

const BITS_PER_KB = 8 * 1024;

/** Differentiable weight memory in KB (float tensors count 32 bits). */
export function weightMemoryKB(model: QuantModel): tf.Scalar {
  return tf.tidy(() => {
    const quantized = model.quantizers.filter((q) => q.role !== 'activation');
    let total: tf.Scalar = tf.scalar(0);
    for (const slot of quantized) total = tf.add(total, tf.mul(slot.quantizer.bitwidth(), slot.size / BITS_PER_KB));
    if (quantized.length === 0) {
      const count = model.weightLayers.reduce((n, l) => n + l.weightCount + l.biasCount, 0);
      total = tf.scalar((32 * count) / BITS_PER_KB);
    }
    return total;
  });
}

/** Per-layer activation memory in KB, differentiable: one entry per nonlinearity (float ones at 32 bits). */
function activationTerms(model: QuantModel): tf.Scalar[] {
  const slots = model.quantizers.filter((q) => q.role === 'activation');
  return slots.map((slot) => tf.mul(slot.quantizer.bitwidth(), slot.size / BITS_PER_KB));
}

/** Differentiable activation memory in KB: the largest layer ('max', constraint 8c) or all layers ('sum', 8b). */
export function activationMemoryKB(model: QuantModel, type: 'max' | 'sum'): tf.Scalar {
  return tf.tidy(() => {
    const terms = activationTerms(model);
    if (terms.length === 0) {
      const sizes = activationSizes(model);
      const bits = 32;
      return tf.scalar(type === 'max' ? (bits * Math.max(0, ...sizes)) / BITS_PER_KB : (bits * sizes.reduce((a, b) => a + b, 0)) / BITS_PER_KB);
    }
    const stacked = tf.stack(terms);
    return (type === 'max' ? maxToFirst(stacked) : tf.sum(stacked)) as tf.Scalar;
  });
}

/**
 * max(x) whose gradient goes to the first element attaining it, as nnabla's F.max (the official code reduces the
 * per-layer activation memories with it); tf.max would pass it to every tied layer (seven in ResNet-20 at equal bits).
 */
function maxToFirst(x: tf.Tensor): tf.Scalar {
  return customOp([x], ([v], save) => {
    const value = tf.max(v);
    save([v, value]);
    return {
      value,
      gradFunc: (dy, [v0, m]) => {
        const tied = tf.cast(tf.equal(v0!, m!), 'int32');
        const first = tf.logicalAnd(tf.cast(tied, 'bool'), tf.equal(tf.cumsum(tied), 1));
        return [tf.mul(dy, tf.cast(first, 'float32'))];
      },
    };
  }) as tf.Scalar;
}

/** Per-sample sizes C·H·W of the activations entering each nonlinearity, in model order. */
export function activationSizes(model: QuantModel): number[] {
  return model.activationLayers.map((a) => a.size);
}

export interface LayerMemory {
  layer: string;
  role: 'weight' | 'bias' | 'activation';
  bits: number;
  /** Elements: tensor size (weights/biases) or per-sample C·H·W (activations). */
  count: number;
  kilobytes: number;
}

export interface MemoryReport {
  weightsKB: number;
  activationsMaxKB: number;
  activationsSumKB: number;
  layers: LayerMemory[];
}

/** Current memory per layer and in total (reads the bitwidths; works on every backend). */
export async function memoryReport(model: QuantModel): Promise<MemoryReport> {
  const layers: LayerMemory[] = [];
  const byLayer = new Map(model.quantizers.map((q) => [`${q.layer}|${q.role}`, q]));
  for (const l of model.weightLayers) {
    for (const role of ['weight', 'bias'] as const) {
      const count = role === 'weight' ? l.weightCount : l.biasCount;
      if (count === 0) continue;
      const slot = byLayer.get(`${l.name}|${role}`);
      const bits = slot ? await readScalar(slot.quantizer.bitwidth()) : 32;
      layers.push({ layer: l.name, role, bits, count, kilobytes: (bits * count) / BITS_PER_KB });
    }
  }
  for (const a of model.activationLayers) {
    const slot = byLayer.get(`${a.layer}|activation`);
    const bits = slot ? await readScalar(slot.quantizer.bitwidth()) : 32;
    layers.push({ layer: a.layer, role: 'activation', bits, count: a.size, kilobytes: (bits * a.size) / BITS_PER_KB });
  }
  const acts = layers.filter((l) => l.role === 'activation').map((l) => l.kilobytes);
  return {
    weightsKB: layers.filter((l) => l.role !== 'activation').reduce((s, l) => s + l.kilobytes, 0),
    activationsMaxKB: Math.max(0, ...acts),
    activationsSumKB: acts.reduce((s, v) => s + v, 0),
    layers,
  };
}

async function readScalar(t: tf.Scalar): Promise<number> {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}
