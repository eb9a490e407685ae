/**
 * Generated WebAssembly SIMD programs run by the pool on the wasm heap: each is assembled and compiled once per key
 * (a kernel and its shape) and known to every thread by an id. A program exports `run(n0, n1, pointers …)` that
 * does images n0 … n1−1; {@link runProgram} splits the images among the threads.
 */
import { assemble, compileModule, type FunctionBody, type HeapMemory } from './wasm_asm';
import { TASK, adoptProgram } from './js_pool_tasks';
import { jsPool, type JsPool } from './js_pool';
import { wasmThreadCount } from '../wasm_threads';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';

export interface SimdProgram {
  id: number;
  module: object;
}

const programs = new Map<string, SimdProgram>();
let nextId = 1;

/** The program for `key` on a shared or unshared heap, assembled from `body()` the first time it is asked for. */
export function simdProgram(key: string, shared: boolean, body: () => FunctionBody): SimdProgram {
  const fullKey = `${shared ? 'shared' : 'unshared'}:${key}`;
  let program = programs.get(fullKey);
  if (program === undefined) {
    program = { id: nextId++, module: compileModule(assemble([{ name: 'run', body: body() }], shared)) };
    adoptProgram(program.id, program.module);
    programs.set(fullKey, program);
  }
  return program;
}

/** The pool the programs run on. */
export function programPool(): JsPool {
  return jsPool(wasmThreadCount());
}

/**
 * Runs `program` on units (images, vectors) [0, n), part k with `run(n0, n1, ...pointers(k))`, each part at least
 * `minPerPart` units; returns how many parts there were.
 */
export function runProgram(memory: HeapMemory, program: SimdProgram, n: number, pointers: (part: number) => number[], minPerPart = 1): number {
  return programPool().runParts(TASK.program, memory, n, (k, n0, n1) => [program.id, n0, n1, ...pointers(k)], program, minPerPart);
}

/** The heap block each wasm backend keeps for the programs' constants and partial sums (see {@link programScratch}). */
const scratchBlocks = new WeakMap<object, { info: TensorInfo; bytes: number }>();

/**
 * The byte offset of a block of at least `bytes` of the backend's heap, kept from call to call (no allocation per
 * kernel once it is big enough). Growing it may grow the heap, which detaches earlier views: call it before taking
 * views of tensors.
 */
export function programScratch(backend: BackendWasm, bytes: number): number {
  let block = scratchBlocks.get(backend);
  if (block === undefined || block.bytes < bytes) {
    if (block !== undefined) backend.disposeData(block.info.dataId);
    const size = Math.max(bytes, 2 * (block?.bytes ?? 0), 4096);
    block = { info: backend.makeOutput([Math.ceil(size / 4)], 'float32'), bytes: size };
    scratchBlocks.set(backend, block);
  }
  return heapOffset(backend, block.info);
}

/** The byte offset of a tensor's data in the wasm heap (what the programs take as pointers). */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return (backend.typedArrayFromHeap(t) as Float32Array).byteOffset;
}
