/**
 * Vega-Lite specs of training runs: loss and error curves across runs, per-layer bitwidths (paper Fig. 5 style) and
 * memory, and error against memory across runs with the Pareto front.
 */
import type { MemoryReport } from '../nn';
import type { EpochMetrics, LayerBits, TrainEvent } from '../train/trainer';
import { placeLabels, squeezingOutliers, textWidth } from './layout';
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
  return Object.entries(histories).flatMap(([run, history]) =>
    history.flatMap((m) => [
      { run, x: m.epoch, metric: 'loss' as const, value: m.loss },
      { run, x: m.epoch, metric: 'train error' as const, value: m.trainError },
      { run, x: m.epoch, metric: 'test error' as const, value: m.testError },
    ]),
  );
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

/**
 * Loss and error across runs, one line per run: a loss panel and an error panel (the running train error as a line,
 * the test error as a dashed line with points, in the run's colour), side by side.
 *
 * The loss axis is logarithmic when the losses span more than a factor 20 (a run that blew up to a loss of 5,000
 * beside losses of 0.1–2 would otherwise flatten every other curve onto the zero line); the error axis starts at 0 %.
 * Points mark the samples only where a line has at most 30 of them. More than 10 runs take a 20-colour scheme, so
 * that no two share a colour. `width`/`height` are a panel's (default 260 × 170).
 */
