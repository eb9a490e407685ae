/**
 * Fused quantizer kernels for the cpu and wasm backends: one kernel for the forward pass and one for the backward
 * pass of each quantizer family (uniform, power-of-two), in place of the 15–25 tfjs kernels the composed ops
 * dispatch. The arithmetic is in quantize_math.ts; this file moves data in and out of each backend's memory.
 *
 * Kernels (inputs → outputs; attrs `signed`, `withZero`):
 *   MixprecUniformQuantize      x, step, X        → q
 *   MixprecUniformQuantizeGrad  dy, x, step, X    → dx, ∂step, ∂X (scalars)
 *   MixprecPow2Quantize         x, a, b           → q
 *   MixprecPow2QuantizeGrad     dy, x, a, b       → dx, ∂a, ∂b (scalars)
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';
import { pow2Backward, pow2Forward, uniformBackward, uniformForward } from './quantize_math';

export const FUSED_QUANTIZER_KERNELS = {
  uniform: { forward: 'MixprecUniformQuantize', backward: 'MixprecUniformQuantizeGrad' },
  pow2: { forward: 'MixprecPow2Quantize', backward: 'MixprecPow2QuantizeGrad' },
} as const;

/** The attributes of every fused quantizer kernel (uniform kernels ignore `withZero`). */
export interface Attrs {
  signed: boolean;
  withZero: boolean;
}

/** How a backend exposes tensor memory to JavaScript. */
interface Memory {
  /** A view of (or the array behind) a tensor's float32 data. */
  read(t: TensorInfo): Float32Array;
  /** New float32 outputs; `fill` writes them (views are taken only after every output is allocated). */
  outputs(shapes: number[][], fill: (views: Float32Array[]) => void): TensorInfo[];
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

interface CpuBackend {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
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

type MemoryOf = (backend: unknown) => Memory;
const MEMORY: Record<'cpu' | 'wasm', MemoryOf> = {
  cpu: (b) => cpuMemory(b as CpuBackend),
  wasm: (b) => wasmMemory(b as BackendWasm),
};

function requireFloat32(kernel: string, t: TensorInfo, name: string): void {
  if (t.dtype !== 'float32') throw new Error(`mixprec: ${kernel} needs float32 ${name}, got ${t.dtype}`);
}

function kernels(backendName: 'cpu' | 'wasm'): KernelConfig[] {
  const memoryOf = MEMORY[backendName];
  const scalar = (m: Memory, t: TensorInfo) => m.read(t)[0]!;
  const forward = (name: string, run: (x: Float32Array, out: Float32Array, p0: number, p1: number, attrs: Attrs) => void): KernelConfig => ({
    kernelName: name,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Attrs }) => {
      const m = memoryOf(backend);
      const { x, p0, p1 } = inputs as { x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
      requireFloat32(name, x, 'x');
      const [a, b] = [scalar(m, p0), scalar(m, p1)];
      return m.outputs([x.shape], ([out]) => run(m.read(x), out!, a, b, attrs))[0]!;
    }) as unknown as KernelFunc,
  });
  const backward = (
    name: string,
    run: (dy: Float32Array, x: Float32Array, dx: Float32Array, p0: number, p1: number, attrs: Attrs) => [number, number],
  ): KernelConfig => ({
    kernelName: name,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Attrs }) => {
      const m = memoryOf(backend);
      const { dy, x, p0, p1 } = inputs as { dy: TensorInfo; x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
      requireFloat32(name, x, 'x');
      requireFloat32(name, dy, 'dy');
      const [a, b] = [scalar(m, p0), scalar(m, p1)];
      return m.outputs([x.shape, [], []], ([dx, g0, g1]) => {
        [g0![0], g1![0]] = run(m.read(dy), m.read(x), dx!, a, b, attrs);
      });
    }) as unknown as KernelFunc,
  });
  return [
    forward(FUSED_QUANTIZER_KERNELS.uniform.forward, (x, out, step, X, at) => uniformForward(x, out, { step, X, signed: at.signed })),
    backward(FUSED_QUANTIZER_KERNELS.uniform.backward, (dy, x, dx, step, X, at) => uniformBackward(dy, x, dx, { step, X, signed: at.signed })),
    forward(FUSED_QUANTIZER_KERNELS.pow2.forward, (x, out, a, b, at) => pow2Forward(x, out, { a, b, signed: at.signed, withZero: at.withZero })),
    backward(FUSED_QUANTIZER_KERNELS.pow2.backward, (dy, x, dx, a, b, at) =>
      pow2Backward(dy, x, dx, { a, b, signed: at.signed, withZero: at.withZero }),
    ),
  ];
}

export const fusedQuantizerKernels: readonly KernelConfig[] = [...kernels('cpu'), ...kernels('wasm')];
