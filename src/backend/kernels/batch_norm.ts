/**
 * Training-mode batch normalisation (NHWC, statistics over batch × height × width) as three kernels, in place of the
 * ~30 tfjs kernels per layer and step of moments, running-average updates, batchNorm and the closed-form gradient:
 *
 *   MixprecBatchNormMoments    x, runMean, runVar            → μ, σ², runMean', runVar'   (attrs decay)
 *   MixprecBatchNormNormalize  x, mean, variance, gamma, beta → y = γ·(x − μ)/√(σ² + ε) + β  (attrs eps)
 *   MixprecBatchNormGrad       dy, x, gamma, mean, variance   → ∂x, ∂γ, ∂β                 (attrs eps)
 *
 * σ² is the biased variance; the running variance takes the unbiased one (nnabla's PF.batch_normalization):
 * runMean' = runMean·decay + μ·(1 − decay), runVar' = runVar·decay + σ²·(1 − decay)·N/(N − 1). The gradient is
 * ∂β = Σ dy, ∂γ = Σ dy·x̂, ∂x = γ/(σ·N)·(N·dy − ∂β − x̂·∂γ), x̂ = (x − μ)/σ, σ = √(σ² + ε).
 *
 * cpu and wasm: JavaScript loops with float64 sums (more exact than the composed float32 reductions; batch_norm_math.ts,
 * on wasm split among the threads by rows: js_pool.ts). WebGPU: the
 * per-channel sums as chunked partial sums (one invocation per channel and chunk of rows, like the filter gradient)
 * reduced by the backend's own Sum, and elementwise programs for the rest.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { callKernel, type BackendHandle } from './kernel_call';
import { reductionChunks } from './conv2d_backprop_filter_webgpu';
import { MEMORY, requireFloat32 } from './memory';
import { INLINE_PASSES, batchNormGradInto, momentsInto, normalizeInto, type ChannelPasses } from './batch_norm_math';
import { jsPool } from './js_pool';
import { simdChannelPasses } from './batch_norm_simd';
import { wasmHeapMemory } from './conv_geometry';
import type { BackendWasm } from './kernel_call';
import { wasmThreadCount } from '../wasm_threads';
import { elementwiseProgram, wgslF32, type WebGPUBackendLike } from './webgpu_program';

export const BATCH_NORM_KERNELS = {
  moments: 'MixprecBatchNormMoments',
  normalize: 'MixprecBatchNormNormalize',
  grad: 'MixprecBatchNormGrad',
} as const;

const f = Math.fround;

/** The running-average update's two factors, as the composed ops' float32 scalars. */
function runningFactors(decay: number, n: number): { keep: number; mean: number; variance: number } {
  return { keep: f(decay), mean: f(1 - decay), variance: f((1 - decay) * (n / Math.max(n - 1, 1))) };
}

/** Rows (batch·height·width) and channels of an NHWC tensor. */
function rowsAndChannels(x: TensorInfo): { n: number; c: number } {
  const c = x.shape[x.shape.length - 1]!;
  return { n: x.shape.reduce((a, b) => a * b, 1) / c, c };
}

// ---- the arithmetic, on float32 arrays (cpu, wasm) ----

// ---- cpu and wasm kernels ----

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: { decay?: number; eps?: number } };

function requireNhwcFloat32(kernel: string, tensors: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(tensors)) requireFloat32(kernel, t, name);
}

