/**
 * Uniform (fixed-point) quantizers U1 = (b, d), U2 = (b, qmax), U3 = (d, qmax): docs/METHOD.md#uniform-quantizer.
 *
 * Forward, as parametric_quantization.py: q = d_q · round(clip(x, lo, X) / d_q), lo = −X (signed) or 0 (unsigned,
 * which is the ReLU). Backward, as nnabla autodiff through it: ∂q/∂x = 1[lo < x < X], ∂q/∂d_q = (q − c)/d_q,
 * ∂q/∂X = 1[x ≥ X] − 1[signed]·1[x ≤ −X]; each parametrization maps (d_q, X) back to its own parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { Family, Grid, ParametrizationMath, RawParams, ScalarWithPartials } from './family';
import type { UniformShortName } from './parametrizations';
import { ceilLog2, clipScalar, pow2Round, powerOfTwoParam, roundedBits, roundHalfAway } from './round';
import type { ResolvedSpec } from './spec';

const LN2 = Math.LN2;

function clipToRange(x: tf.Tensor, X: tf.Scalar, signed: boolean): { lo: tf.Tensor; c: tf.Tensor } {
  const lo = signed ? tf.neg(X) : tf.zerosLike(X);
  return { lo, c: tf.minimum(tf.maximum(x, lo), X) };
}

export const uniformFamily: Family = {
  forward(x, step, X, spec) {
    return tf.tidy(() => {
      const { c } = clipToRange(x, X, spec.signed);
      return tf.mul(roundHalfAway(tf.div(c, step)), step);
    });
  },
  backward(dy, x, step, X, spec) {
    return tf.tidy(() => {
      const { lo, c } = clipToRange(x, X, spec.signed);
      const q = tf.mul(roundHalfAway(tf.div(c, step)), step);
      const inside = tf.logicalAnd(tf.greater(x, lo), tf.less(x, X));
      const dx = tf.mul(dy, tf.cast(inside, 'float32'));
      // ∂q/∂d_q = round(c/d_q) − c/d_q = (q − c)/d_q; d_q is a power of two, so dividing the sum is exact.
      const dStep = tf.div(tf.sum(tf.mul(dy, tf.sub(q, c))), step) as tf.Scalar;
      let out = tf.cast(tf.greaterEqual(x, X), 'float32');
      if (spec.signed) out = tf.sub(out, tf.cast(tf.lessEqual(x, tf.neg(X)), 'float32'));
      const dX = tf.sum(tf.mul(dy, out)) as tf.Scalar;
      return { dx, dg0: dStep, dg1: dX };
    });
  },
};

/** nq = round(clip(n)) − [signed] magnitude bits, 2^nq − 1 positive levels. */
function magnitudeBits(p: RawParams, spec: ResolvedSpec) {
  const { gate, twoNq } = roundedBits(p.n!, spec.ranges.n!, spec.signed ? 1 : 0);
  return { gate, twoNq, levels: tf.sub(twoNq, 1) as tf.Scalar };
}

/** Bitwidth of b-parametrized quantizers: round(clip(n)), straight-through (docs/METHOD.md#bitwidth-inference). */
export function bitsFromN(p: RawParams, spec: ResolvedSpec): ScalarWithPartials {
  const { nq, gate } = roundedBits(p.n!, spec.ranges.n!, 0);
  return { value: nq, partials: { n: gate } };
}

/** U1 θ = [b, d]: d_q = pow2(clip(d)), X = d_q·(2^nq − 1). */
const U1: ParametrizationMath = {
  grid(p, spec): Grid {
    const { gate: gn, twoNq, levels } = magnitudeBits(p, spec);
    const d = powerOfTwoParam(p.d!, spec.ranges.d!);
    const step = d.level;
    const X = tf.mul(step, levels) as tf.Scalar;
    return {
      values: [step, X],
      partials: () => {
        const dStepDd = d.slope();
        return [{ d: dStepDd }, { n: tf.mul(gn, tf.mul(tf.mul(step, twoNq), LN2)) as tf.Scalar, d: tf.mul(dStepDd, levels) as tf.Scalar }];
      },
    };
  },
  bitwidth: bitsFromN,
};

/** U2 θ = [b, qmax]: X = clip(xmax), d_q = pow2(X / (2^nq − 1)). */
const U2: ParametrizationMath = {
  grid(p, spec): Grid {
    const { gate: gn, twoNq, levels } = magnitudeBits(p, spec);
    const X = clipScalar(p.xmax!, spec.ranges.xmax!);
    const step = pow2Round(tf.div(X.value, levels)) as tf.Scalar;
    return {
      values: [step, X.value],
      partials: () => [
        {
          n: tf.mul(gn, tf.div(tf.mul(tf.mul(tf.neg(step), twoNq), LN2), levels)) as tf.Scalar,
          xmax: tf.mul(X.gate, tf.div(step, X.value)) as tf.Scalar,
        },
        { xmax: X.gate },
      ],
    };
  },
  bitwidth: bitsFromN,
};

/** U3 θ = [d, qmax]: d_q = pow2(clip(d)), X = clip(xmax); b = max(⌈log2(round(X/d_q) + 1)⌉ + [signed], b_min). */
const U3: ParametrizationMath = {
  grid(p, spec): Grid {
    const d = powerOfTwoParam(p.d!, spec.ranges.d!);
    const X = clipScalar(p.xmax!, spec.ranges.xmax!);
    return { values: [d.level, X.value], partials: () => [{ d: d.slope() }, { xmax: X.gate }] };
  },
  bitwidth(p, spec) {
    const d = powerOfTwoParam(p.d!, spec.ranges.d!);
    const X = clipScalar(p.xmax!, spec.ranges.xmax!);
    const step = d.level;
    const levels = roundHalfAway(tf.div(X.value, step)); // r' = X'/d_q with X' = round(X/d_q)·d_q
    const raw = tf.add(ceilLog2(tf.add(levels, 1)), spec.signed ? 1 : 0);
    const bMin = spec.ranges.n![0];
    const above = tf.cast(tf.greater(raw, bMin), 'float32'); // maximum_scalar passes the gradient iff raw > b_min
    // d n/d X' = 1/((r'+1)·ln2·d_q); X' depends on X through round (STE) and on d_q (which cancels in r'), so
    // ∂n/∂xmax = g_x·m/(d_q(r'+1)ln2) and ∂n/∂d = −g_d·m·X/(d_q·d̃·(r'+1)·ln2) (docs/METHOD.md#bitwidth-inference).
    const slope = tf.div(above, tf.mul(tf.mul(step, tf.add(levels, 1)), LN2));
    return {
      value: tf.maximum(raw, bMin) as tf.Scalar,
      partials: {
        xmax: tf.mul(X.gate, slope) as tf.Scalar,
        d: tf.neg(tf.mul(d.gate, tf.div(tf.mul(slope, X.value), d.value))) as tf.Scalar,
      },
    };
  },
};

/** The uniform parametrizations' math by short name; registry.ts joins it with the table. */
export const UNIFORM_MATH: Readonly<Record<UniformShortName, ParametrizationMath>> = { U1, U2, U3 };
