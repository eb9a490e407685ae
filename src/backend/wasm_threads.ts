/**
 * The threaded SIMD build of tfjs-backend-wasm in Node. tfjs turns it off in Node (tfjs issue #3830); what stops it is
 * glue written for browsers, not the build: the pthread workers are started from Blob URLs (Node's workers need file
 * paths), the worker receives the main script as a Blob it cannot read synchronously, the main script is the bundle's
 * factory function as text and so lacks the bundle's `require$$N` / `commonjsGlobal` names, XNNPACK caps its pool at
 * half the logical cores (1 on a 2-vCPU machine), and the idle workers keep Node from exiting.
 *
 * While the backend starts, `Blob` and `URL.createObjectURL` are replaced so that the two scripts land in a temporary
 * folder as files (the worker's Blob branch pointed at the main script's file), and `os.cpus()` reports twice the
 * cores so that XNNPACK's halving leaves the requested count; everything is restored right after, and the workers
 * are unref'd. The folder is named `mixprec-wasm-threads-<pid>-<random>`: it is removed at exit, and the folders of
 * processes that were killed before they could remove theirs are removed when the next one makes its own. Pinned
 * to the tfjs-backend-wasm version in package.json (the names above are its bundle's).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// The module object itself (not an import namespace, whose properties are read-only getters), to patch os.cpus.
import nodeOs = require('node:os');
import { processAlive, writeFileAtomic } from '../util/files';

/** Threads requested: MIXPREC_WASM_THREADS, else the machine's parallelism (at most 8, the build's worker pool). */
export function wasmThreadCount(): number {
  const env = process.env.MIXPREC_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`MIXPREC_WASM_THREADS must be a positive integer, got "${env}"`);
    return Math.min(n, 8);
  }
  return Math.max(1, Math.min(os.availableParallelism(), 8));
}

const BUNDLE_NAMES =
  "var commonjsGlobal = globalThis, require$$0 = require('fs'), require$$1 = require('path'), " +
  "require$$3 = require('perf_hooks'), require$$4 = require('os');\n";
const WORKER_BLOB_READ = 'URL.createObjectURL(e.data.urlOrBlob)';

// A String object (not a primitive string): tfjs-wasm passes the script text through, and the mark must ride on it.
// eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
interface MarkedText extends String {
  mixprecScript?: 'main' | 'other';
}

let scriptDir: string | undefined;

/** The script folder is `mixprec-wasm-threads-<pid>-<random>` in os.tmpdir(), removed at exit. */
const SCRIPT_DIR_PREFIX = 'mixprec-wasm-threads-';
const SCRIPT_DIR_NAME = /^mixprec-wasm-threads-(\d+)-[A-Za-z0-9]+$/;

/**
 * Removes the script folders that processes killed before their exit handler ran left in `tmp` (those whose pid no
 * longer runs); a live process's folder and any other folder stay.
 */
function removeDeadScriptDirs(tmp: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SCRIPT_DIR_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      // another process removing it at the same time, or not ours to remove: leave it
    }
  }
}
/** What each script file holds: written once, atomically. */
const written = new Map<string, string>();

/**
 * Emscripten asks for the worker script once per pool worker, and the workers already started read it meanwhile:
 * rewriting it in place let a worker read an empty file, exit at once, and leave the backend waiting for it forever.
 */
function writeScript(file: string, text: string): void {
  if (written.get(file) === text) return;
  writeFileAtomic(file, text);
  written.set(file, text);
}

/** Installs the shims for `count` threads; call `restore()` once tfjs has started the backend (or failed to). */
export function prepareWasmThreads(
  count: number,
  tf: { env(): { set(flag: string, value: unknown): void } },
  wasm: { setThreadsCount(n: number): void },
): { restore(): void } {
  if (scriptDir === undefined) {
    const created = fs.mkdtempSync(path.join(os.tmpdir(), `${SCRIPT_DIR_PREFIX}${process.pid}-`));
    process.once('exit', () => fs.rmSync(created, { recursive: true, force: true }));
    scriptDir = created;
    removeDeadScriptDirs(os.tmpdir());
  }
  const dir = scriptDir;
  const mainFile = path.join(dir, 'main.js');
  const workerFile = path.join(dir, 'worker.js');
  const realBlob = globalThis.Blob;
  const realCreate = URL.createObjectURL;
  const realCpus = nodeOs.cpus;

  globalThis.Blob = function shimBlob(parts: unknown[], options?: ConstructorParameters<typeof Blob>[1]) {
    const text = parts.map(String).join('');
    if (text.startsWith('var WasmBackendModuleThreadedSimd')) {
      writeScript(mainFile, BUNDLE_NAMES + text);
      const marked: MarkedText = new String(text);
      marked.mixprecScript = 'main';
      return marked;
    }
    if (text.includes(WORKER_BLOB_READ)) {
      const marked: MarkedText = new String(text.replace(WORKER_BLOB_READ, JSON.stringify(mainFile)));
      marked.mixprecScript = 'other';
      return marked;
    }
    return new realBlob(parts as ConstructorParameters<typeof Blob>[0], options);
  } as unknown as typeof Blob;
  URL.createObjectURL = (obj: Blob | MarkedText) => {
    if (obj instanceof String && (obj as MarkedText).mixprecScript === 'other') {
      writeScript(workerFile, String(obj));
      return workerFile;
    }
    return realCreate(obj as Blob);
  };
  nodeOs.cpus = () => [...realCpus(), ...realCpus()];
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(count);
  return {
    restore() {
      globalThis.Blob = realBlob;
      URL.createObjectURL = realCreate;
      nodeOs.cpus = realCpus;
    },
  };
}

/** Lets Node exit while the pthread workers idle (emscripten's Node glue keeps them referenced). */
export function unrefWasmWorkers(backend: unknown): void {
  const pthreads = (backend as { wasm?: { PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] } } }).wasm?.PThread;
  if (!pthreads) return;
  for (const w of [...pthreads.unusedWorkers, ...pthreads.runningWorkers]) w.unref();
}
