/**
 * Random test cases for the six parametrizations: parameters inside (and sometimes outside) their ranges, and inputs
 * that hit every boundary convention: x = ±X, half-way rounding points, ±xmin, ±xmax, the pruning threshold
 * xmin/√2, the power-of-two midpoints 2^(k+½), zero, and values far outside the range.
 */
import { f32Neighbours, Random } from '../helpers/random';
import { reference, type Kind, type RefConfig, type RefParams, type RefQuantizer } from './reference';
import type { QuantizerSpec, Range } from '../../src/quant';

export const KINDS: readonly Kind[] = ['U1', 'U2', 'U3', 'P1', 'P2', 'P3'];

export interface Case {
  label: string;
  cfg: RefConfig;
  spec: QuantizerSpec;
  params: RefParams;
  ref: RefQuantizer;
  x: number[];
  w: number[];
}

/** The code's training-config ranges (docs/METHOD.md#parameter-ranges), which tests use as quantizer ranges. */
export function configRanges(kind: Kind, signed: boolean, withZero: boolean): RefConfig['ranges'] {
  const weight = signed;
  // n: the code's [2, 8] / [1, 8], narrowed for b-parametrized pow2 so that 2^(2^nq − 1) stays inside float32
  // (the code computes in float32 too; overflow is not what these tests are about).
  const reserved = (signed ? 1 : 0) + (kind.startsWith('P') && withZero ? 1 : 0);
  const n: [number, number] =
    kind === 'P1' || kind === 'P2' ? [reserved, reserved + 4] : [Math.max(weight ? 2 : 1, reserved + (kind.startsWith('U') ? 1 : 0)), 8];
  return {
    n,
    d: [2 ** -8, 1],
    xmax: [2 ** -8, weight ? 127 : 255],
    xmin: [weight ? 2 ** -16 : 2 ** -14, weight ? 127 : 255],
  };
}

export function configurations(): { kind: Kind; signed: boolean; withZero: boolean }[] {
  const out: { kind: Kind; signed: boolean; withZero: boolean }[] = [];
  for (const kind of KINDS) {
    for (const signed of [true, false]) {
      for (const withZero of kind.startsWith('P') ? [false, true] : [true]) out.push({ kind, signed, withZero });
    }
  }
  return out;
}

function randomParams(r: Random, kind: Kind, signed: boolean, withZero: boolean): RefParams {
  const reserved = (signed ? 1 : 0) + (kind.startsWith('P') && withZero ? 1 : 0);
  // n rounds to reserved + 1..4 magnitude bits (uniform) or exponent bits (pow2)
  const n = () => r.f32(reserved + 0.6, reserved + (kind.startsWith('U') ? 4.4 : 3.4));
  switch (kind) {
    case 'U1':
      return { n: n(), d: r.logF32(2 ** -6, 2 ** -2) };
    case 'U2':
      return { n: n(), xmax: r.f32(0.3, 4) };
    // A third of the U3 / P3 draws have only 1–2 levels so that the bitwidth sits at its floor b_min.
    case 'U3': {
      const d = r.logF32(2 ** -7, 2 ** -2);
      return { d, xmax: r.next() < 0.3 ? r.f32(0.7 * d, 2.4 * d) : r.f32(3 * d, Math.min(60 * d, 100)) };
    }
    case 'P1':
      return { n: n(), xmax: r.logF32(0.25, 4) };
    case 'P2':
      return { n: n(), xmin: r.logF32(2 ** -9, 2 ** -4) };
    case 'P3': {
      const xmin = r.logF32(2 ** -9, 2 ** -4);
      return { xmin, xmax: r.next() < 0.3 ? r.logF32(xmin, 4 * xmin) : r.logF32(0.25, 4) };
    }
  }
}

/** Pushes one parameter outside its range (so that its clip gate is closed) in a fraction of the cases. */
function maybeOutOfRange(r: Random, params: RefParams, ranges: RefConfig['ranges']): RefParams {
  if (r.next() > 0.25) return params;
  const keys = Object.keys(params) as (keyof RefParams)[];
  const key = r.pick(keys);
  const [lo, hi] = ranges[key]!;
  return { ...params, [key]: Math.fround(r.next() < 0.5 ? lo / 2 : hi * 1.5) };
}

function boundaryInputs(ref: RefQuantizer, kind: Kind, r: Random): number[] {
  const xs: number[] = [0, -0];
  const add = (v: number) => {
    const f = Math.fround(v);
    if (!(Math.abs(f) > 0 && Math.abs(f) < 1e30)) return;
    xs.push(f, -f, ...f32Neighbours(f), ...f32Neighbours(-f));
  };
  if (kind.startsWith('U')) {
    const { step, X } = ref.grid as { step: number; X: number };
    add(X);
    add(3 * X);
    for (let k = 0; k < 6; k++) add((r.int(0, Math.max(1, Math.floor(X / step))) + 0.5) * step);
    add(step / 2);
    add(step * (0.5 - 2 ** -25)); // 0.49999997·d: where floor(|z| + 0.5) goes wrong in float32
  } else {
    const { a, b } = ref.grid as { a: number; b: number };
    add(a);
    add(b);
    add(a * Math.fround(Math.SQRT1_2)); // the pruning threshold
    add(4 * b);
    for (let k = Math.ceil(Math.log2(a)); k < Math.log2(b); k++) add(2 ** (k + 0.5)); // rounding midpoints
  }
  return xs;
}

export function makeCase(r: Random, kind: Kind, signed: boolean, withZero: boolean, elements = 400): Case {
  const ranges = configRanges(kind, signed, withZero);
  const cfg: RefConfig = { kind, signed, withZero, ranges };
  const params = maybeOutOfRange(r, randomParams(r, kind, signed, withZero), ranges);
  const ref = reference(cfg, params);
  const scale = kind.startsWith('U') ? (ref.grid.X as number) : (ref.grid.b as number);
  const x = boundaryInputs(ref, kind, r);
  while (x.length < elements) {
    const u = r.next();
    x.push(Math.fround(u < 0.8 ? r.normal() * scale * 0.6 : r.normal() * scale * 4));
  }
  const w = x.map(() => Math.fround(r.normal()));
  const quantRanges: Partial<Record<'n' | 'd' | 'xmax' | 'xmin', Range>> = {};
  const paramNames = Object.keys(params) as ('n' | 'd' | 'xmax' | 'xmin')[];
  for (const key of paramNames) quantRanges[key] = ranges[key]!;
  if (!paramNames.includes('n')) quantRanges.n = ranges.n;
  const spec: QuantizerSpec = {
    kind: kind.startsWith('U') ? 'uniform' : 'pow2',
    param: ({ U1: 'd_b', U2: 'b_xmax', U3: 'd_xmax', P1: 'b_xmax', P2: 'b_xmin', P3: 'xmin_xmax' } as const)[kind],
    signed,
    ...(kind.startsWith('P') ? { withZero } : {}),
    ranges: quantRanges,
  };
  const label =
    `${kind} ${signed ? 'signed' : 'unsigned'}${kind.startsWith('P') ? (withZero ? ' +zero' : ' no-zero') : ''} ` +
    `params ${JSON.stringify(params)}`;
  return { label, cfg, spec, params, ref, x, w };
}
