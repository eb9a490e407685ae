/**
 * Executed notebooks → one self-contained HTML page: markdown rendered, code collapsed, outputs as a static viewer
 * would show them (plots from their SVG or PNG fallback as data URIs, so nothing is fetched and ids of different SVGs
 * cannot clash), a contents table with each notebook's status and time. No JavaScript needed to read it.
 */
import MarkdownIt from 'markdown-it';
import { escapeHtml } from '../util/html';
import { packageVersion } from '../util/package';
import type { Notebook, NotebookCell, NotebookOutput } from './notebook';
import { stripAnsi } from './terminal';

export interface ReportEntry {
  /** File stem, used for anchors (e.g. `03-parametrizations`). */
  name: string;
  title: string;
  notebook: Notebook;
  /** Link to the executed notebook, relative to the report. */
  href?: string;
  status: 'completed' | 'failed';
  durationSec: number;
}

export interface ReportOptions {
  title?: string;
  /** How code cells show: collapsed under a "code" toggle (default), shown, or left out. */
  code?: 'collapsed' | 'shown' | 'hidden';
  /** Text for the header line (e.g. the command and backend). */
  subtitle?: string;
}

const md = new MarkdownIt({ html: false, linkify: true });
const joined = (v: unknown) => (Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : '');
const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Saved widget models (a notebook's `metadata.widgets`), by model id. */
export type WidgetStates = Record<string, { model_name?: string; state?: Record<string, unknown> }>;

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';

/** The saved widget states of a notebook (nbformat's `application/vnd.jupyter.widget-state+json`), or {}. */
export function widgetStatesOf(nb: Notebook): WidgetStates {
  const saved = (nb.metadata.widgets as Record<string, { state?: WidgetStates }> | undefined)?.['application/vnd.jupyter.widget-state+json'];
  return saved?.state ?? {};
}

/**
 * A widget as a static page shows it, from its saved state: boxes and tabs lay out their children, an Output shows
 * the outputs it captured, HTML and labels their value, controls their description and value.
 */
export function widgetHtml(modelId: string, states: WidgetStates, depth = 0): string {
  const w = states[modelId];
  if (w === undefined || depth > 20) return '';
  const st = w.state ?? {};
  const ref = (v: unknown) => (typeof v === 'string' && v.startsWith('IPY_MODEL_') ? v.slice('IPY_MODEL_'.length) : '');
  // A view its layout hides (the explorer's slider of the other family) is not shown.
  if (states[ref(st.layout)]?.state?.display === 'none') return '';
  const label = typeof st.description === 'string' && st.description !== '' ? `<span class="wlabel">${escapeHtml(st.description)}</span> ` : '';
  const value = (v: unknown) => escapeHtml(typeof v === 'string' ? v : JSON.stringify(v));
  switch (w.model_name) {
    case 'VBoxModel':
    case 'HBoxModel':
    case 'BoxModel':
    case 'TabModel': {
      const children = (Array.isArray(st.children) ? st.children : []).map((c) => widgetHtml(ref(c), states, depth + 1));
      const row = w.model_name === 'HBoxModel';
      return `<div class="widget box" style="display:flex;flex-direction:${row ? 'row' : 'column'};gap:6px;flex-wrap:wrap">${children.join('')}</div>`;
    }
    case 'OutputModel':
      return `<div class="widget output">${(Array.isArray(st.outputs) ? (st.outputs as NotebookOutput[]) : []).map((o) => outputHtml(o, states)).join('\n')}</div>`;
    case 'HTMLModel':
      return `<div class="widget html">${label}${typeof st.value === 'string' ? st.value : ''}</div>`;
    case 'LabelModel':
      return `<div class="widget label">${label}${value(st.value ?? '')}</div>`;
    case 'ButtonModel':
      return `<span class="widget button">[${escapeHtml(String(st.description ?? ''))}]</span>`;
    case 'DropdownModel':
    case 'ToggleButtonsModel': {
      const labels = Array.isArray(st._options_labels) ? (st._options_labels as string[]) : [];
      const chosen = typeof st.index === 'number' ? labels[st.index] : undefined;
      return `<span class="widget choice">${label}${labels.map((l) => (l === chosen ? `<b>${escapeHtml(l)}</b>` : escapeHtml(l))).join(' · ')}</span>`;
    }
    case 'IntProgressModel':
    case 'FloatProgressModel':
      return `<span class="widget progress">${label}<progress value="${Number(st.value)}" max="${Number(st.max)}"></progress></span>`;
    default:
      return st.value === undefined ? '' : `<span class="widget control">${label}${value(st.value)}</span>`;
  }
}

/** The HTML of one output, from its richest static representation (a widget view from the saved widget states). */
export function outputHtml(out: NotebookOutput, widgets: WidgetStates = {}): string {
  switch (out.output_type) {
    case 'stream': {
      const name = (out as { name?: string }).name === 'stderr' ? 'stderr' : 'stdout';
      return `<pre class="out ${name}">${escapeHtml(stripAnsi(joined((out as { text?: unknown }).text)))}</pre>`;
    }
    case 'error': {
      const e = out as { ename?: string; evalue?: string; traceback?: string[] };
      const tb = (e.traceback ?? []).map(stripAnsi).join('\n');
      return `<pre class="out error">${escapeHtml(tb || `${e.ename}: ${e.evalue}`)}</pre>`;
    }
    default: {
      const data = ((out as { data?: Record<string, unknown> }).data ?? {}) as Record<string, unknown>;
      const view = data[WIDGET_VIEW] as { model_id?: string } | undefined;
      if (view?.model_id !== undefined && widgets[view.model_id] !== undefined) {
        const html = widgetHtml(view.model_id, widgets);
        if (html !== '') return html;
      }
      if (data['image/svg+xml'] !== undefined)
        return `<img class="plot" alt="plot" src="data:image/svg+xml;base64,${base64(joined(data['image/svg+xml']))}">`;
      if (data['image/png'] !== undefined)
        return `<img class="plot" alt="plot" src="data:image/png;base64,${joined(data['image/png']).replace(/\s/g, '')}">`;
      if (data['image/jpeg'] !== undefined)
        return `<img class="plot" alt="image" src="data:image/jpeg;base64,${joined(data['image/jpeg']).replace(/\s/g, '')}">`;
      if (data['text/html'] !== undefined) return `<div class="out html">${joined(data['text/html'])}</div>`;
      if (data['text/markdown'] !== undefined) return `<div class="out markdown">${md.render(joined(data['text/markdown']))}</div>`;
      if (data['application/json'] !== undefined) return `<pre class="out">${escapeHtml(JSON.stringify(data['application/json'], null, 2))}</pre>`;
      if (data['text/plain'] !== undefined) return `<pre class="out">${escapeHtml(stripAnsi(joined(data['text/plain'])))}</pre>`;
      return '';
    }
  }
}

function cellHtml(cell: NotebookCell, code: ReportOptions['code'], widgets: WidgetStates = {}): string {
  const source = joined(cell.source);
  if (cell.cell_type === 'markdown') return `<div class="md">${md.render(source)}</div>`;
  if (cell.cell_type !== 'code') return '';
  const outputs = ((cell as { outputs?: NotebookOutput[] }).outputs ?? []).map((o) => outputHtml(o, widgets)).join('\n');
  const count = (cell as { execution_count?: number | null }).execution_count;
  const codeBlock = `<pre class="code"><code>${escapeHtml(source)}</code></pre>`;
  const codeHtml =
    code === 'hidden' || source.trim() === ''
      ? ''
      : code === 'shown'
        ? codeBlock
        : `<details><summary>code [${count ?? ' '}]</summary>${codeBlock}</details>`;
  return `<div class="cell">${codeHtml}${outputs}</div>`;
}

const STYLE = `
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:1.5em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:13px} th,td{border:1px solid #ddd;padding:3px 8px} th{background:#f4f4f4}
caption{caption-side:top;text-align:left;color:#555;font-size:12px;padding-bottom:3px}
section.nb{border-top:3px solid #444;margin-top:2.5em;padding-top:.5em}
.cell{margin:.6em 0} details summary{cursor:pointer;color:#777;font-size:12px}
pre{background:#f7f7f7;padding:.5em .7em;overflow-x:auto;font-size:12px;border-radius:3px}
pre.code{background:#f3f6fa;border-left:3px solid #9ab} pre.stderr{background:#fff4e5} pre.error{background:#fdecec;color:#a00}
img.plot{max-width:100%;height:auto;display:block;margin:.4em 0}
.status-completed{color:#17803d} .status-failed{color:#c00;font-weight:bold}
`;

/** The report page for executed notebooks. */
export function notebooksHtml(entries: readonly ReportEntry[], o: ReportOptions = {}): string {
  const title = o.title ?? 'mixprec: reproducing "Mixed Precision DNNs: All you need is a good parametrization"';
  const toc = entries
    .map(
      (e) =>
        `<tr><td><a href="#${escapeHtml(e.name)}">${escapeHtml(e.name)}</a></td><td>${escapeHtml(e.title)}</td>` +
        `<td class="status-${e.status}">${e.status}</td><td style="text-align:right">${e.durationSec.toFixed(0)} s</td>` +
        `<td>${e.href ? `<a href="${escapeHtml(e.href)}">.ipynb</a>` : ''}</td></tr>`,
    )
    .join('\n');
  const sections = entries
    .map(
      (e) =>
        `<section class="nb" id="${escapeHtml(e.name)}">\n` +
        `<p class="sub">${escapeHtml(e.name)}.ipynb · <span class="status-${e.status}">${e.status}</span> · ${e.durationSec.toFixed(0)} s</p>\n` +
        e.notebook.cells.map((c) => cellHtml(c, o.code ?? 'collapsed', widgetStatesOf(e.notebook))).join('\n') +
        '\n</section>',
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">mixprec ${escapeHtml(packageVersion())} · ${escapeHtml(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC${o.subtitle ? ` · ${escapeHtml(o.subtitle)}` : ''}</p>
<table><thead><tr><th>notebook</th><th>what it reproduces</th><th>status</th><th>time</th><th></th></tr></thead>
<tbody>${toc}</tbody></table>
${sections}
</body></html>
`;
}