export function trainingCurvesPlot(rows: readonly TrainingCurveRow[], o: ChartOptions & { x?: 'step' | 'epoch' } = {}): VegaLiteSpec {
  const xTitle = o.x ?? 'step';
  const runs = [...new Set(rows.map((r) => r.run))];
  const losses = rows
    .filter((r) => r.metric === 'loss')
    .map((r) => r.value)
    .filter(Number.isFinite);
  const logLoss = losses.length > 0 && Math.min(...losses) > 0 && Math.max(...losses) / Math.min(...losses) > 20;
  const perLine = new Map<string, number>();
  for (const r of rows) perLine.set(`${r.run}\u0000${r.metric}`, (perLine.get(`${r.run}\u0000${r.metric}`) ?? 0) + 1);
  const dense = (metric: TrainingCurveRow['metric']) => Math.max(0, ...runs.map((run) => perLine.get(`${run}\u0000${metric}`) ?? 0)) > 30;
  const color = {
    field: 'run',
    type: 'nominal',
    title: 'run',
    sort: runs,
    ...(runs.length > 10 ? { scale: { scheme: 'tableau20' } } : {}),
    // One run: the chart's title names it (the training widget); a legend would only repeat it.
    legend: runs.length > 1 ? { labelLimit: 260, symbolStrokeWidth: 3 } : null,
  };
  const x = { field: 'x', type: 'quantitative', title: xTitle };
  const tooltip = [{ field: 'run' }, { field: 'metric' }, { field: 'x', title: xTitle }, { field: 'value', format: '.4g' }];
  const line = (metric: TrainingCurveRow['metric'], extra: Record<string, unknown> = {}) => ({
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'line', strokeWidth: 1.2, point: dense(metric) ? false : { size: 16 }, ...extra },
  });
  const panel = (title: string) => ({ text: title, fontSize: 11, fontWeight: 'normal' });
  const width = o.width ?? 260;
  const height = o.height ?? 170;
  const hasError = rows.some((r) => r.metric !== 'loss');
  const hasTest = rows.some((r) => r.metric === 'test error');
  const panels: Record<string, unknown>[] = [];
  if (losses.length > 0) {
    panels.push({
      title: panel(logLoss ? 'loss (log scale)' : 'loss'),
      width,
      height,
      ...line('loss'),
      encoding: { x, y: { field: 'value', type: 'quantitative', title: null, scale: logLoss ? { type: 'log' } : { zero: false } }, color, tooltip },
    });
  }
  if (hasError) {
    const y = { field: 'value', type: 'quantitative', title: null, axis: { format: '.0%' } };
    const layers: Record<string, unknown>[] = [];
    if (rows.some((r) => r.metric === 'train error')) layers.push({ ...line('train error'), encoding: { x, y, color, tooltip } });
    if (hasTest) layers.push({ ...line('test error', { strokeDash: [4, 2], point: { size: 30 } }), encoding: { x, y, color, tooltip } });
    const title =
      hasTest && rows.some((r) => r.metric === 'train error')
        ? 'error: train (running, solid), test (dashed, points)'
        : hasTest
          ? 'test error'
          : 'train error (running)';
    panels.push({ title: panel(title), width, height, layer: layers });
  }
  return {
    title: o.title ?? 'Training curves',
    data: { values: rows },
    hconcat: panels,
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
function layerOrder(layers: readonly { layer: string }[]): Map<string, number> {
  const order = new Map<string, number>();
  for (const l of layers) if (!order.has(l.layer)) order.set(l.layer, order.size);
  return order;
}

/**
 * Bitwidth rows from a memory report, or from an epoch's `bitwidths` (EpochMetrics; the live training widget), with
 * the roles asked for (default weights and activations; 32-bit float layers included).
 */
export function layerBitsRows(
  run: string,
  source: MemoryReport | readonly LayerBits[],
  roles: readonly LayerBitsRow['role'][] = ['weight', 'activation'],
): LayerBitsRow[] {
  const layers: readonly LayerBits[] = 'layers' in source ? source.layers : source;
  const order = layerOrder(layers);
  return layers.filter((l) => roles.includes(l.role)).map((l) => ({ run, layer: l.layer, role: l.role, bits: l.bits, index: order.get(l.layer)! }));
}

/**
 * Bars per layer for networks of any depth: the layers top to bottom in network order on the y axis (one horizontal,
 * full-size label each), the value along x, the runs' bars side by side in each layer's row, one column of panels
 * per `column` value (role), all sharing the layer rows. The figure grows down, a row per layer, never sideways:
 * one vertical bar per layer and run made MobileNetV2's 53 layers × 3 runs 3,081 px wide (6,162 px as PNG) with
 * names at –60°; this is ~600 px wide and ~850 px tall. `width` is a panel's; `height` a panel's at least (it grows to
 * one readable row per layer).
 */
function layerBars(
  rows: readonly (LayerBitsRow | LayerMemoryRow | (LayerMemoryRow & { kind: string }))[],
  o: ChartOptions & {
    column: string;
    columnOrder: readonly string[];
    value: Record<string, unknown>;
    tooltip: unknown[];
    defaultTitle: string;
    defaultWidth: number;
  },
): VegaLiteSpec {
  const layers = new Set(rows.map((r) => r.layer)).size;
  const runOrder = [...new Set(rows.map((r) => r.run))];
  const runs = Math.max(1, runOrder.length);
  // Bars 3–12 px thick (thicker for few layers); a row at least 13 px, so that the 10 px layer names never touch.
  const bar = Math.min(12, Math.max(runs <= 3 ? 4 : 3, Math.floor(240 / Math.max(1, layers * runs))));
  const step = Math.max(13, runs * bar + 4);
  const columns = o.columnOrder.filter((c) => rows.some((r) => (r as unknown as Record<string, unknown>)[o.column] === c));
  // Panels share ~600 px: one panel gets 400, three get 200 each.
  const panelWidth = o.width ?? Math.max(o.defaultWidth, Math.min(400, Math.floor(600 / Math.max(1, columns.length))));
  // The legend goes on top, in as many columns as fit the figure's width (layer names + panels), so it adds no width.
  const figureWidth = 120 + Math.max(1, columns.length) * (panelWidth + 20);
  const labelLimit = Math.min(400, figureWidth - 40);
  const entry = Math.max(...runOrder.map((r) => Math.min(labelLimit, textWidth(r, 10)) + 30), 60);
  return {
    title: o.title ?? o.defaultTitle,
    data: { values: rows },
    facet: { column: { field: o.column, type: 'nominal', title: null, sort: columns } },
    spec: {
      width: panelWidth,
      height: o.height !== undefined && o.height > layers * step ? o.height : { step, for: 'position' },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: { field: 'index' }, title: null, axis: { labelFontSize: 10, labelLimit: 200 } },
        yOffset: { field: 'run', type: 'nominal', sort: runOrder },
        // A tall chart (a deep network) has its value axis on top, next to the title and legend, where one looks first.
        x: layers > 20 ? { ...o.value, axis: { ...(o.value.axis as object | undefined), orient: 'top' } } : o.value,
        color: {
          field: 'run',
          type: 'nominal',
          title: null,
          sort: runOrder,
          legend: { orient: 'top', direction: 'horizontal', columns: Math.max(1, Math.min(runs, Math.floor(figureWidth / entry))), labelLimit },
        },
        tooltip: o.tooltip,
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
}

/** Paper Fig. 5: bitwidth per layer, a bar per run in each layer's row, a column of panels per role (`layerBars`). */
export function layerBitwidthPlot(rows: readonly LayerBitsRow[], o: ChartOptions = {}): VegaLiteSpec {
  return layerBars(rows, {
    ...o,
    defaultTitle: 'Learned bitwidth per layer',
    defaultWidth: 200,
    column: 'role',
    columnOrder: ['weight', 'bias', 'activation'],
    value: { field: 'bits', type: 'quantitative', title: 'bits', scale: { domainMin: 0 }, axis: { tickMinStep: 1 } },
    tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'role' }, { field: 'bits' }],
  });
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
  const order = layerOrder(report.layers);
  return report.layers.map((l) => ({ run, layer: l.layer, role: l.role, kilobytes: l.kilobytes, index: order.get(l.layer)! }));
}

