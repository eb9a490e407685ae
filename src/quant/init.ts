/**
 * Model-level quantizer configuration of the official training code: the config defaults and ranges
 * (train_resnet.py `Configuration`, SPEC §6.3) and the initialisation rules of model_resnet.py (SPEC §6.2).
 */
import type { QuantizerSpec, Range, ShortName } from './spec';
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

/** The code's config defaults (SPEC §6.3). */
export const CODE_CONFIG: Readonly<Record<QuantizerRole, RoleConfig>> = {
  weight: {
    stepsize: 2 ** -3, stepsizeRange: [2 ** -8, 1], xminRange: [2 ** -16, 127], xmaxRange: [2 ** -8, 127],
    bitwidth: 4, bitwidthRange: [2, 8],
  },
  activation: {
    stepsize: 2 ** -3, stepsizeRange: [2 ** -8, 1], xminRange: [2 ** -14, 255], xmaxRange: [2 ** -8, 255],
    bitwidth: 4, bitwidthRange: [1, 8],
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
 * The quantizer spec the official model builds for one layer (get_quantizers / nonl, SPEC §6.2): weights signed
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
  const pow2 = quantization === 'pow2' || quantization.startsWith('P');
  if (pow2) {
    xmax = 2 ** Math.round(Math.log2(xmax));
    xmin = xmax / 2 ** (2 ** (b - 1) - 1);
    xmin = clipInside(xmin, cfg.xminRange);
    xmax = clipInside(xmax, cfg.xmaxRange);
  }
  const withZero = !signed;

  switch (quantization) {
    case 'fp':
      return { kind: 'fp', signed, init: { n: b, d: delta }, ...name };
    case 'pow2':
      return { kind: 'pow2fixed', signed, withZero, init: { n: b, xmax }, ...name };
    case 'U1':
      return specFor('U1', { signed, init: { n: b, d: delta }, ranges: { n: cfg.bitwidthRange, d: cfg.stepsizeRange }, ...name });
    case 'U2':
      return specFor('U2', { signed, init: { n: b, xmax }, ranges: { n: cfg.bitwidthRange, xmax: cfg.xmaxRange }, ...name });
    case 'U3':
      return specFor('U3', {
        signed, init: { d: delta, xmax }, ranges: { d: cfg.stepsizeRange, xmax: cfg.xmaxRange, n: cfg.bitwidthRange }, ...name,
      });
    case 'P1':
      return specFor('P1', { signed, withZero, init: { n: b, xmax }, ranges: { n: cfg.bitwidthRange, xmax: cfg.xmaxRange }, ...name });
    case 'P2':
      // The code passes xmin_max = a_xmax_max for activations (a typo with the same value, 255).
      return specFor('P2', {
        signed, withZero, init: { n: b, xmin },
        ranges: { n: cfg.bitwidthRange, xmin: signed ? cfg.xminRange : [cfg.xminRange[0], cfg.xmaxRange[1]] }, ...name,
      });
    case 'P3':
      return specFor('P3', {
        signed, withZero, init: { xmin, xmax },
        ranges: { xmin: signed ? cfg.xminRange : [cfg.xminRange[0], cfg.xmaxRange[1]], xmax: cfg.xmaxRange, n: cfg.bitwidthRange },
        ...name,
      });
  }
}
