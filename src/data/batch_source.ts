/**
 * A split as the trainer consumes it: shape, class count, example count, and the batches of any epoch with
 * per-call batching options, all served by one producer (one worker, one copy of the data in memory).
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

/** Structurally the trainer's `BatchSource`, plus the split's metadata and `close`. */
export interface DatasetBatchSource {
  readonly info: DatasetInfo;
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly numExamples: number;
  /** The batches of `epoch`; deterministic given the source's seed and these options. */
  batches(epoch: number, options: BatchingOptions): AsyncIterable<Batch>;
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
      if (!Number.isSafeInteger(batching.batchSize) || batching.batchSize < 1) throw new RangeError(`batchSize must be an integer ≥ 1, got ${batching.batchSize}`);
      return iterateEpoch(producer, batching, epoch);
    },
    close: () => producer.close(),
  };
}
