/**
 * Power-of-two quantizers P1 = (b, qmax), P2 = (b, qmin), P3 = (qmin, qmax): docs/METHOD.md#power-of-two-quantizer.
 *
 * Forward, as parametric_quantization.py with a = xmin, b = xmax (both powers of two), s = sign(x) (+1 at 0):
 * q = s·(a·idx1 + 2^round(log2|x|)·idx2 + b·idx3), idx1 = |x| < a (with zero: a/√2 ≤ |x| < a), idx2 = a ≤ |x| < b,
 * idx3 = |x| ≥ b; unsigned quantizers apply ReLU first. Backward: ∂q/∂x = idx2·2^round(log2|x|)/|x|,
 * ∂q/∂a = s·idx1, ∂q/∂b = s·idx3 (the masks and the sign carry no gradient in the code).
 */
import * as tf from '@tensorflow/tfjs';
import type { Family, Grid, ParametrizationMath, RawParams } from './family';
import type { Pow2ShortName } from './parametrizations';
import { ceilLog2, exp2, pow2Round, powerOfTwoParam, roundedBits, roundHalfAway, SQRT1_2_F32 } from './round';
import type { ResolvedSpec } from './spec';
import { bitsFromN } from './uniform';

const LN2_SQ = Math.LN2 * Math.LN2;

function masks(x: tf.Tensor, a: tf.Scalar, b: tf.Scalar, spec: ResolvedSpec) {
  const xr = spec.signed ? x : tf.relu(x);
  const ax = tf.abs(xr);
  const sx = tf.where(tf.greaterEqual(xr, 0), tf.onesLike(xr), tf.fill(xr.shape, -1));
  // The pruning threshold a/√2 in float32 is a·fround(1/√2) exactly, a being a power of two.
  const idx1 = spec.withZero ? tf.logicalAnd(tf.greaterEqual(ax, tf.mul(a, SQRT1_2_F32)), tf.less(ax, a)) : tf.less(ax, a);
  const idx2 = tf.logicalAnd(tf.greaterEqual(ax, a), tf.less(ax, b));
  const idx3 = tf.greaterEqual(ax, b);
  // log2 only sees values where idx2 holds, so zeros never reach it (nnabla would produce NaN gradients there).
  const p = pow2Round(tf.where(idx2, ax, tf.broadcastTo(a, ax.shape)));
  return { ax, sx, idx1, idx2, idx3, p };
}

export const pow2Family: Family = {
  forward(x, a, b, spec) {
    return tf.tidy(() => {
      const { ax, sx, idx1, idx2, idx3, p } = masks(x, a, b, spec);
      // The code's masked sum (with xmin > xmax the masks overlap and it adds a and b); the term ax·0 is 0 for
      // finite x and NaN for NaN or ±∞, where the code's 2^round(log2|x|)·0 is NaN too.
      const f32 = (m: tf.Tensor) => tf.cast(m, 'float32');
      const magnitude = tf.addN([tf.mul(f32(idx1), a), tf.mul(f32(idx2), p), tf.mul(f32(idx3), b), tf.mul(ax, 0)]);
      return tf.mul(sx, magnitude);
    });
  },
  backward(dy, x, a, b, spec) {
    return tf.tidy(() => {
      const { ax, sx, idx1, idx2, idx3, p } = masks(x, a, b, spec);
      const dx = tf.where(idx2, tf.mul(dy, tf.div(p, ax)), tf.zerosLike(dy));
      const signedDy = tf.mul(dy, sx);
      const da = tf.sum(tf.mul(signedDy, tf.cast(idx1, 'float32'))) as tf.Scalar;
      const db = tf.sum(tf.mul(signedDy, tf.cast(idx3, 'float32'))) as tf.Scalar;
      return { dx, dg0: da, dg1: db };
    });
  },
};

/** nq = round(clip(n)) − [signed] − [zero], 2^nq exponents. */
function exponentBits(p: RawParams, spec: ResolvedSpec) {
  return roundedBits(p.n!, spec.ranges.n!, (spec.signed ? 1 : 0) + (spec.withZero ? 1 : 0));
}

