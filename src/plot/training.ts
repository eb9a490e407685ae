/**
 * Vega-Lite specs of training runs: loss and error curves across runs, per-layer bitwidths (paper Fig. 5 style) and
 * memory, and error against memory across runs with the Pareto front.
 */
import type { MemoryReport } from '../nn';
import type { EpochMetrics, TrainEvent } from '../train/trainer';
import type { ChartOptions } from './quantizer';
import type { VegaLiteSpec } from './render';

/** One point of a training curve: a step or an epoch of one run. */
export interface TrainingCurveRow {
  run: string;
  /** Global step (steps) or epoch (epochs). */
  x: number;
  metric: 'loss' | 'train error' | 'test error';
  value: number;
}

/** Curves from epoch metrics (one entry per run). */
export function epochCurveRows(histories: Record<string, readonly EpochMetrics[]>): TrainingCurveRow[] {
  return Object.entries(histories).flatMap(([run, history]) => history.flatMap((m) => [
    { run, x: m.epoch, metric: 'loss' as const, value: m.loss },
    { run, x: m.epoch, metric: 'train error' as const, value: m.trainError },
    { run, x: m.epoch, metric: 'test error' as const, value: m.testError },
  ]));
}

/**
 * Collects step-level curves from training events of any number of runs:
 * `const curves = curveRecorder(); train({ onEvent: (e) => curves.record('U3', e) })`, then `curves.rows`. Every
 * `every`-th step keeps the loss and the running train error; each epoch adds its test error.
 */
export function curveRecorder(every = 1): { rows: TrainingCurveRow[]; record: (run: string, e: TrainEvent) => void } {
  const rows: TrainingCurveRow[] = [];
  const lastStep = new Map<string, number>();
  return {
    rows,
    record(run, e) {
      if (e.type === 'step') {
        const x = (e.epoch - 1) * e.stepsPerEpoch + e.step;
        lastStep.set(run, x);
        if (x % every === 0) rows.push({ run, x, metric: 'loss', value: e.loss }, { run, x, metric: 'train error', value: e.error });
      } else if (e.type === 'epoch') {
        rows.push({ run, x: lastStep.get(run) ?? e.metrics.epoch * e.metrics.steps, metric: 'test error', value: e.metrics.testError });
      }
    },
  };
}

