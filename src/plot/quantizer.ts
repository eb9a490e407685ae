/**
 * Vega-Lite specs of the quantizers themselves: transfer curves Q(x), gradient curves ∂Q/∂θ (paper Fig. 2), the
 * maximum gradient norm against the bitwidth (Fig. 1) and the Gaussian-data MSE during gradient descent (Fig. 3).
 * Pure functions from rows to specs; the rows keep both the library's autodiff values and the closed forms so that
 * the figures can be checked against the formulas (tests read the data, not the pixels).
 */
import {
  PARAMETRIZATION_FAMILIES,
  parametrizationInfo,
  UNIFORM_SHORT_NAMES,
  type FamilyLabel,
  type ShortName,
  type UniformShortName,
} from '../quant';
import {
  gradientCurve,
  LEARNED_PARAMS,
  maxGradientNormAutodiff,
  maxGradientNormClosedForm,
  paperGradient,
  paperValues,
  type PaperParam,
  type PaperTheta,
} from '../quant/analysis';
import type { GaussianRun } from '../train/gaussian';
import type { VegaLiteSpec } from './render';

/** Size and title of a chart (per facet cell for faceted charts). */
export interface ChartOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** The label of a partial derivative as the paper writes it. */
export const partialLabel = (p: PaperParam | 'x') => `∂Q/∂${p}`;

const kindOf = (short: ShortName) => parametrizationInfo(short)!.kind;
const FAMILY_OF = (short: ShortName): FamilyLabel => PARAMETRIZATION_FAMILIES[kindOf(short)].label;

/** One x of a parametrization's curves: Q and every partial, from autodiff and from the closed form. */
export interface QuantizerCurveRow {
  parametrization: ShortName;
  family: FamilyLabel;
  x: number;
  /** Which derivative (or `Q` for the transfer curve). */
  series: string;
  /** The library's value (autodiff for derivatives). */
  value: number;
  /** The paper's closed form at the same float32 x (float64). */
  closedForm: number;
}

/** θ used for the figures unless given: b = 3, d = ¼ (uniform, as docs/METHOD.md#gradient-curves), b = 3, qmax = 1 (pow2). */
export function defaultTheta(short: ShortName): PaperTheta {
  return kindOf(short) === 'uniform' ? { b: 3, d: 0.25 } : { b: 3, qmax: 1 };
}

/** An x grid over ±span·qmax that avoids the points where the paper's and the code's boundary conventions differ. */
export function curveGrid(short: ShortName, theta: PaperTheta, points = 401, span = 1.5): number[] {
  const v = paperValues(short, theta);
  const xs: number[] = [];
  for (let i = 0; i < points; i++) {
    const x = Math.fround(v.qmax * span * (-1 + (2 * i) / (points - 1)));
    if (Math.abs(x) !== v.qmax && Math.abs(x) !== v.qmin) xs.push(x);
  }
  return xs;
}

/** Rows of Q(x), ∂Q/∂x and the two learned partials for each parametrization, by autodiff with the closed forms beside. */
export async function quantizerCurves(
  parametrizations: readonly ShortName[],
  options: { theta?: (short: ShortName) => PaperTheta; points?: number } = {},
): Promise<QuantizerCurveRow[]> {
  const rows: QuantizerCurveRow[] = [];
  for (const short of parametrizations) {
    const theta = options.theta?.(short) ?? defaultTheta(short);
    const v = paperValues(short, theta);
    for (const p of await gradientCurve(short, theta, curveGrid(short, theta, options.points))) {
      const ref = paperGradient(short, v, p.x);
      const base = { parametrization: short, family: FAMILY_OF(short), x: p.x } as const;
      rows.push({ ...base, series: 'Q', value: p.q, closedForm: ref.q });
      rows.push({ ...base, series: partialLabel('x'), value: p.dx, closedForm: ref.dx });
      for (const name of LEARNED_PARAMS[short]) {
        rows.push({ ...base, series: partialLabel(name), value: p.partials[name]!, closedForm: ref.partials[name]! });
      }
    }
  }
  return rows;
}

