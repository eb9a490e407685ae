/**
 * Fused parametric quantizer kernels for the cpu and wasm backends: one kernel quantizes (the grid from the two raw
 * parameters, then every element), one computes the whole backward pass (∂x and, through the grid's Jacobian, both
 * parameters' gradients), one projects the parameters after an optimizer step. They replace the 30–90 tfjs kernels
 * per quantizer and step of the composed ops in src/quant. The arithmetic is in quantize_math.ts (elements) and
 * parametric_math.ts (scalars); this file moves data in and out of each backend's memory.
 *
 * Kernels (inputs → outputs; attrs {@link ParametricAttrs}):
 *   MixprecParametricQuantize      x, p0, p1      → q
 *   MixprecParametricQuantizeGrad  dy, x, p0, p1  → ∂x, ∂p0, ∂p1 (scalars)
 *   MixprecProjectParams           p0, p1         → p0', p1' (scalars; attrs short, range0, range1)
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { MEMORY, requireFloat32, type Memory } from './memory';
import { parametrizationInfo, type LearnedKind } from '../../quant/parametrizations';
import { chainRule, parametricGrid, projectPair, type GridJacobian, type ParametricAttrs } from './parametric_math';
import { pow2Backward, pow2Finish, pow2Forward, uniformBackward, uniformFinish, uniformForward, type UniformGrid } from './quantize_math';
import { uniformBackwardSimd, uniformForwardSimd, uniformSimdApplies } from './quantize_simd';
import { wasmHeapMemory } from './conv_geometry';
import type { BackendWasm } from './kernel_call';
import { jsPool } from './js_pool';
import { TASK, type QuantizerParams } from './js_pool_tasks';
import { wasmThreadCount } from '../wasm_threads';

export type { ParametricAttrs };

export const FUSED_QUANTIZER_KERNELS = {
  quantize: 'MixprecParametricQuantize',
  quantizeGrad: 'MixprecParametricQuantizeGrad',
  project: 'MixprecProjectParams',
} as const;

/** The family of a parametrization, from the table. */
export const familyOf = (attrs: Pick<ParametricAttrs, 'short'>): LearnedKind => parametrizationInfo(attrs.short)!.kind;

/** q for every element of x on the grid g. */
function quantizeInto(x: Float32Array, out: Float32Array, g: GridJacobian, attrs: ParametricAttrs): void {
  if (familyOf(attrs) === 'uniform') uniformForward(x, out, { step: g.g0, X: g.g1, signed: attrs.signed });
  else pow2Forward(x, out, { a: g.g0, b: g.g1, signed: attrs.signed, withZero: attrs.withZero });
}

/** ∂x into dx; returns the gradients of the two grid scalars. */
function backwardInto(dy: Float32Array, x: Float32Array, dx: Float32Array, g: GridJacobian, attrs: ParametricAttrs): [number, number] {
  return familyOf(attrs) === 'uniform'
    ? uniformBackward(dy, x, dx, { step: g.g0, X: g.g1, signed: attrs.signed })
    : pow2Backward(dy, x, dx, { a: g.g0, b: g.g1, signed: attrs.signed, withZero: attrs.withZero });
}

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: ParametricAttrs };

/** The task parameters of js_pool_tasks.ts for a grid. */
const taskParams = (g: GridJacobian, attrs: ParametricAttrs): QuantizerParams => [
  familyOf(attrs) === 'uniform' ? 0 : 1,
  +attrs.signed,
  +attrs.withZero,
  g.g0,
  g.g1,
];

/** The uniform grid of a parametric grid, or undefined for the power-of-two family. */
const uniformGrid = (g: GridJacobian, attrs: ParametricAttrs): UniformGrid | undefined =>
  familyOf(attrs) === 'uniform' ? { step: g.g0, X: g.g1, signed: attrs.signed } : undefined;

/**
 * The elementwise passes: on wasm, uniform grids as SIMD programs (quantize_simd.ts) and the rest as JavaScript loops
 * split among the threads of the backend's build (js_pool.ts); on cpu, whose arrays are not shared, inline.
 */