/** Memory per layer (KB): weights (with biases) and activations, a bar per run in each layer's row (`layerBars`). */
export function layerMemoryPlot(rows: readonly LayerMemoryRow[], o: ChartOptions = {}): VegaLiteSpec {
  const data = rows.map((r) => ({ ...r, kind: r.role === 'activation' ? 'activation (per sample)' : 'weights + biases' }));
  return layerBars(data, {
    ...o,
    defaultTitle: 'Memory per layer (KB)',
    defaultWidth: 220,
    column: 'kind',
    columnOrder: ['weights + biases', 'activation (per sample)'],
    value: { field: 'kilobytes', type: 'quantitative', aggregate: 'sum', title: 'KB' },
    tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'kilobytes', aggregate: 'sum', format: '.3f', title: 'KB' }],
  });
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
  return rows
    .filter((a) => !rows.some((b) => b !== a && b.memoryKB <= a.memoryKB && b.error <= a.error && (b.memoryKB < a.memoryKB || b.error < a.error)))
    .sort((a, b) => a.memoryKB - b.memoryKB);
}

const EDGE_GLYPH = { 'triangle-up': '▲', 'triangle-down': '▼', 'triangle-left': '◀', 'triangle-right': '▶' } as const;

/**
 * Error against weight memory across runs, the Pareto front drawn as a step line, every point labelled.
 *
 * The axes fit the runs a reader compares. One run that diverged (90 % error beside 3–5 %) or a far reference (the
 * float net at 16× the memory) would squeeze all the others into a line along one edge, and hide the differences —
 * tenths of a percent in error, a few percent in memory — that the notebooks' text is about. So such points (layout
 * `squeezingOutliers`: drawing them would leave the others under a third of the axis; in error a span of at least one
 * percentage point, in memory of a factor 2, counts as "the others' span") are drawn at the plot's edge as a
 * triangle pointing off the chart, and their label carries their true value: the reader sees the run and what it
 * got, and the axes keep the resolution of the rest. (A log error axis would still put 3.25 % and 3.3 % on one pixel
 * row next to 90 %, and Vega-Lite has no broken axes.) The memory axis is logarithmic when the points on it span more
 * than a factor 3, else linear.
 *
 * The labels are placed here, in px, before Vega-Lite (layout `placeLabels`): beside the point, or moved up or down
 * with a leader line, never over another label or a marker; the positions are data, so every renderer (our SVG/PNG,
 * JupyterLab's vega-embed) draws the same figure. `width`/`height` are the plot area's (default 480 × 300).
 */
