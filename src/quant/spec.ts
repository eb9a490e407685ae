/**
 * Quantizer specifications: what a user writes, its validation, and the resolved form the rest of quant/ uses.
 * Defaults are the official code's function-level defaults (docs/METHOD.md#function-level-defaults); the model-level ones are in init.ts.
 */
import {
  PARAMETRIZATION_TABLE,
  parametrizationInfo,
  parametrizationOf,
  SHORT_NAME_LIST,
  type Parametrization,
  type ShortName,
} from './parametrizations';

/** Quantizer families: learnable uniform / power-of-two, the fixed nnabla baselines, and float (identity). */
export type QuantizerKind = 'uniform' | 'pow2' | 'fp' | 'pow2fixed' | 'float';
/** Parameter names as in the official code: step size `d`, range `xmax`, smallest level `xmin`, bitwidth `n`. */
export type ParamName = 'n' | 'd' | 'xmax' | 'xmin';
export type { ShortName, UniformParametrization, Pow2Parametrization, Parametrization } from './parametrizations';
/** An inclusive interval [min, max]. */
export type Range = readonly [min: number, max: number];

export const PARAM_NAMES: readonly ParamName[] = ['n', 'd', 'xmax', 'xmin'];
export const QUANTIZER_KINDS: readonly QuantizerKind[] = ['uniform', 'pow2', 'fp', 'pow2fixed', 'float'];

export interface QuantizerSpec {
  kind: QuantizerKind;
  /** Which two parameters are learned (uniform and pow2 only). */
  param?: Parametrization;
  /** Signed (weights) or unsigned (activations: the clip at 0 replaces the ReLU). */
  signed: boolean;
  /** Power-of-two only: whether the zero level exists (|x| < xmin/√2 → 0). Default: `!signed`, as the code's model. */
  withZero?: boolean;
  /** Initial parameter values (learnable kinds) or the constants (fp: n, d; pow2fixed: n, xmax). */
  init?: Partial<Record<ParamName, number>>;
  /**
   * Parameter ranges used by the forward clip, its gradient gates and the projection; `n` also bounds the
   * inferred bitwidth of U3 / P3 from below (the code's `*_bitwidth_min`).
   */
  ranges?: Partial<Record<ParamName, Range>>;
  /** Prefix of the tfjs variable names (e.g. `conv1/Wquant`); unique names are generated when omitted. */
  name?: string;
  /** Whether the parameters are trainable tfjs variables (default true). */
  trainable?: boolean;
}

/** A spec with every default filled in; what quantizers carry. */
export interface ResolvedSpec {
  kind: QuantizerKind;
  param: Parametrization | null;
  short: ShortName | null;
  signed: boolean;
  withZero: boolean;
  /** The parameters of this quantizer in the code's creation order (also the projection order). */
  params: readonly ParamName[];
  init: Partial<Record<ParamName, number>>;
  ranges: Partial<Record<ParamName, Range>>;
}

/** A bad quantizer spec or parameter set; `field` names the offending entry (e.g. `ranges.xmax`). */
export class QuantizerSpecError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`quantizer spec ${field}: ${problem}`);
    this.name = 'QuantizerSpecError';
  }
}

interface Defaults {
  params: readonly ParamName[];
  init: Partial<Record<ParamName, number>>;
  ranges: Partial<Record<ParamName, Range>>;
  short: ShortName | null;
}

/**
 * Function-level defaults of parametric_quantization.py (docs/METHOD.md#function-level-defaults); which parameters each learns, and in
 * which order, is in the table (parametrizations.ts).
 */
const PARAMETRIC_DEFAULTS: Readonly<Record<ShortName, Pick<Defaults, 'init' | 'ranges'>>> = {
  U1: { init: { n: 8, d: 2 ** -4 }, ranges: { n: [2, 16], d: [2 ** -8, 2 ** 8] } },
  U2: { init: { n: 8, xmax: 1 }, ranges: { n: [2, 16], xmax: [0.001, 10] } },
  U3: { init: { d: 2 ** -4, xmax: 1 }, ranges: { d: [2 ** -8, 2 ** 8], xmax: [0.001, 10] } },
  P1: { init: { n: 8, xmax: 1 }, ranges: { n: [1, 8], xmax: [2 ** -8, 256] } },
  P2: { init: { n: 8, xmin: 2 ** -7 }, ranges: { n: [1, 8], xmin: [2 ** -15, 256] } },
  P3: { init: { xmin: 2 ** -7, xmax: 1 }, ranges: { xmin: [2 ** -15, 256], xmax: [2 ** -8, 256] } },
};

