/**
 * The JavaScript kernel loops that {@link JsPool} splits among threads, by number, shared by the main thread and the
 * helpers. Each task runs on one range of its arrays (subarrays of equal length) and returns float64 partial sums
 * (two; zero where a task has none) that add up over the ranges to the whole array's. The batch-norm tasks work on
 * whole rows of c channels, take per-channel vectors (`vecIn`, back to back) and write per-channel partial sums
 * into `vecOut`.
 */
import { affineInto, channelSumsInto, gradSumsInto, squaredDeviationsInto } from './batch_norm_math';
import { pow2BackwardSums, pow2Forward, uniformBackwardSums, uniformForward } from './quantize_math';
import { instantiateOn, type HeapMemory } from './wasm_asm';

let heapMemory: HeapMemory | undefined;

/** Generated programs by id (compiled modules exporting `run(n0, n1, pointers …)`), known to this thread. */
const programs = new Map<number, object>();
const programInstances = new WeakMap<HeapMemory, Map<number, (...args: number[]) => void>>();

/** Makes a compiled program known to this thread under `id`. */
export function adoptProgram(id: number, module: object): void {
  programs.set(id, module);
}

function programOn(memory: HeapMemory, id: number): (...args: number[]) => void {
  let byId = programInstances.get(memory);
  if (byId === undefined) programInstances.set(memory, (byId = new Map()));
  let run = byId.get(id);
  if (run === undefined) {
    const module = programs.get(id);
    if (module === undefined) throw new Error(`mixprec: SIMD program ${id} was not sent to this thread`);
    run = (instantiateOn(module, memory) as { run: (...args: number[]) => void }).run;
    byId.set(id, run);
  }
  return run;
}

/** The WebAssembly memory the SIMD tasks run on, in this thread. */
export function useHeapMemory(memory: HeapMemory): void {
  heapMemory = memory;
}

export const TASK = {
  quantize: 0,
  quantizeGrad: 1,
  /** [x]; params [c]; vecOut Σ x. */
  channelSums: 2,
  /** [x]; params [c]; vecIn μ; vecOut Σ (x − μ)². */
  squaredDeviations: 3,
  /** [dy, x]; params [c]; vecIn μ; vecOut Σ dy, then Σ dy·(x − μ). */
  gradSums: 4,
  /** [u, out] or [u, v, out]; params [c]; vecIn a, b, c0: out = a·u (+ b·v) + c0 per channel. */
  affine: 5,
  /** No arrays; params [program, n0, n1, pointers …]: a generated SIMD program ({@link adoptProgram}) on images n0 … n1−1. */
  program: 6,
} as const;
export type TaskId = (typeof TASK)[keyof typeof TASK];

/** Quantizer task parameters: [family (0 uniform, 1 power of two), signed, withZero, g0, g1]. */
export type QuantizerParams = [number, number, number, number, number];

export function runTask(
  task: TaskId,
  arrays: Float32Array[],
  p: ArrayLike<number>,
  vecIn: Float64Array = new Float64Array(0),
  vecOut: Float64Array = new Float64Array(0),
): [number, number] {
  switch (task) {
    case TASK.quantize: {
      const [x, out] = arrays as [Float32Array, Float32Array];
      const [signed, withZero] = [p[1] === 1, p[2] === 1];
      if (p[0] === 0) uniformForward(x, out, { step: p[3]!, X: p[4]!, signed });
      else pow2Forward(x, out, { a: p[3]!, b: p[4]!, signed, withZero });
      return [0, 0];
    }
    case TASK.quantizeGrad: {
      const [dy, x, dx] = arrays as [Float32Array, Float32Array, Float32Array];
      const [signed, withZero] = [p[1] === 1, p[2] === 1];
      return p[0] === 0
        ? uniformBackwardSums(dy, x, dx, { step: p[3]!, X: p[4]!, signed })
        : pow2BackwardSums(dy, x, dx, { a: p[3]!, b: p[4]!, signed, withZero });
    }
    case TASK.channelSums:
    case TASK.squaredDeviations:
    case TASK.gradSums: {
      const c = p[0]!;
      const sums = vecOut.subarray(0, task === TASK.gradSums ? 2 * c : c);
      sums.fill(0);
      const mean = vecIn.subarray(0, c);
      if (task === TASK.channelSums) channelSumsInto(arrays[0]!, c, sums);
      else if (task === TASK.squaredDeviations) squaredDeviationsInto(arrays[0]!, c, mean, sums);
      else gradSumsInto(arrays[0]!, arrays[1]!, c, mean, sums);
      return [0, 0];
    }
    case TASK.affine: {
      const c = p[0]!;
      const [a, b, c0] = [vecIn.subarray(0, c), vecIn.subarray(c, 2 * c), vecIn.subarray(2 * c, 3 * c)];
      if (arrays.length === 2) affineInto(arrays[0]!, null, a, b, c0, arrays[1]!);
      else affineInto(arrays[0]!, arrays[1]!, a, b, c0, arrays[2]!);
      return [0, 0];
    }
    case TASK.program: {
      if (heapMemory === undefined) throw new Error('mixprec: a SIMD program ran before the heap memory arrived');
      programOn(heapMemory, p[0]!)(...Array.from(p).slice(1));
      return [0, 0];
    }
    default:
      throw new Error(`mixprec: unknown JavaScript kernel task ${String(task)}`);
  }
}
