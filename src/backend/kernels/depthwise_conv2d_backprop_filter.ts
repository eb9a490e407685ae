/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend, which ships without it.
 *
 * dW[i,j,c,m] = Σ_{n,oh,ow} x[n, oh·s + i·dil − pT, ow·s + j·dil − pL, c] · dy[n, oh, ow, c·M + m].
 * With x as a single image of N·C channels ([1, H, W, N·C]) and dy as a [Ho, Wo, N·C, M] depthwise filter dilated by
 * the forward stride, one depthwise convolution yields [1, kh, kw, N·C·M]; summing over n gives the gradient.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { callKernel, fitExtent, shape4, withScratch, type BackendHandle, type BackendWasm } from './kernel_call';

function depthwiseBackpropFilter(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const handle: BackendHandle = { name: 'wasm', backend };
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const [n, h, w, c] = shape4(x, 'x');
  const [kh, kw, , m] = filterShape;
  const rows = fitExtent(h, info.padInfo.top, (kh - 1) * info.dilationHeight + (info.outHeight - 1) * info.strideHeight + 1);
  const cols = fitExtent(w, info.padInfo.left, (kw - 1) * info.dilationWidth + (info.outWidth - 1) * info.strideWidth + 1);

  return withScratch(backend, (track) => {
    let input = x;
    if (rows.keep !== h || cols.keep !== w) {
      input = track(callKernel(handle, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [n, rows.keep, cols.keep, c] }));
    }
    const xT = track(callKernel(handle, 'Transpose', { x: input }, { perm: [1, 2, 0, 3] }));
    const xImage = track(callKernel(handle, 'Reshape', { x: xT }, { shape: [1, rows.keep, cols.keep, n * c] }));
    const dy5 = track(callKernel(handle, 'Reshape', { x: dy }, { shape: [n, info.outHeight, info.outWidth, c, m] }));
    const dyT = track(callKernel(handle, 'Transpose', { x: dy5 }, { perm: [1, 2, 0, 3, 4] }));
    const dyFilter = track(callKernel(handle, 'Reshape', { x: dyT }, { shape: [info.outHeight, info.outWidth, n * c, m] }));
    const perSample = track(
      callKernel(
        handle,
        'DepthwiseConv2dNative',
        { x: xImage, filter: dyFilter },
        {
          strides: [info.dilationHeight, info.dilationWidth],
          dilations: [info.strideHeight, info.strideWidth],
          pad: [
            [0, 0],
            [info.padInfo.top, rows.padAfter],
            [info.padInfo.left, cols.padAfter],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dimRoundingMode: undefined as unknown as string,
        },
      ),
    );
    const bySample = track(callKernel(handle, 'Reshape', { x: perSample }, { shape: [kh, kw, n, c * m] }));
    const summed = track(callKernel(handle, 'Sum', { x: bySample }, { axis: [2], keepDims: false }));
    return callKernel(handle, 'Reshape', { x: summed }, { shape: [kh, kw, c, m] });
  });
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
