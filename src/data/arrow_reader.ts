/**
 * Reading a split from its Arrow IPC file without loading it: the footer lists every record batch's offset, so the
 * reader validates the structure, learns each batch's row count from its small message header, and then reads
 * record batches one at a time, on demand, by index or in order.
 */
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Message, MessageHeader, RecordBatchReader, type AsyncRecordBatchFileReader, type FixedSizeBinary, type RecordBatch } from 'apache-arrow';
import { asDatasetError, DatasetError } from './errors';
import { COLUMNS, imageBytes, parseSchema, SPLITS, type DatasetMetadata, type Split } from './schema';

/** Everything known about an opened split without reading its data. */
export interface DatasetInfo extends DatasetMetadata {
  /** The file, as given to {@link openImageDataset}. */
  file: string;
  numRows: number;
  numClasses: number;
  /** Bytes per image (H·W·C). */
  imageBytes: number;
  /** Rows of each record batch, in file order. */
  recordBatchRows: readonly number[];
}

/** One record batch: `rows` consecutive examples starting at row `firstRow` of the split. */
export interface ExampleBatch {
  /** Record-batch index in the file. */
  index: number;
  firstRow: number;
  rows: number;
  /** `rows` images, HWC uint8, back to back (a view of the bytes read for this batch). */
  images: Uint8Array;
  labels: Int32Array;
}

export interface Example {
  row: number;
  image: Uint8Array;
  label: number;
}

/** An opened split. Reads go to the file as needed; nothing beyond the footer and batch headers is held. */
export interface ImageDataset {
  readonly info: DatasetInfo;
  /** Record batch `index` (0 ≤ index < info.recordBatchRows.length), read from the file, validated. */
  readBatch(index: number): Promise<ExampleBatch>;
  /** The record batches in file order, each read when the iteration reaches it. */
  batches(): AsyncIterableIterator<ExampleBatch>;
  /** The examples in file order, streamed batch by batch. */
  examples(): AsyncIterableIterator<Example>;
  /** Bytes read from the file so far (footer and headers included): how much of the file a caller touched. */
  readonly bytesRead: number;
  close(): Promise<void>;
}

const MAGIC = Buffer.from('ARROW1');
/** Magic, padded to 8 bytes, at the start; int32 footer length + magic at the end. */
const HEAD_BYTES = 8;
const TAIL_BYTES = 4 + MAGIC.length;

/** A file handle as Arrow uses it, counting the bytes read. */
interface CountingHandle {
  fd: number;
  bytesRead: number;
  stat(): Promise<fs.Stats>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Uint8Array }>;
  close(): Promise<void>;
}

