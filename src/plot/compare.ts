/**
 * Our results next to the paper's: rows of (setting, label, ours, paper), a chart of both, the orderings and how
 * well they agree (Kendall's τ over pairs), and markdown written from those numbers for the notebooks.
 */
import { squeezingOutliers } from './layout';
import type { ChartOptions } from './quantizer';
import type { VegaLiteSpec } from './render';

/** An error in percent, or the paper's "diverging". */
export type ErrorValue = number | 'diverging';

/** One cell of a results table: a setting (e.g. "weights"), a label (e.g. "U3"), our error and the paper's. */
export interface ComparisonRow {
  setting: string;
  label: string;
  /** Our error in percent (null: not run). */
  ours: ErrorValue | null;
  /** The paper's error in percent (null: the paper has none). */
  paper: ErrorValue | null;
}

const rankValue = (v: ErrorValue) => (v === 'diverging' ? Infinity : v);
export const formatError = (v: ErrorValue | null, digits = 2) => (v === null ? '–' : v === 'diverging' ? 'diverging' : `${v.toFixed(digits)}%`);

/** Labels from lowest to highest error ("diverging" last). */
export function ordering(values: Readonly<Record<string, ErrorValue>>): string[] {
  return Object.keys(values).sort((a, b) => rankValue(values[a]!) - rankValue(values[b]!));
}

export interface OrderingAgreement {
  /** Labels present in both. */
  labels: string[];
  /** Pairs ordered the same way / the opposite way / tied in either. */
  concordant: number;
  discordant: number;
  tied: number;
  /** Kendall's τ-a = (concordant − discordant) / pairs (NaN with fewer than two labels). */
  tau: number;
  /** The pairs ordered differently, as [lower in ours, lower in the paper]. */
  disagreements: [string, string][];
  /** Whether the best (lowest-error) label is the same. */
  sameBest: boolean;
}

export function orderingAgreement(ours: Readonly<Record<string, ErrorValue>>, paper: Readonly<Record<string, ErrorValue>>): OrderingAgreement {
  const labels = Object.keys(ours).filter((k) => k in paper);
  let concordant = 0;
  let discordant = 0;
  let tied = 0;
  const disagreements: [string, string][] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i]!;
      const b = labels[j]!;
      const so = Math.sign(rankValue(ours[a]!) - rankValue(ours[b]!) || 0);
      const sp = Math.sign(rankValue(paper[a]!) - rankValue(paper[b]!) || 0);
      if (so === 0 || sp === 0 || Number.isNaN(so) || Number.isNaN(sp)) tied++;
      else if (so === sp) concordant++;
      else {
        discordant++;
        disagreements.push(so < 0 ? [a, b] : [b, a]);
      }
    }
  }
  const pairs = (labels.length * (labels.length - 1)) / 2;
  const best = (v: Readonly<Record<string, ErrorValue>>) => ordering(Object.fromEntries(labels.map((l) => [l, v[l]!])))[0];
  return {
    labels,
    concordant,
    discordant,
    tied,
    tau: pairs > 0 ? (concordant - discordant) / pairs : NaN,
    disagreements,
    sameBest: labels.length > 0 && best(ours) === best(paper),
  };
}

const chain = (values: Readonly<Record<string, ErrorValue>>) =>
  ordering(values)
    .map((l) => `${l} (${formatError(values[l]!)})`)
    .join(' < ');

/**
 * A paragraph per setting: the paper's ordering, ours, and whether they agree, from the numbers.
 * `context` names the two experiments, e.g. `{ ours: 'mnistnet on MNIST', paper: 'ResNet-20 on CIFAR-10' }`.
 */
export function comparisonMarkdown(rows: readonly ComparisonRow[], context: { ours: string; paper: string }): string {
  const settings = [...new Set(rows.map((r) => r.setting))];
  const parts: string[] = [];
  for (const setting of settings) {
    const inSetting = rows.filter((r) => r.setting === setting && r.ours !== null && r.paper !== null);
    if (inSetting.length === 0) continue;
    const ours = Object.fromEntries(inSetting.map((r) => [r.label, r.ours!]));
    const paper = Object.fromEntries(inSetting.map((r) => [r.label, r.paper!]));
    const a = orderingAgreement(ours, paper);
    const pairs = a.concordant + a.discordant + a.tied;
    const verdict =
      a.discordant === 0 && a.tied === 0
        ? 'The orderings **agree** completely'
        : a.discordant === 0
          ? `The orderings agree on every pair that is not tied (${a.tied} tied)`
          : a.tau > 0
            ? `The orderings **partly agree**: ${a.concordant} of ${pairs} pairs in the same order (Kendall τ = ${a.tau.toFixed(2)})`
            : `The orderings **disagree**: only ${a.concordant} of ${pairs} pairs in the same order (Kendall τ = ${a.tau.toFixed(2)})`;
    const differ = a.disagreements.length > 0 ? `; swapped: ${a.disagreements.map(([x, y]) => `${x} before ${y}`).join(', ')}` : '';
    parts.push(
      [
        `**${setting}.** The paper (${context.paper}): ${chain(paper)}.`,
        `This run (${context.ours}): ${chain(ours)}.`,
        `${verdict}${differ}; the best is ${a.sameBest ? 'the same' : 'different'} (${ordering(ours)[0]} here, ${ordering(paper)[0]} in the paper).`,
      ].join('  \n'),
    );
  }
  return parts.join('\n\n');
}

