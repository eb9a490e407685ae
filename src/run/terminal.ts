/**
 * What `mixprec run`, `mixprec sweep` and `mixprec reproduce` show while they work: on a TTY an in-place bar (cell i / n, elapsed, the current
 * cell's first line); otherwise one plain line per cell start and end, for CI logs. `--log-output` streams the cells'
 * outputs as they arrive.
 */
import { progressBar, progressBarText, StatusLine, type Progress } from '../util/progress';
import type { NotebookOutput } from './notebook';
import type { RunReporter } from './runner';
import type { SweepReporter, SweepRun } from './sweep';
import type { ReproduceReporter } from './reproduce';
import type { ParameterValue } from './parameters';

export interface TerminalOptions {
  /** Show progress (bar or lines). */
  progress: boolean;
  /** Stream cell outputs to stdout / stderr. */
  logOutput: boolean;
  stderr?: NodeJS.WriteStream;
  stdout?: NodeJS.WriteStream;
}

// eslint-disable-next-line no-control-regex -- ESC starts the ANSI sequences this removes
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Where a terminal shows an output: errors and the stderr stream on stderr, the rest on stdout. */
export const outputStream = (out: NotebookOutput): 'stdout' | 'stderr' =>
  out.output_type === 'error' || (out.output_type === 'stream' && out.name === 'stderr') ? 'stderr' : 'stdout';

/** The text a terminal can show for an output (tracebacks without colour unless `color`). */
export function outputText(out: NotebookOutput, color: boolean): string {
  switch (out.output_type) {
    case 'stream':
      return out.text as string;
    case 'error': {
      const tb = ((out.traceback as string[] | undefined) ?? []).join('\n') || `${String(out.ename)}: ${String(out.evalue)}`;
      return `${color ? tb : stripAnsi(tb)}\n`;
    }
    default: {
      const data = (out.data ?? {}) as Record<string, unknown>;
      const plain = typeof data['text/plain'] === 'string' ? data['text/plain'] : `<${Object.keys(data).join(', ') || 'empty'} output>`;
      return `${plain}\n`;
    }
  }
}

const bar = (done: number, total: number) => progressBarText(Math.min(done, total) / Math.max(total, 1), 20);

/** The reporter of `mixprec run`. */
export function terminalRunReporter(o: TerminalOptions): RunReporter & { close(): void } {
  const err = o.stderr ?? process.stderr;
  const out = o.stdout ?? process.stdout;
  const tty = err.isTTY === true && o.progress;
  const status = tty ? new StatusLine(err) : undefined;
  const started = Date.now();
  let ticker: NodeJS.Timeout | undefined;
  let current: { ordinal: number; total: number; summary: string; since: number } | undefined;
  let finished = 0;
  const draw = () => {
    if (!status || !current) return;
    const total = ((Date.now() - started) / 1000).toFixed(0);
    const cell = ((Date.now() - current.since) / 1000).toFixed(1);
    status.set(`${bar(finished, current.total)} cell ${current.ordinal}/${current.total} ${total}s · ${cell}s ${current.summary}`);
  };
  const line = (s: string) => (status ? status.print(() => err.write(`${s}\n`)) : err.write(`${s}\n`));
  return {
    start(info) {
      if (o.progress) line(`running ${info.input} (${info.cells} code cells) in kernel ${info.kernel}${info.output ? ` → ${info.output}` : ''}`);
      status?.set(`starting kernel ${info.kernel}…`);
    },
    cellStart(cell) {
      current = { ordinal: cell.ordinal, total: cell.total, summary: cell.summary, since: Date.now() };
      if (tty) {
        draw();
        clearInterval(ticker);
        ticker = setInterval(draw, 500);
        ticker.unref();
      } else if (o.progress) {
        err.write(`cell ${cell.ordinal}/${cell.total} (notebook cell ${cell.index + 1}): ${cell.summary}\n`);
      }
    },
    cellEnd(cell) {
      finished = cell.ordinal;
      if (tty) draw();
      else if (o.progress) err.write(`cell ${cell.ordinal}/${cell.total} ${cell.status} in ${cell.durationSec.toFixed(2)} s\n`);
    },
    output(_cell, output) {
      if (!o.logOutput) return;
      const target = outputStream(output) === 'stderr' ? err : out;
      const text = outputText(output, target.isTTY === true);
      if (status) status.print(() => target.write(text));
      else target.write(text);
    },
    warn(message) {
      line(`warning: ${message}`);
    },
    kernelStderr(text) {
      if (o.logOutput) line(text);
    },
    close() {
      clearInterval(ticker);
      status?.done();
    },
  };
}

