/**
 * The live training display: one output that a training run updates in place (update_display_data) at a bounded
 * rate — a progress bar with loss, error, bitwidths and speed, the training curves and the per-layer bitwidths as
 * the Vega-Lite charts of plot/training.ts (trainingCurvesPlot, layerBitwidthPlot) rendered to inline SVG (so it
 * shows the same in JupyterLab, the classic notebook and saved notebooks).
 * Use: `await mixprec.train({ …, onEvent: display.training() })`.
 */
import { renderSvg, type VegaLiteSpec } from '../plot/render';
import { curveRecorder, layerBitsRows, layerBitwidthPlot, trainingCurvesPlot, type TrainingCurveRow } from '../plot/training';
import type { EpochMetrics, TrainEvent } from '../train/trainer';
import { escapeHtml } from '../util/html';
import { show, trackIfInKernel, type DisplayHandle } from './output';

export interface TrainingWidgetOptions {
  title?: string;
  /** At most this many redraws per second during an epoch (epoch ends and the end always redraw). */
  maxUpdatesPerSecond?: number;
}

interface State {
  title: string;
  /** The run's name in the charts' legends. */
  run: string;
  epochs: number;
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number | null;
  error: number | null;
  imagesPerSecond: number;
  meanBits: { weights: number | null; activations: number | null };
  status: string;
  curves: TrainingCurveRow[];
  history: EpochMetrics[];
}

/** Steps kept at most in the step curves; past this only every 2^k-th step is (and every test-error point). */
const MAX_CURVE_STEPS = 400;

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);

/**
 * Thins the recorded curves in place to at most about MAX_CURVE_STEPS steps, so that the live charts (and the
 * memory they hold) stay light however long the run: the stride is a power of two, so each thinning keeps every
 * point a later one would.
 */
function thin(rows: TrainingCurveRow[]): void {
  const every = 2 ** Math.max(0, Math.ceil(Math.log2((rows.at(-1)?.x ?? 0) / MAX_CURVE_STEPS)));
  if (every > 1) rows.splice(0, rows.length, ...rows.filter((r) => r.metric === 'test error' || r.x % every === 0));
}

function charts(s: State): VegaLiteSpec[] {
  const specs: VegaLiteSpec[] = [];
  if (s.curves.filter((r) => r.metric === 'loss').length > 1)
    specs.push(trainingCurvesPlot(s.curves, { title: 'training curves', width: 200, height: 130 }));
  const last = s.history.at(-1);
  if (last && last.bitwidths.length > 0) {
    specs.push(
      layerBitwidthPlot(layerBitsRows(s.run, last.bitwidths, ['weight', 'bias', 'activation']), {
        title: `bitwidths after epoch ${last.epoch}`,
        height: 90,
      }),
    );
  }
  return specs;
}

async function html(s: State): Promise<string> {
  const fraction = s.epochs ? Math.min(1, (s.epoch - 1 + s.step / Math.max(1, s.stepsPerEpoch)) / s.epochs) : 0;
  const bits = [
    s.meanBits.weights === null ? '' : `weights ${s.meanBits.weights.toFixed(2)} bits`,
    s.meanBits.activations === null ? '' : `activations ${s.meanBits.activations.toFixed(2)} bits`,
  ]
    .filter(Boolean)
    .join(', ');
  const last = s.history.at(-1);
  const svgs = await Promise.all(charts(s).map((spec) => renderSvg(spec)));
  return [
    '<div class="mixprec-training" style="font-family:sans-serif;font-size:13px">',
    `<div><b>${escapeHtml(s.title)}</b> — ${escapeHtml(s.status)}</div>`,
    `<div style="background:#e8e8e8;width:420px;height:10px;margin:4px 0"><div style="background:#2f6fba;height:10px;width:${(100 * fraction).toFixed(1)}%"></div></div>`,
    `<div>epoch ${s.epoch}/${s.epochs} · step ${s.step}/${s.stepsPerEpoch} · loss ${s.loss === null ? '–' : s.loss.toFixed(4)} · batch error ${pct(s.error)}${bits ? ` · ${bits}` : ''} · ${s.imagesPerSecond.toFixed(1)} img/s</div>`,
    last
      ? `<div>after epoch ${last.epoch}: test error ${pct(last.testError)} (best ${pct(last.bestTestError)}), weights ${last.weightKB.toFixed(1)} KB, activations max ${last.activationMaxKB.toFixed(1)} KB</div>`
      : '',
    `<div style="display:flex;flex-wrap:wrap;gap:8px">${svgs.join('')}</div>`,
    '</div>',
  ].join('');
}