function quantizeOn(
  backendName: 'cpu' | 'wasm',
  backend: unknown,
  x: Float32Array,
  out: Float32Array,
  g: GridJacobian,
  attrs: ParametricAttrs,
): void {
  if (backendName === 'cpu') return quantizeInto(x, out, g, attrs);
  const memory = wasmHeapMemory(backend);
  const grid = uniformGrid(g, attrs);
  if (memory !== undefined && grid !== undefined && uniformSimdApplies(grid)) {
    if (uniformForwardSimd(backend as BackendWasm, memory, x.byteOffset, out.byteOffset, x.length, grid)) return;
    // Non-finite inputs: the loop below, over views taken again (the SIMD pass's scratch may have grown the heap).
    [x, out] = [x, out].map((a) => new Float32Array(memory.buffer, a.byteOffset, a.length)) as [Float32Array, Float32Array];
  }
  jsPool(wasmThreadCount()).run(TASK.quantize, [x, out], taskParams(g, attrs));
}

function backwardOn(
  backendName: 'cpu' | 'wasm',
  backend: unknown,
  dy: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  g: GridJacobian,
  attrs: ParametricAttrs,
): [number, number] {
  if (backendName === 'cpu') return backwardInto(dy, x, dx, g, attrs);
  const memory = wasmHeapMemory(backend);
  const grid = uniformGrid(g, attrs);
  if (memory !== undefined && grid !== undefined && uniformSimdApplies(grid)) {
    const sums = uniformBackwardSimd(backend as BackendWasm, memory, { dy: dy.byteOffset, x: x.byteOffset, dx: dx.byteOffset }, x.length, grid);
    if (sums !== undefined) return uniformFinish(sums, grid);
    [dy, x, dx] = [dy, x, dx].map((a) => new Float32Array(memory.buffer, a.byteOffset, a.length)) as [Float32Array, Float32Array, Float32Array];
  }
  const sums = jsPool(wasmThreadCount()).run(TASK.quantizeGrad, [dy, x, dx], taskParams(g, attrs));
  return grid !== undefined ? uniformFinish(sums, grid) : pow2Finish(sums);
}

function kernels(backendName: 'cpu' | 'wasm'): KernelConfig[] {
  const memoryOf = MEMORY[backendName];
  const scalar = (m: Memory, t: TensorInfo) => m.read(t)[0]!;
  const quantize = (({ inputs, backend, attrs }: Args) => {
    const m = memoryOf(backend);
    const { x, p0, p1 } = inputs as { x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    requireFloat32(FUSED_QUANTIZER_KERNELS.quantize, x, 'x');
    const g = parametricGrid(scalar(m, p0), scalar(m, p1), attrs);
    return m.outputs([x.shape], ([out]) => quantizeOn(backendName, backend, m.read(x), out!, g, attrs))[0]!;
  }) as unknown as KernelFunc;
  const quantizeGrad = (({ inputs, backend, attrs }: Args) => {
    const m = memoryOf(backend);
    const { dy, x, p0, p1 } = inputs as { dy: TensorInfo; x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    requireFloat32(FUSED_QUANTIZER_KERNELS.quantizeGrad, x, 'x');
    requireFloat32(FUSED_QUANTIZER_KERNELS.quantizeGrad, dy, 'dy');
    const g = parametricGrid(scalar(m, p0), scalar(m, p1), attrs);
    return m.outputs([x.shape, [], []], ([dx, d0, d1]) => {
      const [dg0, dg1] = backwardOn(backendName, backend, m.read(dy), m.read(x), dx!, g, attrs);
      [d0![0], d1![0]] = chainRule(g, dg0, dg1);
    });
  }) as unknown as KernelFunc;
  const project = (({ inputs, backend, attrs }: Args) => {
    const m = memoryOf(backend);
    const { p0, p1 } = inputs as { p0: TensorInfo; p1: TensorInfo };
    const [v0, v1] = projectPair(scalar(m, p0), scalar(m, p1), attrs);
    return m.outputs([[], []], ([o0, o1]) => {
      o0![0] = v0;
      o1![0] = v1;
    });
  }) as unknown as KernelFunc;
  return [
    { kernelName: FUSED_QUANTIZER_KERNELS.quantize, backendName, kernelFunc: quantize },
    { kernelName: FUSED_QUANTIZER_KERNELS.quantizeGrad, backendName, kernelFunc: quantizeGrad },
    { kernelName: FUSED_QUANTIZER_KERNELS.project, backendName, kernelFunc: project },
  ];
}

export const fusedQuantizerKernels: readonly KernelConfig[] = [...kernels('cpu'), ...kernels('wasm')];