function jsKernels(backendName: 'cpu' | 'wasm'): KernelConfig[] {
  const memoryOf = MEMORY[backendName];
  // On wasm the passes over the rows are SIMD programs split among the backend's threads (batch_norm_simd.ts), or the
  // loops split so (js_pool.ts) for channel counts the programs do not cover; cpu arrays are not shared. They reserve
  // heap scratch, so they are made before any view is taken. Moments stays on this thread (`split` false): it follows a
  // convolution, and split it measured slower in the ResNet-20 step (loops: 121 against 55 ms with XNNPACK's threads
  // still spinning; SIMD: 21 against 15 ms after mixprec's own convolution).
  const passes = (backend: unknown, c: number, split = true): ChannelPasses => {
    if (backendName === 'cpu') return INLINE_PASSES;
    const loops = split ? jsPool(wasmThreadCount()).channelPasses() : INLINE_PASSES;
    const memory = wasmHeapMemory(backend);
    return memory === undefined ? loops : simdChannelPasses(backend as BackendWasm, memory, c, loops, split);
  };
  const moments = (({ inputs, backend, attrs }: Args) => {
    const { x, runMean, runVar } = inputs as Record<'x' | 'runMean' | 'runVar', TensorInfo>;
    requireNhwcFloat32(BATCH_NORM_KERNELS.moments, { x });
    const m = memoryOf(backend);
    const { n, c } = rowsAndChannels(x);
    const k = runningFactors(attrs.decay!, n);
    const p = passes(backend, c, false);
    return m.outputs([[c], [c], [c], [c]], ([mean, variance, rm, rv]) => {
      momentsInto(m.read(x), c, mean!, variance!, p);
      const [oldMean, oldVar] = [m.read(runMean), m.read(runVar)];
      for (let i = 0; i < c; i++) {
        rm![i] = f(oldMean[i]! * k.keep) + f(mean![i]! * k.mean);
        rv![i] = f(oldVar[i]! * k.keep) + f(variance![i]! * k.variance);
      }
    });
  }) as unknown as KernelFunc;
  const normalize = (({ inputs, backend, attrs }: Args) => {
    const { x, mean, variance, gamma, beta } = inputs as Record<'x' | 'mean' | 'variance' | 'gamma' | 'beta', TensorInfo>;
    requireNhwcFloat32(BATCH_NORM_KERNELS.normalize, { x });
    const m = memoryOf(backend);
    const p = passes(backend, mean.shape[0]!);
    return m.outputs([x.shape], ([y]) =>
      normalizeInto(m.read(x), m.read(mean), m.read(variance), m.read(gamma), m.read(beta), attrs.eps!, y!, p),
    )[0]!;
  }) as unknown as KernelFunc;
  const grad = (({ inputs, backend, attrs }: Args) => {
    const { dy, x, gamma, mean, variance } = inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', TensorInfo>;
    requireNhwcFloat32(BATCH_NORM_KERNELS.grad, { dy, x });
    const m = memoryOf(backend);
    const c = mean.shape[0]!;
    const p = passes(backend, c);
    return m.outputs([x.shape, [c], [c]], ([dx, dGamma, dBeta]) =>
      batchNormGradInto(
        m.read(dy),
        m.read(x),
        m.read(gamma),
        m.read(mean),
        m.read(variance),
        attrs.eps!,
        {
          dx: dx!,
          dGamma: dGamma!,
          dBeta: dBeta!,
        },
        p,
      ),
    );
  }) as unknown as KernelFunc;
  return [
    { kernelName: BATCH_NORM_KERNELS.moments, backendName, kernelFunc: moments },
    { kernelName: BATCH_NORM_KERNELS.normalize, backendName, kernelFunc: normalize },
    { kernelName: BATCH_NORM_KERNELS.grad, backendName, kernelFunc: grad },
  ];
}

// ---- WebGPU ----

/** An elementwise program whose main runs `body` for each output index. */
const elementwise = (key: string, outputShape: number[], variableNames: string[], body: string) =>
  elementwiseProgram(
    key,
    outputShape,
    variableNames,
    `
      fn main(index : i32) {
        if (index < uniforms.size) {${body}
        }
      }`,
  );

/**
 * Per-channel sums of `terms.length` expressions over the n rows of an [n, c] layout, as [terms·c] (term-major).
 * Each expression reads the element at `i` (row·c + channel) and its channel `ch`.
 */
function channelSums(
  gpu: WebGPUBackendLike,
  handle: BackendHandle,
  key: string,
  inputs: TensorInfo[],
  names: string[],
  n: number,
  c: number,
  terms: string[],
): TensorInfo {
  const k = terms.length;
  // The filter gradient's split: a row is one element here (one column per channel and term).
  const chunks = reductionChunks(k * c, n, 1);
  const chunk = Math.ceil(n / chunks);
  const cases = terms
    .map((t, j) => `if (which == ${j}) { for (var r = start; r < end; r++) { let i = r * ${c} + ch; acc = acc + (${t}); } }`)
    .join('\n          ');
  const program = elementwise(
    `mixprec_bn_sums_${key}_${n}_${c}_${chunks}`,
    [k * c, chunks],
    names,
    `
          let s = index % ${chunks};
          let q = index / ${chunks};
          let ch = q % ${c};
          let which = q / ${c};
          let start = s * ${chunk};
          let end = min(start + ${chunk}, ${n});
          var acc = 0.0;
          ${cases}
          setOutputAtIndex(index, acc);`,
  );
  const partial = gpu.runWebGPUProgram(program, inputs, 'float32');
  const sums = callKernel(handle, 'Sum', { x: partial }, { axis: [1], keepDims: false });
  gpu.disposeData(partial.dataId);
  return sums;
}

const flat = (t: TensorInfo) => ({ ...t, shape: [t.shape.reduce((a, b) => a * b, 1)] });