export function paretoPlot(rows: readonly ParetoRow[], o: ChartOptions & { memoryTitle?: string } = {}): VegaLiteSpec {
  const width = o.width ?? 480;
  const height = o.height ?? 300;
  const fontSize = 10;
  const front = new Set<ParetoRow>(paretoFront(rows));
  const xOut = squeezingOutliers(
    rows.map((r) => Math.log10(r.memoryKB)),
    Math.log10(2),
  );
  const yOut = squeezingOutliers(
    rows.map((r) => r.error),
    0.01,
  );
  const extent = (values: number[]): [number, number] => (values.length ? [Math.min(...values), Math.max(...values)] : [0, 1]);
  // Memory: the bulk's extent with 6 % padding (in the scale's own space); ±5 % around a single value.
  const [m0, m1] = extent(rows.filter((_, i) => !xOut.has(i)).map((r) => r.memoryKB));
  const log = m1 / m0 > 3;
  const fwd = (v: number) => (log ? Math.log10(v) : v);
  const inv = (t: number) => (log ? 10 ** t : t);
  const xPad = m1 > m0 ? 0.06 * (fwd(m1) - fwd(m0)) : log ? Math.log10(1.05) : 0.05 * Math.abs(m1) || 1;
  const xDomain: [number, number] = [inv(fwd(m0) - xPad), inv(fwd(m1) + xPad)];
  // Error: the bulk's extent with 8 % padding (at least 0.2 percentage points), within [0, 1].
  const [e0, e1] = extent(rows.filter((_, i) => !yOut.has(i)).map((r) => r.error));
  const yPad = Math.max(0.08 * (e1 - e0), 0.002);
  const yDomain: [number, number] = [Math.max(0, e0 - yPad), Math.min(1, e1 + yPad)];
  const clampX = (v: number) => Math.min(xDomain[1], Math.max(xDomain[0], v));
  const clampY = (v: number) => Math.min(yDomain[1], Math.max(yDomain[0], v));
  const px = (v: number) => ((fwd(v) - fwd(xDomain[0])) / (fwd(xDomain[1]) - fwd(xDomain[0]))) * width;
  const py = (v: number) => height - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * height;
  const dataX = (p: number) => inv(fwd(xDomain[0]) + (p / width) * (fwd(xDomain[1]) - fwd(xDomain[0])));
  const dataY = (p: number) => yDomain[0] + ((height - p) / height) * (yDomain[1] - yDomain[0]);

  const points = rows.map((r, i) => {
    const plotMemory = clampX(r.memoryKB);
    const plotError = clampY(r.error);
    const off = [
      yOut.has(i) ? `${r.error > plotError ? '↑' : '↓'} ${(100 * r.error).toFixed(1)}%` : '',
      xOut.has(i) ? `${r.memoryKB > plotMemory ? '→' : '←'} ${r.memoryKB.toFixed(1)} KB` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const edge: keyof typeof EDGE_GLYPH | null =
      !yOut.has(i) && !xOut.has(i)
        ? null
        : yOut.has(i)
          ? r.error > plotError
            ? 'triangle-up'
            : 'triangle-down'
          : r.memoryKB > plotMemory
            ? 'triangle-right'
            : 'triangle-left';
    return {
      run: r.run,
      group: r.group ?? 'run',
      memoryKB: r.memoryKB,
      error: r.error,
      pareto: front.has(r),
      front: front.has(r) ? 'Pareto-optimal' : 'dominated',
      plotMemory,
      plotError,
      edge,
      label: off ? `${r.run} (${off})` : r.run,
    };
  });
  // Labels left to right, then top to bottom: neighbours along the cluster get neighbouring places.
  const order = points
    .map((_, i) => i)
    .sort((a, b) => px(points[a]!.plotMemory) - px(points[b]!.plotMemory) || py(points[a]!.plotError) - py(points[b]!.plotError));
  // The front's step line is an obstacle too: its horizontal runs, then its drops.
  const steps = points.filter((p) => p.pareto).sort((a, b) => a.plotMemory - b.plotMemory);
  const obstacles = steps.slice(1).flatMap((p, k) => {
    const [x0, y0, x1, y1] = [px(steps[k]!.plotMemory), py(steps[k]!.plotError), px(p.plotMemory), py(p.plotError)];
    return [
      { x: x0, y: y0 - 1, w: x1 - x0, h: 2 },
      { x: x1 - 1, y: Math.min(y0, y1), w: 2, h: Math.abs(y1 - y0) },
    ];
  });
  const placed = placeLabels(
    order.map((i) => ({ x: px(points[i]!.plotMemory), y: py(points[i]!.plotError), text: points[i]!.label })),
    { width, height, fontSize, markerRadius: 5, obstacles },
  );
  const data = points.map((p) => ({ ...p, labelled: false, align: 'left', labelMemory: p.plotMemory, labelError: p.plotError, leader: false }));
  order.forEach((i, k) => {
    const l = placed[k];
    if (l) Object.assign(data[i]!, { labelled: true, align: l.align, labelMemory: dataX(l.anchorX), labelError: dataY(l.centerY), leader: l.leader });
  });

  const axisX = {
    field: 'plotMemory',
    type: 'quantitative',
    scale: { type: log ? 'log' : 'linear', domain: xDomain, nice: false, zero: false },
    title: o.memoryTitle ?? 'weight memory (KB)',
  };
  const axisY = {
    field: 'plotError',
    type: 'quantitative',
    scale: { domain: yDomain, nice: false, zero: false },
    axis: { format: '.1%' },
    title: 'test error',
  };
  const tooltip = [
    { field: 'run' },
    { field: 'group' },
    { field: 'memoryKB', format: '.2f', title: 'KB' },
    { field: 'error', format: '.2%' },
    { field: 'front', title: 'Pareto' },
  ];
  const color = { field: 'group', type: 'nominal', title: null, ...(new Set(points.map((p) => p.group)).size > 1 ? {} : { legend: null }) };
  const edges = [...new Set(points.map((p) => p.edge).filter((e): e is keyof typeof EDGE_GLYPH => e !== null))];
  const labelAt = { x: { field: 'labelMemory', type: 'quantitative' }, y: { field: 'labelError', type: 'quantitative' }, text: { field: 'label' } };
  return {
    title: edges.length
      ? {
          text: o.title ?? 'Error against memory',
          subtitle: `${edges.map((e) => EDGE_GLYPH[e]).join('')} beyond the axis: drawn at its edge, true value in the label`,
        }
      : (o.title ?? 'Error against memory'),
    width,
    height,
    data: { values: data },
    layer: [
      {
        transform: [{ filter: 'datum.pareto' }],
        mark: { type: 'line', interpolate: 'step-after', color: '#999', strokeDash: [4, 3] },
        encoding: { x: axisX, y: axisY, order: { field: 'plotMemory' } },
      },
      {
        transform: [{ filter: 'datum.leader' }],
        mark: { type: 'rule', color: '#bbb', strokeWidth: 0.8 },
        encoding: { x: axisX, y: axisY, x2: { field: 'labelMemory' }, y2: { field: 'labelError' } },
      },
      {
        transform: [{ filter: 'datum.edge === null' }],
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: axisX,
          y: axisY,
          color,
          shape: { field: 'front', type: 'nominal', title: null, scale: { domain: ['Pareto-optimal', 'dominated'], range: ['square', 'circle'] } },
          tooltip,
        },
      },
      ...edges.map((edge) => ({
        transform: [{ filter: `datum.edge === '${edge}'` }],
        mark: { type: 'point', filled: true, size: 110, shape: edge },
        encoding: { x: axisX, y: axisY, color, tooltip },
      })),
      ...(['left', 'right', 'center'] as const).map((align) => ({
        transform: [{ filter: `datum.labelled && datum.align === '${align}'` }],
        mark: { type: 'text', align, baseline: 'middle', fontSize },
        encoding: labelAt,
      })),
    ],
  };
}
