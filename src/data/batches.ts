/**
 * Assembling training batches from an opened split: batch `index` of `epoch` is a pure function of the request, the
 * loader configuration and the file, computed the same way in the main thread and in the prefetch worker.
 */
import type { DatasetInfo, ImageDataset } from './arrow_reader';
import { augmentationFor, writeImage } from './augment';
import { normalizationTable, type Normalization } from './normalize';
import { planEpoch, windowSize, type EpochPlan } from './plan';

/** A batch of examples: `size` images as NHWC float32 and their labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
}

/** What varies per iteration. */
export interface BatchRequest {
  epoch: number;
  index: number;
  batchSize: number;
  shuffle: boolean;
  augment: boolean;
  dropLast: boolean;
}

/** What is fixed for a loader. */
export interface AssemblerConfig {
  seed: number;
  normalize: Normalization;
  /** Image bytes a loader may hold for shuffling (see plan.ts). */
  memoryBudgetBytes: number;
}

/** Batches per epoch. */
export function batchCount(numRows: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(numRows / batchSize) : Math.ceil(numRows / batchSize);
}

/** The rows of a window in memory: images back to back, labels, and each row's index in the split. */
interface LoadedWindow {
  images: Uint8Array;
  labels: Int32Array;
  rows: Uint32Array;
}

const PLANS_KEPT = 2;
const WINDOWS_KEPT = 2;

export class BatchAssembler {
  private readonly table: Float32Array;
  private readonly windowBatches: number;
  private readonly plans = new Map<string, EpochPlan>();
  private readonly windows = new Map<string, Promise<LoadedWindow>>();

  constructor(
    private readonly dataset: ImageDataset,
    private readonly config: AssemblerConfig,
  ) {
    this.table = normalizationTable(config.normalize, dataset.info.shape[2]);
    this.windowBatches = windowSize(dataset.info, config.memoryBudgetBytes);
  }

  get info(): DatasetInfo {
    return this.dataset.info;
  }

  async batch(request: BatchRequest): Promise<Batch> {
    const { numRows, shape, imageBytes } = this.dataset.info;
    const { epoch, index, batchSize, augment } = request;
    const count = batchCount(numRows, batchSize, request.dropLast);
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new RangeError(`batch ${index} does not exist: an epoch has ${count} batches of ${batchSize}`);
    const plan = this.plan(epoch, request.shuffle);
    const first = index * batchSize;
    const size = Math.min(batchSize, numRows - first);
    const x = new Float32Array(size * imageBytes);
    const y = new Int32Array(size);
    for (let position = first; position < first + size;) {
      const w = plan.windowAt(position);
      const window = plan.windows[w]!;
      const loaded = await this.window(window.recordBatches);
      const order = plan.rowOrder(w);
      const end = Math.min(first + size, window.start + window.rows);
      for (; position < end; position++) {
        const local = order === null ? position - window.start : order[position - window.start]!;
        const slot = position - first;
        const aug = augment ? augmentationFor(this.config.seed, epoch, loaded.rows[local]!) : null;
        writeImage(x, slot * imageBytes, loaded.images, local * imageBytes, shape, this.table, aug);
        y[slot] = loaded.labels[local]!;
      }
    }
    return { x, y, size };
  }

  private plan(epoch: number, shuffle: boolean): EpochPlan {
    const key = `${epoch}/${shuffle}`;
    let plan = this.plans.get(key);
    if (plan === undefined) {
      plan = planEpoch(this.dataset.info, { seed: this.config.seed, epoch, shuffle, windowBatches: this.windowBatches });
      remember(this.plans, key, plan, PLANS_KEPT);
    }
    return plan;
  }

  /** The window's rows, read once and kept while recent (concurrent requests share one read). */
  private window(recordBatches: readonly number[]): Promise<LoadedWindow> {
    const key = recordBatches.join(',');
    let loaded = this.windows.get(key);
    if (loaded === undefined) {
      loaded = this.load(recordBatches);
      loaded.catch(() => this.windows.delete(key));
      remember(this.windows, key, loaded, WINDOWS_KEPT);
    }
    return loaded;
  }

  private async load(recordBatches: readonly number[]): Promise<LoadedWindow> {
    const { imageBytes, recordBatchRows } = this.dataset.info;
    const total = recordBatches.reduce((sum, b) => sum + recordBatchRows[b]!, 0);
    if (recordBatches.length === 1) {
      const batch = await this.dataset.readBatch(recordBatches[0]!);
      return { images: batch.images, labels: batch.labels, rows: Uint32Array.from({ length: batch.rows }, (_, i) => batch.firstRow + i) };
    }
    const images = new Uint8Array(total * imageBytes);
    const labels = new Int32Array(total);
    const rows = new Uint32Array(total);
    let at = 0;
    for (const b of recordBatches) {
      const batch = await this.dataset.readBatch(b);
      images.set(batch.images, at * imageBytes);
      labels.set(batch.labels, at);
      for (let i = 0; i < batch.rows; i++) rows[at + i] = batch.firstRow + i;
      at += batch.rows;
    }
    return { images, labels, rows };
  }
}

/** Inserts into a small most-recent-first cache, dropping the oldest entries beyond `keep`. */
function remember<V>(cache: Map<string, V>, key: string, value: V, keep: number): void {
  cache.delete(key);
  cache.set(key, value);
  while (cache.size > keep) cache.delete(cache.keys().next().value!);
}
