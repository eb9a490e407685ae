/**
 * The fused parametric quantizer kernels for WebGPU (WGSL): the forward pass in one dispatch; the backward pass as one
 * dispatch for ∂x, one for the per-element terms of both grid sums (as a [2, N] tensor), reduced by the backend's own
 * Sum — the reduction the composed ops use, so the sums agree with them — and one per parameter for the chain rule
 * through the grid's Jacobian; the projection as one dispatch per parameter. Every shader computes the grid from the
 * two raw parameters itself (a few dozen scalar operations, as parametric_math.ts), so no one-element tensors are
 * made for it.
 *
 * Exactness as in quantize_math.ts: the shaders repeat the composed ops (clip, the same division x/d — exact, d being a
 * power of two — and round half away from zero), and 2^round(log2|x|) is read off the f32 bits (exponent, mantissa
 * against √2's), not computed with exp2/log2 whose WGSL precision is a few ULP.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { FUSED_QUANTIZER_KERNELS, familyOf, type ParametricAttrs } from './quantize';
import { SQRT2_MANTISSA } from './quantize_math';
import { parametrizationInfo } from '../../quant/parametrizations';
import { callKernel, type BackendHandle } from './kernel_call';
import { elementwiseProgram, wgslF32, type WebGPUBackendLike, type WebGPUProgram } from './webgpu_program';

type Attrs = ParametricAttrs;

/** The attributes as WGSL literals (they select a shader variant: part of its key). */
const wgslFlags = (attrs: Attrs) => ({ signed: String(attrs.signed), withZero: String(attrs.withZero) });

/** A shader key fragment for the attributes (ranges included: they are baked into the shader). */
const attrsKey = (a: Attrs) => `${a.short}_${a.signed}_${a.withZero}_${a.range0.join('_')}_${a.range1.join('_')}`;

// The grid helpers, as parametric_math.ts: clip_scalar and its gate, 2^e for an integer e (ldexp is exact, unlike
// exp2), and pow2Round (pow2RoundBits below).
const GRID_HELPERS_WGSL = `
  struct Grid { g0 : f32, g1 : f32, j00 : f32, j01 : f32, j10 : f32, j11 : f32 }
  fn clipTo(v : f32, lo : f32, hi : f32) -> f32 {
    if (isnan(v)) { return v; }
    return min(max(v, lo), hi);
  }
  fn gateOf(v : f32, lo : f32, hi : f32) -> f32 { return select(0.0, 1.0, (v > lo) && (v < hi)); }
  fn exp2i(e : f32) -> f32 { return ldexp(1.0, i32(e)); }
`;

