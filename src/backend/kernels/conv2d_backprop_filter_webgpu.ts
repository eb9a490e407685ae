/**
 * Conv2DBackpropFilter for WebGPU with the reduction split across the GPU. tfjs-webgpu runs one invocation per filter
 * element, each looping over batch × height × width (2,304 invocations for a 3×3×16×16 filter, 131,072 iterations
 * each at batch 128 on 32×32): a GPU with tens of thousands of lanes idles. Here the reduction over the output rows
 * (n, oh) is cut into S chunks, one invocation per (filter element, chunk) that walks its rows and, along each, the
 * output columns whose input column is inside the image (no bounds test, no division in the inner loop), writing an
 * [E, S] tensor of partial sums that the backend's own Sum reduces along its last axis:
 *
 *   dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + i − pT, ow·sw + j − pL, ci] · dy[n, oh, ow, co]
 *
 * The depthwise filter gradient (MobileNetV2) is the same reduction with dilations and a channel multiplier M:
 *
 *   dW[i, j, c, m] = Σ_{n, oh, ow} x[n, oh·sh + i·dh − pT, ow·sw + j·dw − pL, c] · dy[n, oh, ow, c·M + m]
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { callKernel, shape4, type BackendHandle } from './kernel_call';

const WORKGROUP = 64;
/** Aim for about this many invocations (partial sums) in all; each sums at least MIN_CHUNK products. */
const TARGET_INVOCATIONS = 1 << 16;
const MIN_CHUNK = 64;

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], outputDtype: 'float32'): TensorInfo;
  disposeData(dataId: unknown): void;
}

/** The number of chunks the reduction over `rows` output rows of `cols` columns splits into, for `e` filter elements. */
export function reductionChunks(e: number, rows: number, cols: number): number {
  const byWork = Math.max(1, Math.floor((rows * cols) / MIN_CHUNK));
  const byTarget = Math.max(1, Math.ceil(TARGET_INVOCATIONS / e));
  return Math.min(rows, byWork, byTarget);
}

/** The geometry of one filter gradient: regular (c_in × c_out filter) or depthwise (C × M). */
interface FilterGradGeometry {
  n: number;
  h: number;
  w: number;
  /** x's channels. */
  ci: number;
  kh: number;
  kw: number;
  /** The filter's last axis: output channels, or the depthwise multiplier M. */
  co: number;
  ho: number;
  wo: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
  depthwise: boolean;
}

/** Runs the split reduction and sums its partial sums: the gradient of shape [kh, kw, ci, co]. */
function filterGradWebGpu(args: { backend: unknown }, x: TensorInfo, dy: TensorInfo, g: FilterGradGeometry): TensorInfo {
  const backend = args.backend as WebGPUBackendLike;
  const handle: BackendHandle = { name: 'webgpu', backend: args.backend as BackendHandle['backend'] };
  const { n, h, w, ci, kh, kw, co, ho, wo, sh, sw, dh, dw, pt, pl, depthwise } = g;
  const e = kh * kw * ci * co;
  const rows = n * ho;
  const chunks = reductionChunks(e, rows, wo);
  const chunk = Math.ceil(rows / chunks);
  // dy's channels and the one this element reads: co, o (regular) or C·M, c·M + m (depthwise).
  const dyChannels = depthwise ? ci * co : co;
  const program = {
    outputShape: [e, chunks],
    shaderKey: `mixprec_${depthwise ? 'depthwise_' : ''}conv2d_filter_grad_${[n, h, w, ci, kh, kw, co, ho, wo, sh, sw, dh, dw, pt, pl, chunks].join('_')}`,
    variableNames: ['x', 'dy'],
    size: true,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil((e * chunks) / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let s = index % ${chunks};
          let el = index / ${chunks};
          let o = el % ${co};
          let t1 = el / ${co};
          let c = t1 % ${ci};
          let t2 = t1 / ${ci};
          let j = t2 % ${kw};
          let i = t2 / ${kw};
          let dyc = ${depthwise ? `c * ${co} + o` : 'o'};
          // The output columns whose input column ow·sw + j·dw − pl lies in [0, w).
          let before = ${pl} - j * ${dw};
          let owLo = select(0, (before + ${sw - 1}) / ${sw}, before > 0);
          let last = ${w - 1} + before;
          let owHi = min(${wo}, select(0, last / ${sw} + 1, last >= 0));
          var acc = 0.0;
          let start = s * ${chunk};
          let end = min(start + ${chunk}, ${rows});
          for (var q = start; q < end; q++) {
            let oh = q % ${ho};
            let b = q / ${ho};
            let hh = oh * ${sh} + i * ${dh} - ${pt};
            if (hh >= 0 && hh < ${h}) {
              let xRow = (b * ${h} + hh) * ${w} + j * ${dw} - ${pl};
              let dyRow = q * ${wo};
              for (var ow = owLo; ow < owHi; ow++) {
                acc = acc + x[(xRow + ow * ${sw}) * ${ci} + c] * dy[(dyRow + ow) * ${dyChannels} + dyc];
              }
            }
          }
          setOutputAtIndex(index, acc);
        }
      }`,
  };
  const flat = (t: TensorInfo) => ({ ...t, shape: [t.shape.reduce((a, b) => a * b, 1)] });
  const partial = backend.runWebGPUProgram(program, [flat(x), flat(dy)], 'float32');
  const summed = callKernel(handle, 'Sum', { x: partial }, { axis: [1], keepDims: false });
  backend.disposeData(partial.dataId);
  const out = callKernel(handle, 'Reshape', { x: summed }, { shape: [kh, kw, ci, co] });
  backend.disposeData(summed.dataId);
  return out;
}

function conv2DBackpropFilterWebGpu(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('mixprec: webgpu Conv2DBackpropFilter supports NHWC only');
  const [n, h, w, ci] = shape4(x, 'x');
  const info = backend_util.computeConv2DInfo([n, h, w, ci], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  return filterGradWebGpu(args, x, dy, {
    n,
    h,
    w,
    ci,
    kh: info.filterHeight,
    kw: info.filterWidth,
    co: info.outChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: 1,
    dw: 1,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
    depthwise: false,
  });
}

function depthwiseBackpropFilterWebGpu(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: unknown }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const [n, h, w, c] = shape4(x, 'x');
  const info = backend_util.computeConv2DInfo([n, h, w, c], filterShape, strides, dilations, pad, dimRoundingMode, true);
  return filterGradWebGpu(args, x, dy, {
    n,
    h,
    w,
    ci: c,
    kh: info.filterHeight,
    kw: info.filterWidth,
    co: filterShape[3],
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
    depthwise: true,
  });
}

export const depthwiseBackpropFilterWebGpuConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: depthwiseBackpropFilterWebGpu as unknown as KernelConfig['kernelFunc'],
};

export const conv2DBackpropFilterWebGpuConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: conv2DBackpropFilterWebGpu as unknown as KernelConfig['kernelFunc'],
};
