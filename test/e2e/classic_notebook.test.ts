/**
 * The classic notebook server from Debian serves a notebook with the mixprec kernel; headless Chromium (Debian's)
 * opens it, runs the cells, and the Vega-Lite plot shows as an image (the classic notebook has no Vega-Lite renderer:
 * it shows the SVG fallback). The screenshot is kept in the test's temp folder.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { jupyterWithKernel, missingPython, missingTool } from '../helpers/jupyter';
import { codeNotebook, writeNotebook } from '../helpers/notebooks';

const CHROMIUM = '/usr/bin/chromium';
const missing =
  missingPython('notebook', 'jupyter-notebook') ||
  (fs.existsSync(CHROMIUM) ? '' : missingTool('chromium is not installed (apt-get install chromium)'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-classic-'));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('classic notebook in headless Chromium', { skip: missing || false }, () => {
  let server: ChildProcess;
  let browser: Browser;
  let port: number;

  before(async () => {
    const { env } = jupyterWithKernel();
    writeNotebook(
      path.join(work, 'plot.ipynb'),
      codeNotebook([
        'const values = Array.from({ length: 20 }, (_, i) => ({ x: i, y: Math.sin(i / 3) }));',
        'display.vegalite({ title: "sine", width: 300, height: 150, data: { values }, mark: "line", encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } })',
      ]),
    );
    port = await freePort();
    server = spawn(
      'jupyter',
      [
        'notebook',
        '--no-browser',
        `--port=${port}`,
        '--ip=127.0.0.1',
        `--notebook-dir=${work}`,
        '--NotebookApp.token=',
        '--NotebookApp.password=',
        '--NotebookApp.open_browser=False',
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      { env, stdio: 'ignore' },
    );
    await waitForHttp(`http://127.0.0.1:${port}/api`, 60_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    spawnSync('pkill', ['-f', `--port=${port}`]);
  });

  it('runs the cells and shows the plot as an image', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/notebooks/plot.ipynb`);
    await page.waitForFunction(
      () => {
        const j = (globalThis as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
        return j?.notebook?.kernel?.is_connected() === true;
      },
      undefined,
      { timeout: 60_000 },
    );
    await page.evaluate(() =>
      (globalThis as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }).Jupyter.notebook.execute_all_cells(),
    );
    const plot = page.locator('.output_area .output_svg svg, .output_area .output_png img').first();
    await plot.waitFor({ state: 'visible', timeout: 120_000 });
    const box = await plot.boundingBox();
    assert.ok(box && box.width > 250 && box.height > 120, `plot box ${JSON.stringify(box)}`);
    assert.ok((await page.locator('.output_area svg path').count()) > 0, 'the chart has drawn marks');
    const shot = path.join(work, 'classic-notebook.png');
    const image = await plot.screenshot({ path: shot });
    await page.screenshot({ path: path.join(work, 'classic-notebook-page.png') });
    assert.ok(image.length > 5000, `plot screenshot ${image.length} bytes (a blank area compresses to far less)`);
    const prompts = await page.locator('.input_prompt').allTextContents();
    assert.ok(
      prompts.some((p) => /\[2\]/.test(p)),
      `execution counts shown: ${prompts.join(' | ')}`,
    );
    console.log(`screenshot: ${shot}`);
  });
});