export const formatParameters = (p: Record<string, ParameterValue>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

/** The reporter of `mixprec sweep`: a bar over the runs on a TTY, a line per run start and end otherwise. */
export function terminalSweepReporter(o: TerminalOptions): SweepReporter & { close(): void } {
  const err = o.stderr ?? process.stderr;
  const tty = err.isTTY === true && o.progress;
  const status = tty ? new StatusLine(err) : undefined;
  const started = Date.now();
  const running = new Set<number>();
  let finished = 0;
  let total = 0;
  const draw = () =>
    status?.set(`${bar(finished, total)} ${finished}/${total} runs, ${running.size} running, ${((Date.now() - started) / 1000).toFixed(0)}s`);
  const line = (s: string) => (status ? status.print(() => err.write(`${s}\n`)) : err.write(`${s}\n`));
  const label = (run: SweepRun) => `run ${run.index + 1}/${total} (${formatParameters(run.parameters)})`;
  return {
    resume(completed, n) {
      total = n;
      finished = completed;
      if (o.progress) line(`resuming: ${completed} of ${n} runs completed before; running the other ${n - completed}`);
      if (tty) draw();
    },
    runStart(run, n) {
      total = n;
      running.add(run.index);
      if (!o.progress) return;
      if (tty) draw();
      else line(`${label(run)} started`);
    },
    runEnd(run, n, summary) {
      total = n;
      running.delete(run.index);
      finished++;
      if (o.progress || summary.status === 'failed') {
        line(
          `${label(run)} ${summary.status} in ${summary.durationSec.toFixed(1)} s${summary.failure ? `: ${summary.failure.message.split('\n')[0]}` : ''}`,
        );
      }
      if (tty) draw();
    },
    warn(message) {
      line(`warning: ${message}`);
    },
    close() {
      status?.done();
    },
  };
}

export interface ReproduceTerminalOptions {
  /** A progress bar (on a TTY; plain lines elsewhere); false: one line per cell start. */
  progress: boolean;
  /** Say that the notebooks run with their smoke-size parameters. */
  smoke?: boolean;
  /** Where the run's lines go (default stdout). */
  out?: (line: string) => void;
  stderr?: NodeJS.WriteStream;
}

/**
 * What `mixprec reproduce` shows: the notebooks it runs, a bar over all their code cells with the cell each running
 * notebook is at, and one line per finished notebook; `finish()` closes the bar with the time taken.
 */
export function terminalReproduceReporter(o: ReproduceTerminalOptions): ReproduceReporter & { finish(): void } {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = o.stderr ?? process.stderr;
  let bar: Progress | null = null;
  let finished = 0;
  const running = new Map<string, string>();
  const status = () => [...running].map(([name, cell]) => `${name.replace(/-.*/, '')}: ${cell}`).join(' · ');
  const started = Date.now();
  return {
    start(nbs) {
      const total = nbs.reduce((s, n) => s + n.codeCells, 0);
      out(
        `Running ${nbs.length} notebook${nbs.length > 1 ? 's' : ''} (${total} code cells)${o.smoke ? ' with smoke-size parameters' : ''}: ${nbs.map((n) => n.name).join(', ')}`,
      );
      if (o.progress) bar = progressBar('reproduce', total, err);
    },
    cellStart(name, cell) {
      running.set(name, `${cell.ordinal}/${cell.total} ${cell.summary.slice(0, 40)}`);
      bar?.update(finished, status());
      if (!bar) out(`${name} cell ${cell.ordinal}/${cell.total}: ${cell.summary}`);
    },
    cellEnd() {
      finished++;
      bar?.update(finished, status());
    },
    notebookEnd(name, summary) {
      running.delete(name);
      const line = `${name}: ${summary.status} in ${summary.durationSec.toFixed(0)} s${summary.failure ? ` — ${summary.failure.message.split('\n')[0]}` : ''}`;
      if (bar?.interactive) bar.print(line);
      else out(line);
    },
    warn: (m) => err.write(`warning: ${m}\n`),
    finish() {
      bar?.finish(`${((Date.now() - started) / 1000).toFixed(0)} s`);
    },
  };
}
