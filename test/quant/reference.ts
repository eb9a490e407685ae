/**
 * Independent float64 reference of the quantizers, written from the closed forms of docs/METHOD.md#uniform-quantizer,
 * docs/METHOD.md#power-of-two-quantizer, docs/METHOD.md#fixed-baselines and docs/METHOD.md#bitwidth-inference
 * (not from the library). Where nnabla makes a decision on a float32 value (a clip bound, the quotient
 * X/(2^nq − 1) before its power-of-two rounding), the value is rounded to float32 first, as the code does.
 */
export type Kind = 'U1' | 'U2' | 'U3' | 'P1' | 'P2' | 'P3';
export interface RefParams {
  n?: number;
  d?: number;
  xmax?: number;
  xmin?: number;
}
export interface RefRanges {
  n: [number, number];
  d?: [number, number];
  xmax?: [number, number];
  xmin?: [number, number];
}
export interface RefConfig {
  kind: Kind;
  signed: boolean;
  withZero: boolean;
  ranges: RefRanges;
}

const f = Math.fround;
const LN2 = Math.LN2;

/** Half away from zero. Exact for float32-derived doubles (|z| + 0.5 is exact in float64). */
export function rnd(z: number): number {
  return Math.sign(z) * Math.floor(Math.abs(z) + 0.5);
}
/** 2^rnd(log2 v); float64 log2 is far more precise than the gap between a float32 and the midpoint 2^(k+½). */
export function pow2(v: number): number {
  return v === 0 ? 0 : 2 ** rnd(Math.log2(v));
}
function clip(v: number, r: [number, number]): { value: number; gate: number } {
  const lo = f(r[0]);
  const hi = f(r[1]);
  return { value: Math.min(Math.max(v, lo), hi), gate: lo < v && v < hi ? 1 : 0 };
}
/** Number of bits to index u levels: smallest k with 2^k ≥ u. */
export function bitsFor(u: number): number {
  let k = 0;
  while (2 ** k < u) k++;
  return k;
}

export interface RefElement {
  q: number;
  dqdx: number;
  dqdp: Record<string, number>;
}
export interface RefQuantizer {
  /** Derived grid: uniform step & range, pow2 smallest & largest level. */
  grid: { step?: number; X?: number; a?: number; b?: number };
  element(x: number): RefElement;
  /** Memory bitwidth and its partial derivatives (docs/METHOD.md#bitwidth-inference). */
  bits: { value: number; grad: Record<string, number> };
}

export function reference(cfg: RefConfig, p: RefParams): RefQuantizer {
  return cfg.kind.startsWith('U') ? uniform(cfg, p) : pow2Quantizer(cfg, p);
}

function uniform(cfg: RefConfig, p: RefParams): RefQuantizer {
  const s = cfg.signed ? 1 : 0;
  let dq: number,
    X: number,
    dT = NaN,
    gd = 0,
    gx = 0,
    gn = 0,
    nq = NaN;
  const nClip = p.n !== undefined ? clip(p.n, cfg.ranges.n) : undefined;
  if (nClip) {
    nq = rnd(nClip.value) - s;
    gn = nClip.gate;
  }
  if (cfg.kind === 'U3') {
    const dc = clip(p.d!, cfg.ranges.d!);
    dT = dc.value;
    gd = dc.gate;
    dq = pow2(dT);
    const xc = clip(p.xmax!, cfg.ranges.xmax!);
    X = xc.value;
    gx = xc.gate;
  } else if (cfg.kind === 'U2') {
    const xc = clip(p.xmax!, cfg.ranges.xmax!);
    X = xc.value;
    gx = xc.gate;
    dq = pow2(f(X / (2 ** nq - 1)));
  } else {
    const dc = clip(p.d!, cfg.ranges.d!);
    dT = dc.value;
    gd = dc.gate;
    dq = pow2(dT);
    X = f(dq * (2 ** nq - 1));
  }
  const lo = cfg.signed ? -X : 0;
  const element = (x: number): RefElement => {
    const c = Math.min(Math.max(x, lo), X);
    const q = dq * rnd(c / dq);
    const out = (x >= X ? 1 : 0) - (cfg.signed && x <= -X ? 1 : 0);
    const dqdx = lo < x && x < X ? 1 : 0;
    const e = q - c;
    const dqdp: Record<string, number> = {};
    if (cfg.kind === 'U3') {
      dqdp.d = (gd * e) / dT;
      dqdp.xmax = gx * out;
    } else if (cfg.kind === 'U2') {
      dqdp.n = gn * ((-e * 2 ** nq * LN2) / (2 ** nq - 1));
      dqdp.xmax = gx * (e / X + out);
    } else {
      dqdp.n = gn * dq * 2 ** nq * LN2 * out;
      dqdp.d = (gd * (e / dq + (2 ** nq - 1) * out) * dq) / dT;
    }
    return { q, dqdx, dqdp };
  };
  let bits: RefQuantizer['bits'];
  if (cfg.kind === 'U3') {
    const R = rnd(X / dq);
    const raw = bitsFor(R + 1) + s;
    const bMin = cfg.ranges.n[0];
    const m = raw > bMin ? 1 : 0;
    bits = {
      value: Math.max(raw, bMin),
      grad: { xmax: (gx * m) / (dq * (R + 1) * LN2), d: (-gd * m * X) / (dq * dT * (R + 1) * LN2) },
    };
  } else {
    bits = { value: rnd(nClip!.value), grad: { n: gn } };
  }
  return { grid: { step: dq, X }, element, bits };
}

