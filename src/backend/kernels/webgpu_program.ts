/** What mixprec's WGSL kernels need of tfjs-backend-webgpu: its program shape and runWebGPUProgram. */
import type { TensorInfo } from '@tensorflow/tfjs';

export interface WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

export interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: TensorInfo[], outputDtype: 'float32'): TensorInfo;
  disposeData(dataId: unknown): void;
}

const WORKGROUP = 128;

/** A flat program with one invocation per output element (the dispatch is 1-D; the backend splits large ones). */
export function elementwiseProgram(key: string, outputShape: number[], variableNames: string[], code: string): WebGPUProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey: key,
    variableNames,
    size: true,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => code,
  };
}

const f32Bits = new Uint32Array(1);
const f32View = new Float32Array(f32Bits.buffer);
/** A float32 constant as WGSL, exactly (its bits; no decimal round trip). */
export function wgslF32(v: number): string {
  f32View[0] = v;
  return `bitcast<f32>(${f32Bits[0]}u)`;
}