function webgpuKernels(): KernelConfig[] {
  const context = (backend: unknown) => ({
    gpu: backend as WebGPUBackendLike,
    handle: { name: 'webgpu', backend: backend as BackendHandle['backend'] } as BackendHandle,
  });
  const moments = (({ inputs, backend, attrs }: Args) => {
    const { x, runMean, runVar } = inputs as Record<'x' | 'runMean' | 'runVar', TensorInfo>;
    const { gpu, handle } = context(backend);
    const { n, c } = rowsAndChannels(x);
    const k = runningFactors(attrs.decay!, n);
    // A per-channel sum over the n rows, divided by n (releases the sum).
    const meanOf = (sums: TensorInfo) => {
      const out = gpu.runWebGPUProgram(
        elementwise(`mixprec_bn_mean_${n}`, [c], ['s'], `\n          setOutputAtIndex(index, s[index] / ${wgslF32(n)});`),
        [sums],
        'float32',
      );
      gpu.disposeData(sums.dataId);
      return out;
    };
    const mean = meanOf(channelSums(gpu, handle, 'sum', [flat(x)], ['x'], n, c, ['x[i]']));
    const variance = meanOf(channelSums(gpu, handle, 'sq', [flat(x), mean], ['x', 'm'], n, c, ['(x[i] - m[ch]) * (x[i] - m[ch])']));
    const running = (which: string, factor: number) =>
      gpu.runWebGPUProgram(
        elementwise(
          `mixprec_bn_running_${which}_${k.keep}_${factor}`,
          [c],
          ['old', 'v'],
          `\n          setOutputAtIndex(index, old[index] * ${wgslF32(k.keep)} + v[index] * ${wgslF32(factor)});`,
        ),
        [which === 'mean' ? runMean : runVar, which === 'mean' ? mean : variance],
        'float32',
      );
    return [mean, variance, running('mean', k.mean), running('var', k.variance)];
  }) as unknown as KernelFunc;
  const normalize = (({ inputs, backend, attrs }: Args) => {
    const { x, mean, variance, gamma, beta } = inputs as Record<'x' | 'mean' | 'variance' | 'gamma' | 'beta', TensorInfo>;
    const { gpu } = context(backend);
    const { c } = rowsAndChannels(x);
    const y = gpu.runWebGPUProgram(
      elementwise(
        `mixprec_bn_normalize_${c}_${attrs.eps}`,
        [x.shape.reduce((a, b) => a * b, 1)],
        ['x', 'm', 'v', 'g', 'b'],
        `
          let ch = index % ${c};
          setOutputAtIndex(index, b[ch] + (x[index] - m[ch]) * (g[ch] * inverseSqrt(v[ch] + ${wgslF32(attrs.eps!)})));`,
      ),
      [flat(x), mean, variance, gamma, beta],
      'float32',
    );
    return { ...y, shape: x.shape };
  }) as unknown as KernelFunc;
  const grad = (({ inputs, backend, attrs }: Args) => {
    const { dy, x, gamma, mean, variance } = inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', TensorInfo>;
    const { gpu, handle } = context(backend);
    const { n, c } = rowsAndChannels(x);
    const eps = wgslF32(attrs.eps!);
    // [Σ dy ; Σ dy·x̂] per channel, then ∂x elementwise, then ∂γ and ∂β as their own tensors.
    const sums = channelSums(gpu, handle, `grad_${attrs.eps}`, [flat(dy), flat(x), mean, variance], ['dy', 'x', 'm', 'v'], n, c, [
      'dy[i]',
      `dy[i] * (x[i] - m[ch]) * inverseSqrt(v[ch] + ${eps})`,
    ]);
    const dx = gpu.runWebGPUProgram(
      elementwise(
        `mixprec_bn_dx_${n}_${c}_${attrs.eps}`,
        [n * c],
        ['dy', 'x', 'g', 'm', 'v', 's'],
        `
          let ch = index % ${c};
          let inv = inverseSqrt(v[ch] + ${eps});
          let xhat = (x[index] - m[ch]) * inv;
          setOutputAtIndex(index, (g[ch] * inv / ${wgslF32(n)}) * (${wgslF32(n)} * dy[index] - s[ch] - xhat * s[${c} + ch]));`,
      ),
      [flat(dy), flat(x), gamma, mean, variance, sums],
      'float32',
    );
    const part = (offset: number) =>
      gpu.runWebGPUProgram(
        elementwise(`mixprec_bn_part_${c}_${offset}`, [c], ['s'], `\n          setOutputAtIndex(index, s[index + ${offset}]);`),
        [sums],
        'float32',
      );
    const dGamma = part(c);
    const dBeta = part(0);
    gpu.disposeData(sums.dataId);
    return [{ ...dx, shape: x.shape }, dGamma, dBeta];
  }) as unknown as KernelFunc;
  return [
    { kernelName: BATCH_NORM_KERNELS.moments, backendName: 'webgpu', kernelFunc: moments },
    { kernelName: BATCH_NORM_KERNELS.normalize, backendName: 'webgpu', kernelFunc: normalize },
    { kernelName: BATCH_NORM_KERNELS.grad, backendName: 'webgpu', kernelFunc: grad },
  ];
}

export const batchNormKernels: readonly KernelConfig[] = [...jsKernels('cpu'), ...jsKernels('wasm'), ...webgpuKernels()];
