/**
 * The notebook document (nbformat 4): reading with one clear error per kind of bad file, and writing the way nbformat
 * writes (sorted keys, one-space indent, multi-line strings as lists of lines), atomically, so a reader never sees half a
 * notebook. In memory every multi-line string is one joined string.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { writeFileAtomic } from '../util/files';

export type CellType = 'code' | 'markdown' | 'raw';

/** A cell output as nbformat stores it (output_type stream, display_data, execute_result or error). */
export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  [field: string]: unknown;
}

export interface NotebookCell {
  id?: string;
  cell_type: CellType;
  source: string;
  metadata: Record<string, unknown> & { tags?: string[] };
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown> & {
    kernelspec?: { name: string; display_name?: string; language?: string };
    language_info?: Record<string, unknown>;
  };
  nbformat: 4;
  nbformat_minor: number;
}

/** A file that is not a usable notebook; the message names the file and what is wrong. */
export class NotebookError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'NotebookError';
  }
}

const joinLines = (v: unknown): unknown => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v.join('') : v);

/** The line and column of a JSON.parse error position, for messages people can act on. */
function jsonErrorPlace(text: string, err: Error): string {
  const at = /position (\d+)/.exec(err.message);
  if (!at) return err.message;
  const pos = Number(at[1]);
  const before = text.slice(0, pos).split('\n');
  return `${err.message.replace(/ in JSON at position \d+.*$/s, '')} at line ${before.length} column ${before.at(-1)!.length + 1}`;
}

/** Parses and checks notebook JSON text; `file` names the source in errors. */
export function parseNotebook(text: string, file = '<notebook>'): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NotebookError(file, `not valid JSON (${jsonErrorPlace(text, err as Error)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new NotebookError(file, 'not a Jupyter notebook (the JSON is not an object)');
  const nb = raw as Record<string, unknown>;
  if (!('nbformat' in nb)) throw new NotebookError(file, 'not a Jupyter notebook (no "nbformat" field)');
  if (nb.nbformat !== 4) {
    const hint = typeof nb.nbformat === 'number' && nb.nbformat < 4 ? '; convert it with `jupyter nbconvert --to notebook --nbformat 4`' : '';
    throw new NotebookError(file, `nbformat ${JSON.stringify(nb.nbformat)} is not supported, only nbformat 4${hint}`);
  }
  if (!Array.isArray(nb.cells)) throw new NotebookError(file, 'not a Jupyter notebook ("cells" is not a list)');
  const metadata = nb.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new NotebookError(file, '"metadata" is not an object');
  const minor = nb.nbformat_minor ?? 0;
  if (typeof minor !== 'number' || !Number.isInteger(minor) || minor < 0)
    throw new NotebookError(file, `"nbformat_minor" must be a non-negative integer, got ${JSON.stringify(minor)}`);
  const cells = nb.cells.map((c, i) => parseCell(c, i, file));
  return { ...(nb as object), cells, metadata: metadata as Notebook['metadata'], nbformat: 4, nbformat_minor: minor };
}

function parseCell(raw: unknown, index: number, file: string): NotebookCell {
  const where = `cell ${index + 1}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new NotebookError(file, `${where} is not an object`);
  const cell = { ...(raw as Record<string, unknown>) };
  if (cell.cell_type !== 'code' && cell.cell_type !== 'markdown' && cell.cell_type !== 'raw') {
    throw new NotebookError(file, `${where}: unknown cell_type ${JSON.stringify(cell.cell_type)} (expected code, markdown or raw)`);
  }
  const source = joinLines(cell.source ?? '');
  if (typeof source !== 'string') throw new NotebookError(file, `${where}: "source" must be a string or a list of strings`);
  cell.source = source;
  const metadata = cell.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new NotebookError(file, `${where}: "metadata" is not an object`);
  const tags = (metadata as Record<string, unknown>).tags;
  if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')))
    throw new NotebookError(file, `${where}: metadata.tags must be a list of strings`);
  cell.metadata = metadata;
  if (typeof cell.attachments === 'object' && cell.attachments !== null) {
    cell.attachments = Object.fromEntries(
      Object.entries(cell.attachments).map(([name, b]) => [name, typeof b === 'object' && b !== null ? joinBundle(b as Record<string, unknown>) : b]),
    );
  }
  if (cell.cell_type === 'code') {
    const outputs = cell.outputs ?? [];
    if (!Array.isArray(outputs)) throw new NotebookError(file, `${where}: "outputs" is not a list`);
    cell.outputs = outputs.map((o, k) => parseOutput(o, `${where} output ${k + 1}`, file));
    if (cell.execution_count === undefined) cell.execution_count = null;
  }
  return cell as unknown as NotebookCell;
}

