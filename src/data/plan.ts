/**
 * The order of a split's rows in one epoch. Rows are read in *windows*: groups of whole record batches held in memory
 * together. When the split's images fit the memory budget, the whole split is one window and shuffling is a full
 * permutation of its rows; otherwise the record batches are permuted and grouped into windows of as many as the
 * budget allows, and rows are permuted within each window (a block shuffle). Without shuffling, windows follow file
 * order and keep their rows in order. A plan depends only on (seed, epoch, shuffle) and the file's layout.
 */
import type { DatasetInfo } from './arrow_reader';
import { hashWords, mulberry32, permutation, STREAMS } from './random';

export interface WindowPlan {
  /** Record batches of the window, in the order their rows are concatenated. */
  recordBatches: readonly number[];
  rows: number;
  /** Epoch position of the window's first row. */
  start: number;
}

export interface EpochPlan {
  windows: readonly WindowPlan[];
  /** Within-window emission order (local row indices), or null for file order. Computed on first use. */
  rowOrder(window: number): Uint32Array | null;
  /** The window holding epoch position `position`. */
  windowAt(position: number): number;
}

/**
 * Record batches per window under `memoryBudgetBytes`: Infinity when all images fit (one window, full shuffle), else
 * enough that two windows fit (the one being read and the next), at least one.
 */
export function windowSize(info: DatasetInfo, memoryBudgetBytes: number): number {
  if (info.numRows * info.imageBytes <= memoryBudgetBytes) return Infinity;
  const largest = Math.max(...info.recordBatchRows) * info.imageBytes;
  return Math.max(1, Math.floor(memoryBudgetBytes / 2 / largest));
}

export function planEpoch(info: DatasetInfo, options: { seed: number; epoch: number; shuffle: boolean; windowBatches: number }): EpochPlan {
  const { seed, epoch, shuffle, windowBatches } = options;
  const count = info.recordBatchRows.length;
  const fileOrder = Array.from({ length: count }, (_, i) => i);
  const batchOrder =
    shuffle && Number.isFinite(windowBatches) ? Array.from(permutation(count, mulberry32(hashWords(seed, epoch, STREAMS.batchOrder)))) : fileOrder;
  const groupSize = Number.isFinite(windowBatches) ? windowBatches : Math.max(count, 1);
  const windows: WindowPlan[] = [];
  let start = 0;
  for (let i = 0; i < count; i += groupSize) {
    const recordBatches = batchOrder.slice(i, i + groupSize);
    const rows = recordBatches.reduce((sum, b) => sum + info.recordBatchRows[b]!, 0);
    windows.push({ recordBatches, rows, start });
    start += rows;
  }
  const orders = new Map<number, Uint32Array>();
  return {
    windows,
    rowOrder(window) {
      if (!shuffle) return null;
      let order = orders.get(window);
      if (order === undefined) {
        order = permutation(windows[window]!.rows, mulberry32(hashWords(seed, epoch, STREAMS.rowOrder, window)));
        orders.set(window, order);
      }
      return order;
    },
    windowAt(position) {
      let lo = 0;
      let hi = windows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (windows[mid]!.start <= position) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
  };
}