/**
 * Our errors and the paper's side by side: one panel per source (their scales differ), one column per setting, each
 * bar labelled with its value. A bar that would squeeze the others of its panel (a diverged run at 90 % beside
 * 2–4 %; layout `squeezingOutliers` from the zero baseline: the rest would get under a third of the axis) is cut at
 * 1.15× the tallest other bar and drawn broken (a white gap near its top), its label keeping the true value, so that
 * the differences the notebook's text orders by stay visible.
 */
export function comparisonPlot(rows: readonly ComparisonRow[], o: ChartOptions & { ours?: string; paper?: string } = {}): VegaLiteSpec {
  const oursName = o.ours ?? 'this run';
  const paperName = o.paper ?? 'paper';
  const cells = rows
    .flatMap((r) => [
      { setting: r.setting, label: r.label, source: oursName, value: r.ours, text: formatError(r.ours) },
      { setting: r.setting, label: r.label, source: paperName, value: r.paper, text: formatError(r.paper) },
    ])
    .filter((d) => d.value !== null);
  // Per panel (source × setting): which bars to cut, and where.
  const cut = new Map<string, number>();
  for (const key of new Set(cells.map((d) => `${d.source}\u0000${d.setting}`))) {
    const inPanel = cells.filter((d) => `${d.source}\u0000${d.setting}` === key && typeof d.value === 'number');
    const errors = inPanel.map((d) => d.value as number);
    const out = squeezingOutliers(errors, 1, 0);
    if (out.size > 0) cut.set(key, 1.15 * Math.max(...errors.filter((_, i) => !out.has(i))));
  }
  const data = cells.map((d) => {
    const cap = cut.get(`${d.source}\u0000${d.setting}`);
    const error = typeof d.value === 'number' ? (cap !== undefined && d.value > cap ? cap : d.value) : null;
    const broken = typeof d.value === 'number' && error !== d.value;
    return { ...d, error, broken, breakY: broken ? 0.92 * error! : null, textY: error ?? 0 };
  });
  const labels = [...new Set(rows.map((r) => r.label))];
  const x = { field: 'label', type: 'nominal', sort: labels };
  // 34 px a bar: room for a label like "10.38%" (30 px at 8 px) beside its neighbour's.
  const width = o.width ?? Math.max(160, labels.length * 34);
  // The break across a bar (vega-lite's bands: 90 % of the step), not wider, so that it never cuts a neighbour.
  const breakWidth = Math.max(2, Math.floor((0.9 * width) / Math.max(1, labels.length)));
  return {
    title: o.title ?? 'Error: this run and the paper',
    data: { values: data },
    facet: {
      row: { field: 'source', type: 'nominal', title: null, sort: [oursName, paperName] },
      column: { field: 'setting', type: 'nominal', title: null },
    },
    spec: {
      width,
      height: o.height ?? 140,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { ...x, title: null, axis: { labelAngle: 0 } },
            y: { field: 'error', type: 'quantitative', title: 'error (%)' },
            color: { field: 'label', type: 'nominal', legend: null, sort: labels },
            tooltip: [{ field: 'source' }, { field: 'setting' }, { field: 'label' }, { field: 'text', title: 'error' }],
          },
        },
        {
          transform: [{ filter: 'datum.broken' }],
          mark: { type: 'tick', color: 'white', thickness: 3, bandSize: breakWidth },
          encoding: { x, y: { field: 'breakY', type: 'quantitative' } },
        },
        {
          mark: { type: 'text', dy: -4, fontSize: 8, baseline: 'bottom' },
          encoding: { x, y: { field: 'textY', type: 'quantitative' }, text: { field: 'text' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Rows for `display.table`: one line per label, a column pair (ours, paper) per setting. */
export function comparisonTableRows(rows: readonly ComparisonRow[], o: { ours?: string; paper?: string } = {}): Record<string, string>[] {
  const settings = [...new Set(rows.map((r) => r.setting))];
  const labels = [...new Set(rows.map((r) => r.label))];
  return labels.map((label) => {
    const line: Record<string, string> = { '': label };
    for (const s of settings) {
      const r = rows.find((x) => x.setting === s && x.label === label);
      line[`${s}: ${o.ours ?? 'this run'}`] = formatError(r?.ours ?? null);
      line[`${s}: ${o.paper ?? 'paper'}`] = formatError(r?.paper ?? null);
    }
    return line;
  });
}

/** Spearman's rank correlation of two equally long series (average ranks for ties); NaN for fewer than two points. */
export function rankCorrelation(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`rankCorrelation: ${xs.length} x values but ${ys.length} y values`);
  const ranks = (v: readonly number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const a = ranks(xs);
  const b = ranks(ys);
  const n = xs.length;
  if (n < 2) return NaN;
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - mean) * (b[i]! - mean);
    saa += (a[i]! - mean) ** 2;
    sbb += (b[i]! - mean) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
