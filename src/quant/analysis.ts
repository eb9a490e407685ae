/**
 * The paper's analytical figures from two independent sources: the library's own autodiff (the quantizers as they
 * train) and the closed forms of the paper (eqs. (3a)–(3c), (5), (6) and docs/METHOD.md#maximum-gradient-norm), evaluated in float64.
 * Fig. 1 is the maximum gradient norm over x against the bitwidth; Fig. 2 the partial derivatives against x.
 *
 * Parameters are given in the paper's terms θ = (b, d, qmax, qmin) of a signed quantizer and mapped to each
 * parametrization's own: U1 (b, d), U2 (b, qmax), U3 (d, qmax), P1 (b, qmax), P2 (b, qmin), P3 (qmin, qmax).
 * With d a power of two and qmax a multiple of d (uniform), and qmin, qmax powers of two (pow2), the code's gradients
 * equal the paper's away from the range boundaries (docs/METHOD.md#uniform-gradients,
 * docs/METHOD.md#power-of-two-gradients), so both sources must agree there.
 */
import * as tf from '@tensorflow/tfjs';
import { quantize } from './quantizer';
import { PAPER_PARAM_NAMES, PARAMETRIZATION_TABLE, parametrizationInfo, type PaperParam, type UniformShortName } from './parametrizations';
import { specFor, type ParamName, type QuantizerSpec, type ShortName } from './spec';

export type { PaperParam } from './parametrizations';

/** A signed quantizer in the paper's terms. Uniform: b and d (qmax = (2^(b−1)−1)·d); pow2: b and qmax (qmin = 2^(1−2^(b−1))·qmax). */
export interface PaperTheta {
  b: number;
  /** Uniform step size (a power of two). */
  d?: number;
  /** Pow2 largest level (a power of two). */
  qmax?: number;
}

/** Every derived quantity of a θ: the three paper parameters of its family. */
export interface PaperValues {
  b: number;
  d: number;
  qmax: number;
  qmin: number;
}

const isUniform = (short: ShortName) => parametrizationInfo(short)!.kind === 'uniform';

/** The learned pair of each parametrization, in the paper's names. */
export const LEARNED_PARAMS = Object.fromEntries(PARAMETRIZATION_TABLE.map((e) => [e.short, e.paperParams])) as Readonly<
  Record<ShortName, readonly [PaperParam, PaperParam]>
>;

const CODE_NAME = Object.fromEntries(Object.entries(PAPER_PARAM_NAMES).map(([code, paper]) => [paper, code])) as Readonly<
  Record<PaperParam, ParamName>
>;

export function paperValues(short: ShortName, theta: PaperTheta): PaperValues {
  const { b } = theta;
  if (!Number.isInteger(b) || b < 2) throw new Error(`analysis: b must be an integer ≥ 2, got ${b}`);
  if (isUniform(short)) {
    const d = theta.d;
    if (d === undefined || !(d > 0)) throw new Error(`analysis: ${short} needs a positive step d`);
    return { b, d, qmax: (2 ** (b - 1) - 1) * d, qmin: d };
  }
  const qmax = theta.qmax;
  if (qmax === undefined || !(qmax > 0)) throw new Error(`analysis: ${short} needs a positive qmax`);
  return { b, d: NaN, qmax, qmin: 2 ** (1 - 2 ** (b - 1)) * qmax };
}

/**
 * The spec used for the analysis: signed, no zero level, and ranges wide enough that no clip gate of the code closes.
 * The bitwidth parameter is passed as b + ¼, which rounds to b, because the code's gate on n is open only strictly
 * inside its range.
 */