/** Loss and error across runs: one panel per metric, one line per run. */
export function trainingCurvesPlot(rows: readonly TrainingCurveRow[], o: ChartOptions & { x?: 'step' | 'epoch' } = {}): VegaLiteSpec {
  const xTitle = o.x ?? 'step';
  return {
    title: o.title ?? 'Training curves',
    data: { values: rows },
    facet: { field: 'metric', type: 'nominal', title: null, sort: ['loss', 'train error', 'test error'] },
    columns: 3,
    spec: {
      width: o.width ?? 230, height: o.height ?? 170,
      mark: { type: 'line', point: rows.filter((r) => r.metric === 'test error').length < 40 ? { size: 20 } : false, strokeWidth: 1.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: xTitle },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: 'run' },
        tooltip: [{ field: 'run' }, { field: 'metric' }, { field: 'x', title: xTitle }, { field: 'value', format: '.4g' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** One quantizer of one run: its layer, role and bitwidth. */
export interface LayerBitsRow {
  run: string;
  layer: string;
  role: 'weight' | 'bias' | 'activation';
  bits: number;
  /** Position of the layer in the network (the x order). */
  index: number;
}

/** Each layer's position in the network: the order of first appearance in the report. */
function layerOrder(report: MemoryReport): Map<string, number> {
  const order = new Map<string, number>();
  for (const l of report.layers) if (!order.has(l.layer)) order.set(l.layer, order.size);
  return order;
}

/** Bitwidth rows from a memory report (weights and activations; 32-bit float layers included). */
export function layerBitsRows(run: string, report: MemoryReport, roles: readonly LayerBitsRow['role'][] = ['weight', 'activation']): LayerBitsRow[] {
  const order = layerOrder(report);
  return report.layers.filter((l) => roles.includes(l.role)).map((l) => ({ run, layer: l.layer, role: l.role, bits: l.bits, index: order.get(l.layer)! }));
}

/** Paper Fig. 5: bitwidth per layer, bars grouped by run, one row of panels per role. */
export function layerBitwidthPlot(rows: readonly LayerBitsRow[], o: ChartOptions = {}): VegaLiteSpec {
  const layers = new Set(rows.map((r) => r.layer)).size;
  const runOrder = [...new Set(rows.map((r) => r.run))];
  const runs = runOrder.length;
  return {
    title: o.title ?? 'Learned bitwidth per layer',
    data: { values: rows },
    facet: { row: { field: 'role', type: 'nominal', title: null } },
    spec: {
      width: o.width ?? { step: Math.max(8, runs * 4 + 2) }, height: o.height ?? 130,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'layer', type: 'nominal', sort: { field: 'index' }, title: null, axis: { labelAngle: -60, labelFontSize: layers > 30 ? 7 : 9 } },
        xOffset: { field: 'run', type: 'nominal', sort: runOrder },
        y: { field: 'bits', type: 'quantitative', title: 'bits', scale: { domainMin: 0 } },
        color: { field: 'run', type: 'nominal', title: 'run', sort: runOrder, legend: { labelLimit: 320 } },
        tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'role' }, { field: 'bits' }],
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
}

/** One layer's memory in one run. */
export interface LayerMemoryRow {
  run: string;
  layer: string;
  role: 'weight' | 'bias' | 'activation';
  kilobytes: number;
  index: number;
}

export function layerMemoryRows(run: string, report: MemoryReport): LayerMemoryRow[] {
  const order = layerOrder(report);
  return report.layers.map((l) => ({ run, layer: l.layer, role: l.role, kilobytes: l.kilobytes, index: order.get(l.layer)! }));
}

/** Memory per layer (KB): weights (with biases) and activations, bars grouped by run. */
export function layerMemoryPlot(rows: readonly LayerMemoryRow[], o: ChartOptions = {}): VegaLiteSpec {
  const data = rows.map((r) => ({ ...r, kind: r.role === 'activation' ? 'activation (per sample)' : 'weights + biases' }));
  const layers = new Set(rows.map((r) => r.layer)).size;
  return {
    title: o.title ?? 'Memory per layer (KB)',
    data: { values: data },
    facet: { row: { field: 'kind', type: 'nominal', title: null } },
    spec: {
      width: o.width ?? { step: Math.max(8, new Set(rows.map((r) => r.run)).size * 4 + 2) }, height: o.height ?? 130,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'layer', type: 'nominal', sort: { field: 'index' }, title: null, axis: { labelAngle: -60, labelFontSize: layers > 30 ? 7 : 9 } },
        xOffset: { field: 'run', type: 'nominal' },
        y: { field: 'kilobytes', type: 'quantitative', aggregate: 'sum', title: 'KB' },
        color: { field: 'run', type: 'nominal', title: 'run' },
        tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'kilobytes', aggregate: 'sum', format: '.3f', title: 'KB' }],
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
}

/** One run in the error–memory plane. */
export interface ParetoRow {
  run: string;
  memoryKB: number;
  /** Error as a fraction. */
  error: number;
  group?: string;
}

/** The runs no other run beats in both memory and error (ties kept), sorted by memory. */
export function paretoFront<T extends { memoryKB: number; error: number }>(rows: readonly T[]): T[] {
  return rows.filter((a) => !rows.some((b) => b !== a && b.memoryKB <= a.memoryKB && b.error <= a.error && (b.memoryKB < a.memoryKB || b.error < a.error)))
    .sort((a, b) => a.memoryKB - b.memoryKB);
}

/** Error against weight memory across runs (log memory axis), the Pareto front drawn as a step line. */
export function paretoPlot(rows: readonly ParetoRow[], o: ChartOptions & { memoryTitle?: string } = {}): VegaLiteSpec {
  const front = new Set(paretoFront(rows).map((r) => r.run));
  const data = rows.map((r) => ({ ...r, group: r.group ?? 'run', pareto: front.has(r.run) }));
  const x = { field: 'memoryKB', type: 'quantitative', scale: { type: 'log' }, title: o.memoryTitle ?? 'weight memory (KB)' };
  const y = { field: 'error', type: 'quantitative', axis: { format: '.1%' }, title: 'test error' };
  return {
    title: o.title ?? 'Error against memory',
    width: o.width ?? 380, height: o.height ?? 260,
    data: { values: data },
    layer: [
      { transform: [{ filter: 'datum.pareto' }], mark: { type: 'line', interpolate: 'step-after', color: '#999', strokeDash: [4, 3] }, encoding: { x, y, order: { field: 'memoryKB' } } },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x, y, color: { field: 'group', type: 'nominal', title: null }, shape: { field: 'pareto', type: 'nominal', title: 'Pareto-optimal' },
          tooltip: [{ field: 'run' }, { field: 'memoryKB', format: '.2f', title: 'KB' }, { field: 'error', format: '.2%' }],
        },
      },
      { mark: { type: 'text', dx: 6, align: 'left', fontSize: 9 }, encoding: { x, y, text: { field: 'run' } } },
    ],
  };
}
