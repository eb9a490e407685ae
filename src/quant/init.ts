/**
 * Model-level quantizer configuration of the official training code: the config defaults and ranges
 * (train_resnet.py `Configuration`, docs/METHOD.md#parameter-ranges) and the initialisation rules of model_resnet.py (docs/METHOD.md#initialization).
 */
import { parametrizationInfo } from './parametrizations';
import type { ParamName, QuantizerSpec, Range, ShortName } from './spec';
import { specFor } from './spec';

/** What a quantizer quantizes: signed weights/biases, or unsigned activations (replacing the ReLU). */
export type QuantizerRole = 'weight' | 'activation';

export interface RoleConfig {
  /** Initial step size when no pre-trained weights are given (`w_stepsize`, `a_stepsize`). */
  stepsize: number;
  stepsizeRange: Range;
  xminRange: Range;
  xmaxRange: Range;
  /** Initial bitwidth (`w_bitwidth`, `a_bitwidth`). */
  bitwidth: number;
  bitwidthRange: Range;
}

/** The code's config defaults (docs/METHOD.md#parameter-ranges). */
export const CODE_CONFIG: Readonly<Record<QuantizerRole, RoleConfig>> = {
  weight: {
    stepsize: 2 ** -3,
    stepsizeRange: [2 ** -8, 1],
    xminRange: [2 ** -16, 127],
    xmaxRange: [2 ** -8, 127],
    bitwidth: 4,
    bitwidthRange: [2, 8],
  },
  activation: {
    stepsize: 2 ** -3,
    stepsizeRange: [2 ** -8, 1],
    xminRange: [2 ** -14, 255],
    xmaxRange: [2 ** -8, 255],
    bitwidth: 4,
    bitwidthRange: [1, 8],
  },
};

const FLOAT32_EPS = 2 ** -23;

/**
 * model_resnet.find_delta: the initial step size for pre-trained weights,
 * 2^floor(log2(max|W| / (2^(b−1) − 1))) for b ≤ 4 and 2^ceil(...) for b > 4, with max|W| += float32 eps.
 */
export function findDelta(maxAbsWeight: number, bits: number): number {
  const ratio = Math.log2((maxAbsWeight + FLOAT32_EPS) / (2 ** (bits - 1) - 1));
  return 2 ** (bits > 4 ? Math.ceil(ratio) : Math.floor(ratio));
}

export type LayerQuantization = ShortName | 'fp' | 'pow2' | 'float';

export interface LayerQuantizerOptions {
  /** Initial bitwidth (default: the role's config bitwidth, 4). */
  bits?: number;
  /** max|W| of pre-trained weights: initialise the step size with find_delta instead of the config stepsize. */
  maxAbsWeight?: number;
  /** Overrides of the role's config (ranges, stepsize, bitwidth range). */
  config?: Partial<RoleConfig>;
  /** Variable-name prefix, e.g. `conv1/Wquant`. */
  name?: string;
}

/** Clip into [min + 1e-5, max − 1e-5] as the code does for pow2 initial values. */
function clipInside(v: number, [lo, hi]: Range): number {
  return Math.min(Math.max(v, lo + 1e-5), hi - 1e-5);
}

/**
 * The quantizer spec the official model builds for one layer (get_quantizers / nonl, docs/METHOD.md#initialization): weights signed
 * without a zero level for pow2, activations unsigned with a zero level, initial values from the config stepsize
 * (or from pre-trained weights) so that the network starts at `bits` bits.
 */
export function layerQuantizerSpec(quantization: LayerQuantization, role: QuantizerRole, options: LayerQuantizerOptions = {}): QuantizerSpec {
  const cfg: RoleConfig = { ...CODE_CONFIG[role], ...options.config };
  const b = options.bits ?? cfg.bitwidth;
  const signed = role === 'weight';
  const name = options.name !== undefined ? { name: options.name } : {};
  if (quantization === 'float') return { kind: 'float', signed, ...name };

  const delta = signed && options.maxAbsWeight !== undefined ? findDelta(options.maxAbsWeight, b) : cfg.stepsize;
  let xmax = signed ? delta * (2 ** (b - 1) - 1) : delta * (2 ** b - 1);
  let xmin = NaN;
  const learned = parametrizationInfo(quantization);
  const pow2 = quantization === 'pow2' || learned?.kind === 'pow2';
  if (pow2) {
    xmax = 2 ** Math.round(Math.log2(xmax));
    xmin = xmax / 2 ** (2 ** (b - 1) - 1);
    xmin = clipInside(xmin, cfg.xminRange);
    xmax = clipInside(xmax, cfg.xmaxRange);
  }
  const withZero = !signed;

  if (quantization === 'fp') return { kind: 'fp', signed, init: { n: b, d: delta }, ...name };
  if (quantization === 'pow2') return { kind: 'pow2fixed', signed, withZero, init: { n: b, xmax }, ...name };
  if (learned === undefined) throw new Error(`mixprec: unknown layer quantization ${JSON.stringify(quantization)}`);

  // Each learned parameter's initial value and config range; the table says which two a parametrization has.
  const initial: Record<ParamName, number> = { n: b, d: delta, xmax, xmin };
  const range: Record<ParamName, Range> = {
    n: cfg.bitwidthRange,
    d: cfg.stepsizeRange,
    xmax: cfg.xmaxRange,
    // The code passes xmin_max = a_xmax_max for activations (a typo with the same value, 255).
    xmin: signed ? cfg.xminRange : [cfg.xminRange[0], cfg.xmaxRange[1]],
  };
  // U3 and P3 learn no n: the bitwidth range bounds the bitwidth they infer from their range.
  const params: readonly ParamName[] = learned.params;
  const ranged = params.includes('n') ? params : [...params, 'n' as const];
  return specFor(learned.short, {
    signed,
    ...(learned.kind === 'pow2' ? { withZero } : {}),
    init: Object.fromEntries(params.map((p) => [p, initial[p]])),
    ranges: Object.fromEntries(ranged.map((p) => [p, range[p]])),
    ...name,
  });
}
