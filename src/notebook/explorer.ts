/**
 * The quantizer explorer: pick a parametrization, move the bitwidth and the step size d (uniform) or the largest level
 * qmax (power of two), and see the transfer curve Q(x) and its partial derivatives redraw. The curves are the
 * library's own (the quantizer op and its registered gradient, by autodiff, per x), drawn with the figures of
 * plot/quantizer.ts.
 *
 *     mixprec.quantizerExplorer({ parametrization: 'U3', b: 4 })
 */
import { PARAMETRIZATION_TABLE } from '../quant/parametrizations';
import { paperValues, type PaperTheta } from '../quant/analysis';
import type { ShortName } from '../quant/spec';
import { gradientCurvePlot, quantizerCurves, transferCurvePlot } from '../plot/quantizer';
import { renderSvg } from '../plot/render';
import { escapeHtml } from '../util/html';
import { display } from './display';
import { track } from './output';
import { FloatLogSlider, HBox, HTML, IntSlider, Label, ToggleButtons, ToggleButtonsStyle, VBox } from './widgets/controls';
import { coalesced } from './widgets/interact';

export interface QuantizerExplorerOptions {
  parametrization?: ShortName;
  b?: number;
  /** Uniform step size (a power of two). */
  d?: number;
  /** Power-of-two largest level (a power of two). */
  qmax?: number;
  /** Points of the x grid (default 161). */
  points?: number;
  /** Show it now (default true). */
  show?: boolean;
}

export interface QuantizerExplorer {
  readonly widget: VBox;
  readonly parametrization: ToggleButtons<ShortName>;
  readonly bits: IntSlider;
  readonly stepSize: FloatLogSlider;
  readonly largestLevel: FloatLogSlider;
  /** The derived values (qmax and qmin, or qmin) as text. */
  readonly derived: Label;
  /** The two charts, as inline SVG. */
  readonly plot: HTML;
  /** Resolves when the charts show the current settings. */
  redraw(): Promise<void>;
}

const KIND = Object.fromEntries(PARAMETRIZATION_TABLE.map((e) => [e.short, e.kind])) as Record<ShortName, string>;
const fmt = (v: number) => (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(2));

export function quantizerExplorer(options: QuantizerExplorerOptions = {}): QuantizerExplorer {
  const shorts = PARAMETRIZATION_TABLE.map((e) => e.short);
  const parametrization = new ToggleButtons<ShortName>({
    options: shorts,
    value: options.parametrization ?? 'U3',
    description: 'parametrization',
    style: new ToggleButtonsStyle({ buttonWidth: '52px' }),
  });
  const bits = new IntSlider({ value: options.b ?? 3, min: 2, max: 8, description: 'bits b', continuousUpdate: false });
  const stepSize = new FloatLogSlider({
    value: options.d ?? 0.25,
    base: 2,
    min: -10,
    max: 0,
    step: 1,
    description: 'step d',
    continuousUpdate: false,
  });
  const largestLevel = new FloatLogSlider({
    value: options.qmax ?? 1,
    base: 2,
    min: -4,
    max: 4,
    step: 1,
    description: 'qmax',
    continuousUpdate: false,
  });
  const derived = new Label({ value: '' });
  const plot = new HTML({ value: '' });
  const widget = new VBox([parametrization, new HBox([bits, stepSize, largestLevel]), derived, plot]);

  const theta = (): { short: ShortName; theta: PaperTheta } => {
    const short = parametrization.value ?? 'U3';
    return KIND[short] === 'uniform'
      ? { short, theta: { b: bits.value, d: stepSize.value } }
      : { short, theta: { b: bits.value, qmax: largestLevel.value } };
  };
  const redraw = coalesced(async () => {
    const { short, theta: t } = theta();
    const uniform = KIND[short] === 'uniform';
    stepSize.layout.display = uniform ? null : 'none';
    largestLevel.layout.display = uniform ? 'none' : null;
    const v = paperValues(short, t);
    derived.value = uniform
      ? `${short}: b = ${v.b}, d = ${fmt(v.d)}, qmax = (2^(b−1) − 1)·d = ${fmt(v.qmax)}`
      : `${short}: b = ${v.b}, qmax = ${fmt(v.qmax)}, qmin = 2^(1 − 2^(b−1))·qmax = ${fmt(v.qmin)}`;
    const rows = await quantizerCurves([short], { theta: () => t, points: options.points ?? 161 });
    const [transfer, gradients] = await Promise.all([
      renderSvg(transferCurvePlot(rows, { title: `Q(x), ${short}`, width: 260, height: 200 })),
      renderSvg(gradientCurvePlot(rows, { title: `partial derivatives, ${short}`, width: 260, height: 200 })),
    ]);
    plot.value = `<div class="mixprec-explorer" data-parametrization="${escapeHtml(short)}" data-b="${v.b}" style="display:flex;flex-wrap:wrap;gap:12px">${transfer}${gradients}</div>`;
  });
  for (const w of [parametrization, bits, stepSize, largestLevel]) w.observe('value', () => redraw());
  const first = redraw();
  if (options.show !== false) {
    void display(widget);
    track(first); // the cell ends when the first charts are drawn
  }
  return { widget, parametrization, bits, stepSize, largestLevel, derived, plot, redraw };
}