export function analysisSpec(short: ShortName): QuantizerSpec {
  const wide: Partial<Record<ParamName, readonly [number, number]>> = isUniform(short)
    ? { n: [2, 30], d: [2 ** -30, 2 ** 30], xmax: [2 ** -30, 2 ** 30] }
    : { n: [1, 12], xmin: [2 ** -120, 2 ** 30], xmax: [2 ** -120, 2 ** 30] };
  // Only the learned parameters' ranges, plus n (which also bounds the inferred bitwidth).
  const ranges = Object.fromEntries(Object.entries(wide).filter(([k]) => k === 'n' || LEARNED_PARAMS[short].some((p) => CODE_NAME[p] === k)));
  return specFor(short, { signed: true, ...(isUniform(short) ? {} : { withZero: false }), ranges });
}

function codeParams(short: ShortName, v: PaperValues): Partial<Record<ParamName, number>> {
  const out: Partial<Record<ParamName, number>> = {};
  for (const p of LEARNED_PARAMS[short]) out[CODE_NAME[p]] = p === 'b' ? v.b + 0.25 : v[p];
  return out;
}

/** Q(x) of the library for each x (float32). */
export async function transferCurve(short: ShortName, theta: PaperTheta, xs: readonly number[]): Promise<Float32Array> {
  const v = paperValues(short, theta);
  const q = tf.tidy(() => quantize(tf.tensor1d(xs as number[]), analysisSpec(short), codeParams(short, v)));
  const out = (await q.data()) as Float32Array;
  q.dispose();
  return out;
}

/** One x of a gradient curve: Q(x) and ∂Q(x)/∂(x, learned parameters). */
export interface GradientPoint {
  x: number;
  q: number;
  dx: number;
  /** Partial derivatives w.r.t. the parametrization's two learned parameters, by paper name. */
  partials: Partial<Record<PaperParam, number>>;
}

/**
 * Q(x) and its partial derivatives by the library's autodiff, one x at a time (the quantizers sum parameter
 * gradients over a tensor, so a per-x derivative needs its own backward pass).
 */
export async function gradientCurve(short: ShortName, theta: PaperTheta, xs: readonly number[]): Promise<GradientPoint[]> {
  const v = paperValues(short, theta);
  const spec = analysisSpec(short);
  const learned = LEARNED_PARAMS[short];
  const initial = codeParams(short, v);
  const params = learned.map((p) => tf.scalar(initial[CODE_NAME[p]]!));
  // Q(x) and its gradients from one forward pass.
  const f = tf.valueAndGrads((x: tf.Tensor, p0: tf.Tensor, p1: tf.Tensor) =>
    quantize(x, spec, { [CODE_NAME[learned[0]]]: p0 as tf.Scalar, [CODE_NAME[learned[1]]]: p1 as tf.Scalar }),
  );
  const points: GradientPoint[] = [];
  try {
    for (const x of xs) {
      const [q, g] = tf.tidy(() => {
        const { value, grads } = f([tf.tensor1d([x]), params[0]!, params[1]!]);
        return [value, tf.concat(grads.map((t) => tf.reshape(t, [-1])))];
      }) as [tf.Tensor, tf.Tensor];
      const [qv, gv] = await Promise.all([q.data(), g.data()]);
      tf.dispose([q, g]);
      points.push({ x: Math.fround(x), q: qv[0]!, dx: gv[0]!, partials: { [learned[0]]: gv[1]!, [learned[1]]: gv[2]! } });
    }
  } finally {
    tf.dispose(params);
  }
  return points;
}

// ---------------------------------------------------------------------------------------------------------------
// Closed forms (float64)

/** Q(x) of the paper: eq. (1) uniform (floor(|x|/d + ½), i.e. half away from zero), eq. (4) power-of-two. */
export function paperQuantize(short: ShortName, v: PaperValues, x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (isUniform(short)) return a <= v.qmax ? s * v.d * Math.floor(a / v.d + 0.5) : s * v.qmax;
  if (a <= v.qmin) return s * v.qmin;
  if (a <= v.qmax) return s * 2 ** Math.floor(0.5 + Math.log2(a));
  return s * v.qmax;
}

