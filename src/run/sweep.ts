/**
 * Parameter sweeps: one notebook run per parameter set of a grid, N kernels at once, and an index of the runs (JSON
 * and a small HTML page) rewritten whenever a run starts or ends, so a sweep that is stopped still says what finished.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { writeFileAtomic } from '../util/files';
import { ParameterError, toParameters, type ParameterValue, type Parameters } from './parameters';
import { executePrepared, prepareNotebook, type RunOptions, type RunReporter, type RunSummary } from './runner';

/** A grid: each name maps to the values it takes (the runs are the cartesian product), or an explicit list of runs. */
export type ParameterGrid = Record<string, ParameterValue[]> | Parameters[];

/** The parameter sets of a grid, in order (the last name varies fastest). */
export function expandGrid(grid: ParameterGrid, fixed: Parameters = {}): Parameters[] {
  if (Array.isArray(grid)) return grid.map((p) => ({ ...fixed, ...p }));
  let runs: Parameters[] = [{ ...fixed }];
  for (const [name, values] of Object.entries(grid)) {
    if (values.length === 0) throw new ParameterError(`grid parameter ${name} has no values`);
    runs = runs.flatMap((r) => values.map((v) => ({ ...r, [name]: v })));
  }
  return runs;
}

/**
 * Reads a grid file (YAML or JSON): a mapping of names to lists of values (a scalar is one value; to sweep over list
 * values write a list of lists), or a list of mappings, one per run.
 */
