export { BACKEND_ORDER, isBackendName, type BackendName } from './names';
export { initBackend, currentBackend, BackendUnavailableError, type InitBackendOptions } from './select';
export { formatBackendReport, type BackendReport, type AdapterInfo } from './report';
export {
  registerWasmTrainingKernels,
  registerCpuKernels,
  registerReplacementKernels,
  wasmTrainingKernels,
  useFastKernels,
  fastKernelsEnabled,
  fusedQuantizer,
  fusedMomentum,
  MOMENTUM_UPDATE_KERNEL,
  registerFusedKernels,
  FUSED_QUANTIZER_KERNELS,
  BATCH_NORM_KERNELS,
  fusedBatchNorm,
} from './kernels';
export { wasmThreadCount } from './wasm_threads';
export { setWebGpuHostPatches } from './webgpu_host';
export { countWebGpuWork, type WebGpuCounts } from './webgpu_counters';