/**
 * ∂Q/∂x and ∂Q/∂θ of the paper: (2), (3a)–(3c) for uniform; (5), (6) with the code's sign(x) for P3, and the
 * derivations of docs/METHOD.md#derived-p1-and-p2-gradients for P1 and P2. Not defined exactly at ±qmax, ±qmin (the paper and the code differ there).
 */
export function paperGradient(short: ShortName, v: PaperValues, x: number): { q: number; dx: number; partials: Partial<Record<PaperParam, number>> } {
  const q = paperQuantize(short, v, x);
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const { b, d, qmax, qmin } = v;
  const LN2 = Math.LN2;
  const half = 2 ** (b - 1);
  if (isUniform(short)) {
    const inside = a <= qmax;
    const dx = inside ? 1 : 0;
    switch (short) {
      case 'U1':
        return { q, dx, partials: inside ? { b: 0, d: (q - x) / d } : { b: half * LN2 * d * s, d: (half - 1) * s } };
      case 'U2':
        return { q, dx, partials: inside ? { b: -((half * LN2) / (half - 1)) * (q - x), qmax: (q - x) / qmax } : { b: 0, qmax: s } };
      default:
        return { q, dx, partials: inside ? { d: (q - x) / d, qmax: 0 } : { d: 0, qmax: s } };
    }
  }
  const low = a <= qmin;
  const high = a > qmax;
  const dx = !low && !high ? 2 ** Math.floor(0.5 + Math.log2(a)) / a : 0;
  switch (short) {
    case 'P1':
      return { q, dx, partials: { b: low ? -s * qmin * half * LN2 * LN2 : 0, qmax: s * ((low ? 2 ** (1 - half) : 0) + (high ? 1 : 0)) } };
    case 'P2':
      return { q, dx, partials: { b: high ? s * qmax * half * LN2 * LN2 : 0, qmin: s * ((low ? 1 : 0) + (high ? 2 ** (half - 1) : 0)) } };
    default:
      return { q, dx, partials: { qmin: low ? s : 0, qmax: high ? s : 0 } };
  }
}

/** docs/METHOD.md#maximum-gradient-norm: max over x of ‖∇θ Q_U(x; θ)‖ for the uniform parametrizations, as a function of b and d. */
export function maxGradientNormClosedForm(short: UniformShortName, b: number, d: number): number {
  const half = 2 ** (b - 1);
  if (short === 'U1') return Math.hypot(half * Math.LN2 * d, half - 1);
  if (short === 'U2') {
    const qmax = d * (half - 1);
    return Math.max(1, (d / 2) * Math.hypot((half * Math.LN2) / (half - 1), 1 / qmax));
  }
  return 1;
}

/**
 * The x values at which the maximum gradient norm of a uniform quantizer is looked for: a dense grid over
 * [−1.5·qmax, 1.5·qmax] plus the points where |Q − x| = d/2 (the half steps) and points beyond the range, never
 * exactly ±qmax (where the paper's and the code's conventions differ).
 */
export function maxNormProbePoints(v: PaperValues, dense = 64): number[] {
  const xs = new Set<number>();
  for (let i = 0; i <= dense; i++) xs.add(Math.fround(v.qmax * (-1.5 + (3 * i) / dense + 1 / (7 * dense))));
  const k = Math.round(v.qmax / v.d);
  for (const m of [0, Math.floor(k / 2), k - 1]) for (const s of [1, -1]) xs.add(Math.fround(s * (m + 0.5) * v.d));
  for (const s of [1, -1]) xs.add(Math.fround(s * 1.25 * v.qmax));
  return [...xs].filter((x) => Math.abs(x) !== v.qmax).sort((a, b) => a - b);
}

/** Max gradient norm by the library's autodiff over {@link maxNormProbePoints}. */
export async function maxGradientNormAutodiff(short: UniformShortName, b: number, d: number, dense = 64): Promise<number> {
  const v = paperValues(short, { b, d });
  const points = await gradientCurve(short, { b, d }, maxNormProbePoints(v, dense));
  return Math.max(...points.map((p) => Math.hypot(...(Object.values(p.partials) as number[]))));
}
