/**
 * The one table of the six learnable parametrizations (paper §2, parametric_quantization.py): the paper's short
 * name, the family, the two learned parameters, the official code's method name and the token its experiment names
 * use. Every other place that needs one of these (spec types and defaults, the grid registry, the cfg methods, preset
 * names, figure labels) derives it from here, so that the mapping is written once.
 *
 * A data-only leaf (type imports only): spec.ts, the families and train/presets all import it.
 */
import type { ParamName } from './spec';

/** The paper's names for a quantizer's parameters: bitwidth b, step size d, largest level qmax, smallest level qmin. */
export type PaperParam = 'b' | 'd' | 'qmax' | 'qmin';

/** Each code parameter's paper name: the code's bitwidth `n` is the paper's b, `xmax` its qmax, `xmin` its qmin. */
export const PAPER_PARAM_NAMES: Readonly<Record<ParamName, PaperParam>> = { n: 'b', d: 'd', xmax: 'qmax', xmin: 'qmin' };

/**
 * The two learnable families: display label, the family token of the experiment names (`PARAMETRIC_FP_…`,
 * `PARAMETRIC_POW2_…`) and the official cfg file whose sections use it (`train_resnet_quant_fp.cfg` / `…_pow2.cfg`).
 */
export const PARAMETRIZATION_FAMILIES = {
  uniform: { label: 'uniform', nameToken: 'FP', cfgFile: 'fp' },
  pow2: { label: 'power-of-two', nameToken: 'POW2', cfgFile: 'pow2' },
} as const;

/** A learnable family. */
export type LearnedKind = keyof typeof PARAMETRIZATION_FAMILIES;
/** How a family is written in figures and descriptions. */
export type FamilyLabel = (typeof PARAMETRIZATION_FAMILIES)[LearnedKind]['label'];

interface RowShape {
  readonly short: string;
  readonly kind: LearnedKind;
  /** The code's parametrization suffix (`parametric_fp_<param>`); with `kind` it identifies the entry in a spec. */
  readonly param: string;
  /** The two learned parameters in the code's creation order (also the projection order). */
  readonly params: readonly [ParamName, ParamName];
  /** The official code's `w_quantize` value and nnabla scope name (`a_quantize` adds `_relu`). */
  readonly method: string;
  /** The parametrization token of the official experiment names (the naming grammar of train/presets/names.ts). */
  readonly nameToken: string;
}

const ROWS = [
  { short: 'U1', kind: 'uniform', param: 'd_b', params: ['n', 'd'], method: 'parametric_fp_d_b', nameToken: 'DELTA_B' },
  { short: 'U2', kind: 'uniform', param: 'b_xmax', params: ['n', 'xmax'], method: 'parametric_fp_b_xmax', nameToken: 'B_XMAX' },
  { short: 'U3', kind: 'uniform', param: 'd_xmax', params: ['d', 'xmax'], method: 'parametric_fp_d_xmax', nameToken: 'DELTA_XMAX' },
  { short: 'P1', kind: 'pow2', param: 'b_xmax', params: ['n', 'xmax'], method: 'parametric_pow2_b_xmax', nameToken: 'B_XMAX' },
  { short: 'P2', kind: 'pow2', param: 'b_xmin', params: ['n', 'xmin'], method: 'parametric_pow2_b_xmin', nameToken: 'B_XMIN' },
  { short: 'P3', kind: 'pow2', param: 'xmin_xmax', params: ['xmin', 'xmax'], method: 'parametric_pow2_xmin_xmax', nameToken: 'XMIN_XMAX' },
] as const satisfies readonly RowShape[];

type Row = (typeof ROWS)[number];

/** One parametrization: the written row plus what follows from it. */
export type ParametrizationInfo = Row & {
  /** The learned pair in the paper's names, e.g. [b, d] for U1. */
  readonly paperParams: readonly [PaperParam, PaperParam];
  /** `U1 θ=[b,d]`: the short name with the learned pair, as figures and preset descriptions show it. */
  readonly label: string;
  /** Whether the projection keeps the lower parameter (d or xmin) below xmax (U3 and P3, the code's clip_quant_vals). */
  readonly coupled: boolean;
};

/** The paper's short names: U1 (b,d), U2 (b,qmax), U3 (d,qmax), P1 (b,qmax), P2 (b,qmin), P3 (qmin,qmax). */
export type ShortName = Row['short'];
export type UniformShortName = Extract<Row, { kind: 'uniform' }>['short'];
export type Pow2ShortName = Extract<Row, { kind: 'pow2' }>['short'];
export type UniformParametrization = Extract<Row, { kind: 'uniform' }>['param'];
export type Pow2Parametrization = Extract<Row, { kind: 'pow2' }>['param'];
export type Parametrization = Row['param'];
/** The official code's method names of the six (`parametric_fp_d_xmax`, …). */
export type ParametricMethod = Row['method'];

/** The six parametrizations, uniform first, in the paper's order U1, U2, U3, P1, P2, P3. */
export const PARAMETRIZATION_TABLE: readonly ParametrizationInfo[] = ROWS.map((row) => {
  const paperParams = [PAPER_PARAM_NAMES[row.params[0]], PAPER_PARAM_NAMES[row.params[1]]] as const;
  const coupled = row.params[0] !== 'n' && row.params[1] === 'xmax';
  return { ...row, paperParams, label: `${row.short} θ=[${paperParams.join(',')}]`, coupled };
});

export const SHORT_NAME_LIST: readonly ShortName[] = PARAMETRIZATION_TABLE.map((e) => e.short);

/** U1, U2, U3: the uniform rows' short names, in table order (Fig. 1 is drawn for these). */
export const UNIFORM_SHORT_NAMES: readonly UniformShortName[] = PARAMETRIZATION_TABLE.filter(
  (e): e is Extract<ParametrizationInfo, { kind: 'uniform' }> => e.kind === 'uniform',
).map((e) => e.short);

// A Map, not an object lookup, so that names like "toString" are unknown rather than found on the prototype.
const byShort = new Map<string, ParametrizationInfo>(PARAMETRIZATION_TABLE.map((e) => [e.short, e]));

/** The row of a short name, or undefined for anything else. */
export function parametrizationInfo(short: string): ParametrizationInfo | undefined {
  return byShort.get(short);
}

/** The row of a (kind, param) pair, or undefined when the family has no such parametrization. */
export function parametrizationOf(kind: string, param: string | null | undefined): ParametrizationInfo | undefined {
  return PARAMETRIZATION_TABLE.find((e) => e.kind === kind && e.param === param);
}