function text(s: State): string {
  const last = s.history.at(-1);
  return (
    `${s.title}: ${s.status}, epoch ${s.epoch}/${s.epochs}, step ${s.step}/${s.stepsPerEpoch}, loss ${s.loss?.toFixed(4) ?? '–'}` +
    (last ? `, test error ${pct(last.testError)}, weights ${last.weightKB.toFixed(1)} KB` : '')
  );
}

/**
 * A training run's state as the events of `train` update it, drawn by `draw` at most `maxUpdatesPerSecond` times a
 * second (default 2; the start, epoch ends, the end and status changes always draw). Draws run one after another; a
 * cell stays open until the last one is out, and one that fails is reported there without stopping later ones.
 */
export function trainingRecorder(
  options: { title?: string; maxUpdatesPerSecond?: number },
  draw: (state: State) => Promise<void>,
): { handle(event: TrainEvent): void; setStatus(status: string): void } {
  const interval = 1000 / (options.maxUpdatesPerSecond ?? 2);
  let lastDraw = 0;
  let drawing: Promise<void> = Promise.resolve();
  const state: State = {
    title: options.title ?? 'training',
    epochs: 0,
    epoch: 0,
    step: 0,
    stepsPerEpoch: 0,
    loss: null,
    error: null,
    imagesPerSecond: 0,
    meanBits: { weights: null, activations: null },
    status: 'starting',
    run: options.title ?? 'training',
    curves: [],
    history: [],
  };
  const curves = curveRecorder();
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < interval) return;
    lastDraw = now;
    thin(curves.rows);
    const snapshot: State = { ...state, curves: [...curves.rows], history: [...state.history] };
    const work = trackIfInKernel(drawing.then(() => draw(snapshot)));
    drawing = work.catch(() => undefined); // reported through the cell; the next draw goes on
  };
  return {
    setStatus(status) {
      state.status = status;
      redraw(true);
    },
    handle(e) {
      curves.record(state.run, e);
      switch (e.type) {
        case 'start':
          Object.assign(state, {
            epochs: e.config.epochs,
            stepsPerEpoch: e.stepsPerEpoch,
            epoch: e.startEpoch + 1,
            status: `${e.model} on ${e.backend}`,
          });
          state.title = options.title ?? `${e.config.name}: ${e.model}, weights ${e.config.quant.weights}, activations ${e.config.quant.activations}`;
          state.run = e.config.name;
          redraw(true);
          break;
        case 'step':
          Object.assign(state, {
            epoch: e.epoch,
            step: e.step,
            stepsPerEpoch: e.stepsPerEpoch,
            loss: e.loss,
            error: e.error,
            imagesPerSecond: e.imagesPerSecond,
            meanBits: e.meanBits,
            status: `training · learning rate ${e.learningRate.toPrecision(3)}`,
          });
          redraw(false);
          break;
        case 'epoch':
          state.history.push(e.metrics);
          redraw(true);
          break;
        case 'end':
          state.status = e.result.interrupted
            ? `interrupted at epoch ${e.result.interruptedAt?.epoch ?? '?'}, step ${e.result.interruptedAt?.step ?? '?'}`
            : 'done';
          redraw(true);
          break;
      }
    },
  };
}

/** The live display's HTML (progress, figures, charts as inline SVG) and text of a state. */
export const trainingHtml = html;
export const trainingText = text;
export type TrainingState = State;

/** An event handler for `train({ onEvent })` that draws the run into one live display. */
export function trainingWidget(options: TrainingWidgetOptions = {}): (event: TrainEvent) => void {
  const title = options.title ?? 'training';
  const starting = `<div>${escapeHtml(title)} — starting</div>`;
  const handle: DisplayHandle = show({ 'text/html': starting, 'text/plain': `${title} — starting` });
  const recorder = trainingRecorder(options, async (snapshot) =>
    handle.updateBundle({ 'text/html': await html(snapshot), 'text/plain': text(snapshot) }),
  );
  return (e) => recorder.handle(e);
}