/** fn grid(p0, p1) -> Grid for one parametrization: the same operations, in the same order, as parametric_math.ts. */
function gridWgsl(a: Attrs): string {
  const [L0, H0, L1, H1] = [wgslF32(a.range0[0]), wgslF32(a.range0[1]), wgslF32(a.range1[0]), wgslF32(a.range1[1])];
  const LN2 = wgslF32(Math.LN2);
  const LN2_SQ = wgslF32(Math.LN2 * Math.LN2);
  const reservedU = a.signed ? 1 : 0;
  const reservedP = (a.signed ? 1 : 0) + (a.withZero ? 1 : 0);
  const bits = (reserved: number) => `
    let cn = clipTo(p0, ${L0}, ${H0});
    let gn = gateOf(p0, ${L0}, ${H0});
    let twoNq = exp2i(roundHalfAway(cn) - ${reserved}.0);`;
  const pow2Param = (name: string, p: string, lo: string, hi: string) => `
    let c_${name} = clipTo(${p}, ${lo}, ${hi});
    let level_${name} = pow2RoundBits(c_${name});
    let slope_${name} = gateOf(${p}, ${lo}, ${hi}) * (level_${name} / c_${name});`;
  const bodies: Record<Attrs['short'], string> = {
    U1: `${bits(reservedU)}
    let levels = twoNq - 1.0;${pow2Param('d', 'p1', L1, H1)}
    let step = level_d;
    return Grid(step, step * levels, 0.0, slope_d, gn * ((step * twoNq) * ${LN2}), slope_d * levels);`,
    U2: `${bits(reservedU)}
    let levels = twoNq - 1.0;
    let X = clipTo(p1, ${L1}, ${H1});
    let gx = gateOf(p1, ${L1}, ${H1});
    let step = pow2RoundBits(X / levels);
    return Grid(step, X, gn * (((-step * twoNq) * ${LN2}) / levels), gx * (step / X), 0.0, gx);`,
    U3: `${pow2Param('d', 'p0', L0, H0)}
    let X = clipTo(p1, ${L1}, ${H1});
    return Grid(level_d, X, slope_d, 0.0, 0.0, gateOf(p1, ${L1}, ${H1}));`,
    P1: `${bits(reservedP)}${pow2Param('top', 'p1', L1, H1)}
    let ratio = exp2i(1.0 - twoNq);
    let lowest = ratio * level_top;
    return Grid(lowest, level_top, gn * (-(lowest * twoNq) * ${LN2_SQ}), ratio * slope_top, 0.0, slope_top);`,
    P2: `${bits(reservedP)}${pow2Param('bottom', 'p1', L1, H1)}
    let ratio = exp2i(twoNq - 1.0);
    let highest = level_bottom * ratio;
    return Grid(level_bottom, highest, 0.0, slope_bottom, gn * ((highest * twoNq) * ${LN2_SQ}), ratio * slope_bottom);`,
    P3: `${pow2Param('bottom', 'p0', L0, H0)}${pow2Param('top', 'p1', L1, H1)}
    return Grid(level_bottom, level_top, slope_bottom, 0.0, 0.0, slope_top);`,
  };
  return `${GRID_HELPERS_WGSL}
  fn grid(p0 : f32, p1 : f32) -> Grid {${bodies[a.short]}
  }`;
}

// Shared WGSL: the uniform quantizer's value, the pow2 rounding by bits and the grid.
const ROUNDING_WGSL = `
  const SQRT2_MANTISSA : u32 = ${SQRT2_MANTISSA}u;
  // 2^round(log2 v) for a positive normal f32: its power-of-two part, doubled when the mantissa exceeds √2's.
  fn pow2RoundBits(v : f32) -> f32 {
    let bits = bitcast<u32>(v);
    let p = bitcast<f32>(bits & 0x7f800000u);
    return select(p, p * 2.0, (bits & 0x7fffffu) > SQRT2_MANTISSA);
  }
  fn roundHalfAway(z : f32) -> f32 {
    let a = abs(z);
    let whole = floor(a);
    let up = select(0.0, 1.0, (a - whole >= 0.5));
    return sign(z) * (whole + up);
  }
`;

