/**
 * The headless runner against real kernels started from their kernelspecs: this project's TypeScript kernel and
 * Debian's python3 ipykernel. Outputs are validated with Debian's nbformat.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runNotebook, type RunOptions } from '../../src/run/runner';
import { readNotebookFile, type Notebook } from '../../src/run/notebook';
import { codeNotebook, nbformatProblems, PYTHON_KERNEL, writeNotebook, type CellSpec } from '../helpers/notebooks';
import { missingPython } from '../helpers/jupyter';

// Only the kernelspecs a fresh machine has: Debian's python3 and mixprec's built-in one.
process.env.JUPYTER_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-runner-data-'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-runner-'));
const KERNEL_ENV = { MIXPREC_BACKEND: 'wasm' };
let counter = 0;
const NO_NBFORMAT = missingPython('nbformat', 'python3-nbformat') !== '';

function notebook(cells: CellSpec[], kernel?: typeof PYTHON_KERNEL): string {
  const file = path.join(work, `nb${++counter}.ipynb`);
  writeNotebook(file, codeNotebook(cells, kernel));
  return file;
}

async function run(input: string, o: RunOptions = {}) {
  const output = input.replace(/\.ipynb$/, '.out.ipynb');
  const result = await runNotebook(input, { output, env: KERNEL_ENV, ...o });
  if (!NO_NBFORMAT) {
    const problems = nbformatProblems(output);
    assert.equal(problems, '', `${output} is not a valid notebook: ${problems}`);
  }
  const written = readNotebookFile(output);
  return { ...result, output, written };
}

const pm = (nb: Notebook, i: number) =>
  nb.cells[i]!.metadata.papermill as {
    status: string;
    start_time: string | null;
    end_time: string | null;
    duration: number | null;
    exception: boolean | null;
  };
const texts = (nb: Notebook, i: number): string[] =>
  (nb.cells[i]!.outputs ?? []).map((o) =>
    String(
      o.output_type === 'stream'
        ? o.text
        : o.output_type === 'error'
          ? `${String(o.ename)}: ${String(o.evalue)}`
          : (o.data as Record<string, string>)['text/plain'],
    ),
  );
const pidFile = () => path.join(work, `pid${++counter}`);
const waitForFile = async (file: string) => {
  const until = Date.now() + 120_000;
  while (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') === '') {
    if (Date.now() > until) throw new Error(`${file} was not written within 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Number(fs.readFileSync(file, 'utf8'));
};

describe('running notebooks in the mixprec kernel', () => {
  it('injects typed parameters and records papermill metadata per cell and for the notebook', async () => {
    const input = notebook([
      { type: 'markdown', source: '# A parameterized notebook' },
      { source: "const lr: number = 0.1;\nconst mode: 'U3' | 'P3' = 'U3';\nconst widths = [1, 2];", tags: ['parameters'] },
      "console.log(mode, lr * 2, widths.length);\nif (mode === 'U3') console.log('uniform');\nlr",
      '',
      "const h = display.markdown('**first**');\nawait h.update('second');",
    ]);
    const warnings: string[] = [];
    const { summary, written, output } = await run(input, {
      parameters: { lr: 0.5, mode: 'P3', widths: [3, 4, 5], extra: 'x' },
      reporter: { warn: (w) => warnings.push(w) },
    });
    assert.equal(summary.status, 'completed', summary.failure?.message);
    assert.equal(summary.executed, 4);
    assert.deepEqual(warnings, ["parameters not defined in the notebook's parameters cell: extra"]);
    assert.deepEqual(written.cells[2]!.metadata.tags, ['injected-parameters']);
    assert.match(written.cells[2]!.source, /const mode = \("P3" satisfies 'U3' \| 'P3'\) as 'U3' \| 'P3';/);
    assert.deepEqual(texts(written, 3), ['P3 1 3\n', '0.5']);
    assert.deepEqual(
      written.cells.map((c) => c.execution_count ?? null),
      [null, 1, 2, 3, null, 4],
    );
    assert.deepEqual(texts(written, 5), ["'second'"]);
    const meta = written.metadata.papermill as Record<string, unknown>;
    assert.deepEqual(meta.parameters, { lr: 0.5, mode: 'P3', widths: [3, 4, 5], extra: 'x' });
    assert.equal(meta.input_path, input);
    assert.equal(meta.output_path, output);
    assert.equal(meta.exception, null);
    assert.ok((meta.duration as number) > 0 && Date.parse(meta.end_time as string) >= Date.parse(meta.start_time as string));
    for (let i = 0; i < written.cells.length; i++) {
      const m = pm(written, i);
      assert.equal(m.status, 'completed');
      assert.equal(m.exception, false);
      assert.ok(m.duration! >= 0 && Math.abs(Date.parse(m.end_time!) - Date.parse(m.start_time!) - m.duration! * 1000) <= 1);
    }
    assert.equal((written.metadata.language_info as { name: string }).name, 'typescript');
  });

  it('stops at the first error with its traceback, marks the notebook failed and leaves later cells pending', async () => {
    const input = notebook(['let a = 1;', 'console.log("before");\nthrow new RangeError("boom " + a);', 'console.log("never");']);
    const { summary, written } = await run(input);
    assert.equal(summary.status, 'failed');
    assert.equal(summary.failure!.kind, 'error');
    assert.equal(summary.failure!.message, 'cell 2 ("console.log(\\"before\\");") raised RangeError: boom 1');
    assert.ok(summary.failure!.traceback!.length > 0);
    // papermill's banners: one at the top, one just above the failed cell.
    assert.deepEqual(
      written.cells.map((c) => c.cell_type),
      ['markdown', 'code', 'markdown', 'code', 'code'],
    );
    assert.match(written.cells[0]!.source, /An Exception was encountered at '<a href="#papermill-error-cell">In \[2\]<\/a>'/);
    assert.match(written.cells[2]!.source, /id="papermill-error-cell"/);
    assert.deepEqual(texts(written, 3), ['before\n', 'RangeError: boom 1']);
    assert.equal(pm(written, 3).status, 'failed');
    assert.equal(pm(written, 3).exception, true);
    assert.equal(pm(written, 4).status, 'pending');
    assert.equal(written.cells[4]!.execution_count, null);
    assert.deepEqual(written.cells[4]!.outputs, []);
    assert.equal((written.metadata.papermill as { exception: boolean }).exception, true);

    // The same notebook with errors allowed runs to the end; its output, run again, loses the old banners.
    const again = await run(input, { allowErrors: true });
    assert.equal(again.summary.status, 'completed');
    assert.equal(again.summary.errors.length, 1);
    assert.deepEqual(texts(again.written, 2), ['never\n']);
    assert.equal(again.written.cells.length, 3);
  });

  it("interrupts a cell that outlives its timeout, names it and the limit, and keeps the kernel's state", async () => {
    const input = notebook(['let x = 41;', 'while (true) {}', 'x + 1']);
    // The limit leaves room for the first cell, which waits for the kernel's compiler to warm up (seconds on a busy machine).
    const stopped = await run(input, { timeoutSec: 10 });
    assert.equal(stopped.summary.failure?.kind, 'timeout');
    assert.equal(stopped.summary.failure?.message, 'cell 2 ("while (true) {}") timed out after 10 s and was interrupted');
    assert.equal(pm(stopped.written, 3).status, 'failed');
    assert.ok(texts(stopped.written, 3).includes(`CellTimeoutError: ${stopped.summary.failure!.message}`));
    assert.equal(pm(stopped.written, 4).status, 'pending');

    const continued = await run(input, { timeoutSec: 10, allowErrors: true });
    assert.equal(continued.summary.status, 'completed');
    assert.deepEqual(texts(continued.written, 2), ['42']);
  });

  it('detects a kernel killed with SIGKILL mid-run and names the cell it was running', async () => {
    const pid = pidFile();
    const input = notebook([
      `require('fs').writeFileSync(${JSON.stringify(pid)}, String(process.pid)); console.log('saved')`,
      'await new Promise((r) => setTimeout(r, 120_000));',
      '"never"',
    ]);
    const started = Date.now();
    const { summary, written } = await run(input, {
      reporter: { cellStart: (c) => void (c.ordinal === 2 && waitForFile(pid).then((p) => process.kill(p, 'SIGKILL'))) },
    });
    assert.ok(Date.now() - started < 60_000);
    assert.equal(summary.failure?.kind, 'dead-kernel');
    assert.match(
      summary.failure!.message,
      /^the kernel died while running cell 2 \("await new Promise.*"\): the kernel process exited \(signal SIGKILL\)/,
    );
    // Cells 0 and 2 are the error banners.
    assert.deepEqual(texts(written, 1), ['saved\n']);
    assert.equal(pm(written, 3).status, 'failed');
    assert.match(texts(written, 3)[0]!, /^DeadKernelError: the kernel died while running cell 2/);
    assert.equal(pm(written, 4).status, 'pending');
  });
});

describe("running notebooks in Debian's python3 kernel", () => {
  const skip = () => missingPython('ipykernel', 'python3-ipykernel') || missingPython('nbformat', 'python3-nbformat');

  it('restarts a kernel that ignores the interrupt, and later cells run in the fresh kernel', async (t) => {
    if (skip()) return t.skip(skip());
    const input = notebook(
      [
        'x = 1',
        'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)',
        "print('fresh kernel:', 'x' not in globals())",
      ],
      PYTHON_KERNEL,
    );
    const { summary, written } = await run(input, { timeoutSec: 5, interruptGraceSec: 2, allowErrors: true });
    assert.equal(summary.status, 'completed');
    assert.equal(summary.errors[0]!.kind, 'timeout');
    assert.equal(
      summary.errors[0]!.message,
      'cell 2 ("import signal, time") timed out after 5 s; the kernel did not answer the interrupt within 2 s and was restarted (later cells run in a fresh kernel)',
    );
    assert.deepEqual(texts(written, 2), ['fresh kernel: True\n']);
    assert.equal((written.metadata.language_info as { name: string }).name, 'python');
  });

  it('declares a kernel dead when it stops answering heartbeats (SIGSTOP)', async (t) => {
    if (skip()) return t.skip(skip());
    const pid = pidFile();
    const input = notebook([`import os\nopen(${JSON.stringify(pid)}, 'w').write(str(os.getpid()))`, 'import time\ntime.sleep(120)'], PYTHON_KERNEL);
    let stoppedPid = 0;
    const { summary } = await run(input, {
      heartbeatSec: 0.5,
      reporter: { cellStart: (c) => void (c.ordinal === 2 && waitForFile(pid).then((p) => process.kill((stoppedPid = p), 'SIGSTOP'))) },
    });
    assert.equal(summary.failure?.kind, 'dead-kernel');
    assert.match(summary.failure!.message, /cell 2 \("import time"\): the kernel stopped answering heartbeats \(3 missed in 1\.5 s\)/);
    // The runner killed the stopped process.
    await new Promise((r) => setTimeout(r, 500));
    assert.throws(() => process.kill(stoppedPid, 0));
  });

  it('injects Python parameters after the parameters cell', async (t) => {
    if (skip()) return t.skip(skip());
    const input = notebook([{ source: 'lr = 0.1\nname = "a"', tags: ['parameters'] }, 'print(repr(lr), repr(name), flags)'], PYTHON_KERNEL);
    const { summary, written } = await run(input, { parameters: { lr: 0.25, name: 'quote " and \\', flags: [true, null] } });
    assert.equal(summary.status, 'completed', summary.failure?.message);
    assert.deepEqual(texts(written, 2), [`0.25 'quote " and \\\\' [True, None]\n`]);
  });
});
