/** Kernels the wasm backend lacks for training, registered once when the wasm backend is loaded. */
import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise_conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise_conv2d_backprop_input';

export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
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
