/**
 * Parameter sweeps: one notebook run per parameter set of a grid, N kernels at once, and an index of the runs (JSON
 * and a small HTML page) rewritten whenever a run starts or ends, so a sweep that is stopped still says what finished.
 * A folder that holds a sweep is not run into again unless asked: `resume` reruns the runs that did not complete (the
 * grid must be the same), `overwrite` removes the sweep's files and starts over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../util/errors';
import { checkDirCreatable, ensureDir, processAlive, writeFileAtomic } from '../util/files';
import { escapeHtml } from '../util/html';
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
      if (typeof run !== 'object' || run === null || Array.isArray(run))
        throw new ParameterError(`grid file ${file}: run ${i + 1} is not a mapping of parameter names to values`);
      return toParameters(`grid file ${file}`, run as Record<string, unknown>);
    });
  }
  if (typeof data !== 'object' || data === null)
    throw new ParameterError(`grid file ${file}: expected a mapping of parameter names to lists of values, or a list of runs`);
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
  /** The process writing the index (a resume refuses a sweep whose writer still runs). */
  pid?: number;
  /** When the sweep was resumed, in order. */
  resumed?: string[];
  runs: SweepRun[];
}

/** A sweep folder that this sweep may not run into: it holds another sweep (or a different grid), or is in use. */
export class SweepFolderError extends Error {
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(message);
    this.name = 'SweepFolderError';
  }
}

export interface SweepReporter {
  /** A resumed sweep: `completed` of `total` runs completed before and are not run again. */
  resume?(completed: number, total: number): void;
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
  /**
   * Continue the sweep in `out`: rerun only its runs that did not complete; its grid (with `fixed`) must be this one.
   * Without a sweep in `out` every run runs. Without `resume` or `overwrite` a sweep in `out` is an error.
   */
  resume?: boolean;
  /** Replace the sweep in `out`: its index and run notebooks are removed first (nothing else in the folder is). */
  overwrite?: boolean;
}

export interface SweepResult {
  index: SweepIndex;
  summaries: RunSummary[];
  indexFile: string;
  htmlFile: string;
  /** Whether an earlier sweep in the folder was resumed. */
  resumed: boolean;
  /** Runs that completed before this resume (0 without one). */
  completedBefore: number;
}

const INDEX_FILE = 'index.json';
const HTML_FILE = 'index.html';

/** The index of the sweep in `dir`, or null when there is none; a file that is not one is an error naming it. */
export function readSweepIndex(dir: string): SweepIndex | null {
  const file = path.join(dir, INDEX_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SweepFolderError(
      dir,
      `${file} is not a sweep index (not valid JSON: ${(err as Error).message}); replace it with --overwrite or write to another --out folder`,
    );
  }
  const d = data as Partial<SweepIndex> | null;
  const runOk = (r: unknown) => {
    const x = r as Partial<SweepRun> | null;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.notebook === 'string' &&
      typeof x.status === 'string' &&
      typeof x.parameters === 'object' &&
      x.parameters !== null &&
      !Array.isArray(x.parameters)
    );
  };
  if (typeof d !== 'object' || d === null || typeof d.notebook !== 'string' || !Array.isArray(d.runs) || !d.runs.every(runOk)) {
    throw new SweepFolderError(
      dir,
      `${file} is not a sweep index (expected "notebook" and "runs"); replace it with --overwrite or write to another --out folder`,
    );
  }
  return d as SweepIndex;
}

