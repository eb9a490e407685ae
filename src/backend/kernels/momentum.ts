/**
 * The momentum solver's update with nnabla's coupled weight decay as one kernel per parameter, in place of the six
 * tfjs kernels the composed ops dispatch (Multiply, Add, Multiply, Multiply, Add, Sub):
 *
 *   MixprecMomentumUpdate  v, g, w → v' = v·momentum + (g + w·decay)·lr, w' = w − v'      (attrs momentum, lr, decay)
 *
 * Each step is rounded to float32 in the order of the composed ops, so on cpu and wasm the result is the composed
 * ops' to the bit (tested); the WGSL shader writes the same expression (a GPU compiler may contract it into fused
 * multiply-adds, which differ by an ulp at most per step).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';
import { elementwiseProgram } from './webgpu_program';

export const MOMENTUM_UPDATE_KERNEL = 'MixprecMomentumUpdate';

export interface MomentumAttrs {
  momentum: number;
  lr: number;
  decay: number;
}

const f = Math.fround;

/** v' = v·momentum + (g + w·decay)·lr and w' = w − v', each operation rounded to float32 as tfjs's kernels round it. */
export function momentumUpdate(v: Float32Array, g: Float32Array, w: Float32Array, vOut: Float32Array, wOut: Float32Array, a: MomentumAttrs): void {
  const m = f(a.momentum);
  const lr = f(a.lr);
  const decay = f(a.decay);
  if (decay === 0) {
    for (let i = 0; i < vOut.length; i++) {
      const vi = f(f(v[i]! * m) + f(g[i]! * lr));
      vOut[i] = vi;
      wOut[i] = f(w[i]! - vi);
    }
  } else {
    for (let i = 0; i < vOut.length; i++) {
      const vi = f(f(v[i]! * m) + f(f(g[i]! + f(w[i]! * decay)) * lr));
      vOut[i] = vi;
      wOut[i] = f(w[i]! - vi);
    }
  }
}

function check(inputs: { v: TensorInfo; g: TensorInfo; w: TensorInfo }): void {
  const n = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`mixprec: ${MOMENTUM_UPDATE_KERNEL} needs float32 ${name}, got ${t.dtype}`);
    if (n(t) !== n(inputs.v)) throw new Error(`mixprec: ${MOMENTUM_UPDATE_KERNEL}: ${name} has ${n(t)} elements, v has ${n(inputs.v)}`);
  }
}

interface CpuBackend {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: MomentumAttrs };

const cpuKernel: KernelFunc = (({ inputs, backend, attrs }: Args) => {
  const { v, g, w } = inputs as { v: TensorInfo; g: TensorInfo; w: TensorInfo };
  check({ v, g, w });
  const b = backend as CpuBackend;
  const read = (t: TensorInfo) => b.data.get(t.dataId).values as Float32Array;
  const [vOut, wOut] = [new Float32Array(read(v).length), new Float32Array(read(v).length)];
  momentumUpdate(read(v), read(g), read(w), vOut, wOut, attrs);
  return [b.makeTensorInfo(v.shape, 'float32', vOut), b.makeTensorInfo(w.shape, 'float32', wOut)];
}) as unknown as KernelFunc;

const wasmKernel: KernelFunc = (({ inputs, backend, attrs }: Args) => {
  const { v, g, w } = inputs as { v: TensorInfo; g: TensorInfo; w: TensorInfo };
  check({ v, g, w });
  const b = backend as BackendWasm;
  // Allocating may grow the heap and detach views: the output first, then every view.
  const outs = [b.makeOutput(v.shape, 'float32'), b.makeOutput(w.shape, 'float32')];
  const view = (t: TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
  momentumUpdate(view(v), view(g), view(w), view(outs[0]!), view(outs[1]!), attrs);
  return outs;
}) as unknown as KernelFunc;

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], outputDtype: 'float32', uniforms: { type: string; data: number[] }[]): TensorInfo;
}

const WORKGROUP = 128;

const webgpuKernel: KernelFunc = (({ inputs, backend, attrs }: Args) => {
  const { v, g, w } = inputs as { v: TensorInfo; g: TensorInfo; w: TensorInfo };
  check({ v, g, w });
  const size = v.shape.reduce((a, b) => a * b, 1);
  const flat = (t: TensorInfo) => ({ ...t, shape: [size] });
  const program = {
    outputShape: [size],
    // momentum, lr and decay are uniforms: a new learning rate does not compile a new pipeline.
    shaderKey: 'mixprec_momentum_velocity',
    variableNames: ['v', 'g', 'w'],
    uniforms: 'momentum : f32, lr : f32, decay : f32,',
    size: true,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          // Without decay the composed ops add nothing (w·0 would turn an infinite w into NaN).
          let gd = select(g[index] + w[index] * uniforms.decay, g[index], uniforms.decay == 0.0);
          setOutputAtIndex(index, v[index] * uniforms.momentum + gd * uniforms.lr);
        }
      }`,
  };
  const gpu = backend as WebGPUBackendLike;
  const vOut = gpu.runWebGPUProgram(program, [flat(v), flat(g), flat(w)], 'float32', [
    { type: 'float32', data: [attrs.momentum] },
    { type: 'float32', data: [attrs.lr] },
    { type: 'float32', data: [attrs.decay] },
  ]);
  // w' = w − v' as a second program: a WebGPU program has one output.
  const subtract = elementwiseProgram(
    'mixprec_momentum_weights',
    [size],
    ['w', 'v'],
    `
      fn main(index : i32) {
        if (index < uniforms.size) { setOutputAtIndex(index, w[index] - v[index]); }
      }`,
  );
  const wOut = gpu.runWebGPUProgram(subtract, [flat(w), vOut], 'float32', []);
  return [
    { ...vOut, shape: v.shape },
    { ...wOut, shape: w.shape },
  ];
}) as unknown as KernelFunc;

export const momentumKernels: readonly KernelConfig[] = [
  { kernelName: MOMENTUM_UPDATE_KERNEL, backendName: 'cpu', kernelFunc: cpuKernel },
  { kernelName: MOMENTUM_UPDATE_KERNEL, backendName: 'wasm', kernelFunc: wasmKernel },
  { kernelName: MOMENTUM_UPDATE_KERNEL, backendName: 'webgpu', kernelFunc: webgpuKernel },
];