function parseOutput(raw: unknown, where: string, file: string): NotebookOutput {
  if (typeof raw !== 'object' || raw === null) throw new NotebookError(file, `${where} is not an object`);
  const out = { ...(raw as Record<string, unknown>) };
  if (!['stream', 'display_data', 'execute_result', 'error'].includes(out.output_type as string)) {
    throw new NotebookError(file, `${where}: unknown output_type ${JSON.stringify(out.output_type)}`);
  }
  if (out.text !== undefined) out.text = joinLines(out.text);
  if (typeof out.data === 'object' && out.data !== null) out.data = joinBundle(out.data as Record<string, unknown>);
  return out as NotebookOutput;
}

/** Reads and checks a notebook file (missing, unreadable, not JSON, not a notebook, not nbformat 4: NotebookError). */
export function readNotebookFile(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new NotebookError(
      file,
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a folder, not a notebook' : `cannot read it (${e.message})`,
    );
  }
  return parseNotebook(text, file);
}

const isJsonMime = (mime: string) => mime === 'application/json' || /\+json$/.test(mime);
/** A mime bundle with its line lists joined (JSON mime values are data, not text). */
const joinBundle = (bundle: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(bundle).map(([mime, v]) => [mime, isJsonMime(mime) ? v : joinLines(v)]));

/** nbformat's split_lines: multi-line strings become lists of lines, each keeping its newline ('' becomes []). */
function splitLines(s: string): string[] {
  return s === '' ? [] : s.split(/(?<=\n)/);
}

/** The mime types nbformat splits into lines: text/*, JavaScript and SVG (not base64 images, not JSON). */
const splitsMime = (mime: string) => mime.startsWith('text/') || mime === 'application/javascript' || mime === 'image/svg+xml';

function splitBundle(bundle: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(bundle).map(([mime, v]) => [mime, typeof v === 'string' && splitsMime(mime) ? splitLines(v) : v]));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** A new cell id as nbformat makes them (8 hex digits). */
export function newCellId(): string {
  return randomBytes(4).toString('hex');
}

/** The notebook as nbformat's `writes` would produce it. Cells get ids where nbformat ≥ 4.5 requires them. */
export function serializeNotebook(nb: Notebook): string {
  const cells = nb.cells.map((cell) => {
    const out: Record<string, unknown> = { ...cell, source: splitLines(cell.source) };
    if (nb.nbformat_minor >= 5 && !cell.id) out.id = cell.id = newCellId();
    if (nb.nbformat_minor < 5) delete out.id;
    if (cell.attachments && cell.cell_type !== 'code') {
      out.attachments = Object.fromEntries(
        Object.entries(cell.attachments).map(([name, b]) => [
          name,
          typeof b === 'object' && b !== null ? splitBundle(b as Record<string, unknown>) : b,
        ]),
      );
    }
    if (cell.outputs) {
      out.outputs = cell.outputs.map((o) => {
        const copy: Record<string, unknown> = { ...o };
        if (typeof o.text === 'string') copy.text = splitLines(o.text);
        if (typeof o.data === 'object' && o.data !== null && o.output_type !== 'stream') copy.data = splitBundle(o.data as Record<string, unknown>);
        return copy;
      });
    }
    return out;
  });
  return `${JSON.stringify(sortKeys({ ...nb, cells }), null, 1)}\n`;
}

/** Writes the notebook atomically (temporary sibling, then rename). */
export function writeNotebookFile(file: string, nb: Notebook): void {
  writeFileAtomic(file, serializeNotebook(nb));
}

/** The first line of a cell's source, shortened, for progress lines and error messages. */
export function cellSummary(cell: NotebookCell, width = 60): string {
  const line =
    cell.source
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

export const hasTag = (cell: NotebookCell, tag: string) => (cell.metadata.tags ?? []).includes(tag);
