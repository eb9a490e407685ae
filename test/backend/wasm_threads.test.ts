/**
 * The multi-threaded wasm build in Node, started as users start it (a fresh process per setting): it reports the
 * threads XNNPACK uses, computes the same convolution and matmul bits as one thread, leaves no shim behind, and the
 * process exits by itself (idle pthread workers must not keep Node alive).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
import { prepareWasmThreads } from '../../src/backend/wasm_threads';
import { deadPid } from '../helpers/processes';
const SCRIPT = `
const m = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
const tf = require('@tensorflow/tfjs');
const os = require('os');
(async () => {
  const report = await m.initBackend('wasm');
  const x = tf.randomNormal([4, 16, 16, 8], 0, 1, 'float32', 7);
  const w = tf.randomNormal([3, 3, 8, 12], 0, 1, 'float32', 8);
  const a = tf.randomNormal([96, 80], 0, 1, 'float32', 9);
  const conv = Buffer.from((await tf.conv2d(x, w, 1, 'same').data()).buffer).toString('base64');
  const mm = Buffer.from((await tf.matMul(a, a, false, true).data()).buffer).toString('base64');
  const shimsGone = typeof Blob === 'function' && new Blob(['x']).size === 1 && os.cpus().length === ${os.cpus().length};
  // Selecting the backends again (as tests and notebooks do) reuses the started wasm backend: no new shims or
  // exit handlers, the same threads.
  const listeners = process.listenerCount('exit');
  let again = report;
  for (let i = 0; i < 12; i++) { await m.initBackend('cpu'); again = await m.initBackend('wasm'); }
  const reselect = { addedExitListeners: process.listenerCount('exit') - listeners, threads: again.threads };
  process.stdout.write(JSON.stringify({ threads: report.threads, conv, mm, shimsGone, reselect }));
})();
`;

function run(threads: number): {
  threads: number;
  conv: string;
  mm: string;
  shimsGone: boolean;
  reselect: { addedExitListeners: number; threads: number };
} {
  const r = spawnSync(process.execPath, ['-e', SCRIPT], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, MIXPREC_WASM_THREADS: String(threads) },
  });
  assert.equal(r.signal, null, `MIXPREC_WASM_THREADS=${threads}: the process did not exit by itself (${r.signal})`);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /multi-threaded wasm build did not start/);
  assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning/);
  return JSON.parse(r.stdout);
}

describe('wasm backend threads', () => {
  it('starts with the requested threads, computes the same bits as one thread, and exits', () => {
    const one = run(1);
    const two = run(2);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, Math.min(2, os.availableParallelism()));
    assert.equal(two.conv, one.conv, 'conv2d differs between 1 and 2 threads');
    assert.equal(two.mm, one.mm, 'matMul differs between 1 and 2 threads');
    assert.ok(one.shimsGone && two.shimsGone, 'Blob / os.cpus shims left installed');
    for (const r of [one, two]) assert.deepEqual(r.reselect, { addedExitListeners: 0, threads: r.threads });
  });

  it('rejects a bad MIXPREC_WASM_THREADS with one clear error', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}).initBackend('wasm').catch((e) => { console.error(e.message); process.exit(3); })`,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MIXPREC_WASM_THREADS: 'many' } },
    );
    assert.equal(r.status, 3);
    assert.match(r.stderr, /MIXPREC_WASM_THREADS must be a positive integer, got "many"/);
  });

  it("removes the script folders of killed processes when it makes its own, and never a live process's", () => {
    // A private TMPDIR: the real one holds other processes' folders, which are not this test's to touch.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-wasm-tmp-'));
    const dead = path.join(tmp, `mixprec-wasm-threads-${deadPid()}-AbC123`);
    const live = path.join(tmp, `mixprec-wasm-threads-${process.pid}-XyZ789`);
    const unrelated = path.join(tmp, 'mixprec-kernel-abc');
    for (const dir of [dead, live, unrelated]) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'main.js'), '');
    }
    const script = `const { prepareWasmThreads } = require(${JSON.stringify(path.join(ROOT, 'dist', 'backend', 'wasm_threads.js'))});
      prepareWasmThreads(1, { env: () => ({ set() {} }) }, { setThreadsCount() {} }).restore();
      process.stdout.write(JSON.stringify(require('fs').readdirSync(${JSON.stringify(tmp)}).sort()));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp } });
    assert.equal(r.status, 0, r.stderr);
    const during = JSON.parse(r.stdout) as string[];
    const own = during.filter((d) => d.startsWith(`mixprec-wasm-threads-${r.pid}-`));
    assert.equal(own.length, 1, `its own folder carries its pid: ${during}`);
    assert.deepEqual(
      during.filter((d) => !own.includes(d)),
      [path.basename(unrelated), path.basename(live)].sort(),
    );
    assert.deepEqual(fs.readdirSync(tmp).sort(), [path.basename(unrelated), path.basename(live)].sort(), 'its own folder is removed at exit');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes the worker script once: workers that started already never read a file being rewritten', async () => {
    // Emscripten asks for the worker script once per pool worker (8 here) while earlier workers are reading it. An
    // in-place rewrite let one read an empty script and exit, and the backend waited for it forever (a kernel that
    // never answered kernel_info, about 1 start in 30 under load).
    const flags: Record<string, unknown> = {};
    let threads = 0;
    const shims = prepareWasmThreads(
      8,
      { env: () => ({ set: (k: string, v: unknown) => void (flags[k] = v) }) },
      { setThreadsCount: (n) => void (threads = n) },
    );
    try {
      assert.deepEqual([flags.WASM_HAS_MULTITHREAD_SUPPORT, threads], [true, 8]);
      void new Blob(['var WasmBackendModuleThreadedSimd = function () {};']); // main.js
      const worker = new Blob(['self.onmessage = (e) => importScripts(URL.createObjectURL(e.data.urlOrBlob));']);
      const workerFile = URL.createObjectURL(worker);
      const stamp = (f: string) => {
        const st = fs.statSync(f, { bigint: true });
        return `${st.ino}:${st.mtimeNs}`;
      };
      const mainFile = path.join(path.dirname(workerFile), 'main.js');
      const before = [stamp(workerFile), stamp(mainFile)];
      for (let i = 0; i < 7; i++) {
        await new Promise((r) => setTimeout(r, 5));
        assert.equal(URL.createObjectURL(new Blob(['self.onmessage = (e) => importScripts(URL.createObjectURL(e.data.urlOrBlob));'])), workerFile);
        void new Blob(['var WasmBackendModuleThreadedSimd = function () {};']);
      }
      assert.deepEqual([stamp(workerFile), stamp(mainFile)], before, 'a script file was written again');
      assert.equal(fs.readFileSync(workerFile, 'utf8'), `self.onmessage = (e) => importScripts(${JSON.stringify(mainFile)});`);
      assert.match(fs.readFileSync(mainFile, 'utf8'), /require\$\$0 = require\('fs'\)[\s\S]*var WasmBackendModuleThreadedSimd = function/);
    } finally {
      shims.restore();
    }
    assert.equal(new Blob(['x']).size, 1, 'Blob restored');
  });
});