/** `3 runs: 2 completed, 1 failed` */
function describeRuns(runs: readonly SweepRun[]): string {
  const counts = (['completed', 'failed', 'running', 'pending'] as const)
    .map((s) => [s, runs.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${runs.length} run${runs.length === 1 ? '' : 's'}${counts.length ? `: ${counts.join(', ')}` : ''}`;
}

/** JSON with sorted keys, for comparing parameter values. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The first difference between an earlier sweep's runs and this one's (`run 3: n 3 → 4`), or null when the same. */
function gridDifference(before: readonly SweepRun[], now: readonly Parameters[]): string | null {
  for (let i = 0; i < Math.min(before.length, now.length); i++) {
    const a = before[i]!.parameters;
    const b = now[i]!;
    for (const name of [...new Set([...Object.keys(b), ...Object.keys(a)])]) {
      const [x, y] = [a[name], b[name]];
      if (canonical(x) !== canonical(y)) {
        const show = (v: ParameterValue | undefined) => (v === undefined ? 'unset' : JSON.stringify(v));
        return `run ${i + 1}: ${name} ${show(x)} → ${show(y)}`;
      }
    }
  }
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  return before.length === now.length ? null : `${runs(before.length)} → ${runs(now.length)}`;
}

/** Run notebooks an index names that are plain files in its folder (never a path out of it). */
function sweepFiles(dir: string, index: SweepIndex): string[] {
  const own = index.runs.map((r) => r.notebook).filter((f) => f !== '' && path.basename(f) === f && f !== '.' && f !== '..');
  return [INDEX_FILE, HTML_FILE, ...own].map((f) => path.join(dir, f));
}

/** The index page: one row per run, its parameters as columns, status and a link to the notebook. */
export function sweepHtml(index: SweepIndex): string {
  const names = [...new Set(index.runs.flatMap((r) => Object.keys(r.parameters)))];
  const cell = (v: ParameterValue | undefined) => escapeHtml(v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const rows = index.runs.map(
    (r) =>
      `<tr class="${r.status}"><td>${r.index + 1}</td>${names.map((n) => `<td>${cell(r.parameters[n])}</td>`).join('')}` +
      `<td>${r.status}</td><td>${r.durationSec !== undefined ? r.durationSec.toFixed(1) : ''}</td>` +
      `<td><a href="${escapeHtml(encodeURI(r.notebook))}">${escapeHtml(r.notebook)}</a></td><td>${escapeHtml(r.failure ?? '')}</td></tr>`,
  );
  const counts = (['completed', 'failed', 'running', 'pending'] as const)
    .map((s) => `${index.runs.filter((r) => r.status === s).length} ${s}`)
    .join(', ');
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
  const {
    out: _out,
    grid: _grid,
    fixed: _fixed,
    parallel: _parallel,
    reporter: _reporter,
    runReporter: _runReporter,
    resume: _resume,
    overwrite: _overwrite,
    ...runOptions
  } = o;
  const sets = expandGrid(o.grid, o.fixed);
  const parallel = o.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new ParameterError(`parallel must be a positive integer, got ${parallel}`);
  if (o.resume && o.overwrite) {
    throw new UsageError('resume and overwrite exclude each other: resume reruns the runs that did not complete, overwrite starts the sweep over');
  }
  // Everything that can refuse the folder is checked before anything in it changes.
  checkDirCreatable(o.out);
  let earlier: SweepIndex | null;
  try {
    earlier = readSweepIndex(o.out);
  } catch (err) {
    if (!(o.overwrite && err instanceof SweepFolderError)) throw err;
    earlier = null; // an index that does not parse is replaced
  }
  if (earlier !== null && (earlier as { executor?: string }).executor !== undefined) {
    const engine = (earlier as { executor?: string }).executor!;
    throw new SweepFolderError(
      o.out,
      `${o.out} holds a sweep run with --executor ${engine}: see it with mixprec sweep --status ${o.out}, resume it with ` +
        `mixprec sweep ${o.out} --resume, or replace it with --executor ${engine} --overwrite`,
    );
  }
  if (earlier !== null) {
    const writer = earlier.pid;
    if (earlier.finished === null && writer !== undefined && writer !== process.pid && processAlive(writer)) {
      throw new SweepFolderError(
        o.out,
        `${o.out} holds a sweep of ${earlier.notebook} that is still running (process ${writer}); ` +
          'wait for it or stop it, or write to another --out folder',
      );
    }
    if (!o.resume && !o.overwrite) {
      throw new SweepFolderError(
        o.out,
        `${o.out} already holds a sweep of ${earlier.notebook} (${describeRuns(earlier.runs)}): ` +
          'rerun the runs that did not complete with --resume, replace it with --overwrite, or write to another --out folder',
      );
    }
    if (o.resume) {
      const difference =
        path.basename(earlier.notebook) !== path.basename(input)
          ? `it is a sweep of ${earlier.notebook}, not ${input}`
          : gridDifference(earlier.runs, sets);
      if (difference !== null) {
        throw new SweepFolderError(
          o.out,
          `cannot resume the sweep in ${o.out}: its grid differs from this one (${difference}); ` +
            'replace it with --overwrite or write to another --out folder',
        );
      }
    }
  }
  const from = o.resume === true ? earlier : null;
  const resumed = from !== null;
  const stem = path.basename(input).replace(/\.ipynb$/, '');
  const width = String(sets.length).length;
  const prepared = sets.map((parameters, i) => {
    const file = `${stem}-${String(i + 1).padStart(Math.max(3, width), '0')}.ipynb`;
    const output = path.join(o.out, file);
    return { parameters, file, output, ...prepareNotebook(input, { parameters, output, ...(o.kernel ? { kernel: o.kernel } : {}) }) };
  });
  for (const w of new Set(prepared.flatMap((p) => p.warnings))) o.reporter?.warn?.(w);
  const now = new Date().toISOString();
  const index: SweepIndex = {
    notebook: input,
    kernel: prepared[0]!.spec.name,
    started: from?.started ?? now,
    finished: null,
    parallel,
    pid: process.pid,
    ...(from ? { resumed: [...(from.resumed ?? []), now] } : {}),
    runs: prepared.map((p, i) => {
      const before = from?.runs[i];
      // A completed run keeps its record (and its notebook); every other run runs again.
      return before?.status === 'completed'
        ? { ...before, index: i, notebook: p.file }
        : { index: i, parameters: p.parameters, notebook: p.file, status: 'pending' as const };
    }),
  };
  const todo = index.runs.filter((r) => r.status !== 'completed').map((r) => r.index);
  const completedBefore = sets.length - todo.length;
  const indexFile = path.join(o.out, INDEX_FILE);
  const htmlFile = path.join(o.out, HTML_FILE);
  const writeIndex = () => {
    writeFileAtomic(indexFile, `${JSON.stringify(index, null, 2)}\n`);
    writeFileAtomic(htmlFile, sweepHtml(index));
  };
  if (earlier !== null && o.overwrite) {
    for (const f of sweepFiles(o.out, earlier)) fs.rmSync(f, { force: true });
  }
  ensureDir(o.out);
  writeIndex();
  if (resumed) o.reporter?.resume?.(completedBefore, sets.length);
  const summaries: RunSummary[] = new Array(sets.length);
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !o.signal?.aborted) {
      const i = todo[next++]!;
      const p = prepared[i]!;
      const run = index.runs[i]!;
      run.status = 'running';
      writeIndex();
      o.reporter?.runStart?.(run, sets.length);
      const reporter = o.runReporter?.(run);
      const { summary } = await executePrepared(
        p.notebook,
        p.spec,
        input,
        { ...runOptions, output: p.output, ...(reporter ? { reporter } : {}) },
        [],
      );
      summaries[i] = summary;
      run.status = summary.status;
      run.durationSec = summary.durationSec;
      if (summary.failure) run.failure = summary.failure.message.split('\n')[0]!;
      writeIndex();
      o.reporter?.runEnd?.(run, sets.length, summary);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  index.finished = new Date().toISOString();
  writeIndex();
  return { index, summaries: summaries.filter(Boolean), indexFile, htmlFile, resumed, completedBefore };
}
