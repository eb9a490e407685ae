/**
 * Conv2D for the wasm backend as a WebAssembly SIMD program generated for each convolution shape. It replaces
 * tfjs-wasm's XNNPACK call where it applies (NHWC, no dilation, output channels a multiple of 4), and so also runs
 * inside Conv2DBackpropInput, which is a convolution of dy with the flipped filter.
 *
 * out[n, oh, ow, co] = Σ_{i, j, ci} xp[n, oh·sh + i, ow·sw + j, ci] · W[i, j, ci, co] over the zero-padded input xp.
 * Each block keeps 4 output pixels × 8 output channels in eight f32x4 registers; the tap and input-channel loops are
 * unrolled at generation with every offset an immediate (the shape is baked in), so the inner code is only
 * broadcast loads, vector loads and multiply-adds. Images are split among the pool's threads. Measured against
 * XNNPACK's convolution through tfjs-wasm: README Performance item 17.
 */
import { backend_util, Conv2D, type Conv2DAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { FunctionBody, I32, V128, type HeapMemory, type Local } from './wasm_asm';
import { heapOffset, programPool, runProgram, simdProgram } from './simd_program';
import { displacedKernel } from './displaced';
import type { BackendWasm } from './kernel_call';
import { convGeometry, nhwcConvInfo, wasmHeapMemory, type ConvGeometry } from './conv_geometry';

/** A convolution's shape as the generated program bakes it in (the batch size stays a parameter). */
interface ProgramGeometry extends ConvGeometry {
  /** Padded input rows and columns the program reads: (Ho − 1)·sh + kh, (Wo − 1)·sw + kw. */
  hp: number;
  wp: number;
}

/** Output pixels per block. */
const PIXELS = 4;
/** Unrolled taps × input channels above this keep XNNPACK (bounds the generated code, ~140 bytes per step). */
const MAX_UNROLLED = 4608;

/** Whether the SIMD program covers a convolution with these channels and filter size. */
export function convSimdApplies(g: Pick<ProgramGeometry, 'ci' | 'co' | 'kh' | 'kw'>): boolean {
  return g.co % 4 === 0 && g.kh * g.kw * g.ci <= MAX_UNROLLED;
}

/** Whether the program reads x through a zero-padded copy of each image. */
function padded(g: ProgramGeometry): boolean {
  return g.top !== 0 || g.left !== 0 || g.hp !== g.h || g.wp !== g.w;
}

/**
 * `run(n0, n1, x, w, out, pad)`: images n0 … n1−1 (byte offsets into the imported memory). Where the convolution
 * pads, each image is first copied into `pad` (this thread's hp × wp × ci floats, zeroed once), which stays in cache.
 */
function convBody(g: ProgramGeometry): FunctionBody {
  const f = new FunctionBody(6);
  const [n0, n1, x, w, out, pad] = [f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)];
  const { images, cN, cH, cW, cC, xImg, oImg, xr, orow, xp, op, wp, opc, blocks, xq, wq, channels, cCi } = f.named(I32, [
    'images',
    'cN',
    'cH',
    'cW',
    'cC',
    'xImg',
    'oImg',
    'xr',
    'orow',
    'xp',
    'op',
    'wp',
    'opc',
    'blocks',
    'xq',
    'wq',
    'channels',
    'cCi',
  ]);
  const coVectors = g.co % 8 === 0 ? 2 : 1;
  const accs = Array.from({ length: PIXELS * coVectors }, () => f.local(V128));
  const s = Array.from({ length: PIXELS }, () => f.local(V128));
  const d = Array.from({ length: coVectors }, () => f.local(V128));
  const acc = (p: number, c: number) => accs[p * coVectors + c]!;
  const xPixel = g.ci * 4;
  const oPixel = g.co * 4;
  const constant = (l: Local, v: number) => f.i32(v).set(l);

  /** One block of `pixels` output pixels at xp / op, over all output channel groups. */
  const block = (pixels: number) => {
    f.get(w).set(wp);
    f.get(op).set(opc);
    constant(blocks, g.co / (4 * coVectors));
    f.repeat(blocks, cC, () => {
      for (let p = 0; p < pixels; p++) for (let c = 0; c < coVectors; c++) f.v128Zero().set(acc(p, c));
      for (let i = 0; i < g.kh; i++) {
        for (let j = 0; j < g.kw; j++) {
          // Per tap a loop over the input channels: straight-line code over all of them scheduled its loads
          // early and ran 3.6× slower (measured).
          f.get(xp)
            .i32((i * g.wp + j) * xPixel)
            .add()
            .set(xq);
          f.get(wp)
            .i32((i * g.kw + j) * g.ci * oPixel)
            .add()
            .set(wq);
          f.repeat(channels, cCi, () => {
            for (let p = 0; p < pixels; p++)
              f.get(xq)
                .load32Splat(p * g.sw * xPixel)
                .set(s[p]!);
            for (let c = 0; c < coVectors; c++)
              f.get(wq)
                .v128Load(16 * c)
                .set(d[c]!);
            for (let p = 0; p < pixels; p++) {
              for (let c = 0; c < coVectors; c++) f.get(acc(p, c)).get(s[p]!).get(d[c]!).f32x4Mul().f32x4Add().set(acc(p, c));
            }
            f.bump(xq, 4);
            f.bump(wq, oPixel);
          });
        }
      }
      for (let p = 0; p < pixels; p++)
        for (let c = 0; c < coVectors; c++)
          f.get(opc)
            .get(acc(p, c))
            .v128Store(p * oPixel + 16 * c);
      f.bump(wp, 16 * coVectors);
      f.bump(opc, 16 * coVectors);
    });
  };

  f.get(n1).get(n0).sub().set(images);
  constant(channels, g.ci);
  const copies = padded(g);
  const { src, srcRow, dst, copyRows, cR } = f.named(I32, ['src', 'srcRow', 'dst', 'copyRows', 'cR']);
  // Rows and columns of x inside the padded extent (the rest are never read).
  const rowsIn = Math.max(0, Math.min(g.h, g.hp - g.top));
  const colsIn = Math.max(0, Math.min(g.w, g.wp - g.left));
  if (copies) {
    f.get(pad)
      .i32(0)
      .i32(g.hp * g.wp * xPixel)
      .memoryFill();
    f.get(x)
      .get(n0)
      .i32(g.h * g.w * xPixel)
      .mul()
      .add()
      .set(src);
  } else {
    f.get(x)
      .get(n0)
      .i32(g.hp * g.wp * xPixel)
      .mul()
      .add()
      .set(xImg);
  }
  f.get(out)
    .get(n0)
    .i32(g.ho * g.wo * oPixel)
    .mul()
    .add()
    .set(oImg);
  const fullBlocks = Math.floor(g.wo / PIXELS);
  const rest = g.wo % PIXELS;
  const { rows, cols } = f.named(I32, ['rows', 'cols']);
  f.repeat(images, cN, () => {
    if (copies) {
      f.get(pad).set(xImg);
      if (rowsIn > 0 && colsIn > 0) {
        f.get(src).set(srcRow);
        f.get(pad)
          .i32((g.top * g.wp + g.left) * xPixel)
          .add()
          .set(dst);
        constant(copyRows, rowsIn);
        f.repeat(copyRows, cR, () => {
          f.get(dst)
            .get(srcRow)
            .i32(colsIn * xPixel)
            .memoryCopy();
          f.bump(srcRow, g.w * xPixel);
          f.bump(dst, g.wp * xPixel);
        });
      }
      f.bump(src, g.h * g.w * xPixel);
    }
    f.get(xImg).set(xr);
    f.get(oImg).set(orow);
    constant(rows, g.ho);
    f.repeat(rows, cH, () => {
      f.get(xr).set(xp);
      f.get(orow).set(op);
      if (fullBlocks > 0) {
        constant(cols, fullBlocks);
        f.repeat(cols, cW, () => {
          block(PIXELS);
          f.bump(xp, PIXELS * g.sw * xPixel);
          f.bump(op, PIXELS * oPixel);
        });
      }
      if (rest > 0) block(rest);
      f.bump(xr, g.sh * g.wp * xPixel);
      f.bump(orow, g.wo * oPixel);
    });
    if (!copies) f.bump(xImg, g.hp * g.wp * xPixel);
    f.bump(oImg, g.ho * g.wo * oPixel);
  });
  return f;
}

