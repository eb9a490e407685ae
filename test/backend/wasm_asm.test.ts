/**
 * The WebAssembly assembler behind the SIMD kernels (src/backend/kernels/wasm_asm.ts): integer encodings at their
 * edges, counted loops, and f32x4 arithmetic, run by V8 on shared and unshared memories and checked against
 * JavaScript's own arithmetic.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FunctionBody, I32, V128, assemble, compileModule, instantiateOn } from '../../src/backend/kernels/wasm_asm';

interface MemoryLike {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => MemoryLike } })
  .WebAssembly;

describe('wasm assembler', () => {
  it('i32 constants at the LEB128 edges, loads, stores and adds', () => {
    const constants = [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2 ** 31 - 1, -(2 ** 31), 123456789];
    // store(p, k) for each constant: mem[p + 4k] = constant + mem[p + 4k]
    const f = new FunctionBody(1);
    const p = f.param(0);
    constants.forEach((c, k) => {
      f.get(p)
        .get(p)
        .load(4 * k)
        .i32(c)
        .add()
        .store(4 * k);
    });
    for (const shared of [false, true]) {
      const memory = new WA.Memory(shared ? { initial: 1, maximum: 4, shared: true } : { initial: 1 });
      const exports = instantiateOn(compileModule(assemble([{ name: 'run', body: f }], shared)), memory) as { run(p: number): void };
      const view = new Int32Array(memory.buffer, 64, constants.length);
      view.set(constants.map((_, k) => k * 1000));
      exports.run(64);
      assert.deepEqual(
        [...view],
        constants.map((c, k) => (c + k * 1000) | 0),
        `shared ${shared}`,
      );
    }
  });

  it('repeat runs a body count times, none for zero or negative counts; f32x4 mul and add lane by lane', () => {
    // acc(x, y, out, n): out[0..4) += Σ_{t<n} splat(x[t]) · y[4t .. 4t+4)
    const f = new FunctionBody(4);
    const [x, y, outPtr, n] = [f.param(0), f.param(1), f.param(2), f.param(3)];
    const { counter, xp, yp } = f.named(I32, ['counter', 'xp', 'yp']);
    const acc = f.local(V128);
    f.get(outPtr).v128Load().set(acc);
    f.get(x).set(xp);
    f.get(y).set(yp);
    f.repeat(n, counter, () => {
      f.get(acc).get(xp).load32Splat().get(yp).v128Load().f32x4Mul().f32x4Add().set(acc);
      f.get(xp).i32(4).add().set(xp);
      f.get(yp).i32(16).add().set(yp);
    });
    f.get(outPtr).get(acc).v128Store();
    const memory = new WA.Memory({ initial: 1 });
    const { run } = instantiateOn(compileModule(assemble([{ name: 'run', body: f }], false)), memory) as {
      run(x: number, y: number, out: number, n: number): void;
    };
    const xs = new Float32Array(memory.buffer, 0, 8);
    const ys = new Float32Array(memory.buffer, 64, 32);
    const out = new Float32Array(memory.buffer, 256, 4);
    xs.set([0.5, -2, 3.25, 1e-3, 7, -0.125, 9, 2]);
    ys.set(Array.from({ length: 32 }, (_, i) => Math.fround(Math.sin(i) * 10)));
    for (const count of [-3, 0, 1, 5, 8]) {
      out.set([1, 2, 3, 4]);
      run(0, 64, 256, count);
      const want = [1, 2, 3, 4].map((v, lane) => {
        let a = Math.fround(v);
        for (let t = 0; t < count; t++) a = Math.fround(a + Math.fround(xs[t]! * ys[4 * t + lane]!));
        return a;
      });
      assert.deepEqual([...out], want, `count ${count}`);
    }
  });
});
