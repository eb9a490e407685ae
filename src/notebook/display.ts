/**
 * Rich output from cells: `display(value)`, `display.html(…)`, `display.vegalite(spec)`, … send display_data on
 * IOPub; handles update their output in place (update_display_data). A Vega-Lite plot is one bundle with the
 * Vega-Lite spec, an SVG and a PNG rendered here, and text, so it shows in JupyterLab, the classic notebook (which
 * has no Vega-Lite renderer) and static viewers.
 */
import { plotBundle, type VegaLiteSpec } from '../plot/render';
import type { TrainEvent } from '../train/trainer';
import { escapeHtml } from '../util/html';
import { progressBarText } from '../util/progress';
import { formatTable } from '../util/table';
import { mimeBundleOf, requireSink, show, track, type DisplayHandle, type MimeBundle } from './output';
import { trainingWidget, type TrainingWidgetOptions } from './widget';

export interface TableOptions {
  /** Column order (default: the keys of the rows, in order of appearance). */
  columns?: string[];
  /** Rows shown (default 50); the rest are counted. */
  maxRows?: number;
  caption?: string;
}

/** A small data-frame-like table: HTML for notebooks, aligned text for terminals. */
export function tableBundle(rows: readonly Record<string, unknown>[], o: TableOptions = {}): MimeBundle {
  const columns = o.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const shown = rows.slice(0, o.maxRows ?? 50);
  const cell = (v: unknown) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === undefined || v === null ? '' : String(v);
  const more = rows.length > shown.length ? `${rows.length - shown.length} more rows` : '';
  const html = [
    '<table class="mixprec-table">',
    o.caption ? `<caption>${escapeHtml(o.caption)}</caption>` : '',
    `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`,
    `<tbody>${shown.map((r) => `<tr>${columns.map((c) => `<td style="text-align:${typeof r[c] === 'number' ? 'right' : 'left'}">${escapeHtml(cell(r[c]))}</td>`).join('')}</tr>`).join('')}</tbody>`,
    '</table>',
    more ? `<p>${more}</p>` : '',
  ].join('');
  const text =
    formatTable(
      columns,
      shown.map((r) => columns.map((c) => cell(r[c]))),
    ) + (more ? `\n${more}` : '');
  return { 'text/html': html, 'text/plain': (o.caption ? `${o.caption}\n` : '') + text };
}

const toBase64 = (bytes: string | Uint8Array) => (typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('base64'));

/** The `display` global of mixprec notebooks. */
export interface Display {
  /** Shows any value as rich output (see {@link mimeBundleOf}); resolves when it has been sent. */
  (value: unknown, options?: { id?: string }): Promise<DisplayHandle>;
  html(html: string): DisplayHandle;
  markdown(markdown: string): DisplayHandle;
  svg(svg: string): DisplayHandle;
  /** PNG bytes or base64. */
  png(png: string | Uint8Array, options?: { width?: number; height?: number }): DisplayHandle;
  jpeg(jpeg: string | Uint8Array): DisplayHandle;
  json(value: unknown): DisplayHandle;
  text(text: string): DisplayHandle;
  table(rows: readonly Record<string, unknown>[], options?: TableOptions): DisplayHandle;
  /** A Vega-Lite plot: the spec plus SVG and PNG renderings. */
  vegalite(spec: VegaLiteSpec, options?: { id?: string }): Promise<DisplayHandle>;
  /** A raw MIME bundle. */
  bundle(data: MimeBundle, metadata?: Record<string, unknown>): DisplayHandle;
  /** Clears the cell's output (with wait: when the next output arrives). */
  clear(wait?: boolean): void;
  /**
   * A progress bar that updates in place: `const p = display.progress(n, 'runs'); p.update(i, 'U3 step 4'); p.done()`.
   * Redraws at most `maxUpdatesPerSecond` times (default 4); `done` always redraws.
   */
  progress(total: number, label?: string, options?: { maxUpdatesPerSecond?: number }): ProgressDisplay;
  /** A live training display: pass the result as `train({ onEvent })`. */
  training(options?: TrainingWidgetOptions): (event: TrainEvent) => void;
}

/** An in-place progress display (see {@link Display.progress}). */
export interface ProgressDisplay {
  readonly handle: DisplayHandle;
  update(done: number, status?: string): void;
  /** Draws the final state (all done unless `done` is given). */
  done(status?: string, done?: number): void;
}

/** The bundle of a progress bar: an HTML bar for notebooks, a text bar for terminals and static viewers. */
export function progressBundle(label: string, done: number, total: number, status: string, elapsedSec: number): MimeBundle {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const time = `${elapsedSec.toFixed(0)} s`;
  const text = `${label} ${progressBarText(frac, 30)} ${done}/${total} ${time}${status ? ` ${status}` : ''}`;
  const html =
    `<div class="mixprec-progress" style="font-family:sans-serif;font-size:13px">` +
    `<span>${escapeHtml(label)}</span> <progress value="${done}" max="${total}" style="width:240px;vertical-align:middle"></progress> ` +
    `<span>${done}/${total} · ${time}</span> <span style="color:#555">${escapeHtml(status)}</span></div>`;
  return { 'text/html': html, 'text/plain': text };
}

function progressDisplay(total: number, label = '', o: { maxUpdatesPerSecond?: number } = {}): ProgressDisplay {
  const started = Date.now();
  const minGapMs = 1000 / (o.maxUpdatesPerSecond ?? 4);
  let last = 0;
  const elapsed = () => (Date.now() - started) / 1000;
  const h = show(progressBundle(label, 0, total, '', 0));
  return {
    handle: h,
    update(done, status = '') {
      if (Date.now() - last < minGapMs) return;
      last = Date.now();
      h.updateBundle(progressBundle(label, done, total, status, elapsed()));
    },
    done(status = 'done', done = total) {
      h.updateBundle(progressBundle(label, done, total, status, elapsed()));
    },
  };
}

export const display: Display = Object.assign(
  (value: unknown, options: { id?: string } = {}) => track(mimeBundleOf(value).then((data) => show(data, {}, options.id))),
  {
    html: (html: string) => show({ 'text/html': html, 'text/plain': html.replace(/<[^>]*>/g, '') }),
    markdown: (md: string) => show({ 'text/markdown': md, 'text/plain': md }),
    svg: (svg: string) => show({ 'image/svg+xml': svg, 'text/plain': '<SVG image>' }),
    png: (png: string | Uint8Array, o: { width?: number; height?: number } = {}) =>
      show({ 'image/png': toBase64(png), 'text/plain': '<PNG image>' }, o.width || o.height ? { 'image/png': o } : {}),
    jpeg: (jpeg: string | Uint8Array) => show({ 'image/jpeg': toBase64(jpeg), 'text/plain': '<JPEG image>' }),
    json: (value: unknown) => show({ 'application/json': value, 'text/plain': JSON.stringify(value, null, 2) }),
    text: (text: string) => show({ 'text/plain': text }),
    table: (rows: readonly Record<string, unknown>[], o?: TableOptions) => show(tableBundle(rows, o)),
    vegalite: (spec: VegaLiteSpec, o: { id?: string } = {}) => track(plotBundle(spec).then((data) => show({ ...data }, {}, o.id))),
    bundle: (data: MimeBundle, metadata?: Record<string, unknown>) => show(data, metadata),
    clear: (wait = false) => requireSink().publish('clear_output', { wait }),
    progress: (total: number, label?: string, o?: { maxUpdatesPerSecond?: number }) => progressDisplay(total, label, o),
    training: (options?: TrainingWidgetOptions) => trainingWidget(options),
  },
);
