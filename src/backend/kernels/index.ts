/**
 * Training kernels mixprec supplies: the ones the wasm backend lacks, and a faster filter gradient for the cpu
 * backend. Each is built from the backend's own kernels and tested against float64 loops.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise_conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise_conv2d_backprop_input';

export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig('wasm'),
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
];

/** Kernels that replace a backend's own because they are faster (and as exact). */
export const cpuReplacementKernels: readonly KernelConfig[] = [conv2DBackpropFilterConfig('cpu')];

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

const replaced = new Set<string>();

/** Swaps the cpu backend's Conv2DBackpropFilter (a scalar loop) for the convolution-based one. */
export function registerCpuKernels(): string[] {
  const swapped: string[] = [];
  for (const config of cpuReplacementKernels) {
    const key = `${config.backendName}/${config.kernelName}`;
    if (replaced.has(key)) continue;
    if (getKernel(config.kernelName, config.backendName) !== undefined) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
    replaced.add(key);
    swapped.push(config.kernelName);
  }
  return swapped;
}
