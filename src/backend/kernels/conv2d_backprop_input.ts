/**
 * Conv2DBackpropInput for the wasm backend, whose own kernel is a scalar loop (measured: 74 ms per ResNet-20 layer at
 * batch 32, 10× its forward convolution, the largest single cost of a training step).
 *
 * dx[n,h,w,ci] = Σ_{i,j,co} dy[n, oh, ow, co] · W[i,j,ci,co] with h = oh·s + i − pT. Spreading dy onto the stride-1
 * grid (zeros between samples) makes this a stride-1 correlation with the spatially flipped filter whose in and out
 * channels swap roles, which runs on the backend's XNNPACK convolution.
 */
import { nhwcConvInfo } from './conv_geometry';
import { Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import {
  callKernel,
  fitExtent,
  flippedSwappedFilter,
  shape4,
  spreadByStride,
  withScratch,
  type BackendHandle,
  type BackendWasm,
} from './kernel_call';

/** The flipped, channel-swapped filter through the backend's kernels (dtypes the loop does not take). */
function flipSwapByKernels(handle: BackendHandle, filter: TensorInfo, track: (t: TensorInfo) => TensorInfo): TensorInfo {
  const flipped = track(callKernel(handle, 'Reverse', { x: filter }, { dims: [0, 1] }));
  return callKernel(handle, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
}

function conv2DBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const handle: BackendHandle = { name: 'wasm', backend };
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  if (dataFormat === 'NCHW') throw new Error('mixprec: wasm Conv2DBackpropInput supports NHWC only');
  const [kh, kw, , co] = shape4(filter, 'filter');
  const info = nhwcConvInfo(inputShape, filter.shape, strides, pad, dimRoundingMode);
  const [n, h, w] = inputShape;

  return withScratch(backend, (track) => {
    let spread = dy;
    if (info.strideHeight > 1 || info.strideWidth > 1) spread = track(spreadByStride(backend, dy, info.strideHeight, info.strideWidth));
    const [, hu, wu] = shape4(spread, 'dy');
    // Output row h reads spread rows h + pT − i, a correlation with the flipped filter padded by kh − 1 − pT before;
    // a negative padding drops leading rows of `spread` instead.
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const skipTop = Math.max(0, -padTop);
    const skipLeft = Math.max(0, -padLeft);
    const rows = fitExtent(hu - skipTop, Math.max(0, padTop), kh - 1 + h);
    const cols = fitExtent(wu - skipLeft, Math.max(0, padLeft), kw - 1 + w);
    let source = spread;
    if (skipTop > 0 || skipLeft > 0 || rows.keep !== hu - skipTop || cols.keep !== wu - skipLeft) {
      source = track(callKernel(handle, 'Slice', { x: spread }, { begin: [0, skipTop, skipLeft, 0], size: [n, rows.keep, cols.keep, co] }));
    }
    // One loop instead of tfjs-wasm's Reverse and Transpose (~0.5 ms per filter, 10 ms of a ResNet-20 step).
    const swapped = track(filter.dtype === 'float32' ? flippedSwappedFilter(backend, filter) : flipSwapByKernels(handle, filter, track));
    return callKernel(
      handle,
      'Conv2D',
      { x: source, filter: swapped },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [Math.max(0, padTop), rows.padAfter],
          [Math.max(0, padLeft), cols.padAfter],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dimRoundingMode: undefined as unknown as string,
      },
    );
  });
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelConfig['kernelFunc'],
};
