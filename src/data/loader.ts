/**
 * Training batches from a split: shuffled, normalised, augmented, deterministic, and prepared ahead of time in a
 * worker thread so that the main thread (which drives the compute backend) never waits on JavaScript.
 *
 * Determinism: batch `i` of epoch `e` is a pure function of (file, seed, e, i, the batching options and the memory
 * budget): the row order comes from counter-based draws keyed by (seed, e), each example's augmentation from
 * (seed, e, row). A loader created at epoch k, or an iteration started at batch j, yields exactly what an
 * uninterrupted run yields there; different epochs give different orders and augmentations.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker';
import { openImageDataset, type DatasetInfo, type ImageDataset } from './arrow_reader';
import { BatchAssembler, batchCount, type AssemblerConfig, type Batch, type BatchRequest } from './batches';
import { validateNormalization, type Normalization } from './normalize';
import { deserializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker_protocol';

export type { Batch, BatchRequest } from './batches';

/** Shared by every loader of a split (see {@link openBatchSource}): what does not change between iterations. */
export interface ProducerOptions {
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Pixel normalisation (default 'pm1', the official code's). */
  normalize?: Normalization;
  /**
   * Batches prepared ahead in a worker thread while the caller works on the current one (default 2); 0 prepares
   * each batch in the calling thread when asked for. Both give identical batches.
   */
  prefetch?: number;
  /**
   * Image bytes the loader may hold to shuffle (default 1 GiB): a split that fits is read once and shuffled with a
   * full permutation; a larger one is block-shuffled (record-batch order permuted, rows permuted within windows of
   * record batches that fit the budget). The plan, and so the order, depends on this value.
   */
  memoryBudgetBytes?: number;
}

export interface LoaderOptions extends ProducerOptions {
  batchSize: number;
  /** Shuffle rows each epoch (default false: file order). */
  shuffle?: boolean;
  /** The epoch the loader's default iteration yields (default 0). */
  epoch?: number;
  /** The official CIFAR augmentation: pad 4, random crop, horizontal flip (default false). */
  augment?: boolean;
  /** Drop the last, short batch (default false). */
  dropLast?: boolean;
}

/** Batches of one split with fixed options; `for await (const b of loader)` yields epoch `options.epoch`. */
export interface Loader extends AsyncIterable<Batch> {
  readonly info: DatasetInfo;
  /** Batches per epoch. */
  readonly numBatches: number;
  /** The batches of `epoch` (default: options.epoch), starting at batch `fromBatch` (default 0). */
  batches(epoch?: number, fromBatch?: number): AsyncIterableIterator<Batch>;
  /** Stops the worker and closes the file (if the loader opened it). */
  close(): Promise<void>;
}

export const DEFAULT_PREFETCH = 2;
export const DEFAULT_MEMORY_BUDGET_BYTES = 2 ** 30;

/** A batch on its way; `cancel` says it is no longer wanted. */
interface PendingBatch {
  promise: Promise<Batch>;
  cancel(): void;
}

/** Where a loader gets its batches: this thread, or a worker. */
export interface BatchProducer {
  readonly info: DatasetInfo;
  /** How many batches to keep requested ahead of the one being consumed. */
  readonly ahead: number;
  request(request: BatchRequest): PendingBatch;
  close(): Promise<void>;
}

class InThreadProducer implements BatchProducer {
  readonly ahead = 0;
  private readonly assembler: BatchAssembler;
  constructor(
    private readonly dataset: ImageDataset,
    config: AssemblerConfig,
    private readonly owned: boolean,
  ) {
    this.assembler = new BatchAssembler(dataset, config);
  }
  get info(): DatasetInfo {
    return this.dataset.info;
  }
  request(request: BatchRequest): PendingBatch {
    return { promise: this.assembler.batch(request), cancel: () => undefined };
  }
  async close(): Promise<void> {
    if (this.owned) await this.dataset.close();
  }
}

class WorkerProducer implements BatchProducer {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(batch: Batch): void; reject(err: Error): void }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(
    readonly info: DatasetInfo,
    config: AssemblerConfig,
    readonly ahead: number,
  ) {
    const workerData: WorkerInit = { file: info.file, config };
    this.worker = startWorker(__filename, 'loader_worker', { workerData });
    this.worker.unref(); // referenced only while batches are awaited (see request)
    this.worker.on('message', (message: FromWorker) => {
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return; // cancelled
      this.settled(message.id);
      if (message.type === 'batch') waiter.resolve({ x: message.x, y: message.y, size: message.size });
      else waiter.reject(deserializeError(message.error));
    });
    this.worker.on('error', (err) => this.fail(new Error(`${info.file}: loader worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`${info.file}: loader worker exited (code ${code})`)));
  }

  request(request: BatchRequest): PendingBatch {
    const id = this.nextId++;
    const promise = new Promise<Batch>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker.ref();
      this.post({ type: 'batch', id, request });
    });
    return {
      promise,
      cancel: () => {
        if (!this.waiting.has(id)) return;
        this.settled(id);
        this.post({ type: 'cancel', id });
      },
    };
  }

  async close(): Promise<void> {
    this.fail(new Error(`${this.info.file}: loader closed`));
    await this.worker.terminate();
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, waiter] of this.waiting) {
      this.settled(id);
      waiter.reject(this.failure);
    }
  }
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}

/** Opens (or reuses) a split and starts the producer of its batches: a worker, or this thread for prefetch 0. */
export async function createProducer(source: string | ImageDataset, options: ProducerOptions = {}): Promise<BatchProducer> {
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  const config: AssemblerConfig = {
    seed: options.seed ?? 0,
    normalize: options.normalize ?? 'pm1',
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
  };
  checkInteger('prefetch', prefetch, 0);
  if (!Number.isSafeInteger(config.seed)) throw new RangeError(`seed must be an integer, got ${config.seed}`);
  if (!(config.memoryBudgetBytes > 0)) throw new RangeError(`memoryBudgetBytes must be positive, got ${config.memoryBudgetBytes}`);
  const dataset = typeof source === 'string' ? await openImageDataset(source) : source;
  try {
    validateNormalization(config.normalize, dataset.info.shape[2]);
  } catch (err) {
    if (typeof source === 'string') await dataset.close();
    throw err;
  }
  if (prefetch === 0) return new InThreadProducer(dataset, config, typeof source === 'string');
  // The worker opens the file itself; this thread only needed the metadata.
  if (typeof source === 'string') await dataset.close();
  return new WorkerProducer(dataset.info, config, prefetch);
}

/**
 * The batches `fromBatch`… of one epoch, keeping `producer.ahead` batches requested beyond the one being consumed;
 * batches still on their way when the iteration ends early are cancelled.
 */
export async function* iterateEpoch(
  producer: BatchProducer,
  base: Omit<BatchRequest, 'epoch' | 'index'>,
  epoch: number,
  fromBatch = 0,
): AsyncIterableIterator<Batch> {
  checkInteger('epoch', epoch, 0);
  checkInteger('fromBatch', fromBatch, 0);
  const count = batchCount(producer.info.numRows, base.batchSize, base.dropLast);
  const pending: PendingBatch[] = [];
  let next = fromBatch;
  const requestNext = () => {
    const batch = producer.request({ ...base, epoch, index: next++ });
    batch.promise.catch(() => undefined); // a failure surfaces when its turn comes, not as an unhandled rejection
    pending.push(batch);
  };
  try {
    while (next < count || pending.length > 0) {
      if (pending.length === 0) requestNext();
      const head = pending.shift()!;
      while (pending.length < producer.ahead && next < count) requestNext();
      yield await head.promise;
    }
  } finally {
    for (const batch of pending) batch.cancel();
  }
}

/**
 * A loader over a split file (or an opened split, which the loader then does not close):
 *
 * ```ts
 * const loader = await createLoader('datasets/mnist-train.arrow', { batchSize: 128, shuffle: true, seed: 313 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const { x, y, size } of loader.batches(epoch)) { … tf.tensor4d(x, [size, 28, 28, 1]) … }
 * }
 * await loader.close();
 * ```
 */
export async function createLoader(source: string | ImageDataset, options: LoaderOptions): Promise<Loader> {
  checkInteger('batchSize', options.batchSize, 1);
  const startEpoch = options.epoch ?? 0;
  checkInteger('epoch', startEpoch, 0);
  const producer = await createProducer(source, options);
  const base = {
    batchSize: options.batchSize,
    shuffle: options.shuffle ?? false,
    augment: options.augment ?? false,
    dropLast: options.dropLast ?? false,
  };
  const loader: Loader = {
    info: producer.info,
    numBatches: batchCount(producer.info.numRows, base.batchSize, base.dropLast),
    batches: (epoch = startEpoch, fromBatch = 0) => iterateEpoch(producer, base, epoch, fromBatch),
    [Symbol.asyncIterator]: () => iterateEpoch(producer, base, startEpoch),
    close: () => producer.close(),
  };
  return loader;
}
