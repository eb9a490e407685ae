/**
 * Sweeps whose rows run as batch jobs (Slurm today; see ./executors/executor.ts). Everything lives in the sweep folder
 * and in the scheduler, never in the submitting process:
 *
 *   DIR/index.json, index.html   every row's state, as last read (rewritten by --status / --wait / --cancel)
 *   DIR/sweep.sbatch             the batch script: one array task per row, readable and resubmittable by hand
 *   DIR/runs/<row>/              the row's parameters.json, its output (notebook or training run) and its task logs
 *
 * A row's state is read from the scheduler (pending, running, completed, failed, cancelled, timed out) and from the
 * row's own output: the run notebook's metadata (saved atomically after every cell, so a task killed at any point
 * leaves a valid notebook) or the training run's metrics, which name the failing cell or epoch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/errors';
import { checkDirCreatable, ensureDir, processAlive, writeFileAtomic } from '../util/files';
import { spawn, type ChildProcess } from 'node:child_process';
import { escapeHtml } from '../util/html';
import type { BatchExecutor, EngineRowState, SubmittedJob } from './executors/executor';
import { slurmExecutor, type SlurmOptions } from './executors/slurm';
import type { ParameterValue, Parameters } from './parameters';
import { prepareNotebook } from './runner';
import { expandGrid, readSweepIndex, SweepFolderError, type ParameterGrid } from './sweep';

/** A row's state. */
export type BatchRowStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed out';
export const BATCH_ROW_STATUSES: readonly BatchRowStatus[] = ['completed', 'failed', 'timed out', 'cancelled', 'running', 'pending'];
const FINAL: ReadonlySet<BatchRowStatus> = new Set(['completed', 'failed', 'timed out', 'cancelled']);

export interface BatchSweepRow {
  /** 0-based position in the grid. */
  index: number;
  /** 1-based row number: the folder runs/<row> and the scheduler's array task id. */
  row: number;
  parameters: Parameters;
  /** The row's output, relative to the sweep folder: its notebook, or its training run folder. */
  notebook: string;
  status: BatchRowStatus;
  /** The scheduler's job the state is of, its own state name and reason. */
  jobId?: string;
  engineState?: string;
  reason?: string;
  /** Seconds the run took, from its output. */
  durationSec?: number;
  /** The failing cell (1-based) of a notebook row, or the cell a stopped row was in. */
  cell?: number;
  /** What ended a row that did not complete. */
  failure?: string;
  /** Attempts the row's current job made (more than 1 when --retries requeued it). */
  attempts?: number;
  /** A training row's last test error and epochs done. */
  testError?: number;
  epochs?: string;
}

/** index.json of a batch sweep. */
export interface BatchSweepIndex {
  kind: 'notebook' | 'train';
  /** The notebook (absolute), or `mixprec train` for a training grid. */
  notebook: string;
  kernel: string;
  executor: string;
  executorOptions: object;
  /** What every row runs (mixprec's arguments, `{RUN}` for the row folder). */
  command: string[];
  retries: number;
  started: string;
  finished: string | null;
  /** The batch script, relative to the folder. */
  script: string;
  jobs: SubmittedJob[];
  /** When the index was last read from the scheduler. */
  checked: string;
  /** A local sweep's process (a sweep whose process still runs is not replaced or resumed). */
  pid?: number;
  runs: BatchSweepRow[];
}

export interface BatchSweepOptions {
  out: string;
  grid: ParameterGrid;
  /** Parameters every row gets (the grid's values win). */
  fixed?: Parameters;
  executor: 'slurm';
  slurm?: SlurmOptions;
  /** Times a failed task is requeued (default 0). */
  retries?: number;
  /** Replace a sweep already in `out`. */
  overwrite?: boolean;
  /** Told what the checks found but did not refuse (a parameter the notebook does not define). */
  warn?: (message: string) => void;
}

/** A notebook row's settings (`mixprec run`'s flags). */
export interface NotebookRowOptions {
  kernel?: string;
  cwd?: string;
  timeoutSec?: number;
  startupTimeoutSec?: number;
}

const RUN = '{RUN}';
/** Stands for a training row's own flags in the script (a word shellQuote leaves as it is). */
const ROW_ARGS = '__MIXPREC_ROW_ARGS__';
const INDEX_FILE = 'index.json';
const HTML_FILE = 'index.html';
const SCRIPT_FILE = 'sweep.sbatch';
const ROW_WIDTH = 3;

