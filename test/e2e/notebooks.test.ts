/**
 * The paper notebooks, headless in smoke mode, exactly as CI and users run them: `mixprec reproduce --smoke` starts
 * the mixprec kernel from its kernelspec for each notebook and writes the executed notebooks and the HTML report.
 * The outputs validate with Debian's nbformat, no cell fails, every Vega-Lite output carries SVG and PNG fallbacks.
 * The committed notebooks are checked too: executed (by `npm start -- --update-notebooks`), valid, with plots.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingPython, ROOT } from '../helpers/jupyter';
import { nbformatProblems, readNotebook, textOf, type NotebookJson } from '../helpers/notebooks';

const NOTEBOOKS = fs
  .readdirSync(path.join(ROOT, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const VEGALITE = 'application/vnd.vegalite.v5+json';
const NO_NBFORMAT = missingPython('nbformat', 'python3-nbformat');

type Output = { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string };
const outputs = (nb: NotebookJson) => nb.cells.flatMap((c) => (c.outputs ?? []) as Output[]);

function checkOutputs(file: string, nb: NotebookJson): void {
  const errors = outputs(nb).filter((o) => o.output_type === 'error');
  assert.deepEqual(
    errors.map((e) => `${e.ename}: ${e.evalue}`),
    [],
    `${file}: cells raised`,
  );
  const plots = outputs(nb).filter((o) => o.data?.[VEGALITE] !== undefined);
  assert.ok(plots.length > 0, `${file}: no Vega-Lite plot`);
  for (const p of plots) {
    assert.match(textOf(p.data!['image/svg+xml'] as string | string[]), /^<svg[\s\S]*<\/svg>\s*$/, `${file}: a plot without an SVG fallback`);
    assert.ok(
      Buffer.from(textOf(p.data!['image/png'] as string | string[]), 'base64')
        .subarray(1, 4)
        .equals(Buffer.from('PNG')),
      `${file}: a plot without a PNG fallback`,
    );
  }
  // Every notebook states what this run got in markdown written from the numbers.
  assert.ok(
    outputs(nb).some((o) => o.data?.['text/markdown'] !== undefined),
    `${file}: no generated markdown`,
  );
  for (const c of nb.cells.filter((x) => x.cell_type === 'code' && textOf(x.source).trim() !== '')) {
    assert.equal(typeof c.execution_count, 'number', `${file}: a code cell did not run`);
  }
}

describe('paper notebooks in smoke mode (mixprec reproduce --smoke)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-notebooks-'));
  let result: ReturnType<typeof spawnSync>;

  before(() => {
    result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'reproduce', '--smoke', '--out', out, '--no-progress'], {
      encoding: 'utf8',
      timeout: 900_000,
      env: { ...process.env, MIXPREC_BACKEND: 'wasm', JUPYTER_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-nb-data-')) },
    });
  });

  it('runs all notebooks and exits 0', () => {
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(String(result.stdout), new RegExp(`Running ${NOTEBOOKS.length} notebooks`));
    assert.deepEqual(
      fs
        .readdirSync(out)
        .filter((f) => f.endsWith('.ipynb'))
        .sort(),
      NOTEBOOKS,
    );
  });

  for (const file of NOTEBOOKS) {
    it(`${file}: valid nbformat, no errors, every plot with SVG and PNG`, { skip: NO_NBFORMAT || undefined }, () => {
      const executed = path.join(out, file);
      assert.equal(nbformatProblems(executed), '');
      const nb = readNotebook(executed);
      checkOutputs(file, nb);
      const injected = nb.cells.find((c) => (c.metadata as { tags?: string[] }).tags?.includes('injected-parameters'));
      assert.ok(injected, `${file}: the smoke parameters were not injected`);
      assert.equal((nb.metadata as { papermill?: { parameters?: unknown } }).papermill?.parameters !== undefined, true);
    });
  }

  it('06-explore keeps its widgets: their state in the notebook, what interact drew inside its Output, a static view in the report', () => {
    const nb = readNotebook(path.join(out, '06-explore.ipynb'));
    const saved = (nb.metadata as { widgets?: Record<string, { state: Record<string, { model_name: string; state: Record<string, unknown> }> }> })
      .widgets?.['application/vnd.jupyter.widget-state+json'];
    assert.ok(saved, 'no widget state in the executed notebook');
    const models = Object.values(saved.state);
    const names = new Set(models.map((m) => m.model_name));
    for (const name of ['ToggleButtonsModel', 'IntSliderModel', 'FloatLogSliderModel', 'HTMLModel', 'DropdownModel', 'OutputModel', 'VBoxModel'])
      assert.ok(names.has(name), `${name} missing from the saved widget state`);
    const drawn = models.filter((m) => m.model_name === 'OutputModel').flatMap((m) => (m.state.outputs ?? []) as Output[]);
    assert.ok(
      drawn.some((o) => o.data?.[VEGALITE] !== undefined),
      'the Output of interact holds its plot',
    );
    const explorerPlot = models.find((m) => m.model_name === 'HTMLModel' && String(m.state.value).includes('mixprec-explorer'));
    assert.match(String(explorerPlot?.state.value), /<svg[\s\S]*<\/svg>/);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<div class="widget box"/);
  });

  it('writes one self-contained HTML report with every notebook and its plots', () => {
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    for (const f of NOTEBOOKS) assert.match(html, new RegExp(`<section class="nb" id="${f.replace('.ipynb', '')}">`));
    assert.doesNotMatch(html, /(src|href)="https?:/);
    assert.ok((html.match(/<img class="plot"/g) ?? []).length >= NOTEBOOKS.length * 2);
    assert.equal((html.match(/status-completed">completed/g) ?? []).length, NOTEBOOKS.length * 2);
  });
});

describe('committed notebooks', () => {
  for (const file of NOTEBOOKS) {
    it(`${file} carries the outputs of the main job`, { skip: NO_NBFORMAT || undefined }, () => {
      const full = path.join(ROOT, 'notebooks', file);
      assert.equal(nbformatProblems(full), '');
      const nb = readNotebook(full);
      checkOutputs(file, nb);
      assert.ok(
        nb.cells.some((c) => (c.metadata as { tags?: string[] }).tags?.includes('parameters')),
        `${file}: no parameters cell`,
      );
      assert.ok(
        !nb.cells.some((c) => (c.metadata as { tags?: string[] }).tags?.includes('injected-parameters')),
        `${file}: committed with injected parameters`,
      );
      const smoke = (nb.metadata as { mixprec?: { smoke?: unknown } }).mixprec?.smoke;
      assert.equal(typeof smoke, 'object', `${file}: no smoke parameters in metadata.mixprec.smoke`);
    });
  }
});