function countingHandle(handle: fsp.FileHandle): CountingHandle {
  let closed = false;
  const counted: CountingHandle = {
    fd: handle.fd,
    bytesRead: 0,
    stat: () => handle.stat(),
    async read(buffer, offset, length, position) {
      const result = await handle.read(buffer, offset, length, position);
      counted.bytesRead += result.bytesRead;
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  return counted;
}

async function readExactly(handle: CountingHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/**
 * Opens a split written in the mixprec image-classification format (see ./schema.ts) and checks it: Arrow file
 * structure, schema, metadata, split dictionary and record-batch headers. Any problem is one {@link DatasetError}
 * naming `file`. Label ranges and the body of each batch are checked as each batch is read.
 */
export async function openImageDataset(file: string): Promise<ImageDataset> {
  let raw: fsp.FileHandle;
  try {
    raw = await fsp.open(file, 'r');
  } catch (err) {
    throw asDatasetError(file, err, 'cannot open');
  }
  const handle = countingHandle(raw);
  try {
    return await openOnHandle(file, handle);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw asDatasetError(file, err, 'cannot read');
  }
}

async function openOnHandle(file: string, handle: CountingHandle): Promise<ImageDataset> {
  const stats = await handle.stat();
  if (stats.isDirectory()) throw new DatasetError(file, 'is a directory, expected an Arrow file');
  const size = stats.size;
  const head = await readExactly(handle, 0, MAGIC.length);
  // A file that starts like the magic but stops early is a cut-off Arrow file, not some other kind of file.
  if (head.length === 0 || !head.equals(MAGIC.subarray(0, head.length)))
    throw new DatasetError(file, 'not an Arrow IPC file (no ARROW1 magic at the start)');
  if (size < HEAD_BYTES + TAIL_BYTES) throw new DatasetError(file, `truncated: ${size} bytes, too short for an Arrow IPC file`);
  const tail = await readExactly(handle, size - TAIL_BYTES, TAIL_BYTES);
  if (!tail.subarray(4).equals(MAGIC)) throw new DatasetError(file, `truncated or incomplete: no ARROW1 magic at the end (${size} bytes)`);
  const footerLength = tail.readInt32LE(0);
  const footerStart = size - TAIL_BYTES - footerLength;
  if (footerLength <= 0 || footerStart < HEAD_BYTES)
    throw new DatasetError(file, `corrupt footer: length ${footerLength} does not fit in ${size} bytes`);

  let reader: AsyncRecordBatchFileReader;
  try {
    const opened = await RecordBatchReader.from(handle as unknown as fsp.FileHandle);
    if (!opened.isFile()) throw new Error('not in the Arrow file format');
    reader = opened as AsyncRecordBatchFileReader;
    await reader.open({ autoDestroy: false });
  } catch (err) {
    throw asDatasetError(file, err, 'corrupt Arrow footer or dictionary');
  }
  const { shape, classes, source, splitDictionaryId } = parseSchema(file, reader.schema);
  const split = readSplit(file, reader, splitDictionaryId);

  // Row counts come from each record batch's message header (a few hundred bytes), not from its body.
  const footer = reader.footer!;
  const recordBatchRows: number[] = [];
  for (let index = 0; index < footer.numRecordBatches; index++) {
    const block = footer.getRecordBatch(index)!;
    const end = block.offset + block.metaDataLength + block.bodyLength;
    if (block.offset < HEAD_BYTES || block.metaDataLength < 8 || end > footerStart) {
      throw new DatasetError(
        file,
        `truncated or corrupt: record batch ${index} (bytes ${block.offset}–${end}) lies outside the data (${HEAD_BYTES}–${footerStart})`,
      );
    }
    const prefix = await readExactly(handle, block.offset, block.metaDataLength);
    const continuation = prefix.readInt32LE(0);
    const length = prefix.readInt32LE(4);
    if (continuation !== -1 || length <= 0 || length > block.metaDataLength - 8)
      throw new DatasetError(file, `corrupt header of record batch ${index}`);
    let rows: number;
    try {
      const message = Message.decode(prefix.subarray(8, 8 + length));
      if (message.headerType !== MessageHeader.RecordBatch) throw new Error(`message type ${MessageHeader[message.headerType]}`);
      rows = (message.header() as { length: number }).length;
    } catch (err) {
      throw new DatasetError(file, `corrupt header of record batch ${index}: ${(err as Error).message}`);
    }
    recordBatchRows.push(rows);
  }
  const firstRows: number[] = [];
  let numRows = 0;
  for (const rows of recordBatchRows) {
    firstRows.push(numRows);
    numRows += rows;
  }
  const info: DatasetInfo = {
    file,
    shape,
    classes,
    source,
    split,
    numRows,
    numClasses: classes.length,
    imageBytes: imageBytes(shape),
    recordBatchRows,
  };
  return new ArrowImageDataset(info, reader, handle, firstRows);
}

function readSplit(file: string, reader: AsyncRecordBatchFileReader, id: number): Split {
  const dictionary = reader.dictionaries.get(id);
  if (dictionary === undefined) throw new DatasetError(file, `"split" column has no dictionary (an empty file?)`);
  const values = dictionary.toArray() as unknown[];
  if (values.length !== 1 || !(SPLITS as readonly unknown[]).includes(values[0])) {
    throw new DatasetError(
      file,
      `"split" dictionary is ${JSON.stringify(values)}, expected exactly one of ${SPLITS.map((s) => `"${s}"`).join(', ')} (one split per file)`,
    );
  }
  return values[0] as Split;
}

class ArrowImageDataset implements ImageDataset {
  /** Arrow's file reader keeps one file position: reads go one at a time through this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly info: DatasetInfo,
    private readonly reader: AsyncRecordBatchFileReader,
    private readonly handle: CountingHandle,
    private readonly firstRows: readonly number[],
  ) {}

  get bytesRead(): number {
    return this.handle.bytesRead;
  }

  readBatch(index: number): Promise<ExampleBatch> {
    const count = this.info.recordBatchRows.length;
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      return Promise.reject(new RangeError(`${this.info.file}: record batch ${index} does not exist (the file has ${count})`));
    }
    const read = this.queue.then(() => this.readNow(index));
    this.queue = read.catch(() => undefined);
    return read;
  }

  private async readNow(index: number): Promise<ExampleBatch> {
    const { file } = this.info;
    if (this.closed) throw new Error(`${file}: dataset is closed`);
    let batch: RecordBatch | null;
    try {
      batch = await this.reader.readRecordBatch(index);
    } catch (err) {
      throw asDatasetError(file, err, `record batch ${index}`);
    }
    if (batch === null) throw new DatasetError(file, `record batch ${index} could not be read (truncated?)`);
    return this.validate(index, batch);
  }

  private validate(index: number, batch: RecordBatch): ExampleBatch {
    const { file, imageBytes: width, numClasses } = this.info;
    const rows = this.info.recordBatchRows[index]!;
    const where = `record batch ${index}`;
    if (batch.numRows !== rows) throw new DatasetError(file, `${where} has ${batch.numRows} rows, its header says ${rows}`);
    const imageData = batch.getChild(COLUMNS.image)?.data;
    const labelData = batch.getChild(COLUMNS.label)?.data;
    if (imageData?.length !== 1 || labelData?.length !== 1) throw new DatasetError(file, `${where} lacks its image or label data`);
    const image = imageData[0]!;
    const label = labelData[0]!;
    if (image.nullCount > 0 || label.nullCount > 0) throw new DatasetError(file, `${where} has null images or labels`);
    if ((image.type as FixedSizeBinary).byteWidth !== width) throw new DatasetError(file, `${where} images are not ${width} bytes`);
    const imageValues = image.values as Uint8Array;
    const images = imageValues.subarray(image.offset * width, (image.offset + rows) * width);
    if (images.byteLength !== rows * width) {
      throw new DatasetError(file, `${where} holds ${images.byteLength} image bytes, expected ${rows}·${width} = ${rows * width} (truncated?)`);
    }
    const labelValues = (label.values as ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }).subarray(
      label.offset,
      label.offset + rows,
    );
    if (labelValues.length !== rows) throw new DatasetError(file, `${where} holds ${labelValues.length} labels, expected ${rows}`);
    const labels = Int32Array.from(labelValues);
    for (let i = 0; i < rows; i++) {
      const value = labels[i]!;
      if (value < 0 || value >= numClasses) {
        throw new DatasetError(file, `label ${value} of row ${this.firstRows[index]! + i} (${where}) is out of range for ${numClasses} classes`);
      }
    }
    return { index, firstRow: this.firstRows[index]!, rows, images, labels };
  }

  async *batches(): AsyncIterableIterator<ExampleBatch> {
    for (let index = 0; index < this.info.recordBatchRows.length; index++) yield await this.readBatch(index);
  }

  async *examples(): AsyncIterableIterator<Example> {
    const width = this.info.imageBytes;
    for await (const batch of this.batches()) {
      for (let i = 0; i < batch.rows; i++) {
        yield { row: batch.firstRow + i, image: batch.images.subarray(i * width, (i + 1) * width), label: batch.labels[i]! };
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle.close();
  }
}