/** One panel per parametrization (three to a row), each with its own scales. */
function perParametrization(
  title: string,
  data: readonly { parametrization: string }[],
  o: ChartOptions,
  panel: Record<string, unknown>,
): VegaLiteSpec {
  return {
    title: o.title ?? title,
    data: { values: data },
    // Panels in the order of the rows (U1, U2, U3, P1, P2, P3), not alphabetically.
    facet: { field: 'parametrization', type: 'nominal', title: null, sort: [...new Set(data.map((r) => r.parametrization))] },
    columns: Math.min(3, new Set(data.map((r) => r.parametrization)).size),
    spec: { width: o.width ?? 220, height: o.height ?? 180, ...panel },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
}

/** Transfer curves Q(x) with the identity for reference, one panel per parametrization. */
export function transferCurvePlot(rows: readonly QuantizerCurveRow[], o: ChartOptions = {}): VegaLiteSpec {
  return perParametrization(
    'Quantizer transfer curves Q(x)',
    rows.filter((r) => r.series === 'Q'),
    o,
    {
      layer: [
        {
          mark: { type: 'line', color: '#bbb', strokeDash: [3, 3] },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'x', type: 'quantitative' } },
        },
        {
          mark: { type: 'line', interpolate: 'step-after', color: '#1f77b4' },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'x' },
            y: { field: 'value', type: 'quantitative', title: 'Q(x)' },
            tooltip: [
              { field: 'x', format: '.4f' },
              { field: 'value', title: 'Q(x)', format: '.4f' },
            ],
          },
        },
      ],
    },
  );
}

/** Paper Fig. 2: the partial derivatives against x, one panel per parametrization (∂Q/∂x included). */
export function gradientCurvePlot(rows: readonly QuantizerCurveRow[], o: ChartOptions & { includeDx?: boolean } = {}): VegaLiteSpec {
  const data = rows.filter((r) => r.series !== 'Q' && (o.includeDx !== false || r.series !== partialLabel('x')));
  return perParametrization('Partial derivatives of Q against x (paper Fig. 2)', data, o, {
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'x' },
      y: { field: 'value', type: 'quantitative', title: 'derivative' },
      color: { field: 'series', type: 'nominal', title: null, scale: { scheme: 'set1' } },
      strokeDash: { field: 'series', type: 'nominal', title: null },
      tooltip: [
        { field: 'series' },
        { field: 'x', format: '.4f' },
        { field: 'value', title: 'autodiff', format: '.5g' },
        { field: 'closedForm', title: 'closed form', format: '.5g' },
      ],
    },
  });
}

/** One (parametrization, b, d) of Fig. 1. */
export interface MaxGradientNormRow {
  parametrization: UniformShortName;
  b: number;
  d: number;
  /** `d = 2^k` for the legend. */
  step: string;
  autodiff: number;
  closedForm: number;
}

/** Vega expression naming each Fig. 1 panel by its table label: `datum.value == 'U1' ? 'U1 θ=[b,d]' : … : 'U3 θ=[d,qmax]'`. */
const PANEL_LABELS = UNIFORM_SHORT_NAMES.map((short) => `'${parametrizationInfo(short)!.label}'`);
const UNIFORM_PANEL_LABELS = UNIFORM_SHORT_NAMES.slice(0, -1).reduceRight(
  (otherwise, short, i) => `datum.value == '${short}' ? ${PANEL_LABELS[i]} : ${otherwise}`,
  PANEL_LABELS[PANEL_LABELS.length - 1]!,
);

const stepLabel = (d: number) => (Number.isInteger(Math.log2(d)) ? `d = 2^${Math.log2(d)}` : `d = ${d}`);

