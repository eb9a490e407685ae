/**
 * One renderer for every static output of a Vega-Lite spec: compile with vega-lite, render to SVG with a headless
 * vega View (no canvas needed in Node), rasterise the SVG to PNG with resvg. vega and vega-lite 6 are ESM-only (with
 * top-level await), so they are loaded with a real dynamic import(), which TypeScript keeps as such for Node16.
 */
import * as path from 'node:path';
import type { Resvg as ResvgType } from '@resvg/resvg-js';
import { writeFileAtomic } from '../util/files';
import { textWidth } from './layout';

/** A Vega-Lite specification (an object; see https://vega.github.io/vega-lite/). */
export type VegaLiteSpec = Record<string, unknown>;

/** The MIME bundle of a plot: Vega-Lite for renderers that have it, SVG/PNG for the rest, text for terminals. */
export interface PlotBundle {
  'application/vnd.vegalite.v5+json': VegaLiteSpec;
  'image/svg+xml': string;
  'image/png': string;
  'text/plain': string;
}

/** What vega's text measurement sees of a text item. */
interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}

interface VegaModules {
  vega: {
    parse(spec: unknown): unknown;
    View: new (runtime: unknown, options: Record<string, unknown>) => { toSVG(scale?: number): Promise<string>; finalize(): void };
    textMetrics: { width: (item: TextItem, text: unknown) => number };
  };
  vegaLite: { compile(spec: unknown): { spec: unknown } };
}

let modules: Promise<VegaModules> | undefined;

function loadVega(): Promise<VegaModules> {
  modules ??= (async () => {
    const [vegaModule, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
    const vega = vegaModule as unknown as VegaModules['vega'];
    // Without a canvas, vega estimates every character at 0.8 em: legends and labels get cut ("uniform (w/ constr.
    // (8a) and…") at two thirds of their limit and layouts reserve a third more room than the text takes. Measure
    // with DejaVu Sans's advance widths instead (the font browsers on Linux and resvg draw sans-serif with, and wider
    // than Arial/Helvetica), through the hook vega keeps for this (its textMetrics.width; vl-convert does the same).
    // A text longer than its limit measures the limit: vega then cuts it to fit, as with a canvas.
    vega.textMetrics.width = (item, text) => {
      const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
      const bold = item.fontWeight === 'bold' || item.fontWeight === 'bolder' || Number(item.fontWeight) >= 600;
      const width = textWidth(text == null ? '' : String(text).trim(), size, bold);
      return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
    };
    return { vega, vegaLite: vegaLite as unknown as VegaModules['vegaLite'] };
  })();
  return modules;
}

/** Whether a value looks like a Vega-Lite spec (its `$schema` names vega-lite). */
export function isVegaLiteSpec(value: unknown): value is VegaLiteSpec {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { $schema?: unknown }).$schema === 'string' &&
    /vega-lite/.test((value as { $schema: string }).$schema)
  );
}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** SVG of a Vega-Lite spec. Throws with vega-lite's message for an invalid spec. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vegaLite } = await loadVega();
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let resvg: typeof ResvgType | undefined;

/** PNG bytes of an SVG (system fonts; white background; `scale` times the SVG's size). */
export function svgToPng(svg: string, scale = 2): Buffer {
  resvg ??= (require('@resvg/resvg-js') as { Resvg: typeof ResvgType }).Resvg;
  const r = new resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return Buffer.from(r.render().asPng());
}

/** The full display bundle of a Vega-Lite spec. */
export async function plotBundle(spec: VegaLiteSpec, description = 'Vega-Lite chart'): Promise<PlotBundle> {
  const withSchema = { $schema: VEGA_LITE_SCHEMA, ...spec };
  const svg = await renderSvg(withSchema);
  // A title is a string, or { text, subtitle } (the Pareto plot's, when it draws runs at the axis' edge).
  const t = spec.title as unknown;
  const title =
    typeof t === 'string'
      ? t
      : typeof t === 'object' && t !== null && typeof (t as { text?: unknown }).text === 'string'
        ? (t as { text: string }).text
        : '';
  return {
    'application/vnd.vegalite.v5+json': withSchema,
    'image/svg+xml': svg,
    'image/png': svgToPng(svg).toString('base64'),
    'text/plain': `<${description}${title ? `: ${title}` : ''}>`,
  };
}

/** Writes a plot to `file` as SVG (`.svg`) or PNG (`.png`), atomically; returns the file's path. */
export async function savePlot(spec: VegaLiteSpec, file: string, options: { scale?: number } = {}): Promise<string> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new Error(`${file}: a plot is saved as .svg or .png, not "${ext || 'no extension'}"`);
  const svg = await renderSvg({ $schema: VEGA_LITE_SCHEMA, ...spec });
  writeFileAtomic(file, ext === '.svg' ? svg : svgToPng(svg, options.scale));
  return file;
}
