/** Backend selection: an explicit request must start or fail loudly; otherwise the first that starts wins. */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, isBackendName, type BackendName } from './names';
import { PROVIDERS, type StartOptions } from './providers';
import type { BackendReport } from './report';

/** A requested backend could not start; `reason` says why. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super(`backend "${backend}" cannot start: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

export interface InitBackendOptions {
  /** Use a software WebGPU adapter if that is all there is (default: MIXPREC_WEBGPU_ALLOW_SOFTWARE=1). */
  allowSoftwareAdapter?: boolean;
}

let current: BackendReport | undefined;

/** tfjs reports a failed backend initialisation only through console.warn; collect it to name the reason. */
async function setTfjsBackend(tfjsName: string): Promise<void> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfjsName);
    await tf.ready();
  } finally {
    console.warn = warn;
  }
  if (!ok) {
    const why = warnings.map((w) => w.split('\n')[0]).join('; ') || 'tfjs could not initialise it';
    throw new Error(why);
  }
  // The cpu backend greets Node users with a banner about tfjs-node on its first tensor; mixprec reports the
  // backend itself, so mark the greeting as done.
  const instance = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in instance) instance.firstUse = false;
}

const PROCESS_HOOKS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Emscripten's Node glue (the wasm backend) installs process handlers that rethrow every uncaught error from inside
 * its minified bundle, so Node prints 100 kB of code instead of the error. Backends must not take over the process:
 * handlers a backend adds while starting are removed again.
 */
async function withoutProcessHooks<T>(body: () => Promise<T>): Promise<T> {
  const before = PROCESS_HOOKS.map((event) => new Set<unknown>(process.listeners(event as 'uncaughtException')));
  try {
    return await body();
  } finally {
    PROCESS_HOOKS.forEach((event, i) => {
      for (const listener of process.listeners(event as 'uncaughtException')) {
        if (!before[i]!.has(listener)) process.removeListener(event as 'uncaughtException', listener);
      }
    });
  }
}

async function start(name: BackendName, options: StartOptions): Promise<void> {
  const provider = PROVIDERS[name];
  try {
    await withoutProcessHooks(async () => {
      await provider.load(options);
      try {
        await setTfjsBackend(provider.tfjsBackend);
      } catch (err) {
        if (provider.started?.(false) !== 'retry-single-threaded') throw err;
        process.stderr.write(`mixprec: the multi-threaded wasm build did not start (${(err as Error).message}); using one thread\n`);
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        await setTfjsBackend(provider.tfjsBackend);
        return;
      }
      provider.started?.(true);
    });
  } catch (err) {
    throw new BackendUnavailableError(name, (err as Error).message);
  }
}

/**
 * Selects and starts the compute backend and returns its report.
 *
 * `name` (or the `MIXPREC_BACKEND` environment variable) picks one explicitly; if it cannot start, this throws a
 * {@link BackendUnavailableError} that says why (no silent fallback). Without a name, the first backend that starts
 * in the order tensorflow-gpu, tensorflow, webgpu (real GPU adapters only), wasm, cpu is used.
 */
export async function initBackend(name?: string, options: InitBackendOptions = {}): Promise<BackendReport> {
  const startOptions: StartOptions = {
    allowSoftwareAdapter: options.allowSoftwareAdapter ?? process.env.MIXPREC_WEBGPU_ALLOW_SOFTWARE === '1',
  };
  const requested = name ?? (process.env.MIXPREC_BACKEND || undefined);
  const skipped: BackendReport['skipped'] = [];
  let chosen: BackendName | undefined;
  if (requested !== undefined) {
    if (!isBackendName(requested)) {
      const from = name === undefined ? 'MIXPREC_BACKEND' : 'backend';
      throw new BackendUnavailableError(requested, `unknown ${from} name; expected one of ${BACKEND_ORDER.join(', ')}`);
    }
    await start(requested, startOptions);
    chosen = requested;
  } else {
    for (const candidate of BACKEND_ORDER) {
      try {
        await start(candidate, startOptions);
        chosen = candidate;
        break;
      } catch (err) {
        skipped.push({ name: candidate, reason: (err as BackendUnavailableError).reason });
      }
    }
    if (chosen === undefined) {
      throw new Error(`no backend could start:\n${skipped.map((s) => `  ${s.name}: ${s.reason}`).join('\n')}`);
    }
  }
  const provider = PROVIDERS[chosen];
  const details = await provider.details();
  current = {
    name: chosen,
    tfjsBackend: provider.tfjsBackend,
    device: details.device,
    versions: { 'tfjs-core': tf.version_core, ...details.versions, node: process.versions.node },
    threads: details.threads,
    simd: details.simd,
    ...(details.adapter ? { adapter: details.adapter } : {}),
    skipped,
  };
  return current;
}

/** The report of the backend started last by {@link initBackend}, or undefined before the first call. */
export function currentBackend(): BackendReport | undefined {
  return current !== undefined && tf.getBackend() === current.tfjsBackend ? current : undefined;
}
