/**
 * The quantizers' elementwise work in one pass over the data (forward) and one pass (backward: ∂x and the two
 * parameter sums), for backends whose memory JavaScript can read: cpu and wasm. Each value is the float32 result of
 * the composed tfjs ops of src/quant/uniform.ts and pow2.ts: Math.fround after an operation whose float64 result may
 * not be a float32 (float64 holds every float32 + − × ÷ result before rounding, so this is exact), and none where the
 * operands make it exact (products with powers of two, integers below 2^24). Values are bit-identical to the composed
 * version; the parameter sums are accumulated in float64 (more exact than a float32 reduction, so equal within
 * float32 summation error, not bit for bit).
 */
const f = Math.fround;
const SQRT2_F32 = f(Math.SQRT2);
const SQRT1_2_F32 = f(Math.SQRT1_2);

/** roundHalfAway of round.ts: sign(z)·(⌊|z|⌋ + [|z| − ⌊|z|⌋ ≥ ½]), sign(0) = 0. */
export function roundHalfAway(z: number): number {
  const a = Math.abs(z);
  const whole = Math.floor(a);
  const up = f(a - whole) >= 0.5 ? 1 : 0;
  const s = z > 0 ? 1 : z < 0 ? -1 : z === 0 ? 0 : NaN;
  return f(s * f(whole + up));
}

export interface UniformGrid {
  step: number;
  X: number;
  signed: boolean;
}

/** Whether v is a power of two (then c/v = c·(1/v) exactly, and products with v are exact). */
function isPowerOfTwo(v: number): boolean {
  return v > 0 && Number.isFinite(v) && 2 ** Math.round(Math.log2(v)) === v;
}

/** q = d·round(clip(x, lo, X)/d). */
export function uniformForward(x: Float32Array, out: Float32Array, g: UniformGrid): void {
  const { step, X } = g;
  const lo = g.signed ? -X : 0;
  if (!isPowerOfTwo(step)) {
    for (let i = 0; i < x.length; i++) out[i] = f(roundHalfAway(f(Math.min(Math.max(x[i]!, lo), X) / step)) * step);
    return;
  }
  // The quantizers' steps are powers of two, so x/d = x·(1/d) exactly and products with d are exact. Rounding commutes
  // with the clip up to the end levels: round(clip(x, lo, X)/d) = clamp(round(x/d), −r, r) with r = round(X/d)
  // (rounding is monotone), which replaces the float min/max (slow: NaN and ±0 rules, unpredictable branches on
  // activations that straddle zero) with one integer comparison that is almost always false (a branch that predicts
  // well; the arithmetic select a − (a − top)·[a > top] it replaced lost top in a − top once |x|/d passed 2^53, and
  // gave 0 for x = 3e38). Same bits as above.
  const inv = 1 / step;
  const top = roundHalfAway(f(X / step));
  const signed = g.signed;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    // NaN and ±∞ (rare, so the branch predicts well) take the literal path.
    if (xi - xi !== 0) {
      out[i] = f(roundHalfAway(f(Math.min(Math.max(xi, lo), X) / step)) * step);
      continue;
    }
    const z = xi * inv;
    const a = Math.floor(Math.abs(z) + 0.5);
    const m = a > top ? top : a;
    // signed: sign(z)·m, with −0 for −½ < z < 0 and +0 for z = ±0; unsigned: the clip at 0 gives +0 for z ≤ 0.
    out[i] = (signed ? m * (1 - 2 * +(z < 0)) : m * +(z > 0)) * step;
  }
}

/** ∂x = dy·1[lo < x < X]; sums Σ dy·(q − c)/d and Σ dy·out(x). Returns [∂d_q, ∂X]. */
export function uniformBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, g: UniformGrid): [number, number] {
  return uniformFinish(uniformBackwardSums(dy, x, dx, g), g);
}

/**
 * uniformBackward in two parts, so that the elements can be split among threads: ∂x and the float64 sums of a range
 * (sums of parts add up to the whole's), then the gradients from the sums.
 */
export function uniformBackwardSums(dy: Float32Array, x: Float32Array, dx: Float32Array, g: UniformGrid): [number, number] {
  const { step, X } = g;
  const lo = g.signed ? -X : 0;
  return isPowerOfTwo(step)
    ? (g.signed ? uniformBackwardSigned : uniformBackwardUnsigned)(dy, x, dx, step, X)
    : uniformBackwardGeneral(dy, x, dx, step, X, lo, g.signed);
}

export function uniformFinish([sStep, sX]: [number, number], g: UniformGrid): [number, number] {
  return [f(f(sStep) / g.step), f(sX)];
}

/** Any step: the literal clip and rounding (and the path for NaN / ±∞ elements). */
function uniformBackwardGeneral(
  dy: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  step: number,
  X: number,
  lo: number,
  signed: boolean,
): [number, number] {
  let sStep = 0;
  let sX = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const d = dy[i]!;
    const c = Math.min(Math.max(xi, lo), X);
    sStep += d * (f(roundHalfAway(f(c / step)) * step) - c);
    dx[i] = d * (+(xi > lo) * +(xi < X));
    sX += d * (+(xi >= X) - (signed ? +(xi <= -X) : 0));
  }
  return [sStep, sX];
}

// The power-of-two loops below repeat uniformForward's arithmetic (clamp of the rounded integer; no data-dependent
// branches but the rare clip at ±X and non-finite inputs) and accumulate in float64, where (q − c) is exact.

