/** How the cpu and wasm backends expose tensor memory to the JavaScript kernels mixprec adds. */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';

export interface Memory {
  /** A view of (or the array behind) a tensor's float32 data. */
  read(t: TensorInfo): Float32Array;
  /** New float32 outputs; `fill` writes them (views are taken only after every output is allocated). */
  outputs(shapes: number[][], fill: (views: Float32Array[]) => void): TensorInfo[];
}

interface CpuBackend {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function wasmMemory(backend: BackendWasm): Memory {
  return {
    read: (t) => backend.typedArrayFromHeap(t) as Float32Array,
    outputs(shapes, fill) {
      // Allocating may grow the wasm heap and detach earlier views, so allocate first, then take every view.
      const outs = shapes.map((s) => backend.makeOutput(s, 'float32'));
      fill(outs.map((o) => backend.typedArrayFromHeap(o) as Float32Array));
      return outs;
    },
  };
}

function cpuMemory(backend: CpuBackend): Memory {
  return {
    read: (t) => backend.data.get(t.dataId).values as Float32Array,
    outputs(shapes, fill) {
      const arrays = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
      fill(arrays);
      return shapes.map((s, i) => backend.makeTensorInfo(s, 'float32', arrays[i]!));
    },
  };
}

/** The memory accessor of a JavaScript-readable backend, by name. */
export const MEMORY: Readonly<Record<'cpu' | 'wasm', (backend: unknown) => Memory>> = {
  cpu: (b) => cpuMemory(b as CpuBackend),
  wasm: (b) => wasmMemory(b as BackendWasm),
};

/** Refuses a non-float32 input, naming the kernel and the input. */
export function requireFloat32(kernel: string, t: TensorInfo, name: string): void {
  if (t.dtype !== 'float32') throw new Error(`mixprec: ${kernel} needs float32 ${name}, got ${t.dtype}`);
}
