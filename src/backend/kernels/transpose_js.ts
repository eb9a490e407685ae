/**
 * The two transposes of the filter gradient's "swap roles" convolution, as JavaScript loops over the tensor memory of
 * the cpu and wasm backends. tfjs-wasm's generic Transpose takes ~18 ns per element for [N,H,W,C] → [C,H,W,N] (a
 * quarter of a ResNet-20 stage-1 filter gradient); these loops move whole cache lines and take 1–2 ns.
 *
 * Both view a tensor as [A, M, B] (A the first axis, B the last, M everything between):
 *   swapEnds     [A, M, B] → [B, M, A]   (perm [3, 1, 2, 0] of a rank-4 tensor)
 *   firstToThird [A, M, B] → [M, A, B]   (perm [1, 2, 0, 3])
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { MEMORY, requireFloat32 } from './memory';

/** out[b, m, a] = src[a, m, b]. */
export function swapEndsInto(src: Float32Array, a: number, m: number, b: number, out: Float32Array): void {
  const srcRow = m * b;
  const outRow = m * a;
  for (let j = 0; j < m; j++) {
    // One [A, B] block per middle index: reads of A cache lines that stay in L1 while the B output rows are written.
    const from = j * b;
    const to = j * a;
    for (let k = 0; k < b; k++) {
      const o = k * outRow + to;
      for (let i = 0, s = from + k; i < a; i++, s += srcRow) out[o + i] = src[s]!;
    }
  }
}

/** out[m, a, :] = src[a, m, :]. */
export function firstToThirdInto(src: Float32Array, a: number, m: number, b: number, out: Float32Array): void {
  // Runs of b floats, four at a time when b allows (channel counts are multiples of 4): 8 → 6 ms for a stage-1 dy.
  const quads = b % 4 === 0;
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < m; j++) {
      const s = (i * m + j) * b;
      const o = (j * a + i) * b;
      if (quads) {
        for (let k = 0; k < b; k += 4) {
          out[o + k] = src[s + k]!;
          out[o + k + 1] = src[s + k + 1]!;
          out[o + k + 2] = src[s + k + 2]!;
          out[o + k + 3] = src[s + k + 3]!;
        }
      } else {
        for (let k = 0; k < b; k++) out[o + k] = src[s + k]!;
      }
    }
  }
}

/** A rank-4 float32 tensor transposed by perm [3, 1, 2, 0] or [1, 2, 0, 3] on the cpu or wasm backend. */
export function transposeJs(
  backendName: 'cpu' | 'wasm',
  backend: unknown,
  x: TensorInfo,
  perm: readonly [3, 1, 2, 0] | readonly [1, 2, 0, 3],
): TensorInfo {
  requireFloat32('Transpose', x, 'x');
  const [d0, d1, d2, d3] = x.shape as [number, number, number, number];
  const memory = MEMORY[backendName](backend);
  const swap = perm[0] === 3;
  const shape = swap ? [d3, d1, d2, d0] : [d1, d2, d0, d3];
  return memory.outputs([shape], ([out]) => {
    const src = memory.read(x);
    if (swap) swapEndsInto(src, d0, d1 * d2, d3, out!);
    else firstToThirdInto(src, d0, d1 * d2, d3, out!);
  })[0]!;
}
