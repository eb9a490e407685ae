/**
 * Running a notebook headless, papermill-style, in Node alone: check the input (file, kernel, parameters) before
 * anything is written, inject parameters, start the kernel from its kernelspec, run the code cells in order with
 * nbclient's output semantics, and write the output notebook atomically after every cell. A cell that raises stops the
 * run (unless errors are allowed); a cell that outlives its timeout is interrupted, then the kernel is restarted if it
 * does not answer; a kernel that dies (process exit, or no heartbeat) ends the run naming the cell it was running.
 */
import * as path from 'node:path';
import type { JupyterMessage } from '../jupyter/message';
import type { ExecuteResult } from '../jupyter/client';
import { launchKernel, resolveKernelSpec, type RunningKernel } from './launch';
import type { FoundKernelSpec } from '../jupyter/kernelspec';
import { packageVersion } from '../util/package';
import { checkDirCreatable } from '../util/files';
import { cellSummary, hasTag, readNotebookFile, writeNotebookFile, type Notebook, type NotebookCell, type NotebookOutput } from './notebook';
import { OutputCollector } from './outputs';
import { parameterizeNotebook, type Parameters } from './parameters';

export interface RunOptions {
  /** Where the executed notebook is written (atomically, after every cell). Without it nothing is written. */
  output?: string;
  /** Parameters injected after the cell tagged `parameters`. */
  parameters?: Parameters;
  /** Kernel name; default: the notebook's metadata.kernelspec.name. */
  kernel?: string;
  /** The kernel's working folder; default: the notebook's folder. */
  cwd?: string;
  /** Seconds a cell may run before it is interrupted; default: no limit. */
  timeoutSec?: number;
  /** Seconds to wait for the kernel to answer after it starts; default 60. */
  startupTimeoutSec?: number;
  /** Seconds to wait after interrupting a timed-out cell before the kernel is restarted; default 10. */
  interruptGraceSec?: number;
  /** Keep going after a cell raises (the error stays in the cell's outputs). */
  allowErrors?: boolean;
  /** Seconds between saves while one cell keeps producing output; default 30. */
  autosaveSec?: number;
  /** Seconds between heartbeats while a cell runs; three missed in a row mean the kernel is dead. Default 5. */
  heartbeatSec?: number;
  /** Extra environment for the kernel. */
  env?: NodeJS.ProcessEnv;
  /** Progress and output events (the CLI draws its bar from them). */
  reporter?: RunReporter;
  /** Aborting stops the run at once: the current cell is marked failed, the notebook written, the kernel shut down. */
  signal?: AbortSignal;
}

export type CellStatus = 'completed' | 'failed' | 'skipped';

export interface CellEvent {
  /** Index in the notebook's cells. */
  index: number;
  /** 1-based position among the code cells that run, and their number. */
  ordinal: number;
  total: number;
  /** The cell's first line. */
  summary: string;
}

export interface RunReporter {
  start?(info: { input: string; output?: string; kernel: string; cells: number }): void;
  cellStart?(cell: CellEvent): void;
  /** Every output as it arrives (for --log-output). */
  output?(cell: CellEvent, output: NotebookOutput): void;
  cellEnd?(cell: CellEvent & { status: CellStatus; durationSec: number }): void;
  /** Something the user should know that does not stop the run (e.g. an undeclared parameter). */
  warn?(message: string): void;
  /** The kernel's own stderr, line by line. */
  kernelStderr?(line: string): void;
}

export type FailureKind = 'error' | 'timeout' | 'dead-kernel' | 'startup' | 'interrupted';

