/**
 * A split as the trainer consumes it: shape, class count, example count, and the batches of any epoch with
 * per-call batching options. BatchSource is the one interface the trainer reads (the Arrow loader, or anything else
 * that yields batches, such as the tests' synthetic sets); openBatchSource serves one from a single producer (one
 * worker, one copy of the data in memory).
 */
import type { DatasetInfo, ImageDataset } from './arrow_reader';
import type { Batch } from './batches';
import { createProducer, iterateEpoch, type ProducerOptions } from './loader';

export interface BatchingOptions {
  batchSize: number;
  shuffle: boolean;
  augment: boolean;
  dropLast: boolean;
}

/** Where the trainer's batches come from. */
export interface BatchSource {
  /** One example's shape, [height, width, channels]. */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly numExamples: number;
  /** The batches of one epoch; deterministic for a given epoch (and the source's seed) so that resumed runs see the same data. */
  batches(epoch: number, options: BatchingOptions): AsyncIterable<Batch>;
}

/** A BatchSource over a dataset split, with the split's metadata and `close`. */
export interface DatasetBatchSource extends BatchSource {
  readonly info: DatasetInfo;
  close(): Promise<void>;
}

export async function openBatchSource(source: string | ImageDataset, options: ProducerOptions = {}): Promise<DatasetBatchSource> {
  const producer = await createProducer(source, options);
  const { info } = producer;
  return {
    info,
    shape: [info.shape[0], info.shape[1], info.shape[2]],
    numClasses: info.numClasses,
    numExamples: info.numRows,
    batches: (epoch, batching) => {
      if (!Number.isSafeInteger(batching.batchSize) || batching.batchSize < 1)
        throw new RangeError(`batchSize must be an integer ≥ 1, got ${batching.batchSize}`);
      return iterateEpoch(producer, batching, epoch);
    },
    close: () => producer.close(),
  };
}
