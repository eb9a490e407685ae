/**
 * Progress for long work in a terminal: an in-place bar on a TTY, plain lines otherwise (CI logs, pipes), so that
 * logs stay readable and interactive use stays calm. The one status line (StatusLine) and bar (progressBarText) that
 * every terminal display of mixprec draws with: training, benchmarks, `mixprec run`, `sweep` and `reproduce`.
 */

/** A bar of `width` cells for a fraction in [0, 1]: `██████░░░░`. */
export function progressBarText(fraction: number, width: number): string {
  const filled = Math.round(width * Math.min(1, Math.max(0, fraction)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** A one-line live status on a TTY: redrawn in place, cleared before other text is written, cut to the width. */
export class StatusLine {
  private text = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}

  set(text: string): void {
    this.text = text;
    const columns = this.stream.columns ?? 120;
    this.stream.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
  }

  /** Writes text above the status line (`write` may write to any stream), then draws the status again. */
  print(write: () => void): void {
    if (this.text) this.stream.write('\r\x1b[K');
    write();
    if (this.text) this.set(this.text);
  }

  /** Leaves the last status on its line and moves below it. */
  done(): void {
    if (this.text) this.stream.write('\n');
    this.text = '';
  }
}

export interface Progress {
  /** Whether the bar is drawn in place (the stream is a TTY). */
  readonly interactive: boolean;
  /** Advances to `done` of `total`, with a short status text. */
  update(done: number, status?: string): void;
  /** Writes a line on the bar's stream: above the bar on a TTY (which is drawn again below it), else as a plain line. */
  print(line: string): void;
  /** Ends the bar at `done` (default: the total; less for work stopped early), printing a final line. */
  finish(status?: string, done?: number): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const status = stream.isTTY === true ? new StatusLine(stream) : undefined;
  const started = Date.now();
  let lastLine = 0;
  const render = (done: number, text: string, final = false) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    if (status) {
      status.set(`${label} ${progressBarText(Math.min(done, total) / Math.max(total, 1), 24)} ${done}/${total} ${elapsed}s ${text}`);
    } else if (final || Date.now() - lastLine > 2000 || done === total) {
      lastLine = Date.now();
      stream.write(`${label} ${done}/${total} (${elapsed}s) ${text}\n`);
    }
  };
  return {
    interactive: status !== undefined,
    update: (done, text = '') => render(done, text),
    print: (line) => (status ? status.print(() => stream.write(`${line}\n`)) : stream.write(`${line}\n`)),
    finish: (text = 'done', done = total) => {
      render(done, text, true);
      status?.done();
    },
  };
}