/** The mixprec entry point a task runs (the same install as this process: clusters share the filesystem). */
function mixprecEntry(): string[] {
  return [process.execPath, path.resolve(__dirname, '..', '..', 'bin', 'mixprec.js')];
}

const rowName = (row: number, width: number) => String(row).padStart(width, '0');

function executorFor(name: string, options: object): BatchExecutor {
  if (name === 'slurm') return slurmExecutor(options as SlurmOptions);
  throw new UsageError(`unknown --executor ${JSON.stringify(name)}; expected local or slurm`);
}

/** Checks the folder: nothing there, or a sweep to replace with `overwrite`. Returns the earlier index, if any. */
function checkFolder(out: string, overwrite: boolean): void {
  checkDirCreatable(out);
  let earlier: { notebook: string; runs: unknown[] } | null;
  try {
    earlier = readSweepIndex(out);
  } catch (err) {
    if (!(overwrite && err instanceof SweepFolderError)) throw err;
    earlier = null;
  }
  if (earlier !== null && !overwrite) {
    throw new SweepFolderError(
      out,
      `${out} already holds a sweep of ${earlier.notebook} (${earlier.runs.length} runs): see it with --status ${out}, ` +
        `rerun the rows that did not complete with --resume ${out}, replace it with --overwrite, or write to another --out folder`,
    );
  }
  if (earlier !== null) {
    const old = readBatchIndexOrNull(out);
    if (old?.executor === 'local') {
      if (old.finished === null && old.pid !== undefined && old.pid !== process.pid && processAlive(old.pid))
        throw new SweepFolderError(out, `${out} holds a sweep that is still running (process ${old.pid}); wait for it or stop it first`);
    } else if (old) {
      const engine = executorFor(old.executor, old.executorOptions);
      const live = [...engine.states(old.jobs).values()].filter((s) => s.state === 'pending' || s.state === 'running');
      if (live.length > 0)
        throw new SweepFolderError(
          out,
          `${out} holds a sweep with ${live.length} row(s) still pending or running; cancel it first (--cancel ${out})`,
        );
    }
    for (const f of [INDEX_FILE, HTML_FILE, SCRIPT_FILE]) fs.rmSync(path.join(out, f), { force: true });
    fs.rmSync(path.join(out, 'runs'), { recursive: true, force: true });
  }
}

/** A notebook sweep's row command: `mixprec run` of the notebook into the row folder, with the row's parameters. */
export function notebookRowCommand(input: string, o: NotebookRowOptions): string[] {
  const stem = path.basename(input).replace(/\.ipynb$/, '');
  return [
    'run',
    path.resolve(input),
    `${RUN}/${stem}.ipynb`,
    '--parameters-file',
    `${RUN}/parameters.json`,
    '--no-progress',
    ...(o.kernel ? ['--kernel', o.kernel] : []),
    '--cwd',
    path.resolve(o.cwd ?? path.dirname(input)),
    ...(o.timeoutSec !== undefined ? ['--timeout', String(o.timeoutSec)] : []),
    ...(o.startupTimeoutSec !== undefined ? ['--startup-timeout', String(o.startupTimeoutSec)] : []),
  ];
}

/** Checks a training grid row (`mixprec train`'s flags and their values) and returns its `mixprec train` arguments. */
export type TrainRowCheck = (parameters: Parameters, runDir: string, row: number) => string[];

/**
 * Submits a notebook sweep: every row's parameters are checked against the notebook first (nothing is written for
 * bad input), then the row folders, the batch script and the index are written and the array is submitted.
 */
export function submitNotebookSweep(input: string, o: BatchSweepOptions & NotebookRowOptions): BatchSweepIndex {
  const sets = expandGrid(o.grid, o.fixed);
  const stem = path.basename(input).replace(/\.ipynb$/, '');
  let kernel = '';
  const warnings = new Set<string>();
  for (const parameters of sets) {
    // The same checks `mixprec run` makes on the node: the notebook, its kernel, the parameters.
    const prepared = prepareNotebook(input, { parameters, ...(o.kernel ? { kernel: o.kernel } : {}) });
    kernel = prepared.spec.name;
    for (const w of prepared.warnings) warnings.add(w);
  }
  for (const w of warnings) o.warn?.(w);
  const width = Math.max(ROW_WIDTH, String(sets.length).length);
  return submitRows(o, {
    kind: 'notebook',
    title: path.resolve(input),
    kernel,
    sets,
    width,
    command: notebookRowCommand(input, o),
    output: (row) => `runs/${rowName(row, width)}/${stem}.ipynb`,
  });
}

