/**
 * The fused quantizer kernels for WebGPU (WGSL): the forward pass in one dispatch; the backward pass as one dispatch
 * for ∂x and one for the per-element terms of both parameter sums (as a [2, N] tensor), reduced by the backend's own
 * Sum — the reduction the composed ops use, so the sums agree with them.
 *
 * Exactness as in quantize_math.ts: the shaders repeat the composed ops (clip, the same division x/d — exact, d being a
 * power of two — and round half away from zero), and 2^round(log2|x|) is read off the f32 bits (exponent, mantissa
 * against √2's), not computed with exp2/log2 whose WGSL precision is a few ULP.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { FUSED_QUANTIZER_KERNELS, type Attrs } from './quantize';
import { SQRT2_MANTISSA } from './quantize_math';
import { callKernel, type BackendHandle } from './kernel_call';

interface WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: TensorInfo[], outputDtype: 'float32'): TensorInfo;
  disposeData(dataId: unknown): void;
}

const WORKGROUP = 128;

/** The attributes as WGSL literals (they select a shader variant: part of its key). */
const wgslFlags = (attrs: Attrs) => ({ signed: String(attrs.signed), withZero: String(attrs.withZero) });

/** A flat elementwise program over `size` elements (the dispatch is 1-D; the backend splits large ones). */
function program(key: string, outputShape: number[], variableNames: string[], body: string): WebGPUProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey: key,
    variableNames,
    size: true,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => body,
  };
}

// Shared WGSL: the uniform quantizer's value and the pow2 rounding by bits.
const UNIFORM_WGSL = `
  fn roundHalfAway(z : f32) -> f32 {
    let a = abs(z);
    let whole = floor(a);
    let up = select(0.0, 1.0, (a - whole >= 0.5));
    return sign(z) * (whole + up);
  }
  // q = d·round(clip(x, lo, X)/d), lo = −X (signed) or 0; NaN stays NaN (WGSL's clamp leaves NaN undefined).
  fn uniformQ(xi : f32, step : f32, X : f32, signed : bool) -> f32 {
    if (isnan(xi)) { return xi; }
    let lo = select(0.0, -X, signed);
    let c = clamp(xi, lo, X);
    // The same division as the composed ops (exact here: d is a power of two).
    return roundHalfAway(c / step) * step;
  }
`;

const POW2_WGSL = `
  const SQRT2_MANTISSA : u32 = ${SQRT2_MANTISSA}u;
  // 2^round(log2 v) for a positive normal f32: its power-of-two part, doubled when the mantissa exceeds √2's.
  fn pow2RoundBits(v : f32) -> f32 {
    let bits = bitcast<u32>(v);
    let p = bitcast<f32>(bits & 0x7f800000u);
    return select(p, p * 2.0, (bits & 0x7fffffu) > SQRT2_MANTISSA);
  }
  struct Regions { ax : f32, sx : f32, i1 : bool, i2 : bool, i3 : bool }
  fn regions(xi : f32, a : f32, b : f32, signed : bool, withZero : bool) -> Regions {
    var xr = xi;
    if (!signed && xi < 0.0) { xr = 0.0; }
    let ax = abs(xr);
    let sx = select(-1.0, 1.0, (xr >= 0.0));
    // Comparisons are parenthesised: WGSL would read "ax < b, ...>" inside a call as a template list.
    var i1 = (ax < a);
    if (withZero) { i1 = (ax >= a * ${Math.fround(Math.SQRT1_2)}) && (ax < a); }
    let i2 = (ax >= a) && (ax < b);
    let i3 = (ax >= b);
    return Regions(ax, sx, i1, i2, i3);
  }
`;

function forwardProgram(family: 'uniform' | 'pow2', x: TensorInfo, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    family === 'uniform'
      ? `${UNIFORM_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, uniformQ(getXByOutputIndex(index), getP0(), getP1(), ${signed}));
        }
      }`
      : `${POW2_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let a = getP0();
          let b = getP1();
          let r = regions(getXByOutputIndex(index), a, b, ${signed}, ${withZero});
          var m = 0.0;
          if (r.i1) { m = a; }
          if (r.i2) { m = m + pow2RoundBits(r.ax); }
          if (r.i3) { m = m + b; }
          // The code's |x|·0 term: NaN for NaN and ±∞ inputs (written out: a compiler may fold x·0 to 0).
          if (isnan(r.ax) || r.ax > 3.4028234663852886e38) { m = bitcast<f32>(bitcast<u32>(r.ax) | 0x7fc00000u); }
          setOutputAtIndex(index, r.sx * m);
        }
      }`;
  return program(`mixprec_${family}_q_${signed}_${withZero}`, x.shape, ['x', 'p0', 'p1'], body);
}

