/**
 * Fixed (non-learnable) baselines of the "Fixed" table rows (docs/METHOD.md#fixed-baselines): nnabla's F.fixed_point_quantize and
 * F.pow2_quantize with their default fine-grained straight-through gradients, plus float (identity).
 */
import * as tf from '@tensorflow/tfjs';
import { pow2Round, roundHalfAway, SQRT1_2_F32 } from './round';
import type { ResolvedSpec } from './spec';
import { customOp } from './custom_op';

/** Constants of a fixed uniform quantizer: max = (2^(n−[s]) − 1)·δ in float32, min = −max or 0. */
export function fixedPointLimits(spec: ResolvedSpec): { delta: number; max: number; min: number } {
  const delta = Math.fround(spec.init.d!);
  const max = Math.fround(Math.fround(2 ** (spec.init.n! - (spec.signed ? 1 : 0)) - 1) * delta);
  return { delta, max, min: spec.signed ? -max : 0 };
}

/** Constants of a fixed pow2 quantizer: m = round(log2 xmax), p_max = 2^m, p_min = 2^(m − (2^n' − 1)). */
export function fixedPow2Limits(spec: ResolvedSpec): { pMax: number; pMin: number; threshold: number } {
  const m = Math.round(Math.log2(spec.init.xmax!)); // log2 of a float is never exactly k + ½ unless irrational
  const nq = spec.init.n! - (spec.signed ? 1 : 0) - (spec.withZero ? 1 : 0);
  const pMin = 2 ** (m - (2 ** nq - 1));
  return { pMax: 2 ** m, pMin, threshold: Math.fround(pMin * SQRT1_2_F32) };
}

/** F.fixed_point_quantize: y = sign(x)·round(|x|/δ)·δ inside [min, max], clamped outside; dx = dy on [min, max]. */
export function fixedPoint(x: tf.Tensor, spec: ResolvedSpec): tf.Tensor {
  const { delta, max, min } = fixedPointLimits(spec);
  return customOp([x], ([input], save) => {
    save([input!]);
    const inRange = tf.mul(roundHalfAway(tf.div(input, delta)), delta);
    const value = tf.where(tf.greater(input, max), tf.fill(input.shape, max), tf.where(tf.less(input, min), tf.fill(input.shape, min), inRange));
    return {
      value,
      gradFunc: (dy, [x0]) => [tf.mul(dy, tf.cast(tf.logicalAnd(tf.greaterEqual(x0!, min), tf.lessEqual(x0!, max)), 'float32'))],
    };
  });
}

/**
 * F.pow2_quantize: q = 2^round(log2|x|) clamped to p_max; below p_min → p_min, or 0 when |x| < p_min/√2 with the zero
 * level; unsigned maps x < 0 to 0 (with zero) or p_min. Gradient: dy, except 0 where 2^round(log2|x|) > p_max and
 * for x < 0 when unsigned.
 */
export function fixedPow2(x: tf.Tensor, spec: ResolvedSpec): tf.Tensor {
  const { pMax, pMin, threshold } = fixedPow2Limits(spec);
  return customOp([x], ([x1], save) => {
    const input = x1!;
    save([input]);
    const ax = tf.abs(input);
    const rounded = pow2Round(ax);
    const small = spec.withZero ? tf.where(tf.less(ax, threshold), tf.zerosLike(ax), tf.fill(ax.shape, pMin)) : tf.fill(ax.shape, pMin);
    // NaN compares false everywhere and falls through to `rounded` (NaN), as in nnabla.
    const magnitude = tf.where(tf.greater(rounded, pMax), tf.fill(ax.shape, pMax), tf.where(tf.less(rounded, pMin), small, rounded));
    const negative = tf.less(input, 0);
    const value = spec.signed
      ? tf.where(negative, tf.neg(magnitude), magnitude)
      : tf.where(negative, tf.fill(ax.shape, spec.withZero ? 0 : pMin), magnitude);
    return {
      value,
      gradFunc: (dy, [x0]) => {
        let pass = tf.logicalNot(tf.greater(pow2Round(tf.abs(x0!)), pMax));
        if (!spec.signed) pass = tf.logicalAnd(pass, tf.greaterEqual(x0!, 0));
        return [tf.mul(dy, tf.cast(pass, 'float32'))];
      },
    };
  });
}
