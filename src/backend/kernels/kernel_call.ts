/**
 * Calling a backend's own kernels from inside a kernel we add, the way tfjs backends compose kernels: on TensorInfo
 * handles, with every intermediate released through the backend before returning.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };

/** The four dimensions of an NHWC tensor or HWCM filter (tfjs types every shape as number[]). */
export function shape4(t: TensorInfo, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`mixprec: ${what} must have rank 4, got shape [${t.shape.join(', ')}]`);
  return t.shape as [number, number, number, number];
}

/** A backend plus the name it is registered under (kernels are looked up per backend name). */
export interface BackendHandle {
  name: string;
  backend: KernelBackend;
}

/** Runs one registered kernel of the handle's backend by name. */
export function callKernel(handle: BackendHandle, kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(kernelName, handle.name);
  if (config === undefined) {
    throw new Error(`mixprec: the ${handle.name} backend has no ${kernelName} kernel to build on`);
  }
  const out = config.kernelFunc({ inputs, backend: handle.backend, attrs });
  if (Array.isArray(out)) throw new Error(`mixprec: ${handle.name} kernel ${kernelName} returned several outputs`);
  return out;
}

/**
 * A scratch scope for intermediates: `track` registers a TensorInfo, and every tracked one except `result`
 * is disposed when `body` returns (or throws), so a failing kernel leaks nothing.
 */
export function withScratch(backend: KernelBackend, body: (track: (t: TensorInfo) => TensorInfo) => TensorInfo): TensorInfo {
  const scratch: TensorInfo[] = [];
  let result: TensorInfo | undefined;
  try {
    result = body((t) => {
      scratch.push(t);
      return t;
    });
    return result;
  } finally {
    for (const t of scratch) if (t !== result) backend.disposeData(t.dataId);
  }
}

/**
 * Extent bookkeeping for the "swap roles" convolution tricks below: a stride-1 convolution that must read `needed`
 * rows starting `padBefore` rows before row 0 of an input of `size` rows. Returns how many input rows to keep
 * (cropping what lies past the end) and the padding after, never negative.
 */
export function fitExtent(size: number, padBefore: number, needed: number): { keep: number; padAfter: number } {
  const padAfter = needed - size - padBefore;
  return padAfter >= 0 ? { keep: size, padAfter } : { keep: size + padAfter, padAfter: 0 };
}

/**
 * dy [N,Ho,Wo,K] → [N,Hu,Wu,K] with the samples at multiples of the stride and zeros elsewhere; Hu, Wu are
 * (Ho−1)·sh+1, (Wo−1)·sw+1 unless `size` asks for more (zero rows and columns after).
 */
export function spreadByStride(backend: BackendWasm, dy: TensorInfo, sh: number, sw: number, size?: [number, number]): TensorInfo {
  const [n, ho, wo, k] = shape4(dy, 'dy');
  const hu = Math.max((ho - 1) * sh + 1, size?.[0] ?? 0);
  const wu = Math.max((wo - 1) * sw + 1, size?.[1] ?? 0);
  const out = backend.makeOutput([n, hu, wu, k], 'float32');
  // Views are taken after makeOutput: allocating may grow the wasm heap and detach earlier views.
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const src = backend.typedArrayFromHeap(dy) as Float32Array;
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const from = ((b * ho + oh) * wo + ow) * k;
        const to = ((b * hu + oh * sh) * wu + ow * sw) * k;
        dst.set(src.subarray(from, from + k), to);
      }
    }
  }
  return out;
}

/** The filter of the input gradient's correlation: out[i, j, co, ci] = W[kh−1−i, kw−1−j, ci, co] (float32, wasm). */
export function flippedSwappedFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = shape4(filter, 'filter');
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
      const to = (i * kw + j) * co * ci;
      for (let a = 0; a < ci; a++) for (let b = 0; b < co; b++) dst[to + b * ci + a] = src[from + a * co + b]!;
    }
  }
  return out;
}
