/**
 * Conv2DBackpropFilter for the wasm backend, which ships without it, and for the cpu backend, whose scalar loop is
 * about 15× slower than its own forward convolution.
 *
 * The filter gradient dW[i,j,ci,co] = Σ_{n,oh,ow} x[n, oh·s + i − pT, ow·s + j − pL, ci] · dy[n, oh, ow, co]
 * is itself a convolution once batch and channels swap roles: x as [Ci, H, W, N] (batch Ci, channels N) convolved
 * with dy as a [Ho, Wo, N, Co] filter dilated by the forward stride gives [Ci, kh, kw, Co]. That runs on the
 * backend's XNNPACK convolution instead of a scalar loop. The two transposes are JavaScript loops (transpose_js.ts):
 * tfjs-wasm's own Transpose cost as much as the convolution.
 *
 * On the wasm backend, dy with a multiple of 4 channels takes a SIMD loop nest of our own instead
 * (filter_grad_simd.ts), split among the threads by images: the swapped convolution hands XNNPACK a new "filter"
 * every call, whose packing cost more than the arithmetic.
 */
import { Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import { callKernel, fitExtent, shape4, withScratch, type BackendHandle } from './kernel_call';
import { transposeJs } from './transpose_js';
import { filterGradPlan, filterGradSimd } from './filter_grad_simd';
import type { BackendWasm } from './kernel_call';
import { convGeometry, nhwcConvInfo, wasmHeapMemory } from './conv_geometry';

function conv2DBackpropFilter(backendName: string, args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendHandle['backend'];
  const handle: BackendHandle = { name: backendName, backend };
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error(`mixprec: ${backendName} Conv2DBackpropFilter supports NHWC only`);
  const info = nhwcConvInfo(x.shape, filterShape, strides, pad, dimRoundingMode);
  const [n, h, w, ci] = shape4(x, 'x');
  const memory = backendName === 'wasm' ? wasmHeapMemory(backend) : undefined;
  const geometry = convGeometry(info);
  const plan = memory !== undefined && x.dtype === 'float32' && dy.dtype === 'float32' ? filterGradPlan(geometry) : undefined;
  if (plan !== undefined) return filterGradSimd(backend as BackendWasm, memory!, x, dy, geometry, plan);
  const rows = fitExtent(h, info.padInfo.top, info.filterHeight - 1 + (info.outHeight - 1) * info.strideHeight + 1);
  const cols = fitExtent(w, info.padInfo.left, info.filterWidth - 1 + (info.outWidth - 1) * info.strideWidth + 1);

  const transpose = (t: TensorInfo, perm: [3, 1, 2, 0] | [1, 2, 0, 3]) =>
    backendName === 'cpu' || backendName === 'wasm'
      ? transposeJs(backendName, backend, t, perm)
      : callKernel(handle, 'Transpose', { x: t }, { perm });
  return withScratch(backend, (track) => {
    let input = x;
    if (rows.keep !== h || cols.keep !== w) {
      input = track(callKernel(handle, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [n, rows.keep, cols.keep, ci] }));
    }
    const xT = track(transpose(input, [3, 1, 2, 0]));
    const dyT = track(transpose(dy, [1, 2, 0, 3]));
    const swapped = track(
      callKernel(
        handle,
        'Conv2D',
        { x: xT, filter: dyT },
        {
          strides: [1, 1],
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
    return callKernel(handle, 'Transpose', { x: swapped }, { perm: [1, 2, 0, 3] });
  });
}

export function conv2DBackpropFilterConfig(backendName: string): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName,
    kernelFunc: ((args: Parameters<typeof conv2DBackpropFilter>[1]) =>
      conv2DBackpropFilter(backendName, args)) as unknown as KernelConfig['kernelFunc'],
  };
}
