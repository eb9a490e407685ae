export { BACKEND_ORDER, isBackendName, type BackendName } from './names';
export { initBackend, currentBackend, BackendUnavailableError, type InitBackendOptions } from './select';
export { formatBackendReport, type BackendReport, type AdapterInfo } from './report';
export { registerWasmTrainingKernels, registerCpuKernels, wasmTrainingKernels } from './kernels';
