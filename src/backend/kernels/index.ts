/**
 * Training kernels mixprec supplies: the ones the wasm backend lacks, and faster replacements for kernels a backend
 * has but runs as scalar loops. Each is built from the backend's own kernels and tested against float64 loops.
 * The replacements can be switched off (`useFastKernels(false)`) so that benchmarks measure the old path in the same
 * run.
 */
import { findBackend, getBackend, getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { conv2DBackpropFilterWebGpuConfig, depthwiseBackpropFilterWebGpuConfig } from './conv2d_backprop_filter_webgpu';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input';
import { conv2dSimdConfig } from './conv2d_simd';
import { avgPoolGradConfig } from './avg_pool_grad';
import { displaced } from './displaced';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise_conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise_conv2d_backprop_input';
import { registerWasmEmptyGuards } from './empty_guards';
import { wasmIdentityConfig } from './identity';
import { FUSED_QUANTIZER_KERNELS, fusedQuantizerKernels as jsQuantizerKernels } from './quantize';
import { webgpuQuantizerKernels } from './quantize_webgpu';
import { MOMENTUM_UPDATE_KERNEL, momentumKernels } from './momentum';
import { BATCH_NORM_KERNELS, batchNormKernels } from './batch_norm';

const fusedQuantizerKernels: readonly KernelConfig[] = [...jsQuantizerKernels, ...webgpuQuantizerKernels, ...momentumKernels, ...batchNormKernels];

export { BATCH_NORM_KERNELS, FUSED_QUANTIZER_KERNELS, MOMENTUM_UPDATE_KERNEL, registerWasmEmptyGuards };
export type { ParametricAttrs } from './parametric_math';

export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig('wasm'),
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
];

/** Kernels that replace a backend's own because they are faster (and as exact). */
export const replacementKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig('cpu'),
  conv2DBackpropInputConfig,
  conv2dSimdConfig,
  avgPoolGradConfig,
  wasmIdentityConfig,
  conv2DBackpropFilterWebGpuConfig,
  depthwiseBackpropFilterWebGpuConfig,
];

/** Registers each kernel that the installed wasm backend does not provide itself (a newer tfjs may ship them). */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of wasmTrainingKernels) {
    if (getKernel(config.kernelName, 'wasm') === undefined) {
      registerKernel(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

/** Registers the fused quantizer and solver kernels of a backend (cpu, wasm, webgpu), once. */
export function registerFusedKernels(backendName: string): string[] {
  const added: string[] = [];
  for (const config of fusedQuantizerKernels) {
    if (config.backendName === backendName && getKernel(config.kernelName, backendName) === undefined) {
      registerKernel(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

/** Whether the active backend runs the parametric quantizers fused (fast kernels on, and the backend has the kernels). */
export function fusedQuantizer(): boolean {
  return fast && getKernel(FUSED_QUANTIZER_KERNELS.quantizeGrad, getBackend()) !== undefined;
}

/** Whether the active backend runs the momentum velocity update fused (fast kernels on, and the backend has it). */
export function fusedMomentum(): boolean {
  return fast && getKernel(MOMENTUM_UPDATE_KERNEL, getBackend()) !== undefined;
}

/** Whether the active backend runs training-mode batch norm fused (fast kernels on, and the backend has the kernels). */
export function fusedBatchNorm(): boolean {
  return fast && getKernel(BATCH_NORM_KERNELS.grad, getBackend()) !== undefined;
}

const originals = displaced;
let fast = true;

function swapIn(config: KernelConfig): boolean {
  const key = `${config.backendName}/${config.kernelName}`;
  if (originals.has(key)) return false;
  originals.set(key, getKernel(config.kernelName, config.backendName));
  if (originals.get(key) !== undefined) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
  return true;
}

/** Installs the replacement kernels of one backend (called when it loads); returns the kernel names swapped. */
export function registerReplacementKernels(backendName: string): string[] {
  if (!fast) return [];
  return replacementKernels.filter((k) => k.backendName === backendName && swapIn(k)).map((k) => k.kernelName);
}

/** Swaps the cpu backend's Conv2DBackpropFilter (a scalar loop) for the convolution-based one. */
export function registerCpuKernels(): string[] {
  return registerReplacementKernels('cpu');
}

/**
 * Turns mixprec's faster kernels on (default) or off. Off restores the backends' own kernels, so a benchmark can time
 * the path before them in the same process; the fused quantizer and batch-norm ops consult {@link fastKernelsEnabled}.
 */
export function useFastKernels(on: boolean): void {
  if (on === fast) return;
  fast = on;
  if (on) {
    for (const name of ['cpu', 'wasm', 'webgpu']) if (getKernel('Conv2D', name) !== undefined) registerReplacementKernels(name);
    return;
  }
  for (const [key, original] of originals) {
    const [backendName, kernelName] = key.split('/') as [string, string];
    unregisterKernel(kernelName, backendName);
    if (original !== undefined) {
      registerKernel(original);
      // wasm kernels bind their WebAssembly function in setupFunc, which tfjs runs only when the backend starts.
      const instance = findBackend(backendName);
      if (instance !== null && original.setupFunc) original.setupFunc(instance);
    }
  }
  originals.clear();
}

export function fastKernelsEnabled(): boolean {
  return fast;
}