/**
 * Lower/upper bound of the inferred bitwidth for U3 and P3, which have no `n` parameter: the code's training config
 * (`w_bitwidth_min/max` = 2/8 for signed weights, `a_bitwidth_min/max` = 1/8 for unsigned activations, docs/METHOD.md#parameter-ranges).
 */
export function defaultBitRange(signed: boolean): Range {
  return signed ? [2, 8] : [1, 8];
}

/**
 * Constants of the fixed baselines when none are given: the code's config defaults (docs/METHOD.md#fixed-baselines,
 * docs/METHOD.md#initialization): 4 bits, step 2^-3 for fp; for pow2 the range 2^round(log2(2^-3·(2^(b−1)−1)))
 * (weights) or 2^round(log2(2^-3·(2^b−1))) (activations).
 */
function fixedDefaults(kind: 'fp' | 'pow2fixed', signed: boolean): Defaults {
  if (kind === 'fp') return { short: null, params: [], init: { n: 4, d: 2 ** -3 }, ranges: {} };
  return { short: null, params: [], init: { n: 4, xmax: signed ? 1 : 2 }, ranges: {} };
}

/** The spec of a paper parametrization by its short name, e.g. `specFor('U3', { signed: true })`. */
export function specFor(short: ShortName, rest: Omit<QuantizerSpec, 'kind' | 'param'>): QuantizerSpec {
  const entry = parametrizationInfo(short);
  if (entry === undefined) {
    throw new QuantizerSpecError('short name', `unknown parametrization "${String(short)}"; expected one of ${SHORT_NAME_LIST.join(', ')}`);
  }
  return { kind: entry.kind, param: entry.param, ...rest };
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Checks `[min, max]`: two finite numbers, min ≤ max, min > 0 when `positive` (a magnitude); throws a
 * {@link QuantizerSpecError} naming `field`. Also used by the TrainConfig schema for the role configs' ranges.
 */
export function checkRange(field: string, value: unknown, positive: boolean): Range {
  if (!Array.isArray(value) || value.length !== 2 || !isFiniteNumber(value[0]) || !isFiniteNumber(value[1])) {
    throw new QuantizerSpecError(field, `expected [min, max] with two finite numbers, got ${JSON.stringify(value)}`);
  }
  const [lo, hi] = value as [number, number];
  if (lo > hi) throw new QuantizerSpecError(field, `min ${lo} is greater than max ${hi}`);
  if (positive && lo <= 0) throw new QuantizerSpecError(field, `min must be positive (the parameter is a magnitude), got ${lo}`);
  return [lo, hi];
}

/** Validates a spec and fills in the defaults; every problem is a {@link QuantizerSpecError} naming its field. */
export function resolveSpec(spec: QuantizerSpec): ResolvedSpec {
  if (spec === null || typeof spec !== 'object') throw new QuantizerSpecError('spec', 'expected an object');
  const { kind } = spec;
  if (!QUANTIZER_KINDS.includes(kind)) {
    throw new QuantizerSpecError('kind', `unknown quantizer kind ${JSON.stringify(kind)}; expected one of ${QUANTIZER_KINDS.join(', ')}`);
  }
  if (typeof spec.signed !== 'boolean') throw new QuantizerSpecError('signed', `required boolean, got ${JSON.stringify(spec.signed)}`);
  const signed = spec.signed;

  let defaults: Defaults;
  if (kind === 'uniform' || kind === 'pow2') {
    const entry = parametrizationOf(kind, spec.param);
    if (entry === undefined) {
      const known = PARAMETRIZATION_TABLE.filter((e) => e.kind === kind).map((e) => e.param);
      throw new QuantizerSpecError(
        'param',
        `unknown ${kind} parametrization ${JSON.stringify(spec.param)}; ` + `expected one of ${known.join(', ')}`,
      );
    }
    defaults = { short: entry.short, params: entry.params, ...PARAMETRIC_DEFAULTS[entry.short] };
  } else {
    if (spec.param !== undefined)
      throw new QuantizerSpecError('param', `the ${kind} quantizer has no parametrization (got ${JSON.stringify(spec.param)})`);
    defaults = kind === 'float' ? { short: null, params: [], init: {}, ranges: {} } : fixedDefaults(kind, signed);
  }

  const hasZeroOption = kind === 'pow2' || kind === 'pow2fixed';
  if (spec.withZero !== undefined) {
    if (typeof spec.withZero !== 'boolean') throw new QuantizerSpecError('withZero', `expected a boolean, got ${JSON.stringify(spec.withZero)}`);
    if (!hasZeroOption && spec.withZero === false && kind !== 'float') {
      throw new QuantizerSpecError('withZero', `the ${kind} quantizer always has the zero level`);
    }
  }
  const withZero = hasZeroOption ? (spec.withZero ?? !signed) : kind !== 'float';

  // Which keys may appear in init (the learnable parameters, or the constants of a fixed quantizer).
  const initKeys = new Set<ParamName>(kind === 'fp' || kind === 'pow2fixed' ? (Object.keys(defaults.init) as ParamName[]) : defaults.params);
  const init: Partial<Record<ParamName, number>> = { ...defaults.init };
  for (const [key, value] of Object.entries(spec.init ?? {})) {
    if (!initKeys.has(key as ParamName)) {
      throw new QuantizerSpecError(`init.${key}`, `not a parameter of this quantizer (it has: ${[...initKeys].join(', ') || 'none'})`);
    }
    if (!isFiniteNumber(value)) throw new QuantizerSpecError(`init.${key}`, `expected a finite number, got ${JSON.stringify(value)}`);
    init[key as ParamName] = value;
  }

  const ranges: Partial<Record<ParamName, Range>> = { ...defaults.ranges };
  const learnable = kind === 'uniform' || kind === 'pow2';
  if (learnable && !defaults.params.includes('n')) ranges.n = defaultBitRange(signed);
  for (const [key, value] of Object.entries(spec.ranges ?? {})) {
    if (!learnable || !(key in ranges)) {
      throw new QuantizerSpecError(`ranges.${key}`, `not a range of this quantizer (it has: ${Object.keys(ranges).join(', ') || 'none'})`);
    }
    ranges[key as ParamName] = checkRange(`ranges.${key}`, value, key !== 'n');
  }

  if (learnable && defaults.params.includes('n')) {
    // n − [sign] (− [zero] for pow2) bits remain for the magnitude; the code's formulas need at least one
    // (uniform: 2^nq − 1 levels) or zero (pow2: 2^nq exponents).
    const reserved = (signed ? 1 : 0) + (kind === 'pow2' && withZero ? 1 : 0);
    const least = reserved + (kind === 'uniform' ? 1 : 0);
    if (ranges.n![0] < least) {
      throw new QuantizerSpecError(
        'ranges.n',
        `min ${ranges.n![0]} leaves no magnitude bits: a ${signed ? 'signed' : 'unsigned'} ` +
          `${kind}${kind === 'pow2' && withZero ? ' (with zero)' : ''} quantizer needs n ≥ ${least}`,
      );
    }
  }
  if (kind === 'fp' || kind === 'pow2fixed') {
    const n = init.n!;
    const reserved = (signed ? 1 : 0) + (kind === 'pow2fixed' && withZero ? 1 : 0);
    if (!Number.isInteger(n) || n - reserved < 1) {
      throw new QuantizerSpecError(
        'init.n',
        `a ${signed ? 'signed' : 'unsigned'} ${kind} quantizer needs an integer bitwidth ≥ ${reserved + 1}, got ${n}`,
      );
    }
    const scale = kind === 'fp' ? 'd' : 'xmax';
    if (init[scale]! <= 0) throw new QuantizerSpecError(`init.${scale}`, `must be positive, got ${init[scale]}`);
  }
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.length === 0)) {
    throw new QuantizerSpecError('name', `expected a non-empty string, got ${JSON.stringify(spec.name)}`);
  }
  return { kind, param: spec.param ?? null, short: defaults.short, signed, withZero, params: defaults.params, init, ranges };
}

/** nnabla scope name of a parametric quantizer (`parametric_fp_d_xmax`, `parametric_pow2_b_xmin`, ...). */
export function scopeName(spec: ResolvedSpec): string {
  return parametrizationOf(spec.kind, spec.param)?.method ?? spec.kind;
}
