/**
 * A real browser frontend for Jupyter widgets, for tests: Debian's classic notebook server (`jupyter notebook`) runs
 * the kernel from a kernelspec; headless Chromium (Debian's, driven by playwright-core) loads a page bundled here
 * from test/browser/widgets/page.ts with esbuild, which talks to the kernel with JupyterLab's kernel client
 * (@jupyterlab/services) and shows widgets with the ipywidgets project's manager (@jupyter-widgets/html-manager,
 * controls and base of ipywidgets 8: protocol 2.1, model modules 2.0.0).
 *
 *   const server = await startNotebookServer({ kernelspecs: { py: pythonKernelspec() } });
 *   const widgets = await openWidgetPage(server, 'py');
 *   const r = await widgets.execute('1 + 1');        // { status: 'ok', outputs: [{ output_type: 'execute_result', … }] }
 *   await widgets.screenshot('after');                // test-artifacts/widgets/after.png
 *   await widgets.close(); await server.stop();
 *
 * Nothing here sleeps for a fixed time: every wait is for a condition, with a deadline that names what it waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PYTHON, ROOT, missingPython, missingTool } from './jupyter';
import type { ConnectSummary, ExecuteSummary, WidgetHarnessApi } from '../browser/widgets/protocol';

export type { ConnectSummary, ExecuteSummary, OutputSummary } from '../browser/widgets/protocol';

export const CHROMIUM = '/usr/bin/chromium';
export const JUPYTER = '/usr/bin/jupyter';
/** Where screenshots go (git-ignored). */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'widgets');
const PAGE_DIR = path.join(ROOT, 'test', 'browser', 'widgets');
const BUILD_DIR = path.join(PAGE_DIR, '.build');

/**
 * Why the harness cannot run here ('' when it can): Chromium, Debian's jupyter and its notebook server, and
 * ipykernel. With MIXPREC_TEST_REQUIRE_TOOLS=1 a missing tool throws instead (see missingTool).
 */
export function missingWidgetTools(): string {
  if (!fs.existsSync(CHROMIUM)) return missingTool(`${CHROMIUM} is not installed (apt-get install chromium)`);
  if (!fs.existsSync(JUPYTER)) return missingTool(`${JUPYTER} is not installed (apt-get install jupyter-notebook)`);
  return missingPython('notebook', 'jupyter-notebook') || missingPython('ipykernel', 'python3-ipykernel');
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting

/** Rejects with `what` (and `detail()`, for a diagnosis) if `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string, detail: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const more = detail();
      reject(new Error(`${what}: no result within ${ms} ms${more ? `\n${more}` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `probe` until it returns something other than undefined / false (that value is returned), rethrowing
 * nothing: a probe that throws counts as "not yet" and its last error is reported at the deadline.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = `last probe: ${String(value)}`;
    } catch (error) {
      last = `last probe threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() > until) throw new Error(`${what}: not so within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The notebook server

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  env?: Record<string, string>;
  interrupt_mode?: 'signal' | 'message';
  metadata?: Record<string, unknown>;
}

/** Debian's ipykernel (python3-ipykernel) run by Debian's Python, not whatever python3 is first on PATH. */
export function pythonKernelspec(): KernelSpec {
  return { argv: [PYTHON, '-m', 'ipykernel_launcher', '-f', '{connection_file}'], display_name: 'Python 3 (Debian ipykernel)', language: 'python' };
}

export interface NotebookServerOptions {
  /** Kernelspecs to write into the server's private data dir, by kernel name. */
  kernelspecs?: Record<string, KernelSpec>;
  /** Kernelspec folders (each holding a kernel.json) to copy in, named after the folder, as `jupyter kernelspec install` does. */
  kernelspecDirs?: string[];
  /** Extra environment for the server and so for its kernels (the JUPYTER_* variables below win). */
  env?: NodeJS.ProcessEnv;
  /** How long the server may take to answer /api/status (default 90 s). */
  startTimeoutMs?: number;
}

export interface NotebookServer {
  /** http://127.0.0.1:PORT/ (ends in '/'). */
  baseUrl: string;
  token: string;
  port: number;
  pid: number;
  /** JUPYTER_DATA_DIR and the first JUPYTER_PATH entry; kernelspecs live in its kernels/ (they may be added while it runs). */
  dataDir: string;
  notebookDir: string;
  /** The server's (and its kernels') stdout and stderr so far. */
  log(): string;
  /** Stops the server and every kernel it started (even those in their own sessions), and removes its temp dirs. */
  stop(): Promise<void>;
}

/** Installs `spec` as kernel `name` under `dataDir`/kernels. */
export function writeKernelspec(dataDir: string, name: string, spec: KernelSpec): string {
  const dir = path.join(dataDir, 'kernels', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 1));
  return dir;
}