function conv2dSimd(backend: BackendWasm, memory: HeapMemory, x: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const [n, , , ci] = x.shape as [number, number, number, number];
  const base = convGeometry(info);
  const g: ProgramGeometry = { ...base, hp: (base.ho - 1) * base.sh + base.kh, wp: (base.wo - 1) * base.sw + base.kw };
  const key = [g.h, g.w, g.top, g.left, g.hp, g.wp, g.ci, g.ho, g.wo, g.co, g.kh, g.kw, g.sh, g.sw].join(',');
  const program = simdProgram(`conv2d:${key}`, memory.buffer instanceof SharedArrayBuffer, () => convBody(g));
  const parts = programPool().partsFor(memory, n);
  const padFloats = padded(g) ? g.hp * g.wp * ci : 0;
  const out = backend.makeOutput(info.outShape, 'float32');
  const scratch = padFloats > 0 ? backend.makeOutput([parts * padFloats], 'float32') : undefined;
  try {
    // Offsets after the allocations (growing the heap moves nothing, but detaches earlier views).
    const offset = (t: TensorInfo) => heapOffset(backend, t);
    const [xOffset, filterOffset, outOffset] = [offset(x), offset(filter), offset(out)];
    const padOffset = scratch === undefined ? 0 : offset(scratch);
    convSimdStats.calls++;
    runProgram(memory, program, n, (k) => [xOffset, filterOffset, outOffset, padOffset + k * padFloats * 4]);
  } finally {
    if (scratch !== undefined) backend.disposeData(scratch.dataId);
  }
  return out;
}

/** Calls of the SIMD convolution so far (tests check that a case took this path). */
export const convSimdStats = { calls: 0 };

function conv2d(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as Conv2DAttrs;
  const original = displacedKernel('wasm', Conv2D);
  const memory = wasmHeapMemory(backend);
  const dilated = dilations !== undefined && (typeof dilations === 'number' ? dilations !== 1 : dilations.some((v) => v !== 1));
  if (memory !== undefined && dataFormat !== 'NCHW' && !dilated && x.dtype === 'float32' && filter.dtype === 'float32' && x.shape.length === 4) {
    const info = nhwcConvInfo(x.shape, filter.shape, strides, pad, dimRoundingMode);
    if (
      convSimdApplies({ ci: info.inChannels, co: info.outChannels, kh: info.filterHeight, kw: info.filterWidth }) &&
      info.outHeight > 0 &&
      info.outWidth > 0
    ) {
      return conv2dSimd(backend, memory, x, filter, info);
    }
  }
  if (original === undefined) throw new Error('mixprec: the wasm backend has no Conv2D kernel to fall back on');
  return original.kernelFunc(args);
}

export const conv2dSimdConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'wasm',
  kernelFunc: conv2d as KernelFunc,
  // tfjs-wasm's Conv2D binds its WebAssembly function when the backend starts; the fallback needs it bound.
  setupFunc: (backend) => displacedKernel('wasm', Conv2D)?.setupFunc?.(backend),
};
