/** Messages between a loader and its prefetch worker, and errors made to cross the thread boundary intact. */
import { DatasetError } from './errors';
import type { AssemblerConfig, BatchRequest } from './batches';

/** `workerData` of the worker. */
export interface WorkerInit {
  file: string;
  config: AssemblerConfig;
}

export type ToWorker =
  | { type: 'batch'; id: number; request: BatchRequest }
  /** The loader no longer wants this batch (an iteration ended early). */
  | { type: 'cancel'; id: number };

export type FromWorker =
  { type: 'batch'; id: number; x: Float32Array; y: Int32Array; size: number } | { type: 'error'; id: number; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  file?: string;
  problem?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof DatasetError) return { name: err.name, message: err.message, file: err.file, problem: err.problem };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The error as the main thread should see it: a DatasetError stays one, a RangeError or TypeError keeps its class. */
export function deserializeError(e: SerializedError): Error {
  if (e.name === 'DatasetError' && e.file !== undefined && e.problem !== undefined) return new DatasetError(e.file, e.problem);
  const Class = e.name === 'RangeError' ? RangeError : e.name === 'TypeError' ? TypeError : Error;
  return new Class(e.message);
}
