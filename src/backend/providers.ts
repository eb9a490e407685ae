/**
 * One entry per backend: how to load its package and register it with tfjs, and what to report about it.
 * Adding a backend is adding an entry here (and its name to names.ts).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from './names';
import type { AdapterInfo } from './report';
import { describeAdapter, probeWebGpuAdapter } from './webgpu';
import { installWebGpuHostPatches, webgpuHostPatchesWanted } from './webgpu_host';
import { prepareWasmThreads, unrefWasmWorkers, wasmThreadCount } from './wasm_threads';
import {
  registerCpuKernels,
  registerFusedKernels,
  registerReplacementKernels,
  registerWasmEmptyGuards,
  registerWasmTrainingKernels,
} from './kernels';

export interface StartOptions {
  /** Accept a software WebGPU adapter (lavapipe, SwiftShader): for tests of the WebGPU code path without a GPU. */
  allowSoftwareAdapter: boolean;
}

/** What a provider knows once its package is loaded; the selector adds name, versions of core and Node, skipped. */
export interface ProviderDetails {
  device: string;
  threads: number;
  simd: boolean | null;
  versions: Record<string, string>;
  adapter?: AdapterInfo;
}

export interface BackendProvider {
  name: BackendName;
  /** The name the package registers with tfjs. */
  tfjsBackend: string;
  /** Loads and registers the backend; throws an Error whose message says why it cannot run here. */
  load(options: StartOptions): Promise<void>;
  /** Called after tfjs tried to start the backend (ok: it started); may ask for one retry with a simpler setup. */
  started?(ok: boolean): 'retry-single-threaded' | undefined;
  /** Called after tfjs initialised the backend. */
  details(): Promise<ProviderDetails>;
}

/** `require` by a computed name, so that TypeScript does not need the (optional) package's types. */
function requireOptional(name: string): unknown {
  return require(name);
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (require(file) as { version: string }).version;
  } catch {
    // Packages whose exports hide package.json: read it next to the resolved entry point.
    try {
      let dir = path.dirname(require.resolve(name));
      for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
        try {
          const pkg = require(path.join(dir, 'package.json')) as { name?: string; version: string };
          if (pkg.name === name) return pkg.version;
        } catch {
          /* keep walking up */
        }
      }
    } catch {
      /* not installed */
    }
    return 'unknown';
  }
}

function cpuModel(): string {
  return os.cpus()[0]?.model.trim() ?? 'unknown CPU';
}

function loadTfjsNode(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): void {
  try {
    requireOptional(pkg);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(pkg)) {
      throw new Error(
        `${pkg} is not installed (it is an optional dependency whose install downloads libtensorflow; ` +
          `see the README's "CUDA through tfjs-node-gpu" section)`,
      );
    }
    throw new Error(`${pkg} is installed but failed to load: ${e.message.split('\n')[0]}`);
  }
}

const tensorflowGpu: BackendProvider = {
  name: 'tensorflow-gpu',
  tfjsBackend: 'tensorflow',
  async load() {
    loadTfjsNode('@tensorflow/tfjs-node-gpu');
  },
  async details() {
    return {
      device: 'libtensorflow with CUDA',
      threads: os.availableParallelism(),
      simd: null,
      versions: { 'tfjs-node-gpu': packageVersion('@tensorflow/tfjs-node-gpu') },
    };
  },
};

const tensorflow: BackendProvider = {
  name: 'tensorflow',
  tfjsBackend: 'tensorflow',
  async load() {
    loadTfjsNode('@tensorflow/tfjs-node');
  },
  async details() {
    return {
      device: `libtensorflow CPU (${cpuModel()})`,
      threads: os.availableParallelism(),
      simd: true,
      versions: { 'tfjs-node': packageVersion('@tensorflow/tfjs-node') },
    };
  },
};

let webgpuAdapter: AdapterInfo | undefined;

const webgpu: BackendProvider = {
  name: 'webgpu',
  tfjsBackend: 'webgpu',
  async load(options) {
    const adapter = await probeWebGpuAdapter();
    if (adapter.software && !options.allowSoftwareAdapter) {
      throw new Error(
        `only a software WebGPU adapter is present (${describeAdapter(adapter)}); ` +
          'mixprec uses WebGPU on real GPUs only (set MIXPREC_WEBGPU_ALLOW_SOFTWARE=1 to use it anyway)',
      );
    }
    webgpuAdapter = adapter;
    const webgpuModule = await import('@tensorflow/tfjs-backend-webgpu');
    if (webgpuHostPatchesWanted()) installWebGpuHostPatches(webgpuModule.WebGPUBackend);
    if (tf.findBackendFactory('webgpu') === null) {
      throw new Error('@tensorflow/tfjs-backend-webgpu did not register (navigator.gpu was not visible to it)');
    }
    registerFusedKernels('webgpu');
    registerReplacementKernels('webgpu');
  },
  async details() {
    const adapter = webgpuAdapter!;
    return {
      device: describeAdapter(adapter),
      threads: 1,
      simd: null,
      versions: {
        'tfjs-backend-webgpu': packageVersion('@tensorflow/tfjs-backend-webgpu'),
        webgpu: packageVersion('webgpu'),
      },
      adapter,
    };
  },
};

let wasmThreads: { restore(): void } | undefined;
let wasmStarted = false;

const wasm: BackendProvider = {
  name: 'wasm',
  tfjsBackend: 'wasm',
  async load() {
    const wasmModule = await import('@tensorflow/tfjs-backend-wasm');
    const threads = wasmThreadCount();
    // Threads are fixed when tfjs first starts the backend; later selections reuse it as it is.
    if (threads > 1 && !wasmStarted) wasmThreads = prepareWasmThreads(threads, tf, wasmModule);
    registerWasmTrainingKernels();
    registerWasmEmptyGuards();
    registerReplacementKernels('wasm');
    registerFusedKernels('wasm');
  },
  started(ok) {
    wasmThreads?.restore();
    const wasThreaded = wasmThreads !== undefined;
    wasmThreads = undefined;
    if (ok) {
      wasmStarted = true;
      unrefWasmWorkers(tf.backend());
    }
    // The threaded build failed to start: say so, and let the caller retry single-threaded.
    return !ok && wasThreaded ? 'retry-single-threaded' : undefined;
  },
  async details() {
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return {
      device: `WebAssembly CPU, XNNPACK (${cpuModel()})`,
      threads: getThreadsCount(),
      simd: Boolean(simd),
      versions: { 'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm') },
    };
  },
};

const cpu: BackendProvider = {
  name: 'cpu',
  tfjsBackend: 'cpu',
  async load() {
    await import('@tensorflow/tfjs-backend-cpu');
    registerCpuKernels();
    registerFusedKernels('cpu');
  },
  async details() {
    return {
      device: `JavaScript CPU (${cpuModel()})`,
      threads: 1,
      simd: false,
      versions: { 'tfjs-backend-cpu': packageVersion('@tensorflow/tfjs-backend-cpu') },
    };
  },
};

export const PROVIDERS: Readonly<Record<BackendName, BackendProvider>> = {
  'tensorflow-gpu': tensorflowGpu,
  tensorflow,
  webgpu,
  wasm,
  cpu,
};
