/**
 * The JavaScript kernel loops that {@link JsPool} splits among threads, by number, shared by the main thread and the
 * helpers. Each task runs on one range of its arrays (subarrays of equal length) and returns float64 partial sums
 * (two; zero where a task has none), which add up over the ranges to the whole array's.
 */
import { pow2BackwardSums, pow2Forward, uniformBackwardSums, uniformForward } from './quantize_math';

export const TASK = { quantize: 0, quantizeGrad: 1 } as const;
export type TaskId = (typeof TASK)[keyof typeof TASK];

/** Task parameters: [family (0 uniform, 1 power of two), signed, withZero, g0, g1]. */
export type QuantizerParams = [number, number, number, number, number];

export function runTask(task: TaskId, arrays: Float32Array[], p: ArrayLike<number>): [number, number] {
  const uniform = p[0] === 0;
  const signed = p[1] === 1;
  const withZero = p[2] === 1;
  const [g0, g1] = [p[3]!, p[4]!];
  switch (task) {
    case TASK.quantize: {
      const [x, out] = arrays as [Float32Array, Float32Array];
      if (uniform) uniformForward(x, out, { step: g0, X: g1, signed });
      else pow2Forward(x, out, { a: g0, b: g1, signed, withZero });
      return [0, 0];
    }
    case TASK.quantizeGrad: {
      const [dy, x, dx] = arrays as [Float32Array, Float32Array, Float32Array];
      return uniform ? uniformBackwardSums(dy, x, dx, { step: g0, X: g1, signed }) : pow2BackwardSums(dy, x, dx, { a: g0, b: g1, signed, withZero });
    }
    default:
      throw new Error(`mixprec: unknown JavaScript kernel task ${String(task)}`);
  }
}