/** Processes whose environment carries `NAME=value` (kernels start in sessions of their own: no process group holds them all). */
function processesMarked(name: string, value: string): number[] {
  if (process.platform !== 'linux') return [];
  const needle = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const MARKER = 'MIXPREC_WIDGET_HARNESS';

export async function startNotebookServer(options: NotebookServerOptions = {}): Promise<NotebookServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-widgets-'));
  const dirs = Object.fromEntries(['data', 'config', 'runtime', 'ipython', 'notebooks'].map((d) => [d, path.join(root, d)])) as Record<
    'data' | 'config' | 'runtime' | 'ipython' | 'notebooks',
    string
  >;
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  for (const [name, spec] of Object.entries(options.kernelspecs ?? {})) writeKernelspec(dirs.data, name, spec);
  for (const src of options.kernelspecDirs ?? []) {
    fs.cpSync(src, path.join(dirs.data, 'kernels', path.basename(path.resolve(src))), { recursive: true });
  }
  const token = randomBytes(24).toString('hex');
  const marker = randomUUID();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_PATH: dirs.data,
    JUPYTER_CONFIG_DIR: dirs.config, // no user configuration (~/.jupyter) leaks in
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    IPYTHONDIR: dirs.ipython,
    JUPYTER_TOKEN: token, // the token stays off the command line
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    [MARKER]: marker,
  };
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  let logText = '';
  const log = () => logText;

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    child = spawn(
      JUPYTER,
      [
        'notebook',
        '--no-browser',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--port-retries=0',
        `--notebook-dir=${dirs.notebooks}`,
        '--NotebookApp.allow_origin=*',
        '--NotebookApp.password=',
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      { env, cwd: dirs.notebooks, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const started = child;
    const exited = new Promise<string>((resolve) => started.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`)));
    for (const stream of [started.stdout!, started.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (s: string) => {
        logText = (logText + s).slice(-200_000);
      });
    }
    const baseUrl = `http://127.0.0.1:${port}/`;
    const ready = waitUntil(
      `the notebook server at ${baseUrl} answering /api/status`,
      async () => {
        if (started.exitCode !== null || started.signalCode !== null) throw new Error('server exited');
        const r = await fetch(`${baseUrl}api/status`, { headers: { Authorization: `token ${token}` } });
        return r.ok ? true : undefined;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 100 },
    ).then(() => '');
    const outcome = await Promise.race([ready, exited]).catch((e: Error) => e.message);
    if (outcome === '') break;
    try {
      process.kill(-started.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    if (attempt < 3 && /already in use|Address already/i.test(logText)) continue; // lost the race for the port
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`jupyter notebook did not start: ${outcome}\n${logText.slice(-4000)}`);
  }
  const server = child;

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      const pid = server.pid!;
      const exited = new Promise<void>((resolve) => {
        if (server.exitCode !== null || server.signalCode !== null) resolve();
        else server.once('exit', () => resolve());
      });
      try {
        process.kill(-pid, 'SIGTERM'); // the server shuts its kernels down on SIGTERM
      } catch {
        // gone already
      }
      await withDeadline(exited, 20_000, 'notebook server stopping').catch(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      });
      // Kernels it could not stop (they run in sessions of their own): by the marker in their environment.
      for (const p of processesMarked(MARKER, marker)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await waitUntil('the notebook server’s processes gone', () => processesMarked(MARKER, marker).filter(alive).length === 0, {
        timeoutMs: 10_000,
      }).catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    })());
  return { baseUrl: `http://127.0.0.1:${port}/`, token, port, pid: server.pid!, dataDir: dirs.data, notebookDir: dirs.notebooks, log, stop };
}

// ---------------------------------------------------------------------------------------------------------------
// The page