/** Fig. 1 data: max_x ‖∇θQ‖ by autodiff over a probe grid and by the closed forms of docs/METHOD.md#maximum-gradient-norm. */
export async function maxGradientNormRows(
  bits: readonly number[] = [2, 3, 4, 5, 6, 7, 8],
  steps: readonly number[] = [2 ** -4, 2 ** -2, 1, 4],
  parametrizations: readonly UniformShortName[] = UNIFORM_SHORT_NAMES,
): Promise<MaxGradientNormRow[]> {
  const rows: MaxGradientNormRow[] = [];
  for (const parametrization of parametrizations) {
    for (const d of steps) {
      for (const b of bits) {
        rows.push({
          parametrization,
          b,
          d,
          step: stepLabel(d),
          autodiff: await maxGradientNormAutodiff(parametrization, b, d),
          closedForm: maxGradientNormClosedForm(parametrization, b, d),
        });
      }
    }
  }
  return rows;
}

/** Paper Fig. 1: maximum gradient norm against the bitwidth (log scale); lines: closed form, points: autodiff. */
export function maxGradientNormPlot(rows: readonly MaxGradientNormRow[], o: ChartOptions = {}): VegaLiteSpec {
  const color = { field: 'step', type: 'nominal', title: 'step size', sort: { field: 'd' } };
  return {
    title: o.title ?? 'Maximum gradient norm max_x ‖∇θ Q(x; θ)‖ (paper Fig. 1)',
    data: { values: rows },
    facet: { field: 'parametrization', type: 'nominal', title: null, header: { labelExpr: UNIFORM_PANEL_LABELS } },
    columns: 3,
    spec: {
      width: o.width ?? 200,
      height: o.height ?? 200,
      layer: [
        {
          mark: { type: 'line' },
          encoding: {
            x: { field: 'b', type: 'quantitative', title: 'bitwidth b' },
            y: { field: 'closedForm', type: 'quantitative', scale: { type: 'log' }, title: 'max gradient norm' },
            color,
          },
        },
        {
          mark: { type: 'point', filled: true, size: 30 },
          encoding: {
            x: { field: 'b', type: 'quantitative' },
            y: { field: 'autodiff', type: 'quantitative' },
            color,
            tooltip: [
              { field: 'parametrization' },
              { field: 'b' },
              { field: 'd' },
              { field: 'autodiff', format: '.6g' },
              { field: 'closedForm', title: 'closed form', format: '.6g' },
            ],
          },
        },
      ],
    },
  };
}

/** One step of the Gaussian experiment. */
export interface GaussianMseRow {
  parametrization: ShortName;
  family: FamilyLabel;
  step: number;
  mse: number;
}

export function gaussianMseRows(runs: readonly GaussianRun[]): GaussianMseRow[] {
  return runs.flatMap((r) => r.mse.map((mse, step) => ({ parametrization: r.short, family: FAMILY_OF(r.short), step, mse })));
}

/** Paper Fig. 3: MSE of quantizing N(0, 1) data during gradient descent, uniform and power-of-two panels. */
export function gaussianMsePlot(rows: readonly GaussianMseRow[], o: ChartOptions = {}): VegaLiteSpec {
  return {
    title: o.title ?? 'Quantization MSE on Gaussian data during gradient descent (paper Fig. 3)',
    data: { values: rows },
    facet: { field: 'family', type: 'nominal', title: null, sort: ['uniform', 'power-of-two'] },
    columns: 2,
    spec: {
      width: o.width ?? 300,
      height: o.height ?? 220,
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'gradient-descent step' },
        y: { field: 'mse', type: 'quantitative', scale: { type: 'log' }, title: 'MSE ½E[(Q(x) − x)²]' },
        color: { field: 'parametrization', type: 'nominal', title: null },
        tooltip: [{ field: 'parametrization' }, { field: 'step' }, { field: 'mse', format: '.4e' }],
      },
    },
    resolve: { scale: { color: 'independent' } },
  };
}
