/**
 * Rounding primitives with the official code's semantics, exact in float32 on every backend.
 *
 * tfjs `round` is banker's rounding (and has a zero gradient); nnabla's `F.round` is std::round, half away from zero.
 * The textbook `floor(|z| + 0.5)` is wrong for z = 0.49999997 (the sum rounds up to 1 in float32), so the fractional
 * part is compared instead. Power-of-two rounding `2^round(log2 v)` is decided exactly: the midpoint between 2^k
 * and 2^(k+1) is 2^k·√2, irrational, so the mantissa is compared with √2 rather than trusting a float32 log.
 */
import * as tf from '@tensorflow/tfjs';

/** float32 √2 (just below the real √2) and 1/√2. */
export const SQRT2_F32 = Math.fround(Math.SQRT2);
export const SQRT1_2_F32 = Math.fround(Math.SQRT1_2);

/** round(z), half away from zero: sign(z)·(⌊|z|⌋ + [|z| − ⌊|z|⌋ ≥ ½]). */
export function roundHalfAway<T extends tf.Tensor>(z: T): T {
  return tf.tidy(() => {
    const a = tf.abs(z);
    const whole = tf.floor(a);
    const up = tf.cast(tf.greaterEqual(tf.sub(a, whole), 0.5), 'float32');
    return tf.mul(tf.sign(z), tf.add(whole, up)) as T;
  });
}

/** 2^e for integer-valued e. */
export function exp2<T extends tf.Tensor>(e: T): T {
  return tf.pow(tf.scalar(2), e) as T;
}

/**
 * 2^round(log2 v) for v > 0 (the code's `quantize_pow2`), exact: 0 for v = 0. The float32 log only proposes the
 * exponent; comparisons fix it, then the mantissa decides the rounding.
 */
export function pow2Round<T extends tf.Tensor>(v: T): T {
  return tf.tidy(() => {
    const guess = exp2(tf.floor(tf.mul(tf.log(v), Math.LOG2E)));
    const twice = tf.mul(guess, 2);
    // Make p the largest power of two ≤ v (the log may be one off near exact powers of two).
    const p = tf.where(tf.greater(guess, v), tf.mul(guess, 0.5), tf.where(tf.lessEqual(twice, v), twice, guess));
    return tf.where(tf.greater(tf.div(v, p), SQRT2_F32), tf.mul(p, 2), p) as T;
  });
}

/** ⌈log2 u⌉ for integer-valued u ≥ 1, exact (the number of bits that index u levels). */
export function ceilLog2<T extends tf.Tensor>(u: T): T {
  return tf.tidy(() => {
    const e = tf.ceil(tf.mul(tf.log(u), Math.LOG2E));
    const below = tf.greaterEqual(exp2(tf.sub(e, 1)), u);
    const above = tf.less(exp2(e), u);
    return tf.add(tf.sub(e, tf.cast(below, 'float32')), tf.cast(above, 'float32')) as T;
  });
}

/** 1 where lo < v < hi strictly, else 0: whether nnabla's clip_scalar (min/maximum_scalar) passes the gradient. */
export function insideOpen<T extends tf.Tensor>(v: T, lo: number | tf.Tensor, hi: number | tf.Tensor): T {
  return tf.tidy(() => tf.cast(tf.logicalAnd(tf.greater(v, lo), tf.less(v, hi)), 'float32') as T);
}

/** A scalar clipped to [lo, hi] with the gate of its gradient (the code's clip_scalar). */
export interface Clipped {
  value: tf.Scalar;
  gate: tf.Scalar;
}

export function clipScalar(v: tf.Scalar, range: readonly [number, number]): Clipped {
  return { value: tf.clipByValue(v, range[0], range[1]), gate: insideOpen(v, range[0], range[1]) };
}

/**
 * A parameter clipped to its range and rounded to a power of two, the code's `quantize_pow2(clip_scalar(v))`, with
 * its straight-through derivative ∂level/∂v = gate·level/clip(v) (round inside log2 passes the gradient).
 */
export interface PowerOfTwoParam extends Clipped {
  level: tf.Scalar;
  slope(): tf.Scalar;
}

export function powerOfTwoParam(v: tf.Scalar, range: readonly [number, number]): PowerOfTwoParam {
  const c = clipScalar(v, range);
  const level = pow2Round(c.value);
  return { ...c, level, slope: () => tf.mul(c.gate, tf.div(level, c.value)) as tf.Scalar };
}

/**
 * A bitwidth parameter as the code uses it: round(clip(n)) minus the bits reserved for the sign (and the zero level
 * of pow2), with the straight-through gate of its gradient and 2^nq.
 */
export function roundedBits(n: tf.Scalar, range: readonly [number, number], reserved: number): { nq: tf.Scalar; twoNq: tf.Scalar; gate: tf.Scalar } {
  const c = clipScalar(n, range);
  const nq = tf.sub(roundHalfAway(c.value), reserved) as tf.Scalar;
  return { nq, twoNq: exp2(nq), gate: c.gate };
}
