/** The benchmark runner: suites by name, each printing a table and writing its rows as JSON. */
import type { BackendName, BackendReport } from '../backend';
import { initBackend } from '../backend';
import { progressBar, type Progress } from '../util/progress';

export interface BenchContext {
  backends: { name: BackendName; report: BackendReport }[];
  /** Smaller sizes and time budgets (for smoke tests). */
  quick: boolean;
  /** Suite-specific options from the command line. */
  options: { elements?: number; batches?: number[] };
  /** Whether to draw progress on stderr. */
  progress: boolean;
  switchTo(name: BackendName): Promise<void>;
}

export interface BenchSuite<Row> {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Row[]>;
  table(rows: Row[]): string;
}

export function useProgress(ctx: BenchContext, label: string, total: number): Progress {
  return ctx.progress ? progressBar(label, total) : { interactive: false, update: () => undefined, print: () => undefined, finish: () => undefined };
}

export async function switchBackend(name: BackendName): Promise<void> {
  await initBackend(name);
}
