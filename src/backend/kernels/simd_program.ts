/**
 * Generated WebAssembly SIMD programs run by the pool on the wasm heap: each is assembled and compiled once per key
 * (a kernel and its shape) and known to every thread by an id. A program exports `run(n0, n1, pointers …)` that
 * does images n0 … n1−1; {@link runProgram} splits the images among the threads.
 */
import { assemble, compileModule, type FunctionBody, type HeapMemory } from './wasm_asm';
import { TASK, adoptProgram } from './js_pool_tasks';
import { jsPool, type JsPool } from './js_pool';
import { wasmThreadCount } from '../wasm_threads';

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

/** Runs `program` on images [0, n), part k with `run(n0, n1, ...pointers(k))`; returns how many parts there were. */
export function runProgram(memory: HeapMemory, program: SimdProgram, n: number, pointers: (part: number) => number[]): number {
  return programPool().runParts(TASK.program, memory, n, (k, n0, n1) => [program.id, n0, n1, ...pointers(k)], program);
}
