/**
 * The live training display: one output that a training run updates in place (update_display_data) at a bounded
 * rate — a progress bar with loss, error, bitwidths and speed, loss and error curves and the per-layer bitwidths as
 * Vega-Lite charts rendered to inline SVG (so it shows the same in JupyterLab, the classic notebook and saved
 * notebooks). Use: `await mixprec.train({ …, onEvent: display.training() })`.
 */
import { renderSvg, type VegaLiteSpec } from '../plot/render';
import type { EpochMetrics, TrainEvent } from '../train/trainer';
import { display, track, type DisplayHandle } from './display';

export interface TrainingWidgetOptions {
  title?: string;
  /** At most this many redraws per second during an epoch (epoch ends and the end always redraw). */
  maxUpdatesPerSecond?: number;
}

interface State {
  title: string;
  epochs: number;
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number | null;
  error: number | null;
  imagesPerSecond: number;
  meanBits: { weights: number | null; activations: number | null };
  status: string;
  steps: { step: number; loss: number }[];
  history: EpochMetrics[];
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);
const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

function charts(s: State): VegaLiteSpec[] {
  const specs: VegaLiteSpec[] = [];
  if (s.steps.length > 1) {
    specs.push({
      title: 'training loss', width: 260, height: 140, data: { values: s.steps }, mark: { type: 'line', strokeWidth: 1 },
      encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'loss', type: 'quantitative', scale: { type: 'log' } } },
    });
  }
  if (s.history.length > 0) {
    const errors = s.history.flatMap((m) => [
      { epoch: m.epoch, split: 'train', error: m.trainError },
      { epoch: m.epoch, split: 'test', error: m.testError },
    ]);
    specs.push({
      title: 'error', width: 260, height: 140, data: { values: errors }, mark: { type: 'line', point: true },
      encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'error', type: 'quantitative', axis: { format: '%' } }, color: { field: 'split', type: 'nominal' } },
    });
    const bits = s.history.at(-1)!.bitwidths;
    if (bits.length > 0) {
      specs.push({
        title: `bitwidths after epoch ${s.history.at(-1)!.epoch}`, width: Math.max(260, bits.length * 9), height: 140,
        data: { values: bits.map((b, i) => ({ ...b, index: i, name: `${b.layer} ${b.role}` })) }, mark: 'bar',
        encoding: {
          x: { field: 'name', type: 'nominal', sort: { field: 'index' }, axis: { labelAngle: -60, labelFontSize: 8 }, title: null },
          y: { field: 'bits', type: 'quantitative' }, color: { field: 'role', type: 'nominal' },
        },
      });
    }
  }
  return specs;
}

async function html(s: State): Promise<string> {
  const fraction = s.epochs ? Math.min(1, (s.epoch - 1 + s.step / Math.max(1, s.stepsPerEpoch)) / s.epochs) : 0;
  const bits = [s.meanBits.weights === null ? '' : `weights ${s.meanBits.weights.toFixed(2)} bits`, s.meanBits.activations === null ? '' : `activations ${s.meanBits.activations.toFixed(2)} bits`].filter(Boolean).join(', ');
  const last = s.history.at(-1);
  const svgs = await Promise.all(charts(s).map((spec) => renderSvg(spec)));
  return [
    '<div class="mixprec-training" style="font-family:sans-serif;font-size:13px">',
    `<div><b>${esc(s.title)}</b> — ${esc(s.status)}</div>`,
    `<div style="background:#e8e8e8;width:420px;height:10px;margin:4px 0"><div style="background:#2f6fba;height:10px;width:${(100 * fraction).toFixed(1)}%"></div></div>`,
    `<div>epoch ${s.epoch}/${s.epochs} · step ${s.step}/${s.stepsPerEpoch} · loss ${s.loss === null ? '–' : s.loss.toFixed(4)} · batch error ${pct(s.error)}${bits ? ` · ${bits}` : ''} · ${s.imagesPerSecond.toFixed(1)} img/s</div>`,
    last ? `<div>after epoch ${last.epoch}: test error ${pct(last.testError)} (best ${pct(last.bestTestError)}), weights ${last.weightKB.toFixed(1)} KB, activations max ${last.activationMaxKB.toFixed(1)} KB</div>` : '',
    `<div style="display:flex;flex-wrap:wrap;gap:8px">${svgs.join('')}</div>`,
    '</div>',
  ].join('');
}

function text(s: State): string {
  const last = s.history.at(-1);
  return `${s.title}: ${s.status}, epoch ${s.epoch}/${s.epochs}, step ${s.step}/${s.stepsPerEpoch}, loss ${s.loss?.toFixed(4) ?? '–'}` +
    (last ? `, test error ${pct(last.testError)}, weights ${last.weightKB.toFixed(1)} KB` : '');
}

/** An event handler for `train({ onEvent })` that draws the run into one live display. */
export function trainingWidget(options: TrainingWidgetOptions = {}): (event: TrainEvent) => void {
  const interval = 1000 / (options.maxUpdatesPerSecond ?? 2);
  const state: State = {
    title: options.title ?? 'training', epochs: 0, epoch: 0, step: 0, stepsPerEpoch: 0, loss: null, error: null, imagesPerSecond: 0,
    meanBits: { weights: null, activations: null }, status: 'starting', steps: [], history: [],
  };
  const handle: DisplayHandle = display.html(`<div>${esc(state.title)} — starting</div>`);
  let lastDraw = 0;
  let drawing: Promise<void> = Promise.resolve();
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < interval) return;
    lastDraw = now;
    const snapshot: State = { ...state, steps: [...state.steps], history: [...state.history] };
    drawing = track(drawing.then(async () => handle.updateBundle({ 'text/html': await html(snapshot), 'text/plain': text(snapshot) })));
  };
  let globalStep = 0;
  return (e) => {
    switch (e.type) {
      case 'start':
        Object.assign(state, { epochs: e.config.epochs, stepsPerEpoch: e.stepsPerEpoch, epoch: e.startEpoch + 1, status: `${e.model} on ${e.backend}` });
        state.title = options.title ?? `${e.config.name}: ${e.model}, weights ${e.config.quant.weights}, activations ${e.config.quant.activations}`;
        draw(true);
        break;
      case 'step':
        globalStep++;
        Object.assign(state, { epoch: e.epoch, step: e.step, stepsPerEpoch: e.stepsPerEpoch, loss: e.loss, error: e.error, imagesPerSecond: e.imagesPerSecond, meanBits: e.meanBits, status: 'training' });
        state.steps.push({ step: globalStep, loss: e.loss });
        // Keep the curve light: thin it out to every other point past 400.
        if (state.steps.length > 400) state.steps = state.steps.filter((_, i) => i % 2 === 0);
        draw(false);
        break;
      case 'epoch':
        state.history.push(e.metrics);
        draw(true);
        break;
      case 'end':
        state.status = e.result.interrupted ? 'interrupted' : 'done';
        draw(true);
        break;
    }
  };
}
