/**
 * `mixprec run` and Debian's `jupyter nbconvert --to notebook --execute` run the same notebooks in the same kernels (this
 * project's and Debian's python3 ipykernel, each started from its kernelspec) and produce the same outputs per cell,
 * modulo timings and ids. Consecutive stream chunks are compared joined: how a kernel batches its streams is timing.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterWithKernel, missingPython, ROOT } from '../helpers/jupyter';
import {
  codeNotebook,
  MIXPREC_KERNEL,
  nbformatProblems,
  PYTHON_KERNEL,
  readNotebook,
  writeNotebook,
  type CellSpec,
  type NotebookJson,
} from '../helpers/notebooks';

const missing = missingPython('nbconvert', 'jupyter-nbconvert') || missingPython('ipykernel', 'python3-ipykernel');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-vs-nbconvert-'));
let env: NodeJS.ProcessEnv;

/** Every kind of output: streams on both channels, results, rich displays, a display updated from a later cell,
 * clear_output(wait), an empty cell, a raw cell, an error (errors allowed), and a cell after it. */
const NOTEBOOKS: Record<string, { kernel: typeof MIXPREC_KERNEL; cells: CellSpec[] }> = {
  typescript: {
    kernel: MIXPREC_KERNEL,
    cells: [
      { type: 'markdown', source: '# Outputs of every kind' },
      'console.log("out 1"); console.error("err 1"); console.log("out 2");',
      '"a string result"',
      'display.html("<b>bold</b>"); display.markdown("*md*"); display.json({ a: [1, 2] });',
      'const h = display.text("first");',
      'await h.update("updated from a later cell");',
      'console.log("before clear"); display.clear(true); console.log("after clear");',
      '',
      { type: 'raw', source: 'raw text' },
      'const o = { nested: { x: 1 }, list: [1, 2, 3] }; o',
      'throw new RangeError("allowed error");',
      'console.log("after the error"); tf.tensor([1, 2]).shape',
    ],
  },
  python: {
    kernel: PYTHON_KERNEL,
    cells: [
      { type: 'markdown', source: '# Outputs of every kind' },
      'import sys\nprint("out 1"); print("err 1", file=sys.stderr); print("out 2")',
      '"a string result"',
      'from IPython.display import display, HTML, Markdown, JSON\ndisplay(HTML("<b>bold</b>")); display(Markdown("*md*")); display(JSON({"a": [1, 2]}))',
      'h = display("first", display_id=True)',
      'h.update("updated from a later cell")',
      'from IPython.display import clear_output\nprint("before clear"); clear_output(wait=True); print("after clear")',
      '',
      { type: 'raw', source: 'raw text' },
      'o = {"nested": {"x": 1}, "list": [1, 2, 3]}; o',
      'raise ValueError("allowed error")',
      'print("after the error"); (1, 2)',
    ],
  },
};

type Output = Record<string, unknown>;

/** What must agree: per cell its type, source, execution count and outputs (stream chunks joined). */
function comparable(nb: NotebookJson) {
  const join = (v: unknown) => (Array.isArray(v) ? v.join('') : v);
  return {
    language: (nb.metadata.language_info as { name: string }).name,
    cells: nb.cells.map((c) => {
      const outputs: Output[] = [];
      for (const raw of c.outputs ?? []) {
        const o: Output = { ...raw, ...(raw.text !== undefined ? { text: join(raw.text) } : {}) };
        if (o.data) o.data = Object.fromEntries(Object.entries(o.data as Output).map(([k, v]) => [k, join(v)]));
        const last = outputs.at(-1);
        if (o.output_type === 'stream' && last?.output_type === 'stream' && last.name === o.name) last.text = `${String(last.text)}${String(o.text)}`;
        else outputs.push(o);
      }
      return { type: c.cell_type, source: join(c.source), count: c.execution_count ?? null, outputs };
    }),
  };
}

describe('mixprec run and jupyter nbconvert --execute agree', { skip: missing || false }, () => {
  before(() => {
    env = jupyterWithKernel().env;
  });

  for (const [name, { kernel, cells }] of Object.entries(NOTEBOOKS)) {
    it(`in the ${kernel.name} kernel`, () => {
      const input = path.join(work, `${name}.ipynb`);
      writeNotebook(input, codeNotebook(cells, kernel));
      const ours = path.join(work, `${name}.mixprec.ipynb`);
      const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'run', input, ours, '--allow-errors', '--no-progress'], {
        cwd: work,
        env,
        encoding: 'utf8',
        timeout: 180_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const theirs = jupyter(['nbconvert', '--to', 'notebook', '--execute', '--allow-errors', input, '--output', `${name}.nbconvert.ipynb`]);
      assert.equal(theirs.status, 0, theirs.stderr);
      const nbconvert = path.join(work, `${name}.nbconvert.ipynb`);
      for (const file of [ours, nbconvert]) assert.equal(nbformatProblems(file), '', file);
      const a = comparable(readNotebook(ours));
      const b = comparable(readNotebook(nbconvert));
      assert.deepEqual(a, b);
      // The comparison is not vacuous: the notebook exercised what it claims.
      const all = JSON.stringify(a.cells.map((c) => c.outputs));
      for (const needle of ['out 1', 'err 1', 'updated from a later cell', 'after clear', 'allowed error', 'after the error', 'text/html'])
        assert.ok(all.includes(needle), needle);
      assert.ok(!all.includes('before clear') && !all.includes('first'), all);
      assert.deepEqual(
        a.cells.map((c) => c.count),
        [null, 1, 2, 3, 4, 5, 6, null, null, 7, 8, 9],
      );
    });
  }
});

function jupyter(args: string[]) {
  return spawnSync('jupyter', args, { cwd: work, env, encoding: 'utf8', timeout: 180_000 });
}
