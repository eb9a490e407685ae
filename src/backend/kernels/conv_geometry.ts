/**
 * A 2-D convolution's shape as mixprec's generated SIMD kernels take it (NHWC, no dilation), from tfjs's conv info,
 * and the wasm heap memory those kernels run on.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { HeapMemory } from './wasm_asm';

export interface ConvGeometry {
  n: number;
  /** Input rows, columns and channels. */
  h: number;
  w: number;
  ci: number;
  /** Output rows, columns and channels. */
  ho: number;
  wo: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Zero rows and columns before the input. */
  top: number;
  left: number;
}

export function convGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** The wasm backend's heap as a WebAssembly.Memory, where the build exposes it (the threaded and plain builds do). */
export function wasmHeapMemory(backend: unknown): HeapMemory | undefined {
  return (backend as { wasm?: { wasmMemory?: HeapMemory } }).wasm?.wasmMemory;
}

/** tfjs's conv info for an NHWC convolution without dilation, the one shape every kernel here starts from. */
export function nhwcConvInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: backend_util.Conv2DInfo['padInfo']['type'] | number | backend_util.ExplicitPadding | 'same' | 'valid',
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad as 'same' | 'valid' | number | backend_util.ExplicitPadding,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}