export interface CellFailure {
  kind: FailureKind;
  /** Index in the notebook's cells (-1 for a kernel that did not start). */
  cellIndex: number;
  executionCount: number | null;
  /** One line naming the cell and what happened. */
  message: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface RunSummary {
  status: 'completed' | 'failed';
  input: string;
  output?: string;
  kernel: string;
  language: string;
  parameters: Parameters;
  /** Code cells to run, and how many ran. */
  codeCells: number;
  executed: number;
  durationSec: number;
  /** What ended the run, when it failed. */
  failure?: CellFailure;
  /** Cells that raised but were allowed to (--allow-errors, `raises-exception` tag) or timed out and were skipped past. */
  errors: CellFailure[];
  warnings: string[];
}

export interface RunResult {
  notebook: Notebook;
  summary: RunSummary;
}

const PAPERMILL_ERROR_TAG = 'papermill-error-cell-tag';
const now = () => new Date().toISOString();
const seconds = (ms: number) => Math.round(ms) / 1000;

interface PapermillCellMeta {
  exception: boolean | null;
  start_time: string | null;
  end_time: string | null;
  duration: number | null;
  status: 'pending' | 'running' | 'completed' | 'failed';
}

const cellMeta = (cell: NotebookCell) => cell.metadata.papermill as PapermillCellMeta;
const runnable = (cell: NotebookCell) => cell.cell_type === 'code' && cell.source.trim() !== '' && !hasTag(cell, 'skip-execution');

/** The kernel for a notebook: the option, else its metadata; an error when neither names one. */
function kernelSpecFor(nb: Notebook, input: string, requested: string | undefined): FoundKernelSpec {
  const name = requested ?? nb.metadata.kernelspec?.name;
  if (!name) throw new Error(`${input}: the notebook names no kernel (metadata.kernelspec.name); pass one with --kernel`);
  return resolveKernelSpec(name);
}

/**
 * Checks everything that can be checked before a kernel starts (notebook, kernel, parameters) and returns the
 * prepared notebook; throws NotebookError / KernelNotFoundError / ParameterError (or a file where the output's folder
 * should be), writing nothing.
 */
export function prepareNotebook(
  input: string,
  o: Pick<RunOptions, 'kernel' | 'parameters' | 'output'> = {},
): { notebook: Notebook; spec: FoundKernelSpec; warnings: string[] } {
  const nb = readNotebookFile(input);
  const spec = kernelSpecFor(nb, input, o.kernel);
  const language = spec.spec.language;
  const warnings: string[] = [];
  // An output notebook run again: drop the error banners of its earlier run.
  nb.cells = nb.cells.filter((c) => !hasTag(c, PAPERMILL_ERROR_TAG));
  const parameters = o.parameters ?? {};
  if (Object.keys(parameters).length > 0) {
    const { unknown, hasParametersCell } = parameterizeNotebook(nb, parameters, language);
    if (!hasParametersCell) warnings.push(`${input} has no cell tagged "parameters"; the parameters were injected at the top`);
    else if (unknown.length > 0) warnings.push(`parameters not defined in the notebook's parameters cell: ${unknown.join(', ')}`);
  }
  if (o.kernel && nb.metadata.kernelspec?.name !== spec.name) {
    nb.metadata.kernelspec = { name: spec.name, display_name: spec.spec.display_name, language };
  }
  const previous = (nb.metadata.papermill ?? {}) as Record<string, unknown>;
  nb.metadata.papermill = {
    ...previous,
    parameters,
    environment_variables: {},
    version: `mixprec ${packageVersion()}`,
    input_path: input,
    output_path: o.output ?? null,
    start_time: null,
    end_time: null,
    duration: null,
    exception: null,
    failure: null,
  };
  for (const cell of nb.cells) {
    if (cell.cell_type === 'code') {
      cell.execution_count = null;
      cell.outputs = [];
    }
    cell.metadata.papermill = { exception: null, start_time: null, end_time: null, duration: null, status: 'pending' } satisfies PapermillCellMeta;
  }
  if (o.output) checkDirCreatable(path.dirname(o.output));
  return { notebook: nb, spec, warnings };
}

/** Runs a notebook file; resolves with the executed notebook and a summary (failures are in the summary). */
export async function runNotebook(input: string, o: RunOptions = {}): Promise<RunResult> {
  const { notebook: nb, spec, warnings } = prepareNotebook(input, o);
  return executePrepared(nb, spec, input, o, warnings);
}

/** Runs a notebook that prepareNotebook returned (sweeps prepare all their runs first). */
export async function executePrepared(nb: Notebook, spec: FoundKernelSpec, input: string, o: RunOptions, warnings: string[]): Promise<RunResult> {
  const started = Date.now();
  const reporter = o.reporter ?? {};
  for (const w of warnings) reporter.warn?.(w);
  const pm = nb.metadata.papermill as Record<string, unknown>;
  pm.start_time = now();
  const order = nb.cells.map((c, i) => (runnable(c) ? i : -1)).filter((i) => i >= 0);
  const summary: RunSummary = {
    status: 'completed',
    input,
    ...(o.output ? { output: o.output } : {}),
    kernel: spec.name,
    language: spec.spec.language,
    parameters: (pm.parameters as Parameters) ?? {},
    codeCells: order.length,
    executed: 0,
    durationSec: 0,
    errors: [],
    warnings,
  };
  const save = () => {
    if (o.output) writeNotebookFile(o.output, nb);
  };
  save();
  reporter.start?.({ input, ...(o.output ? { output: o.output } : {}), kernel: spec.name, cells: order.length });

  const fail = (failure: CellFailure) => {
    summary.status = 'failed';
    summary.failure = failure;
    pm.exception = true;
    // What ended the run, for readers of the saved notebook alone (a sweep's status on a cluster).
    pm.failure = { kind: failure.kind, cell: failure.cellIndex >= 0 ? failure.cellIndex + 1 : null, message: failure.message.split('\n')[0]! };
  };

  let kernel: RunningKernel | undefined;
  const stderrTail: string[] = [];
  const start = async () => {
    const k = await launchKernel(spec, {
      cwd: o.cwd ?? path.dirname(path.resolve(input)),
      ...(o.env ? { env: o.env } : {}),
      startupTimeoutMs: (o.startupTimeoutSec ?? 60) * 1000,
      stderr: 'pipe',
      onStderr: (line) => {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
        reporter.kernelStderr?.(line);
      },
    });
    const languageInfo = (k.kernelInfo.content as { language_info?: Record<string, unknown> }).language_info;
    if (languageInfo) nb.metadata.language_info = languageInfo;
    return k;
  };

  try {
    try {
      if (o.signal?.aborted) throw new RunAborted();
      kernel = await start();
    } catch (err) {
      if (err instanceof RunAborted) {
        fail({ kind: 'interrupted', cellIndex: -1, executionCount: null, message: 'the run was interrupted before the kernel started' });
      } else {
        const tail = stderrTail.length ? `\n${stderrTail.join('\n')}` : '';
        fail({ kind: 'startup', cellIndex: -1, executionCount: null, message: `${(err as Error).message}${tail}` });
      }
      return { notebook: nb, summary };
    }

    let count = 0;
    for (let index = 0; index < nb.cells.length; index++) {
      const cell = nb.cells[index]!;
      const meta = cellMeta(cell);
      meta.start_time = now();
      meta.status = 'running';
      meta.exception = false;
      if (!runnable(cell)) {
        finishCellMeta(meta);
        continue;
      }
      const event: CellEvent = { index, ordinal: ++count, total: order.length, summary: cellSummary(cell) };
      reporter.cellStart?.(event);
      save();
      const cellStarted = Date.now();
      const outcome = await runCell(nb, index, kernel, o, event, save, stderrTail);
      summary.executed++;
      cell.execution_count = count;
      if (outcome.failure) {
        meta.exception = true;
        meta.status = 'failed';
      }
      finishCellMeta(meta);
      reporter.cellEnd?.({ ...event, status: outcome.failure ? 'failed' : 'completed', durationSec: seconds(Date.now() - cellStarted) });
      if (outcome.failure) {
        const failure = { ...outcome.failure, executionCount: count };
        if (outcome.kernel) kernel = outcome.kernel;
        const allowed = outcome.failure.kind === 'error' && (o.allowErrors === true || hasTag(cell, 'raises-exception'));
        const continuable = outcome.failure.kind === 'timeout' && o.allowErrors === true && outcome.kernelUsable;
        if (allowed || continuable) {
          summary.errors.push(failure);
          if (!allowed) pm.exception = true;
        } else {
          fail(failure);
          save();
          break;
        }
      }
      save();
    }
    return { notebook: nb, summary };
  } finally {
    pm.end_time = now();
    summary.durationSec = seconds(Date.now() - started);
    pm.duration = summary.durationSec;
    if (summary.status === 'failed' && summary.failure && summary.failure.cellIndex >= 0) addErrorBanners(nb, summary.failure);
    if (kernel) await kernel.shutdown().catch(() => kernel?.kill());
    save();
  }
}

function finishCellMeta(meta: PapermillCellMeta): void {
  meta.end_time = now();
  meta.duration = seconds(Date.parse(meta.end_time) - Date.parse(meta.start_time!));
  if (meta.status !== 'failed') meta.status = 'completed';
}

class RunAborted extends Error {}

interface CellOutcome {
  failure?: CellFailure;
  /** A replacement kernel (the old one was restarted after a timeout). */
  kernel?: RunningKernel;
  /** Whether the run could go on with the (possibly restarted) kernel. */
  kernelUsable: boolean;
}

type Race = { type: 'done'; result: ExecuteResult } | { type: 'timeout' } | { type: 'dead'; reason: string } | { type: 'aborted' };

/** Resolves when the kernel process exits or three heartbeats in a row go unanswered. */
function watchKernel(kernel: RunningKernel, heartbeatSec: number): { dead: Promise<string>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const dead = new Promise<string>((resolve) => {
    void kernel.exited.then(({ code, signal }) => {
      if (!stopped) resolve(`the kernel process exited (${signal ? `signal ${signal}` : `exit code ${code}`})`);
    });
    let missed = 0;
    const beat = async () => {
      if (stopped) return;
      const ok = await kernel.heartbeat(heartbeatSec * 1000);
      if (stopped) return;
      missed = ok ? 0 : missed + 1;
      if (missed >= 3) {
        resolve(`the kernel stopped answering heartbeats (${missed} missed in ${3 * heartbeatSec} s)`);
        return;
      }
      timer = setTimeout(() => void beat(), heartbeatSec * 1000);
    };
    timer = setTimeout(() => void beat(), heartbeatSec * 1000);
  });
  return {
    dead,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function describeCell(nb: Notebook, index: number): string {
  const s = cellSummary(nb.cells[index]!, 40);
  return `cell ${index + 1}${s ? ` (${JSON.stringify(s)})` : ''}`;
}

function errorOutput(ename: string, evalue: string): NotebookOutput {
  return { output_type: 'error', ename, evalue, traceback: [`${ename}: ${evalue}`] };
}

async function runCell(
  nb: Notebook,
  index: number,
  kernel: RunningKernel,
  o: RunOptions,
  event: CellEvent,
  save: () => void,
  stderrTail: string[],
): Promise<CellOutcome> {
  const cell = nb.cells[index]!;
  const collector = collectorOf(nb);
  collector.begin(cell);
  const timing: Record<string, string> = {};
  cell.metadata.execution = timing;
  let lastSave = Date.now();
  const autosaveMs = (o.autosaveSec ?? 30) * 1000;
  const onOutput = (msg: JupyterMessage) => {
    if (msg.header.msg_type === 'execute_input') timing['iopub.execute_input'] = msg.header.date;
    const out = collector.apply(index, msg);
    if (out) o.reporter?.output?.(event, out);
    if (Date.now() - lastSave > autosaveMs) {
      lastSave = Date.now();
      save();
    }
  };
  const execution = kernel.client.execute(cell.source, {
    onOutput,
    iopubTimeoutMs: 4000,
    stopOnError: !(o.allowErrors === true || hasTag(cell, 'raises-exception')),
  });
  const watch = watchKernel(kernel, o.heartbeatSec ?? 5);
  const timers: NodeJS.Timeout[] = [];
  const delay = (sec: number) => new Promise<void>((resolve) => timers.push(setTimeout(resolve, sec * 1000)));
  let onAbort = () => {};
  const aborted = new Promise<Race>((resolve) => {
    onAbort = () => resolve({ type: 'aborted' });
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const done = execution.done.then((result): Race => ({ type: 'done', result }));
  const dead = watch.dead.then((reason): Race => ({ type: 'dead', reason }));
  const contenders: Promise<Race>[] = [done, dead, aborted];
  if (o.timeoutSec !== undefined && o.timeoutSec > 0) contenders.push(delay(o.timeoutSec).then((): Race => ({ type: 'timeout' })));
  const where = describeCell(nb, index);
  try {
    let race = await Promise.race(contenders);
    if (race.type === 'done') {
      timing['shell.execute_reply'] = race.result.reply.header.date;
      const reply = race.result.reply.content as { status?: string; ename?: string; evalue?: string; traceback?: string[] };
      if (reply.status === 'error') {
        return {
          kernelUsable: true,
          failure: {
            kind: 'error',
            cellIndex: index,
            executionCount: null,
            message: `${where} raised ${reply.ename ?? 'an error'}${reply.evalue ? `: ${reply.evalue}` : ''}`,
            ename: reply.ename ?? 'Error',
            evalue: reply.evalue ?? '',
            traceback: reply.traceback ?? [],
          },
        };
      }
      if (reply.status === 'aborted') {
        return {
          kernelUsable: true,
          failure: {
            kind: 'error',
            cellIndex: index,
            executionCount: null,
            message: `${where} was aborted by the kernel`,
            ename: 'Aborted',
            evalue: '',
          },
        };
      }
      return { kernelUsable: true };
    }
    if (race.type === 'aborted') {
      cell.outputs!.push(errorOutput('RunInterrupted', 'the run was interrupted while this cell was executing'));
      return {
        kernelUsable: false,
        failure: {
          kind: 'interrupted',
          cellIndex: index,
          executionCount: null,
          message: `the run was interrupted during ${where}`,
          ename: 'RunInterrupted',
          evalue: '',
        },
      };
    }
    if (race.type === 'dead') {
      const tail = stderrTail.length ? `; its last stderr lines:\n${stderrTail.slice(-10).join('\n')}` : '';
      const message = `the kernel died while running ${where}: ${race.reason}`;
      cell.outputs!.push(errorOutput('DeadKernelError', message));
      kernel.kill();
      return {
        kernelUsable: false,
        failure: {
          kind: 'dead-kernel',
          cellIndex: index,
          executionCount: null,
          message: `${message}${tail}`,
          ename: 'DeadKernelError',
          evalue: message,
        },
      };
    }
    // Timeout: interrupt, give the kernel a moment to answer, else restart it.
    const limit = o.timeoutSec!;
    const grace = o.interruptGraceSec ?? 10;
    await kernel.interrupt().catch(() => undefined);
    race = await Promise.race([done, dead, aborted, delay(grace).then((): Race => ({ type: 'timeout' }))]);
    if (race.type === 'done') {
      const message = `${where} timed out after ${limit} s and was interrupted`;
      cell.outputs!.push(errorOutput('CellTimeoutError', message));
      return {
        kernelUsable: true,
        failure: { kind: 'timeout', cellIndex: index, executionCount: null, message, ename: 'CellTimeoutError', evalue: message },
      };
    }
    kernel.kill();
    let message = `${where} timed out after ${limit} s; the kernel did not answer the interrupt within ${grace} s`;
    let replacement: RunningKernel | undefined;
    if (o.allowErrors === true && race.type !== 'aborted') {
      replacement = await launchKernel(
        { name: kernel.name, resourceDir: kernel.resourceDir, spec: kernel.spec },
        {
          cwd: kernel.cwd,
          ...(o.env ? { env: o.env } : {}),
          startupTimeoutMs: (o.startupTimeoutSec ?? 60) * 1000,
          stderr: 'pipe',
          onStderr: (line) => o.reporter?.kernelStderr?.(line),
        },
      ).catch(() => undefined);
      message += replacement ? ' and was restarted (later cells run in a fresh kernel)' : ' and could not be restarted';
    } else {
      message += ' and was stopped';
    }
    cell.outputs!.push(errorOutput('CellTimeoutError', message));
    return {
      kernelUsable: replacement !== undefined,
      ...(replacement ? { kernel: replacement } : {}),
      failure: { kind: 'timeout', cellIndex: index, executionCount: null, message, ename: 'CellTimeoutError', evalue: message },
    };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    watch.stop();
    for (const t of timers) clearTimeout(t);
  }
}

const collectors = new WeakMap<Notebook, OutputCollector>();
function collectorOf(nb: Notebook): OutputCollector {
  let c = collectors.get(nb);
  if (!c) collectors.set(nb, (c = new OutputCollector(nb)));
  return c;
}

/** papermill's markers: a banner at the top pointing at the failed cell, and one just above it. */
function addErrorBanners(nb: Notebook, failure: CellFailure): void {
  const style = 'color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;';
  const banner = (html: string): NotebookCell => ({
    cell_type: 'markdown',
    source: html,
    metadata: { tags: [PAPERMILL_ERROR_TAG] },
  });
  const label = failure.executionCount !== null ? `In [${failure.executionCount}]` : `cell ${failure.cellIndex + 1}`;
  const failedCell = nb.cells[failure.cellIndex]!;
  nb.cells.unshift(banner(`<span style="${style}">An Exception was encountered at '<a href="#papermill-error-cell">${label}</a>'.</span>`));
  const at = nb.cells.indexOf(failedCell);
  nb.cells.splice(
    at,
    0,
    banner(`<span id="papermill-error-cell" style="${style}">Execution using mixprec encountered an exception here and stopped:</span>`),
  );
  for (const cell of nb.cells)
    if (!cell.metadata.papermill)
      cell.metadata.papermill = { exception: null, start_time: null, end_time: null, duration: null, status: 'completed' };
}
