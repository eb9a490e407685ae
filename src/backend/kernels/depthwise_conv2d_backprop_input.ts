/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend, which ships without it.
 *
 * dx[n,h,w,c] = Σ_{i,j,m} dy[n, oh, ow, c·M + m] · W[i,j,c,m] with h = oh·s + i·dil − pT. Spreading dy onto the
 * stride-1 grid (zeros between samples) turns this into a stride-1 correlation with the spatially flipped filter,
 * run as a depthwise convolution over the C·M channels of dy; summing the M products of each channel gives dx.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { callKernel, fitExtent, shape4, spreadByStride, withScratch, type BackendHandle, type BackendWasm } from './kernel_call';

function depthwiseBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const handle: BackendHandle = { name: 'wasm', backend };
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const [kh, kw, c, m] = shape4(filter, 'filter');
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const [n, h, w] = inputShape;
  const dh = info.dilationHeight;
  const dw = info.dilationWidth;

  return withScratch(backend, (track) => {
    let spread = dy;
    if (info.strideHeight > 1 || info.strideWidth > 1) spread = track(spreadByStride(backend, dy, info.strideHeight, info.strideWidth));
    const [, hu, wu, k] = shape4(spread, 'dy');
    // Output row h reads spread rows h + pT − i·dil, i.e. a correlation with the flipped filter whose padding before
    // is (kh−1)·dil − pT; a negative padding means dropping leading rows of `spread` instead.
    const padTop = (kh - 1) * dh - info.padInfo.top;
    const padLeft = (kw - 1) * dw - info.padInfo.left;
    const skipTop = Math.max(0, -padTop);
    const skipLeft = Math.max(0, -padLeft);
    const rows = fitExtent(hu - skipTop, Math.max(0, padTop), (kh - 1) * dh + h);
    const cols = fitExtent(wu - skipLeft, Math.max(0, padLeft), (kw - 1) * dw + w);
    let source = spread;
    if (skipTop > 0 || skipLeft > 0 || rows.keep !== hu - skipTop || cols.keep !== wu - skipLeft) {
      source = track(callKernel(handle, 'Slice', { x: spread }, { begin: [0, skipTop, skipLeft, 0], size: [n, rows.keep, cols.keep, k] }));
    }
    const flipped = track(callKernel(handle, 'Reverse', { x: filter }, { dims: [0, 1] }));
    const perChannel = track(callKernel(handle, 'Reshape', { x: flipped }, { shape: [kh, kw, c * m, 1] }));
    const products = track(
      callKernel(
        handle,
        'DepthwiseConv2dNative',
        { x: source, filter: perChannel },
        {
          strides: [1, 1],
          dilations: [dh, dw],
          pad: [
            [0, 0],
            [Math.max(0, padTop), rows.padAfter],
            [Math.max(0, padLeft), cols.padAfter],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dimRoundingMode: undefined as unknown as string,
        },
      ),
    );
    const split = track(callKernel(handle, 'Reshape', { x: products }, { shape: [n, h, w, c, m] }));
    return callKernel(handle, 'Sum', { x: split }, { axis: [4], keepDims: false });
  });
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelConfig['kernelFunc'],
};
