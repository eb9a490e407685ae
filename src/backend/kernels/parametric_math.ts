/**
 * The scalar half of a parametric quantizer, for the fused kernels: from the two raw learned parameters to the two
 * grid scalars (uniform: step d_q and range X; power-of-two: levels a and b) with their 2×2 Jacobian, the chain rule
 * back from the grid gradients, and the projection after an optimizer step. The composed ops of src/quant/uniform.ts,
 * pow2.ts and quantizer.ts spend 20–60 one-element kernels per quantizer and step on this; here it is a few dozen
 * float operations inside the kernel that quantizes.
 *
 * Every value is the float32 result of the composed ops, operation by operation (Math.fround after each one whose
 * float64 result may not be a float32; see quantize_math.ts), so grids, partials and projections are bit-identical.
 */
import { parametrizationInfo, type ShortName } from '../../quant/parametrizations';
import { roundHalfAway } from './quantize_math';

const f = Math.fround;
const SQRT2_F32 = f(Math.SQRT2);
const LN2_F32 = f(Math.LN2);
const LN2_SQ_F32 = f(Math.LN2 * Math.LN2);
/** The projection's margin as the composed ops see it (a float32 scalar). */
const MARGIN_F32 = f(1e-5);

/** What a fused parametric kernel needs of a quantizer's spec; ranges in the order of the two learned parameters. */
export interface ParametricAttrs {
  short: ShortName;
  signed: boolean;
  withZero: boolean;
  range0: readonly [number, number];
  range1: readonly [number, number];
}

/** The grid scalars and ∂g_i/∂p_j (j00 = ∂g0/∂p0, j01 = ∂g0/∂p1, …); a partial the composed ops leave out is 0. */
export interface GridJacobian {
  g0: number;
  g1: number;
  j00: number;
  j01: number;
  j10: number;
  j11: number;
}

/** clip_scalar: the clipped value and the gate of its gradient (1 strictly inside the range, as insideOpen). */
function clip(v: number, range: readonly [number, number]): { value: number; gate: number } {
  const [lo, hi] = range;
  return { value: f(Math.min(Math.max(v, lo), hi)), gate: v > f(lo) && v < f(hi) ? 1 : 0 };
}

/** pow2Round of round.ts: 2^round(log2 v), the midpoint decided against float32 √2; 0 stays 0, ∞ stays ∞. */
export function pow2Round(v: number): number {
  if (!(v > 0)) return v === 0 ? 0 : NaN;
  if (v === Infinity) return v;
  let p = 2 ** Math.floor(Math.log2(v));
  if (p > v) p /= 2;
  else if (2 * p <= v) p *= 2;
  // v/p is exact (p a power of two), as the composed float32 division.
  return f(v / p > SQRT2_F32 ? 2 * p : p);
}

/** powerOfTwoParam: pow2(clip(v)) and its straight-through slope gate·level/clip(v). */
function powerOfTwoParam(v: number, range: readonly [number, number]): { level: number; slope: number } {
  const c = clip(v, range);
  const level = pow2Round(c.value);
  return { level, slope: f(c.gate * f(level / c.value)) };
}

/** roundedBits: 2^(round(clip(n)) − reserved) and the gate of n. */
function roundedBits(n: number, range: readonly [number, number], reserved: number): { twoNq: number; gate: number } {
  const c = clip(n, range);
  const nq = f(roundHalfAway(c.value) - reserved);
  return { twoNq: f(2 ** nq), gate: c.gate };
}

type GridMath = (p0: number, p1: number, a: ParametricAttrs) => GridJacobian;

