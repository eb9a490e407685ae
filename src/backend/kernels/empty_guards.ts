/**
 * Empty-tensor guards for tfjs-wasm's pooling and matrix-product kernels. XNNPACK's MaxPool writes out of bounds when the pooled
 * output has no pixel (a 1×1 image pooled 2×2 'valid'): the single-threaded build reports "memory access out of
 * bounds", the threaded build hangs. The cpu backend returns an empty tensor and its gradients are zeros; these
 * guards answer the same without calling XNNPACK, and delegate every non-empty call to the original kernel.
 */
import {
  AvgPool,
  AvgPoolGrad,
  backend_util,
  BatchMatMul,
  getKernel,
  MaxPool,
  MaxPoolGrad,
  registerKernel,
  unregisterKernel,
  type AvgPoolAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function zeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  if (size(shape) > 0) (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  return out;
}

/** The output shape when the call must not reach the original kernel, or null to delegate. */
type EmptyRule = (inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>) => number[] | null;

const pooled: EmptyRule = (inputs, attrs) => {
  const x = inputs.x!;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as AvgPoolAttrs;
  const { outShape } = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  return size(x.shape) === 0 || size(outShape) === 0 ? outShape : null;
};
// A gradient with no pixel pooled (or no input) is zero everywhere: no input pixel reached the output.
const poolGradient: EmptyRule = (inputs) => (size(inputs.dy!.shape) === 0 || size(inputs.input!.shape) === 0 ? [...inputs.input!.shape] : null);

// XNNPACK's fully connected operator refuses an inner dimension of 0 and leaves the output uninitialised; the
// product over an empty sum is zero.
const matMul: EmptyRule = (inputs, attrs) => {
  const a = inputs.a!.shape;
  const b = inputs.b!.shape;
  if (size(a) > 0 && size(b) > 0) return null;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const batch = backend_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
  return [...batch, transposeA ? a[a.length - 1]! : a[a.length - 2]!, transposeB ? b[b.length - 2]! : b[b.length - 1]!];
};

const RULES: ReadonlyArray<[string, EmptyRule]> = [
  [MaxPool, pooled],
  [AvgPool, pooled],
  [MaxPoolGrad, poolGradient],
  [AvgPoolGrad, poolGradient],
  [BatchMatMul, matMul],
];

const guarded = new Set<string>();

/** Wraps the wasm backend's pooling and BatchMatMul kernels with the empty-tensor guards, once; returns the kernel names wrapped. */
export function registerWasmEmptyGuards(): string[] {
  const wrapped: string[] = [];
  for (const [kernelName, rule] of RULES) {
    const original = getKernel(kernelName, 'wasm');
    if (original === undefined || guarded.has(kernelName)) continue;
    const kernelFunc: KernelFunc = (args) => {
      const shape = rule(args.inputs as Record<string, TensorInfo>, args.attrs as Record<string, unknown>);
      return shape === null ? original.kernelFunc(args) : zeros(args.backend as BackendWasm, shape);
    };
    // The original's setupFunc binds its WebAssembly function when the backend starts; keep it.
    const config: KernelConfig = { ...original, kernelFunc };
    unregisterKernel(kernelName, 'wasm');
    registerKernel(config);
    guarded.add(kernelName);
    wrapped.push(kernelName);
  }
  return wrapped;
}
