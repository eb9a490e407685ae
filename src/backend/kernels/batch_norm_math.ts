/**
 * The arithmetic of training-mode batch norm on float32 arrays (cpu, wasm; the kernels are in batch_norm.ts): loops
 * over an [rows, c] layout with float64 sums, as passes that a backend may run split among threads by rows.
 */
/**
 * Rows per block of the channel loops below. Within a block each channel is swept with its sums in locals (registers)
 * while the block's rows stay in L1; a row-major sweep instead reads and writes a Float64Array of sums per element,
 * about 2.5× slower.
 */
const BLOCK_ROWS = 64;

/** Adds Σ x per channel, over the rows of x ([rows, c]), into out. */
export function channelSumsInto(x: Float32Array, c: number, out: Float64Array): void {
  const len = x.length;
  const step = BLOCK_ROWS * c;
  for (let s = 0; s < len; s += step) {
    const e = Math.min(len, s + step);
    for (let k = 0; k < c; k++) {
      let acc = 0;
      for (let i = s + k; i < e; i += c) acc += x[i]!;
      out[k]! += acc;
    }
  }
}

/** Adds Σ (x − μ)² per channel into out. */
export function squaredDeviationsInto(x: Float32Array, c: number, mean: ArrayLike<number>, out: Float64Array): void {
  const len = x.length;
  const step = BLOCK_ROWS * c;
  for (let s = 0; s < len; s += step) {
    const e = Math.min(len, s + step);
    for (let k = 0; k < c; k++) {
      const mu = mean[k]!;
      let acc = 0;
      for (let i = s + k; i < e; i += c) {
        const d = x[i]! - mu;
        acc += d * d;
      }
      out[k]! += acc;
    }
  }
}

/** Adds Σ dy (into out[0..c)) and Σ dy·(x − μ) (into out[c..2c)) per channel. */
export function gradSumsInto(dy: Float32Array, x: Float32Array, c: number, mean: ArrayLike<number>, out: Float64Array): void {
  const len = x.length;
  const step = BLOCK_ROWS * c;
  for (let s = 0; s < len; s += step) {
    const e = Math.min(len, s + step);
    for (let k = 0; k < c; k++) {
      const mu = mean[k]!;
      let sb = 0;
      let sg = 0;
      for (let i = s + k; i < e; i += c) {
        const d = dy[i]!;
        sb += d;
        sg += d * (x[i]! - mu);
      }
      out[k]! += sb;
      out[c + k]! += sg;
    }
  }
}

/** out[i] = a[k]·u[i] + b[k]·v[i] + c0[k] for channel k of element i (v null: without the middle term). */
export function affineInto(
  u: Float32Array,
  v: Float32Array | null,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  c0: ArrayLike<number>,
  out: Float32Array,
): void {
  const c = a.length;
  const len = u.length;
  const step = BLOCK_ROWS * c;
  for (let s = 0; s < len; s += step) {
    const e = Math.min(len, s + step);
    for (let k = 0; k < c; k++) {
      const ak = a[k]!;
      const bk = b[k]!;
      const ck = c0[k]!;
      if (v === null) for (let i = s + k; i < e; i += c) out[i] = ak * u[i]! + ck;
      else for (let i = s + k; i < e; i += c) out[i] = ak * u[i]! + bk * v[i]! + ck;
    }
  }
}

/**
 * The passes over all rows, in one place so that a backend can run them split among threads by rows (the wasm
 * kernels: js_pool.ts); the sums are float64 and add up over row ranges.
 */
export interface ChannelPasses {
  sums(x: Float32Array, c: number): Float64Array;
  squaredDeviations(x: Float32Array, c: number, mean: Float64Array): Float64Array;
  /** [Σ dy, Σ dy·(x − μ)] as one array of 2c. */
  gradSums(dy: Float32Array, x: Float32Array, c: number, mean: Float64Array): Float64Array;
  affine(u: Float32Array, v: Float32Array | null, a: Float64Array, b: Float64Array, c0: Float64Array, out: Float32Array): void;
}

export const INLINE_PASSES: ChannelPasses = {
  sums(x, c) {
    const out = new Float64Array(c);
    channelSumsInto(x, c, out);
    return out;
  },
  squaredDeviations(x, c, mean) {
    const out = new Float64Array(c);
    squaredDeviationsInto(x, c, mean, out);
    return out;
  },
  gradSums(dy, x, c, mean) {
    const out = new Float64Array(2 * c);
    gradSumsInto(dy, x, c, mean, out);
    return out;
  },
  affine: affineInto,
};

export function momentsInto(x: Float32Array, c: number, mean: Float32Array, variance: Float32Array, passes: ChannelPasses = INLINE_PASSES): void {
  const n = x.length / c;
  const mu = passes.sums(x, c).map((v) => v / n);
  const sq = passes.squaredDeviations(x, c, mu);
  for (let k = 0; k < c; k++) {
    mean[k] = mu[k]!;
    variance[k] = sq[k]! / n;
  }
}

export function normalizeInto(
  x: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  y: Float32Array,
  passes: ChannelPasses = INLINE_PASSES,
): void {
  const c = mean.length;
  // y = β + (x − μ)·s = s·x + (β − μ·s), s = γ/√(σ² + ε)
  const scale = Float64Array.from(gamma, (g, k) => g / Math.sqrt(variance[k]! + eps));
  const shift = Float64Array.from(beta, (b, k) => b - mean[k]! * scale[k]!);
  passes.affine(x, null, scale, new Float64Array(c), shift, y);
}

export function batchNormGradInto(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
  out: { dx: Float32Array; dGamma: Float32Array; dBeta: Float32Array },
  passes: ChannelPasses = INLINE_PASSES,
): void {
  const c = mean.length;
  const n = x.length / c;
  const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  const sums = passes.gradSums(dy, x, c, Float64Array.from(mean));
  const sBeta = sums.subarray(0, c);
  const sGamma = sums.subarray(c).map((v, k) => v * inv[k]!);
  // ∂x = γ/(σN)·(N·dy − ∂β − x̂·∂γ) = A·dy + B·x + C, with A = γ/σ, B = −γ/σ²·∂γ/N, C = −γ/(σN)·(∂β − μ/σ·∂γ)
  const a = Float64Array.from(gamma, (g, k) => g * inv[k]!);
  const b = Float64Array.from(gamma, (g, k) => (-g * inv[k]! * inv[k]! * sGamma[k]!) / n);
  const c0 = Float64Array.from(gamma, (g, k) => ((-g * inv[k]!) / n) * (sBeta[k]! - mean[k]! * inv[k]! * sGamma[k]!));
  passes.affine(dy, x, a, b, c0, out.dx);
  for (let k = 0; k < c; k++) {
    out.dGamma[k] = sGamma[k]!;
    out.dBeta[k] = sBeta[k]!;
  }
}
