/**
 * Writing a split as an Arrow IPC file, streamed: examples go in by chunks, record batches of `batchRows` rows go to
 * a temporary sibling file as they fill, and only a complete file is renamed into place, so that no reader ever sees
 * half a dataset and a failed conversion leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AsyncByteQueue,
  Int32,
  RecordBatch,
  RecordBatchFileWriter,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Dictionary,
  type FixedSizeBinary,
  type Schema,
  type Vector,
} from 'apache-arrow';
import { asDatasetError, DatasetError } from './errors';
import { datasetSchema, DEFAULT_BATCH_ROWS, imageBytes, validateMetadata, type DatasetMetadata } from './schema';

/** A run of examples: `labels.length` images, HWC uint8, back to back in `images`. */
export interface ExampleChunk {
  images: Uint8Array;
  labels: ArrayLike<number>;
}

export interface WriteOptions {
  /** Rows per record batch (default {@link DEFAULT_BATCH_ROWS}). */
  batchRows?: number;
}

/** A split being written to a temporary file; nothing appears at `file` before {@link commit}. */
export interface DatasetFileWriter {
  readonly file: string;
  /** Rows written so far. */
  readonly rows: number;
  /** Appends examples (validated: image bytes match the shape, labels index the classes). */
  write(chunk: ExampleChunk): void;
  /** Writes the footer and moves the finished file to `file`; returns the number of rows. */
  commit(): number;
  /** Removes the temporary file (safe to call after a failure, and more than once). */
  abort(): void;
}

/** The Arrow file writer's byte sink, replaced by synchronous writes to a file descriptor: no buffering in memory. */
class FileDescriptorSink extends AsyncByteQueue {
  constructor(private readonly fd: number) {
    super();
  }
  override write(value: Parameters<AsyncByteQueue['write']>[0]): void {
    const bytes = ArrayBuffer.isView(value)
      ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
      : new Uint8Array(value as ArrayBufferLike);
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done);
  }
}

/** Opens a temporary file next to `file` and returns a writer for one split. */
export function createDatasetWriter(file: string, meta: DatasetMetadata, options: WriteOptions = {}): DatasetFileWriter {
  validateMetadata(file, meta);
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError(`batchRows must be a positive integer, got ${batchRows}`);
  const schema = datasetSchema(meta);
  const rowBytes = imageBytes(meta.shape);
  const numClasses = meta.classes.length;
  // One dictionary object for every batch: the file format allows no replacement dictionaries.
  const splitDictionary = vectorFromArray([meta.split], new Utf8());

  let tmp: string | undefined;
  let fd: number | undefined;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    fd = fs.openSync(tmp, 'wx');
  } catch (err) {
    if (tmp !== undefined) fs.rmSync(tmp, { force: true });
    throw asDatasetError(file, err, 'cannot create');
  }
  const tmpFile = tmp;
  const writer = new RecordBatchFileWriter();
  writer.reset(new FileDescriptorSink(fd), schema);

  let pendingImages = new Uint8Array(batchRows * rowBytes);
  let pendingLabels = new Int32Array(batchRows);
  let pending = 0;
  let rows = 0;
  let state: 'open' | 'committed' | 'aborted' = 'open';

  const flush = () => {
    if (pending === 0) return;
    writer.write(recordBatch(schema, pendingImages.subarray(0, pending * rowBytes), pendingLabels.subarray(0, pending), splitDictionary));
    // The sink wrote the bytes synchronously, but fresh buffers keep this independent of how Arrow holds them.
    pendingImages = new Uint8Array(batchRows * rowBytes);
    pendingLabels = new Int32Array(batchRows);
    pending = 0;
  };
  const closeFd = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
  };
  const self: DatasetFileWriter = {
    file,
    get rows() {
      return rows;
    },
    write(chunk) {
      if (state !== 'open') throw new Error(`${file}: writer is ${state}`);
      const count = chunk.labels.length;
      if (chunk.images.byteLength !== count * rowBytes) {
        throw new DatasetError(
          file,
          `a chunk of ${count} examples has ${chunk.images.byteLength} image bytes, expected ${count}·${rowBytes} for shape ${JSON.stringify(meta.shape)}`,
        );
      }
      for (let i = 0; i < count; i++) {
        const label = chunk.labels[i]!;
        if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
          throw new DatasetError(file, `label ${label} of example ${rows + i} is out of range for ${numClasses} classes`);
        }
      }
      try {
        for (let i = 0; i < count;) {
          const take = Math.min(count - i, batchRows - pending);
          pendingImages.set(chunk.images.subarray(i * rowBytes, (i + take) * rowBytes), pending * rowBytes);
          for (let k = 0; k < take; k++) pendingLabels[pending + k] = chunk.labels[i + k]!;
          pending += take;
          i += take;
          if (pending === batchRows) flush();
        }
      } catch (err) {
        throw asDatasetError(file, err, 'cannot write');
      }
      rows += count;
    },
    commit() {
      if (state !== 'open') throw new Error(`${file}: writer is ${state}`);
      if (rows + pending === 0) throw new DatasetError(file, 'no examples to write');
      try {
        flush();
        writer.finish(); // footer: schema, dictionary and record-batch blocks
        closeFd();
        fs.renameSync(tmpFile, file);
      } catch (err) {
        throw asDatasetError(file, err, 'cannot write');
      }
      state = 'committed';
      return rows;
    },
    abort() {
      if (state === 'committed') return;
      state = 'aborted';
      try {
        closeFd();
      } finally {
        fs.rmSync(tmpFile, { force: true });
      }
    },
  };
  return self;
}

/**
 * Writes one split atomically from chunks of examples and returns its row count. On any error the temporary file is
 * removed and `file` is left as it was.
 */
export function writeImageDataset(file: string, meta: DatasetMetadata, chunks: Iterable<ExampleChunk>, options: WriteOptions = {}): number {
  const writer = createDatasetWriter(file, meta, options);
  try {
    for (const chunk of chunks) writer.write(chunk);
    return writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/** One record batch of the schema (columns image, label, split, as datasetSchema orders them) from raw columns. */
function recordBatch(schema: Schema, images: Uint8Array, labels: Int32Array, splitDictionary: Vector<Utf8>): RecordBatch {
  const length = labels.length;
  const [image, , split] = schema.fields;
  const children = [
    makeData({ type: image!.type as FixedSizeBinary, length, nullCount: 0, data: images }),
    makeData({ type: new Int32(), length, nullCount: 0, data: labels }),
    // Every row of a split file is in that split: dictionary index 0.
    makeData({ type: split!.type as Dictionary<Utf8>, length, nullCount: 0, data: new Int8Array(length), dictionary: splitDictionary }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}
