/** Starting worker threads from modules that run both built (dist/*.js) and as TypeScript under tsx (the tests). */
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A Worker for the script `name` next to `callerFile`, in the caller's language: name.js when built, name.ts under
 * tsx. A worker does not inherit tsx's loader; on Node 20 `--import tsx` in the worker's execArgv does not reach its
 * entry module ("Unknown file extension .ts"), tsx's CommonJS hook does.
 */
export function startWorker(callerFile: string, name: string, options: WorkerOptions = {}): Worker {
  const ext = path.extname(callerFile);
  const file = path.join(path.dirname(callerFile), `${name}${ext}`);
  const execArgv = ext === '.ts' ? ['--require', 'tsx/cjs', ...(options.execArgv ?? [])] : options.execArgv;
  return new Worker(file, { ...options, ...(execArgv ? { execArgv } : {}) });
}