export function readGridFile(file: string): ParameterGrid {
  if (!fs.existsSync(file)) throw new ParameterError(`grid file ${file}: no such file`);
  let data: unknown;
  try {
    data = parseYaml(fs.readFileSync(file, 'utf8'), { uniqueKeys: true });
  } catch (err) {
    throw new ParameterError(`grid file ${file}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (Array.isArray(data)) {
    if (data.length === 0) throw new ParameterError(`grid file ${file}: the list of runs is empty`);
    return data.map((run, i) => {
      if (typeof run !== 'object' || run === null || Array.isArray(run)) throw new ParameterError(`grid file ${file}: run ${i + 1} is not a mapping of parameter names to values`);
      return toParameters(`grid file ${file}`, run as Record<string, unknown>);
    });
  }
  if (typeof data !== 'object' || data === null) throw new ParameterError(`grid file ${file}: expected a mapping of parameter names to lists of values, or a list of runs`);
  const grid: Record<string, ParameterValue[]> = {};
  for (const [name, values] of Object.entries(toParameters(`grid file ${file}`, data as Record<string, unknown>))) {
    grid[name] = Array.isArray(values) ? values : [values];
    if (grid[name]!.length === 0) throw new ParameterError(`grid file ${file}: parameter ${name} has no values`);
  }
  return grid;
}

export type RunStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface SweepRun {
  index: number;
  parameters: Parameters;
  /** The output notebook, relative to the sweep folder. */
  notebook: string;
  status: RunStatus;
  durationSec?: number;
  /** What ended a failed run. */
  failure?: string;
}

export interface SweepIndex {
  notebook: string;
  kernel: string;
  started: string;
  finished: string | null;
  parallel: number;
  runs: SweepRun[];
}

export interface SweepReporter {
  runStart?(run: SweepRun, total: number): void;
  runEnd?(run: SweepRun, total: number, summary: RunSummary): void;
  warn?(message: string): void;
}

export interface SweepOptions extends Omit<RunOptions, 'output' | 'parameters' | 'reporter'> {
  /** The folder for the run notebooks and the index. */
  out: string;
  grid: ParameterGrid;
  /** Parameters every run gets (the grid's values win). */
  fixed?: Parameters;
  /** Kernels running at once; default 1. */
  parallel?: number;
  reporter?: SweepReporter;
  /** Per-run events (e.g. --log-output). */
  runReporter?: (run: SweepRun) => RunReporter | undefined;
}

export interface SweepResult {
  index: SweepIndex;
  summaries: RunSummary[];
  indexFile: string;
  htmlFile: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The index page: one row per run, its parameters as columns, status and a link to the notebook. */
export function sweepHtml(index: SweepIndex): string {
  const names = [...new Set(index.runs.flatMap((r) => Object.keys(r.parameters)))];
  const cell = (v: ParameterValue | undefined) => escapeHtml(v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const rows = index.runs.map((r) => `<tr class="${r.status}"><td>${r.index + 1}</td>${names.map((n) => `<td>${cell(r.parameters[n])}</td>`).join('')}` +
    `<td>${r.status}</td><td>${r.durationSec !== undefined ? r.durationSec.toFixed(1) : ''}</td>` +
    `<td><a href="${escapeHtml(encodeURI(r.notebook))}">${escapeHtml(r.notebook)}</a></td><td>${escapeHtml(r.failure ?? '')}</td></tr>`);
  const counts = (['completed', 'failed', 'running', 'pending'] as const).map((s) => `${index.runs.filter((r) => r.status === s).length} ${s}`).join(', ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sweep of ${escapeHtml(index.notebook)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}
tr.failed td{background:#fde2e2}tr.running td{background:#fff6d5}tr.pending td{color:#888}
</style></head><body>
<h1>Sweep of ${escapeHtml(index.notebook)}</h1>
<p>Kernel ${escapeHtml(index.kernel)}, ${index.parallel} at once; started ${escapeHtml(index.started)}${index.finished ? `, finished ${escapeHtml(index.finished)}` : ''}. ${counts}.</p>
<table><thead><tr><th>#</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}<th>status</th><th>seconds</th><th>notebook</th><th>failure</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
}

/**
 * Runs `input` once per parameter set. Every run is prepared (notebook, kernel, parameters checked) before the first
 * starts, so bad input fails before anything is written.
 */
export async function runSweep(input: string, o: SweepOptions): Promise<SweepResult> {
  const { out: _out, grid: _grid, fixed: _fixed, parallel: _parallel, reporter: _reporter, runReporter: _runReporter, ...runOptions } = o;
  const sets = expandGrid(o.grid, o.fixed);
  const parallel = o.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new ParameterError(`parallel must be a positive integer, got ${parallel}`);
  const stem = path.basename(input).replace(/\.ipynb$/, '');
  const width = String(sets.length).length;
  const prepared = sets.map((parameters, i) => {
    const file = `${stem}-${String(i + 1).padStart(Math.max(3, width), '0')}.ipynb`;
    const output = path.join(o.out, file);
    return { parameters, file, output, ...prepareNotebook(input, { parameters, output, ...(o.kernel ? { kernel: o.kernel } : {}) }) };
  });
  for (const w of new Set(prepared.flatMap((p) => p.warnings))) o.reporter?.warn?.(w);
  const index: SweepIndex = {
    notebook: input, kernel: prepared[0]!.spec.name, started: new Date().toISOString(), finished: null, parallel,
    runs: prepared.map((p, i) => ({ index: i, parameters: p.parameters, notebook: p.file, status: 'pending' as const })),
  };
  const indexFile = path.join(o.out, 'index.json');
  const htmlFile = path.join(o.out, 'index.html');
  const writeIndex = () => {
    writeFileAtomic(indexFile, `${JSON.stringify(index, null, 2)}\n`);
    writeFileAtomic(htmlFile, sweepHtml(index));
  };
  fs.mkdirSync(o.out, { recursive: true });
  writeIndex();
  const summaries: RunSummary[] = new Array(sets.length);
  let next = 0;
  const worker = async () => {
    while (next < prepared.length && !o.signal?.aborted) {
      const i = next++;
      const p = prepared[i]!;
      const run = index.runs[i]!;
      run.status = 'running';
      writeIndex();
      o.reporter?.runStart?.(run, sets.length);
      const reporter = o.runReporter?.(run);
      const { summary } = await executePrepared(p.notebook, p.spec, input, { ...runOptions, output: p.output, ...(reporter ? { reporter } : {}) }, []);
      summaries[i] = summary;
      run.status = summary.status;
      run.durationSec = summary.durationSec;
      if (summary.failure) run.failure = summary.failure.message.split('\n')[0]!;
      writeIndex();
      o.reporter?.runEnd?.(run, sets.length, summary);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sets.length) }, worker));
  index.finished = new Date().toISOString();
  writeIndex();
  return { index, summaries: summaries.filter(Boolean), indexFile, htmlFile };
}