function pow2Quantizer(cfg: RefConfig, p: RefParams): RefQuantizer {
  const s = cfg.signed ? 1 : 0;
  const z = cfg.withZero ? 1 : 0;
  let a: number,
    b: number,
    aT = NaN,
    bT = NaN,
    ga = 0,
    gb = 0,
    gn = 0,
    nq = NaN;
  if (p.n !== undefined) {
    const nc = clip(p.n, cfg.ranges.n);
    nq = rnd(nc.value) - s - z;
    gn = nc.gate;
  }
  if (cfg.kind === 'P3' || cfg.kind === 'P2') {
    const c = clip(p.xmin!, cfg.ranges.xmin!);
    aT = c.value;
    ga = c.gate;
    a = pow2(aT);
  }
  if (cfg.kind === 'P3' || cfg.kind === 'P1') {
    const c = clip(p.xmax!, cfg.ranges.xmax!);
    bT = c.value;
    gb = c.gate;
    b = pow2(bT);
  }
  if (cfg.kind === 'P1') a = 2 ** (1 - 2 ** nq) * b!;
  if (cfg.kind === 'P2') b = a! * 2 ** (2 ** nq - 1);
  const A = a!;
  const B = b!;
  const threshold = f(A * f(Math.SQRT1_2)); // xmin / √2 in float32
  const element = (x: number): RefElement => {
    const xr = cfg.signed ? x : Math.max(x, 0);
    const ax = Math.abs(xr);
    const sx = xr >= 0 ? 1 : -1;
    const idx1 = cfg.withZero ? ax >= threshold && ax < A : ax < A;
    const idx2 = ax >= A && ax < B;
    const idx3 = ax >= B;
    const pw = idx2 ? pow2(ax) : 0;
    const q = sx * ((idx1 ? A : 0) + pw + (idx3 ? B : 0));
    const dqdx = idx2 ? pw / ax : 0;
    const i1 = idx1 ? 1 : 0;
    const i3 = idx3 ? 1 : 0;
    const dqdp: Record<string, number> = {};
    if (cfg.kind === 'P3') {
      dqdp.xmin = (ga * sx * i1 * A) / aT;
      dqdp.xmax = (gb * sx * i3 * B) / bT;
    } else if (cfg.kind === 'P1') {
      dqdp.n = gn * (-sx * i1 * A * 2 ** nq * LN2 * LN2);
      dqdp.xmax = (gb * sx * (i1 * 2 ** (1 - 2 ** nq) + i3) * B) / bT;
    } else {
      dqdp.n = gn * (sx * i3 * B * 2 ** nq * LN2 * LN2);
      dqdp.xmin = (ga * sx * (i1 + i3 * 2 ** (2 ** nq - 1)) * A) / aT;
    }
    return { q, dqdx, dqdp };
  };
  let bits: RefQuantizer['bits'];
  if (cfg.kind === 'P3') {
    // xmin > xmax: the code's log2(log2(b/a) + 1) is NaN/−∞, and maximum_scalar yields b_min with no gradient.
    const L = Math.round(Math.log2(B / A));
    const bMin = cfg.ranges.n[0];
    const raw = L >= 0 ? bitsFor(L + 1) + s + z : bMin;
    const m = raw > bMin ? 1 : 0;
    bits = {
      value: Math.max(raw, bMin),
      grad: m === 0 ? { xmax: 0, xmin: 0 } : { xmax: gb / ((L + 1) * LN2 * LN2 * bT), xmin: -ga / ((L + 1) * LN2 * LN2 * aT) },
    };
  } else {
    bits = { value: rnd(clip(p.n!, cfg.ranges.n).value), grad: { n: gn } };
  }
  return { grid: { a: A, b: B }, element, bits };
}

/** nnabla F.fixed_point_quantize (fixed_point_quantize.cpp), forward and fine-grained STE backward. */
export function fixedPointRef(x: number, signed: boolean, n: number, delta: number): { q: number; dqdx: number } {
  const max = f(f(2 ** (signed ? n - 1 : n) - 1) * f(delta));
  const min = signed ? -max : 0;
  let q: number;
  if (x > max) q = max;
  else if (x < min) q = min;
  else q = Math.sign(x) * Math.floor(Math.abs(x) / f(delta) + 0.5) * f(delta);
  return { q, dqdx: x >= min && x <= max ? 1 : 0 };
}

/** nnabla F.pow2_quantize (pow2_quantize.cpp), forward and fine-grained STE backward. */
export function pow2FixedRef(x: number, signed: boolean, withZero: boolean, n: number, m: number): { q: number; dqdx: number } {
  const nq = n - (signed ? 1 : 0) - (withZero ? 1 : 0);
  const pMax = 2 ** m;
  const pMin = 2 ** (m - (2 ** nq - 1));
  const threshold = f(pMin * 2 ** -0.5); // pruning_threshold_ is a T (float32) member
  const ax = Math.abs(x);
  const rounded = pow2(ax);
  let q = rounded;
  if (q > pMax) q = pMax;
  else if (q < pMin && withZero) q = ax < threshold ? 0 : pMin;
  else if (q < pMin) q = pMin;
  const neg = x < 0;
  if (signed) q = neg ? -q : q;
  else if (neg) q = withZero ? 0 : pMin;
  let c = rounded > pMax ? 0 : 1;
  if (!signed && neg) c = 0;
  return { q, dqdx: c };
}