const UNIFORM_WGSL = `
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

/** Everything a shader of one quantizer needs before its main: rounding, the grid and the family's element math. */
const prelude = (a: Attrs) => `${ROUNDING_WGSL}${gridWgsl(a)}${familyOf(a) === 'uniform' ? UNIFORM_WGSL : POW2_WGSL}`;

function forwardProgram(x: TensorInfo, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    familyOf(attrs) === 'uniform'
      ? `fn main(index : i32) {
        if (index < uniforms.size) {
          let g = grid(getP0(), getP1());
          setOutputAtIndex(index, uniformQ(getXByOutputIndex(index), g.g0, g.g1, ${signed}));
        }
      }`
      : `fn main(index : i32) {
        if (index < uniforms.size) {
          let g = grid(getP0(), getP1());
          let a = g.g0;
          let b = g.g1;
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
  return elementwiseProgram(`mixprec_q_${attrsKey(attrs)}`, x.shape, ['x', 'p0', 'p1'], prelude(attrs) + body);
}

function dxProgram(x: TensorInfo, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    familyOf(attrs) === 'uniform'
      ? `fn main(index : i32) {
        if (index < uniforms.size) {
          let xi = getXByOutputIndex(index);
          let X = grid(getP0(), getP1()).g1;
          let lo = select(0.0, -X, ${signed});
          setOutputAtIndex(index, getDyByOutputIndex(index) * select(0.0, 1.0, (xi > lo) && (xi < X)));
        }
      }`
      : `fn main(index : i32) {
        if (index < uniforms.size) {
          let g = grid(getP0(), getP1());
          let r = regions(getXByOutputIndex(index), g.g0, g.g1, ${signed}, ${withZero});
          var d = 0.0;
          if (r.i2) { d = getDyByOutputIndex(index) * (pow2RoundBits(r.ax) / r.ax); }
          setOutputAtIndex(index, d);
        }
      }`;
  return elementwiseProgram(`mixprec_dx_${attrsKey(attrs)}`, x.shape, ['dy', 'x', 'p0', 'p1'], prelude(attrs) + body);
}

/** The terms of the two grid sums: row 0 and row 1 of a [2, N] output. */
function termsProgram(n: number, attrs: Attrs): WebGPUProgram {
  const { signed, withZero } = wgslFlags(attrs);
  const body =
    familyOf(attrs) === 'uniform'
      ? `fn main(index : i32) {
        if (index < uniforms.size) {
          let i = index % ${n};
          let xi = x[i];
          let d = dy[i];
          let g = grid(getP0(), getP1());
          let step = g.g0;
          let X = g.g1;
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
      : `fn main(index : i32) {
        if (index < uniforms.size) {
          let i = index % ${n};
          let g = grid(getP0(), getP1());
          let r = regions(x[i], g.g0, g.g1, ${signed}, ${withZero});
          let sd = dy[i] * r.sx;
          let mask = select(r.i3, r.i1, (index < ${n}));
          setOutputAtIndex(index, select(0.0, sd, mask));
        }
      }`;
  return elementwiseProgram(`mixprec_terms_${attrsKey(attrs)}_${n}`, [2, n], ['dy', 'x', 'p0', 'p1'], prelude(attrs) + body);
}

/**
 * ∂p_k from the two sums: the grid gradients (the uniform step's is Σ dy·(q − c) / d, divided after the sum as the
 * composed ops do), then ∂g0/∂p_k·∂g0 + ∂g1/∂p_k·∂g1.
 */
function chainProgram(k: 0 | 1, attrs: Attrs): WebGPUProgram {
  const divide = familyOf(attrs) === 'uniform';
  // A partial that is the literal 0 would let the compiler fold 0·∂g to 0; the composed ops give NaN for ∂g = NaN or ±∞.
  const body = `
  fn times(j : f32, d : f32) -> f32 {
    if (isnan(d) || abs(d) > 3.4028234663852886e38) { return select(j * d, bitcast<f32>(bitcast<u32>(d) | 0x7fc00000u), (j == 0.0)); }
    return j * d;
  }
  fn main(index : i32) {
    if (index < uniforms.size) {
      let g = grid(getP0(), getP1());
      let dg0 = ${divide ? 'sums[0] / g.g0' : 'sums[0]'};
      let dg1 = sums[1];
      setOutputAtIndex(index, ${k === 0 ? 'times(g.j00, dg0) + times(g.j10, dg1)' : 'times(g.j01, dg0) + times(g.j11, dg1)'});
    }
  }`;
  return elementwiseProgram(`mixprec_chain${k}_${attrsKey(attrs)}`, [1], ['sums', 'p0', 'p1'], prelude(attrs) + body);
}

/** Parameter k after the projection (parametric_math.ts's projectPair). */
function projectProgram(k: 0 | 1, attrs: Attrs): WebGPUProgram {
  const margin = wgslF32(1e-5);
  const [lo0, hi0, lo1, hi1] = [
    wgslF32(attrs.range0[0] + 1e-5),
    wgslF32(attrs.range0[1] - 1e-5),
    wgslF32(attrs.range1[0] + 1e-5),
    wgslF32(attrs.range1[1] - 1e-5),
  ];
  // tf.minimum / tf.maximum propagate NaN; WGSL's min / max need not.
  const body = `
  fn minN(a : f32, b : f32) -> f32 { if (isnan(a) || isnan(b)) { return a + b; } return min(a, b); }
  fn maxN(a : f32, b : f32) -> f32 { if (isnan(a) || isnan(b)) { return a + b; } return max(a, b); }
  fn main(index : i32) {
    if (index < uniforms.size) {
      var v0 = getP0();
      var v1 = getP1();
      ${parametrizationInfo(attrs.short)!.coupled ? `let lower = minN(v0, v1 - ${margin});\n      v1 = maxN(v0 + ${margin}, v1);\n      v0 = lower;` : ''}
      setOutputAtIndex(index, ${k === 0 ? `minN(maxN(v0, ${lo0}), ${hi0})` : `minN(maxN(v1, ${lo1}), ${hi1})`});
    }
  }`;
  return elementwiseProgram(`mixprec_project${k}_${attrsKey(attrs)}`, [1], ['p0', 'p1'], body);
}

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Attrs };

function webgpuKernels(): KernelConfig[] {
  const quantize: KernelFunc = (({ inputs, backend, attrs }: Args) => {
    const { x, p0, p1 } = inputs as { x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    return (backend as WebGPUBackendLike).runWebGPUProgram(forwardProgram(x, attrs), [x, p0, p1], 'float32');
  }) as unknown as KernelFunc;
  // A one-element program's output as a scalar tensor (reshape shares the data).
  const asScalar = (handle: BackendHandle, t: TensorInfo) => {
    const s = callKernel(handle, 'Reshape', { x: t }, { shape: [] });
    (handle.backend as unknown as WebGPUBackendLike).disposeData(t.dataId);
    return s;
  };
  const quantizeGrad: KernelFunc = (({ inputs, backend, attrs }: Args) => {
    const { dy, x, p0, p1 } = inputs as { dy: TensorInfo; x: TensorInfo; p0: TensorInfo; p1: TensorInfo };
    const gpu = backend as WebGPUBackendLike;
    const handle: BackendHandle = { name: 'webgpu', backend: backend as BackendHandle['backend'] };
    const n = x.shape.reduce((a, b) => a * b, 1);
    const flat = (t: TensorInfo) => ({ ...t, shape: [n] });
    const dx = gpu.runWebGPUProgram(dxProgram(x, attrs), [dy, x, p0, p1], 'float32');
    const terms = gpu.runWebGPUProgram(termsProgram(n, attrs), [flat(dy), flat(x), p0, p1], 'float32');
    const sums = callKernel(handle, 'Sum', { x: terms }, { axis: [1], keepDims: false });
    gpu.disposeData(terms.dataId);
    const [d0, d1] = ([0, 1] as const).map((k) => asScalar(handle, gpu.runWebGPUProgram(chainProgram(k, attrs), [sums, p0, p1], 'float32')));
    gpu.disposeData(sums.dataId);
    return [dx, d0!, d1!];
  }) as unknown as KernelFunc;
  const project: KernelFunc = (({ inputs, backend, attrs }: Args) => {
    const { p0, p1 } = inputs as { p0: TensorInfo; p1: TensorInfo };
    const handle: BackendHandle = { name: 'webgpu', backend: backend as BackendHandle['backend'] };
    const gpu = backend as WebGPUBackendLike;
    return ([0, 1] as const).map((k) => asScalar(handle, gpu.runWebGPUProgram(projectProgram(k, attrs), [p0, p1], 'float32')));
  }) as unknown as KernelFunc;
  return [
    { kernelName: FUSED_QUANTIZER_KERNELS.quantize, backendName: 'webgpu', kernelFunc: quantize },
    { kernelName: FUSED_QUANTIZER_KERNELS.quantizeGrad, backendName: 'webgpu', kernelFunc: quantizeGrad },
    { kernelName: FUSED_QUANTIZER_KERNELS.project, backendName: 'webgpu', kernelFunc: project },
  ];
}

export const webgpuQuantizerKernels: readonly KernelConfig[] = webgpuKernels();