const PAGE_HTML = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>mixprec widget harness</title>
    <style>
      body { font-family: 'DejaVu Sans', sans-serif; font-size: 13px; margin: 16px; width: 900px; }
      .cell { border-top: 1px solid #ddd; padding: 6px 0; }
      .cell-input { background: #f5f5f5; color: #444; margin: 0 0 6px; padding: 4px 6px; white-space: pre-wrap; max-height: 6em; overflow: hidden; }
      .output pre { margin: 2px 0; white-space: pre-wrap; }
      .output-error pre { color: #b00; }
    </style>
  </head>
  <body>
    <div id="cells"></div>
    <script src="page.js"></script>
  </body>
</html>
`;

/** What url() in the widget packages' CSS may point at: inlined. */
const CSS_URL_LOADERS: Record<string, esbuild.Loader> = {
  '.woff': 'dataurl',
  '.woff2': 'dataurl',
  '.ttf': 'dataurl',
  '.eot': 'dataurl',
  '.svg': 'dataurl',
  '.png': 'dataurl',
  '.gif': 'dataurl',
};

/**
 * CSS imported or required from JS becomes a module that adds a <style> when it is first evaluated (webpack's
 * style-loader): the html-manager requires the controls' CSS only when it loads the controls, and the ipywidgets 7
 * controls' CSS (also required there, for 1.x models) must not apply to ipywidgets 8 widgets.
 */
function cssAsStyleElements(inputs: Set<string>): esbuild.Plugin {
  return {
    name: 'css-as-style-elements',
    setup(build) {
      build.onLoad({ filter: /\.css$/ }, async (args) => {
        const css = await esbuild.build({
          entryPoints: [args.path],
          bundle: true,
          write: false,
          metafile: true,
          loader: CSS_URL_LOADERS,
          logLevel: 'silent',
        });
        for (const input of Object.keys(css.metafile.inputs)) inputs.add(path.resolve(ROOT, input));
        const text = css.outputFiles[0]?.text ?? '';
        const source = path.relative(ROOT, args.path);
        return {
          loader: 'js',
          contents: `const s = document.createElement('style'); s.dataset.source = ${JSON.stringify(source)}; s.textContent = ${JSON.stringify(text)}; document.head.appendChild(s);`,
        };
      });
    },
  };
}

function newestMtime(files: Iterable<string>): number {
  let newest = 0;
  for (const f of files) newest = Math.max(newest, fs.statSync(f).mtimeMs);
  return newest;
}

/**
 * Bundles page.ts into test/browser/widgets/.build/ (page.js, index.html) unless the bundle there is newer than
 * every file that went into it (and this file). Returns the folder. Concurrent test files may call it: each builds
 * into a folder of its own and renames the results into place.
 */
export async function buildWidgetPage(): Promise<string> {
  const stamp = path.join(BUILD_DIR, 'inputs.json');
  try {
    const inputs = JSON.parse(fs.readFileSync(stamp, 'utf8')) as string[];
    if (newestMtime([...inputs, __filename]) < fs.statSync(stamp).mtimeMs) return BUILD_DIR;
  } catch {
    // no bundle yet, or an input is gone: build
  }
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(BUILD_DIR, 'tmp-'));
  try {
    const inputs = new Set<string>();
    const result = await esbuild.build({
      entryPoints: [path.join(PAGE_DIR, 'page.ts')],
      bundle: true,
      outfile: path.join(tmp, 'page.js'),
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      sourcemap: true,
      metafile: true,
      logLevel: 'silent',
      loader: { '.svg': 'text' }, // @jupyterlab/ui-components imports its icons' SVG source (webpack's raw loader)
      define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
      plugins: [cssAsStyleElements(inputs)],
    });
    for (const input of Object.keys(result.metafile.inputs)) inputs.add(path.resolve(ROOT, input));
    fs.writeFileSync(path.join(tmp, 'index.html'), PAGE_HTML);
    fs.writeFileSync(path.join(tmp, 'inputs.json'), JSON.stringify([...inputs].filter((f) => fs.existsSync(f)).sort()));
    for (const name of ['page.js', 'page.js.map', 'index.html', 'inputs.json']) fs.renameSync(path.join(tmp, name), path.join(BUILD_DIR, name)); // the stamp last
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return BUILD_DIR;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css',
};

/** Serves the files of `dir` (no subfolders) on 127.0.0.1. */
async function serveFolder(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)) || 'index.html';
    const file = path.join(dir, path.basename(name));
    if (name === 'favicon.ico') {
      res.writeHead(204).end(); // no icon, and no 404 in the console
      return;
    }
    if (name.includes('/') || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/**
 * Console errors that are part of normal operation against this server: @jupyterlab/services first opens the kernel
 * websocket asking for the `v1.kernel.websocket.jupyter.org` subprotocol; notebook 6 (tornado) answers without one,
 * Chromium fails that handshake, and services reconnects without subprotocols (its designed fallback).
 */
export const EXPECTED_CONSOLE_ERRORS: RegExp[] = [/Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received/];

export interface WidgetPageOptions {
  /** Deadline for loading the page, starting the kernel and the manager's first contact with it (default 120 s). */
  connectTimeoutMs?: number;
  viewport?: { width: number; height: number };
}

export interface WidgetPage {
  page: Page;
  browser: Browser;
  connection: ConnectSummary;
  /** Runs `code` in the kernel; resolves when its reply and idle status are in and its outputs (widgets too) are shown. */
  execute(code: string, options?: { timeoutMs?: number }): Promise<ExecuteSummary>;
  /** Like execute, but throws (with the outputs) unless the status is 'ok'. */
  run(code: string, options?: { timeoutMs?: number }): Promise<ExecuteSummary>;
  /** The serialized state of a widget model in the page's manager. */
  modelState(modelId: string): Promise<Record<string, unknown>>;
  /** The `[data-cell="<index>"]` element holding a cell's input and outputs. */
  cellSelector(summary: ExecuteSummary): string;
  /** A full-page PNG in test-artifacts/widgets/NAME.png; returns its path. */
  screenshot(name: string): Promise<string>;
  /** Errors the page caught and console errors, for diagnosis. */
  errors(): Promise<string[]>;
  /** errors() less EXPECTED_CONSOLE_ERRORS. */
  unexpectedErrors(): Promise<string[]>;
  /** The browser console so far. */
  consoleLog(): string;
  /** Shuts the kernel down (bounded wait), closes the browser and the page's web server. Safe to call twice. */
  close(): Promise<void>;
}

type HarnessWindow = { widgetHarness: WidgetHarnessApi };

export async function openWidgetPage(server: NotebookServer, kernelName: string, options: WidgetPageOptions = {}): Promise<WidgetPage> {
  const dir = await buildWidgetPage();
  const web = await serveFolder(dir);
  const consoleEntries: string[] = [];
  const logConsole = (entry: string) => {
    consoleEntries.push(entry);
    if (consoleEntries.length > 2000) consoleEntries.splice(0, consoleEntries.length - 2000);
  };
  const consoleText = () => consoleEntries.join('\n');
  let browser: Browser | undefined;
  const diagnosis = () => `browser console:\n${consoleText().slice(-4000)}\nserver log:\n${server.log().slice(-4000)}`;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 }); // a fresh profile of its own
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1000, height: 800 } });
    page.on('console', (m) => logConsole(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logConsole(`[pageerror] ${e.stack ?? e.message}`));
    const connectTimeoutMs = options.connectTimeoutMs ?? 120_000;
    await page.goto(web.url, { timeout: connectTimeoutMs });
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string> } } }).document.documentElement.dataset.harness ===
        'ready',
      undefined,
      {
        timeout: connectTimeoutMs,
      },
    );
    const connection = await withDeadline(
      page.evaluate((o) => (globalThis as unknown as HarnessWindow).widgetHarness.connect(o), {
        baseUrl: server.baseUrl,
        token: server.token,
        kernelName,
      }),
      connectTimeoutMs,
      `starting kernel ${kernelName} from the page`,
      diagnosis,
    );
    const execute = (code: string, { timeoutMs = 60_000 } = {}) =>
      withDeadline(
        page.evaluate((c) => (globalThis as unknown as HarnessWindow).widgetHarness.execute(c), code),
        timeoutMs,
        `executing ${JSON.stringify(code.slice(0, 60))}`,
        diagnosis,
      );
    // The page console.error()s what it catches (widgetHarness.errors), so the console has it all.
    const errors = async () => consoleEntries.filter((l) => l.startsWith('[error]') || l.startsWith('[pageerror]'));
    const opened = browser;
    let closed: Promise<void> | undefined;
    return {
      page,
      browser,
      connection,
      execute,
      async run(code, runOptions) {
        const r = await execute(code, runOptions);
        if (r.status !== 'ok') throw new Error(`cell failed (${r.status}):\n${code}\n${r.outputs.map((o) => o.text).join('\n')}`);
        return r;
      },
      modelState: (id) => page.evaluate((m) => (globalThis as unknown as HarnessWindow).widgetHarness.modelState(m), id),
      cellSelector: (summary) => `[data-cell="${summary.cell}"]`,
      async screenshot(name) {
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
        await page.screenshot({ path: file, fullPage: true, timeout: 30_000 });
        return file;
      },
      errors,
      unexpectedErrors: async () => (await errors()).filter((e) => !EXPECTED_CONSOLE_ERRORS.some((re) => re.test(e))),
      consoleLog: consoleText,
      close: () =>
        (closed ??= (async () => {
          await withDeadline(
            page.evaluate(() => (globalThis as unknown as HarnessWindow).widgetHarness.shutdown()),
            15_000,
            'kernel shutdown from the page',
          ).catch(() => undefined); // the server's stop() kills what is left
          await opened.close().catch(() => undefined);
          await web.close();
        })()),
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    await web.close();
    if (error instanceof Error && !error.message.includes('browser console:')) error.message += `\n${diagnosis()}`;
    throw error;
  }
}