/** Submits a training grid: each row is `mixprec train` with the row's flags into runs/<row>. */
export function submitTrainSweep(check: TrainRowCheck, o: BatchSweepOptions): BatchSweepIndex {
  const sets = expandGrid(o.grid, o.fixed);
  const width = Math.max(ROW_WIDTH, String(sets.length).length);
  const commands = sets.map((p, i) => check(p, path.join(o.out, 'runs', rowName(i + 1, width)), i + 1));
  return submitRows(o, {
    kind: 'train',
    title: 'mixprec train',
    kernel: '',
    sets,
    width,
    // Each row's flags are in runs/<row>/args, which the script reads into an array.
    command: ['train'],
    output: (row) => `runs/${rowName(row, width)}`,
    perRowArgs: commands,
  });
}

interface RowsPlan {
  kind: 'notebook' | 'train';
  title: string;
  kernel: string;
  sets: Parameters[];
  width: number;
  command: string[];
  output: (row: number) => string;
  /** Training rows: the row's own arguments, written to runs/<row>/args.json and expanded by the script. */
  perRowArgs?: string[][];
}

function writeIndex(dir: string, index: BatchSweepIndex): void {
  writeFileAtomic(path.join(dir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  writeFileAtomic(path.join(dir, HTML_FILE), batchSweepHtml(index));
}

function scriptText(engine: BatchExecutor, index: BatchSweepIndex, dir: string, rows: readonly number[], width: number): string {
  const runsDir = path.resolve(dir, 'runs');
  const train = index.kind === 'train';
  return engine
    .script({
      title: `mixprec sweep of ${index.notebook}: ${index.runs.length} rows, outputs in ${runsDir}/<row>`,
      jobName: train ? 'mixprec-train' : `mixprec-${path.basename(index.notebook).replace(/\.ipynb$/, '')}`,
      rows,
      runsDir,
      rowWidth: width,
      logPattern: `${runsDir}/{task}/slurm-{job}_%a.out`,
      command: [...mixprecEntry(), ...index.command, ...(train ? [ROW_ARGS] : [])],
      rowPlaceholder: RUN,
      before: train
        ? // A training row's flags, one per line in args (written at submit), as an array; an interrupted run resumes.
          [
            'mapfile -t ROW_ARGS < "$RUN/args"',
            'if [ -f "$RUN/checkpoint.safetensors" ]; then ROW_ARGS+=(--resume); elif [ -f "$RUN/config.json" ]; then ROW_ARGS+=(--overwrite); fi',
          ]
        : [],
      beforeRetry: train ? [] : [`cp "$RUN/${path.basename(index.runs[0]!.notebook)}" "$RUN/attempt-$ATTEMPT.ipynb" 2>/dev/null || true`],
      retries: index.retries,
    })
    .replace(ROW_ARGS, '"${ROW_ARGS[@]}"');
}

function submitRows(o: BatchSweepOptions, plan: RowsPlan): BatchSweepIndex {
  const retries = o.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`--retries must be a whole number, got ${retries}`);
  const engine = executorFor(o.executor, o.slurm ?? {});
  checkFolder(o.out, o.overwrite === true);
  const now = new Date().toISOString();
  const index: BatchSweepIndex = {
    kind: plan.kind,
    notebook: plan.title,
    kernel: plan.kernel,
    executor: engine.name,
    executorOptions: engine.options,
    command: plan.command,
    retries,
    started: now,
    finished: null,
    script: SCRIPT_FILE,
    jobs: [],
    checked: now,
    runs: plan.sets.map((parameters, i) => ({ index: i, row: i + 1, parameters, notebook: plan.output(i + 1), status: 'pending' })),
  };
  ensureDir(o.out);
  for (const run of index.runs) {
    const rowDir = path.join(o.out, 'runs', rowName(run.row, plan.width));
    ensureDir(rowDir);
    writeFileAtomic(path.join(rowDir, 'parameters.json'), `${JSON.stringify(run.parameters, null, 2)}\n`);
    const args = plan.perRowArgs?.[run.index];
    if (args) writeFileAtomic(path.join(rowDir, 'args'), args.map((a) => `${a}\n`).join(''));
  }
  const rows = index.runs.map((r) => r.row);
  writeFileAtomic(path.join(o.out, SCRIPT_FILE), scriptText(engine, index, o.out, rows, plan.width));
  writeIndex(o.out, index); // before submitting: a submission the index does not name would be lost
  index.jobs.push(engine.submit(path.resolve(o.out, SCRIPT_FILE), rows));
  for (const run of index.runs) run.jobId = index.jobs[0]!.id;
  writeIndex(o.out, index);
  return index;
}

/** The batch sweep in `dir`; an error naming the folder when there is none or it ran here (a local sweep). */
export function readBatchIndex(dir: string): BatchSweepIndex {
  const index = readBatchIndexOrNull(dir);
  if (index === null) {
    if (readSweepIndex(dir) !== null)
      throw new SweepFolderError(dir, `${dir} holds a local sweep; --status, --wait and --cancel are for sweeps run with --executor slurm`);
    throw new SweepFolderError(dir, `${dir} holds no sweep (no ${INDEX_FILE})`);
  }
  return index;
}

function readBatchIndexOrNull(dir: string): BatchSweepIndex | null {
  const base = readSweepIndex(dir);
  if (base === null) return null;
  const index = base as unknown as Partial<BatchSweepIndex>;
  if (typeof index.executor !== 'string' || !Array.isArray(index.jobs)) return null;
  return index as BatchSweepIndex;
}

/** What a row's output says of it. */
interface RowOutcome {
  finished: boolean;
  failed: boolean;
  failure?: string;
  cell?: number;
  durationSec?: number;
  testError?: number;
  epochs?: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

interface SavedNotebook {
  metadata?: { papermill?: { end_time?: string | null; duration?: number | null; failure?: { cell?: number | null; message?: string } | null } };
  cells?: { metadata?: { papermill?: { status?: string } } }[];
}

function notebookOutcome(file: string): RowOutcome | null {
  const nb = readJson(file) as SavedNotebook | undefined;
  if (nb === undefined) return null;
  const pm = nb.metadata?.papermill ?? {};
  const running = (nb.cells ?? []).findIndex((c) => c.metadata?.papermill?.status === 'running');
  const f = pm.failure;
  return {
    finished: typeof pm.end_time === 'string',
    failed: f !== null && f !== undefined,
    ...(f?.message ? { failure: f.message } : {}),
    ...(typeof f?.cell === 'number' ? { cell: f.cell } : running >= 0 ? { cell: running + 1 } : {}),
    ...(typeof pm.duration === 'number' ? { durationSec: pm.duration } : {}),
  };
}

function trainOutcome(dir: string): RowOutcome | null {
  const config = readJson(path.join(dir, 'config.json')) as { config?: { epochs?: number }; epochs?: number } | undefined;
  if (config === undefined) return null;
  const epochs = config.config?.epochs ?? config.epochs;
  let lines: { epoch?: number; testError?: number; seconds?: number }[] = [];
  try {
    lines = fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { epoch?: number; testError?: number; seconds?: number });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const last = lines.at(-1);
  const done = last?.epoch ?? 0;
  const seconds = lines.reduce((sum, m) => sum + (m.seconds ?? 0), 0);
  return {
    finished: epochs !== undefined && done >= epochs,
    failed: false,
    epochs: `${done}/${epochs ?? '?'}`,
    ...(lines.length > 0 ? { durationSec: seconds } : {}),
    ...(typeof last?.testError === 'number' ? { testError: last.testError } : {}),
  };
}

/** The last `mixprec <command>: …` line of a task's logs in the row folder: what the row's command said as it failed. */
function logFailure(rowDir: string, jobId: string | undefined): string | undefined {
  let files: string[];
  try {
    files = fs.readdirSync(rowDir).filter((f) => f.startsWith('slurm-') && (jobId === undefined || f.startsWith(`slurm-${jobId}_`)));
  } catch {
    return undefined;
  }
  for (const f of files.sort().reverse()) {
    const lines = fs.readFileSync(path.join(rowDir, f), 'utf8').split('\n');
    const said = lines.filter((l) => /^mixprec (run|train): /.test(l)).at(-1);
    if (said) return said.replace(/^mixprec (run|train): /, '');
  }
  return undefined;
}

/** How many attempts the task logs of `jobId` in the row folder record (the script logs each one). */
function attemptsLogged(rowDir: string, jobId: string | undefined): number | undefined {
  if (jobId === undefined) return undefined;
  let text: string;
  try {
    text = fs
      .readdirSync(rowDir)
      .filter((f) => f.startsWith(`slurm-${jobId}_`))
      .map((f) => fs.readFileSync(path.join(rowDir, f), 'utf8'))
      .join('\n');
  } catch {
    return undefined;
  }
  const attempts = [...text.matchAll(/^mixprec sweep: row \d+, attempt (\d+),/gm)].map((m) => Number(m[1]));
  return attempts.length > 0 ? Math.max(...attempts) : undefined;
}

/** A row's state from the scheduler's and the output's. */
function resolveRow(run: BatchSweepRow, engine: EngineRowState | undefined, outcome: RowOutcome | null, rowDir: string, timeLimit?: string): void {
  for (const k of ['failure', 'cell', 'durationSec', 'testError', 'epochs', 'reason', 'engineState', 'attempts'] as const) delete run[k];
  const attempts = attemptsLogged(rowDir, engine?.jobId ?? run.jobId);
  if (attempts !== undefined) run.attempts = attempts;
  if (outcome?.durationSec !== undefined) run.durationSec = outcome.durationSec;
  if (outcome?.cell !== undefined) run.cell = outcome.cell;
  if (outcome?.testError !== undefined) run.testError = outcome.testError;
  if (outcome?.epochs !== undefined) run.epochs = outcome.epochs;
  const where = outcome?.cell !== undefined ? ` during cell ${outcome.cell}` : '';
  const said = () => outcome?.failure ?? logFailure(rowDir, engine?.jobId ?? run.jobId);
  if (engine === undefined) {
    // The scheduler no longer knows the job (and keeps no accounting): the output is all there is.
    if (FINAL.has(run.status) && run.status !== 'failed') return;
    if (outcome?.finished) {
      run.status = outcome.failed ? 'failed' : 'completed';
      if (outcome.failed) run.failure = said() ?? 'failed';
    } else {
      run.status = 'failed';
      run.failure = `${outcome ? `the task stopped${where}` : 'the task left no output'}, and ${run.jobId ? `job ${run.jobId} is no longer known to the scheduler` : 'it was never submitted'}`;
    }
    return;
  }
  run.jobId = engine.jobId;
  if (engine.slurmState) run.engineState = engine.slurmState;
  if (engine.reason) run.reason = engine.reason;
  switch (engine.state) {
    case 'pending':
    case 'running':
      run.status = engine.state;
      return;
    case 'completed':
      if (outcome?.finished && !outcome.failed) {
        run.status = 'completed';
      } else {
        run.status = 'failed';
        run.failure = said() ?? (outcome ? `the task ended but its output is unfinished${where}` : 'the task ended without output');
      }
      return;
    case 'failed':
      run.status = 'failed';
      run.failure = said() ?? `${engine.slurmState ?? 'FAILED'}${engine.reason ? ` (${engine.reason})` : ''}`;
      return;
    case 'cancelled':
      run.status = 'cancelled';
      run.failure = `cancelled${where}`;
      return;
    case 'timed out':
      run.status = 'timed out';
      run.failure = `hit its time limit${timeLimit ? ` (--time ${timeLimit})` : ''}${where}`;
      return;
  }
}

/** Reads every row's state from the scheduler and the row outputs, and rewrites the index (and its page). */
export function refreshBatchSweep(dir: string): BatchSweepIndex {
  const index = readBatchIndex(dir);
  if (index.executor === 'local') {
    // Its own process keeps it current; one that died leaves its unfinished rows to be named.
    if (index.finished !== null || index.pid === undefined || processAlive(index.pid)) return index;
    for (const run of index.runs.filter((r) => r.status === 'running' || r.status === 'pending')) {
      run.status = 'failed';
      run.failure = `the sweep's process ${index.pid} stopped before this row ended`;
    }
    index.finished = new Date().toISOString();
    writeIndex(dir, index);
    return index;
  }
  const engine = executorFor(index.executor, index.executorOptions);
  const states = engine.states(index.jobs);
  const width = Math.max(ROW_WIDTH, String(index.runs.length).length);
  for (const run of index.runs) {
    const rowDir = path.join(dir, 'runs', rowName(run.row, width));
    const output = path.join(dir, run.notebook);
    const outcome = index.kind === 'notebook' ? notebookOutcome(output) : trainOutcome(output);
    resolveRow(run, states.get(run.row), outcome, rowDir, (index.executorOptions as SlurmOptions).time);
  }
  index.checked = new Date().toISOString();
  const done = index.runs.every((r) => FINAL.has(r.status));
  index.finished = done ? (index.finished ?? index.checked) : null;
  writeIndex(dir, index);
  return index;
}

/** `6 rows: 4 completed, 1 failed, 1 running` */
export function describeBatchRows(runs: readonly BatchSweepRow[]): string {
  const counts = BATCH_ROW_STATUSES.map((s) => [s, runs.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${runs.length} row${runs.length === 1 ? '' : 's'}: ${counts.join(', ')}`;
}

/** Whether every row has ended (completed, failed, cancelled or timed out). */
export function batchSweepEnded(index: BatchSweepIndex): boolean {
  return index.runs.every((r) => FINAL.has(r.status));
}

export interface WaitOptions {
  /** Seconds between reads of the scheduler (default 5). */
  pollSec?: number;
  signal?: AbortSignal;
  onUpdate?: (index: BatchSweepIndex) => void;
}

/** Follows the sweep until every row has ended (or the signal aborts); resolves with the last index read. */
export async function waitBatchSweep(dir: string, o: WaitOptions = {}): Promise<BatchSweepIndex> {
  const pollMs = (o.pollSec ?? 5) * 1000;
  for (;;) {
    const index = refreshBatchSweep(dir);
    o.onUpdate?.(index);
    if (batchSweepEnded(index) || o.signal?.aborted) return index;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, pollMs);
      o.signal?.addEventListener('abort', wake);
    });
  }
}

/**
 * Cancels the sweep's jobs that still have rows pending or running, then reads the states back; `cancelled` lists the
 * job ids (empty when every row had ended).
 */
export function cancelBatchSweep(dir: string): { index: BatchSweepIndex; cancelled: string[] } {
  const before = readBatchIndex(dir);
  if (before.executor === 'local')
    throw new UsageError(`${dir} is a local sweep: stop it with Ctrl-C in its terminal (process ${before.pid ?? '?'})`);
  const index = refreshBatchSweep(dir);
  const live = new Set(index.runs.filter((r) => r.status === 'pending' || r.status === 'running').map((r) => r.jobId));
  const jobs = index.jobs.filter((j) => live.has(j.id));
  executorFor(index.executor, index.executorOptions).cancel(jobs);
  return { index: refreshBatchSweep(dir), cancelled: jobs.map((j) => j.id) };
}

export interface ResumeOptions {
  /** New retry count (default: the sweep's). */
  retries?: number;
}

/**
 * Resubmits the rows that did not complete (failed, cancelled, timed out), as one new array of those rows. A
 * notebook sweep's notebook is checked again first (it may have been fixed since). Refused while rows still run.
 */
export function resumeBatchSweep(dir: string, o: ResumeOptions = {}): { index: BatchSweepIndex; rows: number[] } {
  const index = refreshBatchSweep(dir);
  if (index.executor === 'local')
    throw new UsageError(`${dir} is a local training sweep: resume it with mixprec sweep --train --grid GRID --out ${dir} --resume`);
  const live = index.runs.filter((r) => r.status === 'pending' || r.status === 'running');
  if (live.length > 0) {
    throw new SweepFolderError(
      dir,
      `${dir}: ${live.length} row(s) are still pending or running (rows ${live.map((r) => r.row).join(', ')}); ` +
        `wait for them (mixprec sweep ${dir} --wait) or cancel them (--cancel ${dir}) before resuming`,
    );
  }
  const rows = index.runs.filter((r) => r.status !== 'completed').map((r) => r.row);
  if (rows.length === 0) return { index, rows };
  if (index.kind === 'notebook') {
    for (const r of index.runs.filter((x) => rows.includes(x.row))) {
      prepareNotebook(index.notebook, { parameters: r.parameters, ...(index.kernel ? { kernel: index.kernel } : {}) });
    }
  }
  if (o.retries !== undefined) {
    if (!Number.isInteger(o.retries) || o.retries < 0) throw new UsageError(`--retries must be a whole number, got ${o.retries}`);
    index.retries = o.retries;
  }
  const engine = executorFor(index.executor, index.executorOptions);
  const width = Math.max(ROW_WIDTH, String(index.runs.length).length);
  writeFileAtomic(
    path.join(dir, SCRIPT_FILE),
    scriptText(
      engine,
      index,
      dir,
      index.runs.map((r) => r.row),
      width,
    ),
  );
  const job = engine.submit(path.resolve(dir, SCRIPT_FILE), rows);
  index.jobs.push(job);
  for (const r of index.runs) {
    if (!rows.includes(r.row)) continue;
    r.status = 'pending';
    r.jobId = job.id;
    for (const k of ['failure', 'cell', 'reason', 'engineState'] as const) delete r[k];
  }
  index.finished = null;
  writeIndex(dir, index);
  return { index, rows };
}

/** The index page: a row per grid row, its parameters as columns, its state, job and output. */
export function batchSweepHtml(index: BatchSweepIndex): string {
  const names = [...new Set(index.runs.flatMap((r) => Object.keys(r.parameters)))];
  const cell = (v: ParameterValue | undefined) => escapeHtml(v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const train = index.kind === 'train';
  const rows = index.runs.map(
    (r) =>
      `<tr class="${r.status.replace(' ', '-')}"><td>${r.row}</td>${names.map((n) => `<td>${cell(r.parameters[n])}</td>`).join('')}` +
      `<td>${r.status}${r.reason && !FINAL.has(r.status) ? ` (${escapeHtml(r.reason)})` : ''}</td><td>${r.attempts ?? ''}</td>` +
      (train ? `<td>${escapeHtml(r.epochs ?? '')}</td><td>${r.testError !== undefined ? (100 * r.testError).toFixed(2) : ''}</td>` : '') +
      `<td>${r.durationSec !== undefined ? r.durationSec.toFixed(1) : ''}</td><td>${escapeHtml(r.jobId ? `${r.jobId}_${r.row}` : '')}</td>` +
      `<td><a href="${escapeHtml(encodeURI(r.notebook))}">${escapeHtml(r.notebook)}</a></td><td>${escapeHtml(r.failure ?? '')}</td></tr>`,
  );
  const counts = describeBatchRows(index.runs);
  const engine =
    index.executor === 'local'
      ? `Run here, ${(index.executorOptions as { parallel?: number }).parallel ?? 1} at once`
      : `${index.executor} job${index.jobs.length === 1 ? '' : 's'} ${index.jobs.map((j) => j.id).join(', ')}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sweep of ${escapeHtml(index.notebook)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}
tr.failed td,tr.timed-out td{background:#fde2e2}tr.cancelled td{background:#eee}tr.running td{background:#fff6d5}tr.pending td{color:#888}
</style></head><body>
<h1>Sweep of ${escapeHtml(index.notebook)}</h1>
<p>${escapeHtml(engine)}; started ${escapeHtml(index.started)}${index.finished ? `, ended ${escapeHtml(index.finished)}` : ''}; read ${escapeHtml(index.checked)}. ${escapeHtml(counts)}.</p>
<table><thead><tr><th>row</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}<th>status</th><th>attempts</th>${train ? '<th>epochs done</th><th>test error %</th>' : ''}<th>seconds</th><th>job</th><th>output</th><th>failure</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
}

export interface LocalTrainSweepOptions {
  out: string;
  grid: ParameterGrid;
  fixed?: Parameters;
  /** Training processes at once (default 1). */
  parallel?: number;
  /** Continue the sweep in `out`: rerun its rows that did not complete (an interrupted row resumes from its checkpoint). */
  resume?: boolean;
  overwrite?: boolean;
  /** Aborting sends each running training process SIGINT: it stops at the next step and checkpoints. */
  signal?: AbortSignal;
  onRowStart?: (row: BatchSweepRow, total: number) => void;
  onRowEnd?: (row: BatchSweepRow, total: number) => void;
}

/**
 * A training grid on this machine: each row is a `mixprec train` process (tfjs backends are per process), `parallel`
 * at once, its output in runs/<row>/ with its terminal output in runs/<row>/train.log. Same folder and index as a
 * Slurm training grid.
 */
export async function runTrainSweepLocally(check: TrainRowCheck, o: LocalTrainSweepOptions): Promise<BatchSweepIndex> {
  const parallel = o.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel must be a positive integer, got ${parallel}`);
  const sets = expandGrid(o.grid, o.fixed);
  const width = Math.max(ROW_WIDTH, String(sets.length).length);
  const rowDir = (row: number) => path.join(o.out, 'runs', rowName(row, width));
  const args = sets.map((p, i) => check(p, rowDir(i + 1), i + 1));
  let earlier: BatchSweepIndex | null = null;
  if (o.resume) {
    earlier = readBatchIndexOrNull(o.out);
    if (earlier !== null) {
      if (earlier.executor !== 'local' || earlier.kind !== 'train')
        throw new SweepFolderError(o.out, `${o.out} holds a ${earlier.executor} ${earlier.kind} sweep, not a local training grid`);
      if (earlier.finished === null && earlier.pid !== undefined && earlier.pid !== process.pid && processAlive(earlier.pid))
        throw new SweepFolderError(o.out, `${o.out} holds a sweep that is still running (process ${earlier.pid})`);
      const same = JSON.stringify(earlier.runs.map((r) => r.parameters)) === JSON.stringify(sets);
      if (!same)
        throw new SweepFolderError(o.out, `cannot resume the sweep in ${o.out}: its grid differs from this one; use --overwrite or another --out`);
    } else {
      checkFolder(o.out, false);
    }
  } else {
    checkFolder(o.out, o.overwrite === true);
  }
  const now = new Date().toISOString();
  const index: BatchSweepIndex = earlier ?? {
    kind: 'train',
    notebook: 'mixprec train',
    kernel: '',
    executor: 'local',
    executorOptions: { parallel },
    command: ['train'],
    retries: 0,
    started: now,
    finished: null,
    script: '',
    jobs: [],
    checked: now,
    runs: sets.map((parameters, i) => ({ index: i, row: i + 1, parameters, notebook: `runs/${rowName(i + 1, width)}`, status: 'pending' })),
  };
  index.pid = process.pid;
  index.finished = null;
  index.executorOptions = { parallel };
  const save = () => {
    index.checked = new Date().toISOString();
    writeIndex(o.out, index);
  };
  for (const run of index.runs) {
    ensureDir(rowDir(run.row));
    writeFileAtomic(path.join(rowDir(run.row), 'parameters.json'), `${JSON.stringify(run.parameters, null, 2)}\n`);
    if (run.status !== 'completed') run.status = 'pending';
  }
  save();
  const todo = index.runs.filter((r) => r.status !== 'completed');
  const running = new Set<ChildProcess>();
  const onAbort = () => {
    for (const child of running) child.kill('SIGINT');
  };
  o.signal?.addEventListener('abort', onAbort);
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !o.signal?.aborted) {
      const run = todo[next++]!;
      const dir = rowDir(run.row);
      const rowArgs = [...args[run.index]!];
      // An interrupted row continues from its checkpoint; a run folder without one starts over.
      if (fs.existsSync(path.join(dir, 'checkpoint.safetensors'))) rowArgs.push('--resume');
      else if (fs.existsSync(path.join(dir, 'config.json'))) rowArgs.push('--overwrite');
      run.status = 'running';
      save();
      o.onRowStart?.(run, index.runs.length);
      const log = fs.openSync(path.join(dir, 'train.log'), 'a');
      const [node, entry] = mixprecEntry();
      const child = spawn(node!, [entry!, 'train', ...rowArgs], { stdio: ['ignore', log, log] });
      running.add(child);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      running.delete(child);
      fs.closeSync(log);
      const outcome = trainOutcome(dir);
      for (const k of ['failure', 'durationSec', 'testError', 'epochs'] as const) delete run[k];
      if (outcome?.durationSec !== undefined) run.durationSec = outcome.durationSec;
      if (outcome?.testError !== undefined) run.testError = outcome.testError;
      if (outcome?.epochs !== undefined) run.epochs = outcome.epochs;
      const said = fs
        .readFileSync(path.join(dir, 'train.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('mixprec train: '))
        .at(-1)
        ?.replace('mixprec train: ', '');
      if (code === 0 && outcome?.finished) run.status = 'completed';
      else if (o.signal?.aborted) {
        run.status = 'cancelled';
        run.failure = `stopped${outcome?.epochs ? ` after epoch ${outcome.epochs}` : ''}; --resume continues from its checkpoint`;
      } else {
        run.status = 'failed';
        run.failure = said ?? `mixprec train exited with ${code}`;
      }
      save();
      o.onRowEnd?.(run, index.runs.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  for (const run of index.runs) {
    if (run.status === 'pending') {
      run.status = 'cancelled';
      run.failure = 'not started: the sweep was stopped';
    }
  }
  index.finished = new Date().toISOString();
  save();
  return index;
}