/** P1 θ = [b, qmax]: b = pow2(clip(xmax)), a = 2^(1−2^nq)·b. */
const P1: ParametrizationMath = {
  grid(p, spec): Grid {
    const { gate: gn, twoNq } = exponentBits(p, spec);
    const top = powerOfTwoParam(p.xmax!, spec.ranges.xmax!);
    const ratio = exp2(tf.sub(1, twoNq)) as tf.Scalar;
    const a = tf.mul(ratio, top.level) as tf.Scalar;
    return {
      values: [a, top.level],
      partials: () => {
        const dTop = top.slope();
        return [{ n: tf.mul(gn, tf.mul(tf.neg(tf.mul(a, twoNq)), LN2_SQ)) as tf.Scalar, xmax: tf.mul(ratio, dTop) as tf.Scalar }, { xmax: dTop }];
      },
    };
  },
  bitwidth: bitsFromN,
};

/** P2 θ = [b, qmin]: a = pow2(clip(xmin)), b = a·2^(2^nq − 1). */
const P2: ParametrizationMath = {
  grid(p, spec): Grid {
    const { gate: gn, twoNq } = exponentBits(p, spec);
    const bottom = powerOfTwoParam(p.xmin!, spec.ranges.xmin!);
    const ratio = exp2(tf.sub(twoNq, 1)) as tf.Scalar;
    const b = tf.mul(bottom.level, ratio) as tf.Scalar;
    return {
      values: [bottom.level, b],
      partials: () => {
        const dBottom = bottom.slope();
        return [{ xmin: dBottom }, { n: tf.mul(gn, tf.mul(tf.mul(b, twoNq), LN2_SQ)) as tf.Scalar, xmin: tf.mul(ratio, dBottom) as tf.Scalar }];
      },
    };
  },
  bitwidth: bitsFromN,
};

/** P3 θ = [qmin, qmax]: a = pow2(clip(xmin)), b = pow2(clip(xmax)); b = max(⌈log2(log2(b/a) + 1)⌉ + [s] + [z], b_min). */
const P3: ParametrizationMath = {
  grid(p, spec): Grid {
    const bottom = powerOfTwoParam(p.xmin!, spec.ranges.xmin!);
    const top = powerOfTwoParam(p.xmax!, spec.ranges.xmax!);
    return { values: [bottom.level, top.level], partials: () => [{ xmin: bottom.slope() }, { xmax: top.slope() }] };
  },
  bitwidth(p, spec) {
    const bottom = powerOfTwoParam(p.xmin!, spec.ranges.xmin!);
    const top = powerOfTwoParam(p.xmax!, spec.ranges.xmax!);
    const a = bottom.level;
    const b = top.level;
    // b/a is an exact power of two, so L = log2(b/a) is an integer. With xmin > xmax (L < 0, before projection)
    // the code's log2(L + 1) is NaN or −∞ and maximum_scalar returns b_min with a zero gradient; so does this.
    const Lraw = roundHalfAway(tf.mul(tf.log(tf.div(b, a)), Math.LOG2E));
    const valid = tf.greaterEqual(Lraw, 0);
    const L = tf.maximum(Lraw, 0);
    const bMin = spec.ranges.n![0];
    const raw = tf.where(valid, tf.add(ceilLog2(tf.add(L, 1)), (spec.signed ? 1 : 0) + (spec.withZero ? 1 : 0)), tf.scalar(bMin));
    const above = tf.cast(tf.greater(raw, bMin), 'float32');
    // n = log2(L + 1) + c with L = log2 b − log2 a: ∂n/∂b = 1/((L+1)·ln2·b·ln2), times ∂b/∂xmax = g·b/b̃.
    const slope = tf.div(above, tf.mul(tf.add(L, 1), LN2_SQ));
    return {
      value: tf.maximum(raw, bMin) as tf.Scalar,
      partials: {
        xmax: tf.div(tf.mul(top.gate, slope), top.value) as tf.Scalar,
        xmin: tf.neg(tf.div(tf.mul(bottom.gate, slope), bottom.value)) as tf.Scalar,
      },
    };
  },
};

/** The power-of-two parametrizations' math by short name; registry.ts joins it with the table. */
export const POW2_MATH: Readonly<Record<Pow2ShortName, ParametrizationMath>> = { P1, P2, P3 };