function dxProgram(family: 'uniform' | 'pow2', x: TensorInfo, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    family === 'uniform'
      ? `fn main(index : i32) {
        if (index < uniforms.size) {
          let xi = getXByOutputIndex(index);
          // Every input must be used, or the layout derived from the shader drops its binding.
          _ = getP0();
          let X = getP1();
          let lo = select(0.0, -X, ${signed});
          setOutputAtIndex(index, getDyByOutputIndex(index) * select(0.0, 1.0, (xi > lo) && (xi < X)));
        }
      }`
      : `${POW2_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let r = regions(getXByOutputIndex(index), getP0(), getP1(), ${signed}, ${withZero});
          var g = 0.0;
          if (r.i2) { g = getDyByOutputIndex(index) * (pow2RoundBits(r.ax) / r.ax); }
          setOutputAtIndex(index, g);
        }
      }`;
  return program(`mixprec_${family}_dx_${signed}_${withZero}`, x.shape, ['dy', 'x', 'p0', 'p1'], body);
}

/** The terms of the two parameter sums: row 0 and row 1 of a [2, N] output. */
function termsProgram(family: 'uniform' | 'pow2', n: number, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    family === 'uniform'
      ? `${UNIFORM_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let i = index % ${n};
          let xi = x[i];
          let d = dy[i];
          let step = getP0();
          let X = getP1();
          var t = 0.0;
          if (index < ${n}) {
            let c = select(clamp(xi, select(0.0, -X, ${signed}), X), xi, isnan(xi));
            t = d * (uniformQ(xi, step, X, ${signed}) - c);
          } else {
            let out = select(0.0, 1.0, (xi >= X)) - select(0.0, 1.0, ${signed} && (xi <= -X));
            t = d * out;
          }
          setOutputAtIndex(index, t);
        }
      }`
      : `${POW2_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let i = index % ${n};
          let r = regions(x[i], getP0(), getP1(), ${signed}, ${withZero});
          let sd = dy[i] * r.sx;
          let mask = select(r.i3, r.i1, (index < ${n}));
          setOutputAtIndex(index, select(0.0, sd, mask));
        }
      }`;
  return program(`mixprec_${family}_terms_${signed}_${withZero}_${n}`, [2, n], ['dy', 'x', 'p0', 'p1'], body);
}

function kernelsFor(family: 'uniform' | 'pow2'): KernelConfig[] {
  const names = FUSED_QUANTIZER_KERNELS[family];
  const forward: KernelFunc = (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Attrs }) => {
    const { x, p0, p1 } = inputs as { x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    return (backend as WebGPUBackendLike).runWebGPUProgram(forwardProgram(family, x, attrs), [x, p0, p1], 'float32');
  }) as unknown as KernelFunc;
  const backward: KernelFunc = (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Attrs }) => {
    const { dy, x, p0, p1 } = inputs as { dy: TensorInfo; x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    const gpu = backend as WebGPUBackendLike;
    const handle: BackendHandle = { name: 'webgpu', backend: backend as BackendHandle['backend'] };
    const n = x.shape.reduce((a, b) => a * b, 1);
    const flat = (t: TensorInfo) => ({ ...t, shape: [n] });
    const dx = gpu.runWebGPUProgram(dxProgram(family, x, attrs), [dy, x, p0, p1], 'float32');
    const terms = gpu.runWebGPUProgram(termsProgram(family, n, attrs), [flat(dy), flat(x), p0, p1], 'float32');
    const sums = callKernel(handle, 'Sum', { x: terms }, { axis: [1], keepDims: false });
    gpu.disposeData(terms.dataId);
    // Each sum as a scalar tensor of its own (slice, then reshape, which shares the slice's data).
    const scalar = (i: number) => {
      const slice = callKernel(handle, 'Slice', { x: sums }, { begin: [i], size: [1] });
      const s0 = callKernel(handle, 'Reshape', { x: slice }, { shape: [] });
      gpu.disposeData(slice.dataId);
      return s0;
    };
    let g0 = scalar(0);
    const g1 = scalar(1);
    gpu.disposeData(sums.dataId);
    // The uniform step's gradient is Σ dy·(q − c) / d, divided after the sum as the composed ops do.
    if (family === 'uniform') {
      const divided = callKernel(handle, 'RealDiv', { a: g0, b: p0 });
      gpu.disposeData(g0.dataId);
      g0 = divided;
    }
    return [dx, g0, g1];
  }) as unknown as KernelFunc;
  return [
    { kernelName: names.forward, backendName: 'webgpu', kernelFunc: forward },
    { kernelName: names.backward, backendName: 'webgpu', kernelFunc: backward },
  ];
}

export const webgpuQuantizerKernels: readonly KernelConfig[] = [...kernelsFor('uniform'), ...kernelsFor('pow2')];