/** The six parametrizations' grids, each as its src/quant counterpart (same names, same operation order). */
const GRIDS: Readonly<Record<ShortName, GridMath>> = {
  // U1 θ = [b, d]: d_q = pow2(clip(d)), X = d_q·(2^nq − 1).
  U1(n, d, a) {
    const { twoNq, gate: gn } = roundedBits(n, a.range0, a.signed ? 1 : 0);
    const levels = f(twoNq - 1);
    const dq = powerOfTwoParam(d, a.range1);
    const step = dq.level;
    return { g0: step, g1: f(step * levels), j00: 0, j01: dq.slope, j10: f(gn * f(f(step * twoNq) * LN2_F32)), j11: f(dq.slope * levels) };
  },
  // U2 θ = [b, qmax]: X = clip(xmax), d_q = pow2(X / (2^nq − 1)).
  U2(n, xmax, a) {
    const { twoNq, gate: gn } = roundedBits(n, a.range0, a.signed ? 1 : 0);
    const levels = f(twoNq - 1);
    const X = clip(xmax, a.range1);
    const step = pow2Round(f(X.value / levels));
    return {
      g0: step,
      g1: X.value,
      j00: f(gn * f(f(f(-step * twoNq) * LN2_F32) / levels)),
      j01: f(X.gate * f(step / X.value)),
      j10: 0,
      j11: X.gate,
    };
  },
  // U3 θ = [d, qmax]: d_q = pow2(clip(d)), X = clip(xmax).
  U3(d, xmax, a) {
    const dq = powerOfTwoParam(d, a.range0);
    const X = clip(xmax, a.range1);
    return { g0: dq.level, g1: X.value, j00: dq.slope, j01: 0, j10: 0, j11: X.gate };
  },
  // P1 θ = [b, qmax]: b = pow2(clip(xmax)), a = 2^(1−2^nq)·b.
  P1(n, xmax, a) {
    const { twoNq, gate: gn } = roundedBits(n, a.range0, (a.signed ? 1 : 0) + (a.withZero ? 1 : 0));
    const top = powerOfTwoParam(xmax, a.range1);
    const ratio = f(2 ** f(1 - twoNq));
    const lowest = f(ratio * top.level);
    return { g0: lowest, g1: top.level, j00: f(gn * f(-f(lowest * twoNq) * LN2_SQ_F32)), j01: f(ratio * top.slope), j10: 0, j11: top.slope };
  },
  // P2 θ = [b, qmin]: a = pow2(clip(xmin)), b = a·2^(2^nq − 1).
  P2(n, xmin, a) {
    const { twoNq, gate: gn } = roundedBits(n, a.range0, (a.signed ? 1 : 0) + (a.withZero ? 1 : 0));
    const bottom = powerOfTwoParam(xmin, a.range1);
    const ratio = f(2 ** f(twoNq - 1));
    const highest = f(bottom.level * ratio);
    return {
      g0: bottom.level,
      g1: highest,
      j00: 0,
      j01: bottom.slope,
      j10: f(gn * f(f(highest * twoNq) * LN2_SQ_F32)),
      j11: f(ratio * bottom.slope),
    };
  },
  // P3 θ = [qmin, qmax]: a = pow2(clip(xmin)), b = pow2(clip(xmax)).
  P3(xmin, xmax, a) {
    const bottom = powerOfTwoParam(xmin, a.range0);
    const top = powerOfTwoParam(xmax, a.range1);
    return { g0: bottom.level, g1: top.level, j00: bottom.slope, j01: 0, j10: 0, j11: top.slope };
  },
};

/** The grid of a parametrization at raw parameters (p0, p1), with its Jacobian. */
export function parametricGrid(p0: number, p1: number, attrs: ParametricAttrs): GridJacobian {
  return GRIDS[attrs.short](p0, p1, attrs);
}

/** ∂L/∂p_j = ∂g0/∂p_j·∂L/∂g0 + ∂g1/∂p_j·∂L/∂g1, as parametric.ts adds the two products. */
export function chainRule(j: GridJacobian, dg0: number, dg1: number): [number, number] {
  return [f(f(j.j00 * dg0) + f(j.j10 * dg1)), f(f(j.j01 * dg0) + f(j.j11 * dg1))];
}

/** tf.minimum / tf.maximum on the cpu backend: Math.min / Math.max (NaN propagates). */
const clipInto = (v: number, [lo, hi]: readonly [number, number]) => Math.min(Math.max(v, f(lo + 1e-5)), f(hi - 1e-5));

/**
 * projectParams of quantizer.ts on the two raw parameters: for U3 and P3 first the coupling (lower ← min(lower,
 * xmax − 1e-5), xmax ← max(lower + 1e-5, xmax), both from the old values), then each into [min + 1e-5, max − 1e-5].
 */
export function projectPair(p0: number, p1: number, attrs: Pick<ParametricAttrs, 'short' | 'range0' | 'range1'>): [number, number] {
  let [v0, v1] = [p0, p1];
  if (parametrizationInfo(attrs.short)!.coupled) [v0, v1] = [Math.min(v0, f(v1 - MARGIN_F32)), Math.max(f(v0 + MARGIN_F32), v1)];
  return [clipInto(v0, attrs.range0), clipInto(v1, attrs.range1)];
}
