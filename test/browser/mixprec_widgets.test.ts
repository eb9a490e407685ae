/**
 * A real frontend moves mixprec's widgets: headless Chromium runs the ipywidgets 8 widget manager (html-manager with
 * controls 2.0.0) and JupyterLab's kernel client (@jupyterlab/services), connected to the mixprec kernel that Debian's
 * classic notebook server starts from its kernelspec (installed by `mixprec kernel install`, as a user does).
 * Keys move a slider; the kernel-side value, an observe callback and the explorer's charts follow; Stop on a training
 * dashboard ends the run at a step boundary with the model usable. Screenshots in test-artifacts/widgets/.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { jupyterWithKernel } from '../helpers/jupyter';
import { missingWidgetTools, openWidgetPage, startNotebookServer, waitUntil, type NotebookServer, type WidgetPage } from '../helpers/widget_browser';

const missing = missingWidgetTools();

describe('mixprec widgets in a real frontend (ipywidgets 8 manager in Chromium, notebook server, mixprec kernel)', { skip: missing || false }, () => {
  let server: NotebookServer;
  let page: WidgetPage;

  /** A JSON value computed in the kernel. */
  const kernelValue = async (expression: string): Promise<unknown> => {
    const r = await page.run(`console.log(JSON.stringify(${expression}))`);
    return JSON.parse(r.outputs.find((o) => o.output_type === 'stream')?.text ?? 'null');
  };

  before(async () => {
    const { dataDir, env } = jupyterWithKernel();
    server = await startNotebookServer({ kernelspecDirs: [path.join(dataDir, 'kernels', 'mixprec')], env: { MIXPREC_BACKEND: env.MIXPREC_BACKEND } });
    page = await openWidgetPage(server, 'mixprec');
  });

  after(async () => {
    await page?.close();
    await server?.stop();
  });

  it('restores widgets over the control comm and shows a slider the kernel made', async () => {
    assert.equal(page.connection.language, 'typescript');
    const r = await page.run(
      "const bits = new widgets.IntSlider({ value: 3, min: 2, max: 8, description: 'bits' });\n" +
        'const seen: number[] = [];\n' +
        "bits.observe('value', (c) => { seen.push(c.new as number); });\n" +
        'bits',
    );
    const view = r.outputs.find((o) => o.mimes.includes('application/vnd.jupyter.widget-view+json'));
    assert.ok(view?.model_id, JSON.stringify(r.outputs));
    assert.equal(view.widget_error, '', 'the manager showed the view');
    const cell = page.cellSelector(r);
    const handle = page.page.locator(`${cell} .widget-slider .noUi-handle`);
    await handle.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await page.page.locator(`${cell} .widget-slider .widget-label`).textContent(), 'bits');
    assert.equal(Number(await handle.getAttribute('aria-valuenow')), 3);
    await page.screenshot('mixprec-slider-shown');

    // Keys in the browser: the value reaches the kernel, and the observer there runs.
    for (let i = 0; i < 2; i++) await handle.press('ArrowRight');
    await waitUntil('the kernel seeing bits = 5', async () => ((await kernelValue('[bits.value, seen]')) as [number, number[]])[0] === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    assert.deepEqual(await kernelValue('seen'), [4, 5]);
    await page.screenshot('mixprec-slider-after-keys');

    // From the kernel to the browser; a value past the range is clamped before it is sent.
    await page.run('bits.value = 99');
    await waitUntil('the slider showing 8', async () => Number(await handle.getAttribute('aria-valuenow')) === 8, { timeoutMs: 20_000 });
    assert.equal((await page.modelState(view.model_id)).value, 8);
    assert.deepEqual(await page.unexpectedErrors(), []);
  });

  it('redraws the quantizer explorer from the kernel when its bits slider is moved', async () => {
    const r = await page.run("const ex = mixprec.quantizerExplorer({ parametrization: 'U3', b: 3, points: 61 })", { timeoutMs: 120_000 });
    const cell = page.cellSelector(r);
    await page.page.locator(`${cell} .mixprec-explorer[data-b="3"] svg`).first().waitFor({ state: 'attached', timeout: 30_000 });
    // The explorer's bits slider is its first IntSlider.
    const handle = page.page.locator(`${cell} .widget-hslider .noUi-handle`).first();
    await handle.waitFor({ state: 'visible', timeout: 20_000 });
    await page.screenshot('mixprec-explorer-b3');
    await handle.press('ArrowRight');
    await page.page.locator(`${cell} .mixprec-explorer[data-b="4"] svg`).first().waitFor({ state: 'attached', timeout: 60_000 });
    assert.equal(await kernelValue('ex.bits.value'), 4);
    assert.match(String(await kernelValue('ex.derived.value')), /^U3: b = 4, d = 0\.25/);
    await page.screenshot('mixprec-explorer-b4');
  });

  it('stops a training run from the dashboard Stop button at a step boundary, the model usable', async () => {
    const running = page.execute(
      [
        'const data = { shape: [8, 8, 1] as const, numClasses: 2, numExamples: 1 << 20,',
        '  async *batches() { for (;;) yield { x: new Float32Array(64 * 16).fill(0.5), y: new Int32Array(16), size: 16 }; } };',
        "const config = mixprec.mergeTrainConfig(mixprec.DEFAULT_TRAIN_CONFIG, { model: 'mnistnet', epochs: 1, batchSize: 16, learningRate: 0.01 });",
        "const dash = mixprec.trainingDashboard({ title: 'browser run', maxUpdatesPerSecond: 10 });",
        'const run = await mixprec.train({ config, train: data, test: data, outDir: null, ...dash.trainOptions });',
        'console.log(JSON.stringify({ interrupted: run.interrupted, at: run.interruptedAt?.step }));',
      ].join('\n'),
      { timeoutMs: 300_000 },
    );
    const stop = page.page.locator('button.widget-button', { hasText: 'Stop' }).last();
    await stop.waitFor({ state: 'visible', timeout: 60_000 });
    await page.page.locator('.widget-label', { hasText: 'training' }).last().waitFor({ state: 'attached', timeout: 60_000 });
    await page.screenshot('mixprec-dashboard-training');
    await stop.click();
    const r = await running;
    assert.equal(r.status, 'ok', JSON.stringify(r.outputs));
    const printed = r.outputs.find((o) => o.output_type === 'stream')?.text ?? '';
    const result = JSON.parse(printed.trim().split('\n').at(-1) ?? '{}') as { interrupted?: boolean; at?: number };
    assert.equal(result.interrupted, true, printed);
    assert.ok((result.at ?? 0) >= 1, printed);
    assert.deepEqual(await kernelValue('run.model.forward(tf.zeros([1, 8, 8, 1]), false).shape'), [1, 2]);
    await page.page.locator('.widget-label', { hasText: 'interrupted at epoch 1' }).last().waitFor({ state: 'attached', timeout: 30_000 });
    await page.screenshot('mixprec-dashboard-stopped');
    assert.deepEqual(await page.unexpectedErrors(), []);
  });
});
