/**
 * AvgPoolGrad for the wasm backend where the window is one pixel: the option-A shortcut's subsampling
 * (avgPool(x, 1, stride), nnabla's average_pooling with a 1×1 kernel). Its gradient puts each dy sample back at its
 * pixel (× 1, the window's 1/area) and zeros elsewhere, a copy of whole channel runs; tfjs-wasm's generic loop took
 * 14 ms of a ResNet-20 U3 step at batch 128 for the two shortcuts. Larger windows go to the backend's own kernel.
 */
import { AvgPoolGrad, backend_util, type AvgPoolGradAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { displacedKernel } from './displaced';
import { spreadByStride, type BackendWasm } from './kernel_call';

function avgPoolGrad(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as AvgPoolGradAttrs & { dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const empty = dy.shape.some((d) => d === 0) || input.shape.some((d) => d === 0);
  if (input.shape.length === 4 && dy.dtype === 'float32' && !empty) {
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const onePixel = info.filterHeight === 1 && info.filterWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0;
    const [, ho, wo] = dy.shape as [number, number, number, number];
    if (onePixel && ho === info.outHeight && wo === info.outWidth) {
      avgPoolGradStats.calls++;
      return spreadByStride(args.backend as BackendWasm, dy, info.strideHeight, info.strideWidth, [info.inHeight, info.inWidth]);
    }
  }
  const original = displacedKernel('wasm', AvgPoolGrad);
  if (original === undefined) throw new Error('mixprec: the wasm backend has no AvgPoolGrad kernel to fall back on');
  return original.kernelFunc(args);
}

/** Calls that took the one-pixel path (tests check that a case took it). */
export const avgPoolGradStats = { calls: 0 };

export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: 'wasm',
  kernelFunc: avgPoolGrad as KernelFunc,
  // tfjs-wasm's AvgPoolGrad binds its WebAssembly function when the backend starts; the fallback needs it bound.
  setupFunc: (backend) => displacedKernel('wasm', AvgPoolGrad)?.setupFunc?.(backend),
};
