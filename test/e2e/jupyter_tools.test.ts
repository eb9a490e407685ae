/**
 * Debian's Jupyter tools run notebooks with the mixprec kernel: `jupyter nbconvert --to notebook --execute`
 * (execution counts, outputs, plots with fallbacks, errors as errors) and `jupyter console`.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterWithKernel, missingPython } from '../helpers/jupyter';
import { codeNotebook, nbformatProblems, outputsOf, readNotebook, textOf, writeNotebook } from '../helpers/notebooks';

const missing = missingPython('nbconvert', 'jupyter-nbconvert') || missingPython('jupyter_console', 'jupyter-console');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-tools-'));
let env: NodeJS.ProcessEnv;

function jupyter(args: string[], input?: string) {
  return spawnSync('jupyter', args, { cwd: work, env, encoding: 'utf8', input, timeout: 180_000 });
}

describe('Debian Jupyter tools with the mixprec kernel', { skip: missing || false }, () => {
  before(() => {
    env = jupyterWithKernel().env;
  });

  it('nbconvert --execute: counts, streams, results, displays with SVG/PNG fallbacks; valid nbformat', () => {
    writeNotebook(
      path.join(work, 'ok.ipynb'),
      codeNotebook([
        'const q = mixprec.specFor("U3", { signed: true });\nconsole.log(q.kind)',
        'const x = tf.tensor([1, 2, 3]);\nawait x.sum().data()',
        'display.vegalite({ data: { values: [{ a: 1, b: 2 }, { a: 2, b: 1 }] }, mark: "line", encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } } })',
        'display.table([{ layer: "conv1", bits: 4 }, { layer: "fc", bits: 2 }])',
      ]),
    );
    const r = jupyter(['nbconvert', '--to', 'notebook', '--execute', 'ok.ipynb', '--output', 'ok.out.ipynb']);
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(work, 'ok.out.ipynb');
    assert.equal(nbformatProblems(file), '');
    const nb = readNotebook(file);
    assert.deepEqual(
      nb.cells.map((c) => c.execution_count),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      outputsOf(nb, 0).map((o) => [o.output_type, textOf(o.text as string)]),
      [['stream', 'uniform\n']],
    );
    const result = outputsOf(nb, 1)[0]!;
    assert.equal(result.output_type, 'execute_result');
    assert.equal(textOf((result.data as Record<string, string>)['text/plain']!), 'Float32Array(1) [ 6 ]');
    const plot = outputsOf(nb, 2).find((o) => o.output_type === 'display_data')!;
    const data = plot.data as Record<string, unknown>;
    for (const mime of ['application/vnd.vegalite.v5+json', 'image/svg+xml', 'image/png', 'text/plain']) assert.ok(mime in data, `plot has ${mime}`);
    assert.ok(
      Buffer.from(textOf(data['image/png'] as string), 'base64')
        .subarray(1, 4)
        .toString() === 'PNG',
    );
    assert.match(textOf((outputsOf(nb, 3)[0]!.data as Record<string, string>)['text/html']!), /<td[^>]*>conv1<\/td>/);
  });

  it('nbconvert stops at an error and reports it; with --allow-errors the error is kept in the cell', () => {
    writeNotebook(path.join(work, 'bad.ipynb'), codeNotebook(['1 + 1', 'throw new RangeError("out of range")', '"after"']));
    const r = jupyter(['nbconvert', '--to', 'notebook', '--execute', 'bad.ipynb', '--output', 'bad.out.ipynb']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /RangeError: out of range/);
    const allowed = jupyter(['nbconvert', '--to', 'notebook', '--execute', '--allow-errors', 'bad.ipynb', '--output', 'bad.allowed.ipynb']);
    assert.equal(allowed.status, 0, allowed.stderr);
    const nb = readNotebook(path.join(work, 'bad.allowed.ipynb'));
    const error = outputsOf(nb, 1)[0]!;
    assert.equal(error.output_type, 'error');
    assert.equal(error.ename, 'RangeError');
    assert.equal(error.evalue, 'out of range');
    assert.deepEqual(
      nb.cells.map((c) => c.execution_count),
      [1, 2, 3],
    );
    assert.equal(nbformatProblems(path.join(work, 'bad.allowed.ipynb')), '');
  });

  it('jupyter console runs cells with execution counts and shows errors', () => {
    const r = jupyter(['console', '--kernel', 'mixprec', '--simple-prompt'], '6 * 7\nconsole.log("hi there")\nthrow new Error("console boom")\n');
    assert.match(r.stdout, /TypeScript kernel · backend /);
    assert.match(r.stdout, /In \[1\]: Out\[1\]: 42/);
    assert.match(r.stdout, /In \[2\]: hi there/);
    // jupyter console prints tracebacks on stderr
    assert.match(r.stderr, /Error: console boom\n\s+at cell\.js/);
    assert.match(r.stdout, /In \[3\]: \n/);
  });
});
