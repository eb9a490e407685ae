/** Timing helpers shared by the benchmark suites: warm-up, repeat until a time budget, median. */
import * as os from 'node:os';
import { BACKEND_ORDER, initBackend, type BackendName, type BackendReport } from '../backend';

export interface Timing {
  /** Median wall time of one iteration, ms. */
  medianMs: number;
  /** All measured iterations, ms. */
  samplesMs: number[];
}

/** Runs `iteration` (which must wait for its results, e.g. `await t.data()`) until `budgetMs` or `maxIterations`. */
export async function timeIt(
  iteration: () => Promise<void>,
  options: { warmup?: number; budgetMs?: number; minIterations?: number; maxIterations?: number } = {},
): Promise<Timing> {
  const { warmup = 2, budgetMs = 1500, minIterations = 3, maxIterations = 50 } = options;
  for (let i = 0; i < warmup; i++) await iteration();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minIterations || (samples.length < maxIterations && performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await iteration();
    samples.push(performance.now() - t0);
  }
  return { medianMs: median(samples), samplesMs: samples };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Backends to benchmark: the requested ones (each must start), or every one that starts here. */
export async function benchBackends(requested?: readonly string[]): Promise<{ name: BackendName; report: BackendReport }[]> {
  const out: { name: BackendName; report: BackendReport }[] = [];
  if (requested !== undefined && requested.length > 0) {
    for (const name of requested) {
      const report = await initBackend(name);
      out.push({ name: report.name, report });
    }
    return out;
  }
  for (const name of BACKEND_ORDER) {
    try {
      const report = await initBackend(name);
      out.push({ name, report });
    } catch {
      // not present here; the report of `mixprec backend` says why
    }
  }
  return out;
}

export function machineInfo(): Record<string, string | number> {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.versions.node,
  };
}
