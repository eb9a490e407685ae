/** Backend selection: explicit requests start or fail with a reason, the environment variable, automatic order, report. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, BackendUnavailableError, currentBackend, formatBackendReport, initBackend } from '../../src/backend';

describe('initBackend', () => {
  it('starts an explicitly requested backend and reports it', async () => {
    const cpu = await initBackend('cpu');
    assert.equal(cpu.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(cpu.threads, 1);
    assert.equal(cpu.versions['tfjs-core'], tf.version_core);
    assert.deepEqual(cpu.skipped, []);
    const wasm = await initBackend('wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(wasm.simd, true, 'the Node 20 wasm build has SIMD');
    assert.ok(wasm.threads >= 1);
    assert.match(wasm.device, /WebAssembly/);
    assert.match(formatBackendReport(wasm), /^wasm \(WebAssembly CPU, XNNPACK .*\) · \d+ threads? · SIMD · tfjs 4\.\d+\.\d+$/);
    assert.equal(currentBackend(), wasm);
  });

  it('fails loudly for an unknown name or a backend that cannot start, without falling back', async () => {
    await initBackend('cpu');
    await assert.rejects(initBackend('cuda'), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.match(err.message, /backend "cuda" cannot start: unknown backend name; expected one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
      return true;
    });
    await assert.rejects(
      initBackend('tensorflow'),
      /backend "tensorflow" cannot start: @tensorflow\/tfjs-node (is not installed|is installed but failed to load)/,
    );
    await assert.rejects(initBackend('tensorflow-gpu'), /backend "tensorflow-gpu" cannot start: @tensorflow\/tfjs-node-gpu/);
    assert.equal(tf.getBackend(), 'cpu', 'a failed request leaves the running backend alone');
  });

  it('refuses a software WebGPU adapter unless asked, and says why', async () => {
    await assert.rejects(initBackend('webgpu', { allowSoftwareAdapter: false }), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.match(err.reason, /no WebGPU adapter|only a software WebGPU adapter is present/);
      return true;
    });
  });

  it('honours MIXPREC_BACKEND, and names the variable when its value is wrong', async () => {
    process.env.MIXPREC_BACKEND = 'cpu';
    try {
      assert.equal((await initBackend()).name, 'cpu');
      process.env.MIXPREC_BACKEND = 'gpu';
      await assert.rejects(initBackend(), /unknown MIXPREC_BACKEND name/);
    } finally {
      delete process.env.MIXPREC_BACKEND;
    }
  });

  it('picks the first backend that starts, recording why earlier ones were skipped', async () => {
    const report = await initBackend();
    const position = BACKEND_ORDER.indexOf(report.name);
    assert.deepEqual(
      report.skipped.map((s) => s.name),
      BACKEND_ORDER.slice(0, position),
    );
    for (const s of report.skipped) assert.ok(s.reason.length > 10, `${s.name} has a reason`);
  });

  it('leaves no process-wide error handlers behind (the wasm glue installs rethrowing ones)', async () => {
    const before = process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;
    await initBackend('wasm');
    await initBackend('cpu');
    assert.equal(process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length, before);
  });
});
