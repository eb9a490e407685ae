/**
 * Progress for long work in a terminal: an in-place bar on a TTY, plain lines otherwise (CI logs, pipes), so that
 * logs stay readable and interactive use stays calm.
 */
export interface Progress {
  /** Advances to `done` of `total`, with a short status text. */
  update(done: number, status?: string): void;
  /** Ends the bar (prints a final line). */
  finish(status?: string): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastLine = 0;
  const render = (done: number, status: string) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    if (tty) {
      const width = 24;
      const filled = Math.round((width * Math.min(done, total)) / Math.max(total, 1));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const line = `${label} ${bar} ${done}/${total} ${elapsed}s ${status}`;
      const columns = stream.columns ?? 120;
      stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`);
    } else if (Date.now() - lastLine > 2000 || done === total) {
      lastLine = Date.now();
      stream.write(`${label} ${done}/${total} (${elapsed}s) ${status}\n`);
    }
  };
  return {
    update: (done, status = '') => render(done, status),
    finish: (status = 'done') => {
      render(total, status);
      if (tty) stream.write('\n');
    },
  };
}