function uniformBackwardSigned(dy: Float32Array, x: Float32Array, dx: Float32Array, step: number, X: number): [number, number] {
  const inv = 1 / step;
  const top = roundHalfAway(f(X / step));
  let sStep = 0;
  let sX = 0;
  let nonFinite = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const d = dy[i]!;
    nonFinite += +(xi - xi !== 0);
    const z = xi * inv;
    const a = Math.floor(Math.abs(z) + 0.5);
    const m = a > top ? top : a;
    const c = xi > X ? X : xi < -X ? -X : xi;
    sStep += d * (m * (1 - 2 * +(z < 0)) * step - c);
    dx[i] = d * (+(xi > -X) * +(xi < X));
    sX += d * (+(xi >= X) - +(xi <= -X));
  }
  // NaN and ±∞ inputs (rare) are left to the literal loop rather than branched on above.
  return nonFinite > 0 ? uniformBackwardGeneral(dy, x, dx, step, X, -X, true) : [sStep, sX];
}

function uniformBackwardUnsigned(dy: Float32Array, x: Float32Array, dx: Float32Array, step: number, X: number): [number, number] {
  const inv = 1 / step;
  const top = roundHalfAway(f(X / step));
  let sStep = 0;
  let sX = 0;
  let nonFinite = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const d = dy[i]!;
    nonFinite += +(xi - xi !== 0);
    // For x ≤ 0 both q and c are 0: the factor (x > 0) zeroes the term without a branch.
    const pos = +(xi > 0);
    const a = Math.floor(xi * inv * pos + 0.5);
    const m = a > top ? top : a;
    const c = xi > X ? X : xi;
    sStep += d * (m * step - c) * pos;
    dx[i] = d * (pos * +(xi < X));
    sX += d * +(xi >= X);
  }
  return nonFinite > 0 ? uniformBackwardGeneral(dy, x, dx, step, X, 0, false) : [sStep, sX];
}

export interface Pow2Grid {
  /** Smallest level (xmin) and largest (xmax), powers of two. */
  a: number;
  b: number;
  signed: boolean;
  withZero: boolean;
}

/** The mantissa bits of float32 √2: v/2^⌊log2 v⌋ > √2 iff v's mantissa bits exceed these (shared with the WGSL kernels). */
export const SQRT2_MANTISSA = new Int32Array(new Float32Array([SQRT2_F32]).buffer)[0]! & 0x7fffff;
const EXPONENT_SCALE = Array.from({ length: 256 }, (_, e) => 2 ** (e - 127));

/**
 * pow2Round of a positive normal float32 from its bits: the exponent gives the largest power of two p ≤ v, and
 * v/p > √2 (float32) iff the mantissa exceeds √2's — the comparison round.ts makes, without a log.
 */
function pow2RoundBits(bits: number): number {
  const e = (bits >>> 23) & 0xff;
  return (bits & 0x7fffff) > SQRT2_MANTISSA ? EXPONENT_SCALE[e]! * 2 : EXPONENT_SCALE[e]!;
}

/** The float32 bits of an array's elements (a view, no copy). */
const bitsOf = (x: Float32Array) => new Int32Array(x.buffer, x.byteOffset, x.length);

/**
 * Region masks of pow2.ts for one element: 1 = idx1 (|x| below xmin, above the pruning threshold with zero),
 * 2 = idx2, 3 = idx3; two bits when xmin > xmax makes idx1 and idx3 overlap (bit 0: idx1, bit 1: idx3, 4: idx2).
 */
function regions(ax: number, g: Pow2Grid, threshold: number): number {
  let m = 0;
  if (g.withZero ? ax >= threshold && ax < g.a : ax < g.a) m |= 1;
  if (ax >= g.a && ax < g.b) m |= 4;
  if (ax >= g.b) m |= 2;
  return m;
}

/** q = s·(a·idx1 + 2^round(log2|x|)·idx2 + b·idx3) (+ |x|·0, so that NaN and ±∞ propagate as in the code). */
export function pow2Forward(x: Float32Array, out: Float32Array, g: Pow2Grid): void {
  const bits = bitsOf(x);
  const threshold = f(g.a * SQRT1_2_F32);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    // Unsigned: ReLU first (NaN passes through, as tf.relu).
    const xr = g.signed || !(xi < 0) ? xi : 0;
    const ax = Math.abs(xr);
    const r = regions(ax, g, threshold);
    let m = 0;
    if (r & 1) m = g.a;
    if (r & 4) m = f(m + pow2RoundBits(bits[i]! & 0x7fffffff));
    if (r & 2) m = f(m + g.b);
    m = f(m + ax * 0);
    out[i] = xr >= 0 ? m : -m;
  }
}

/** ∂x = dy·2^round(log2|x|)/|x| on idx2; sums Σ dy·s·idx1 and Σ dy·s·idx3. Returns [∂a, ∂b]. */
export function pow2Backward(dy: Float32Array, x: Float32Array, dx: Float32Array, g: Pow2Grid): [number, number] {
  return pow2Finish(pow2BackwardSums(dy, x, dx, g));
}

export function pow2Finish([sa, sb]: [number, number]): [number, number] {
  return [f(sa), f(sb)];
}

/** pow2Backward's ∂x and float64 sums of a range (see uniformBackwardSums). */
export function pow2BackwardSums(dy: Float32Array, x: Float32Array, dx: Float32Array, g: Pow2Grid): [number, number] {
  const bits = bitsOf(x);
  const threshold = f(g.a * SQRT1_2_F32);
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const xr = g.signed || !(xi < 0) ? xi : 0;
    const ax = Math.abs(xr);
    const r = regions(ax, g, threshold);
    const d = dy[i]!;
    dx[i] = r & 4 ? d * f(pow2RoundBits(bits[i]! & 0x7fffffff) / ax) : 0;
    if (r & 3) {
      const sd = xr >= 0 ? d : -d;
      if (r & 1) sa += sd;
      if (r & 2) sb += sd;
    }
  }
  return [sa, sb];
}
