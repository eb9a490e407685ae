/**
 * Bad files fail with exactly one DatasetError that names the file and the problem, and conversions that fail leave
 * no output (and no temporary file) behind.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Dictionary,
  Field,
  FixedSizeBinary,
  Int32,
  Int8,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import {
  convertDataset,
  createLoader,
  DatasetError,
  datasetSchema,
  openImageDataset,
  writeImageDataset,
  type ConvertOptions,
  type DatasetMetadata,
} from '../../src/data';
import { Random, testSeed } from '../helpers/random';
import { cifarBytes, idxBytes, listFiles, randomCifarRecords, randomIdxSplit, tempDir, writeIdxSplit, writeSyntheticSplit } from './fixtures';

const seed = testSeed();
const random = new Random(seed);
const tmp = tempDir();
after(() => tmp.cleanup());
let counter = 0;
const fresh = (name: string) => {
  const dir = path.join(tmp.dir, `${name}-${counter++}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

/** Expects one DatasetError for `file` whose problem matches. */
function isDatasetError(file: string, problem: RegExp | string) {
  return (err: unknown) => {
    assert.ok(err instanceof DatasetError, `expected a DatasetError, got ${String(err)}`);
    assert.equal(err.file, file);
    if (typeof problem === 'string') assert.equal(err.problem, problem);
    else assert.match(err.problem, problem);
    assert.equal(err.message, `${file}: ${err.problem}`);
    return true;
  };
}

/** A valid IDX input folder; returns its files. */
function idxInput(dir: string, gzip = false) {
  const train = writeIdxSplit(dir, 'train', randomIdxSplit(random, 6, 3, 5), gzip);
  const test = writeIdxSplit(dir, 't10k', randomIdxSplit(random, 4, 3, 5), gzip);
  return { train, test };
}

async function convertFails(options: ConvertOptions, file: string, problem: RegExp | string): Promise<void> {
  await assert.rejects(convertDataset(options), isDatasetError(file, problem));
  assert.deepEqual(listFiles(options.outDir), [], 'nothing written to the output folder');
}

describe('bad IDX inputs', () => {
  it('wrong magic number in an images file', async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir);
    const bytes = fs.readFileSync(train.images);
    bytes.writeUInt32BE(0x802, 0);
    fs.writeFileSync(train.images, bytes);
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out') },
      train.images,
      'wrong magic number 0x00000802, expected 0x00000803 (IDX images)',
    );
  });
  it('an images file given as labels (wrong magic)', async () => {
    const dir = fresh('idx');
    const { test } = idxInput(dir);
    fs.copyFileSync(test.images, test.labels);
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out') },
      test.labels,
      'wrong magic number 0x00000803, expected 0x00000801 (IDX labels)',
    );
  });
  it('truncated pixel data, and a file shorter than its header', async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir);
    fs.truncateSync(train.images, 16 + 6 * 15 - 7);
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out') },
      train.images,
      'truncated: holds 83 data bytes, its header promises 6·3·5 = 90',
    );
    fs.truncateSync(train.images, 10);
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out') },
      train.images,
      'truncated: 10 bytes, shorter than the 16-byte IDX images header',
    );
  });
  it('bytes beyond what the header promises', async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir);
    fs.appendFileSync(train.labels, Buffer.from([1, 2]));
    await convertFails({ format: 'idx', input: dir, outDir: fresh('out') }, train.labels, '2 bytes beyond the 6 = 6 its header promises');
  });
  it('a truncated .gz file', async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir, true);
    const bytes = fs.readFileSync(train.images);
    fs.writeFileSync(train.images, bytes.subarray(0, bytes.length >> 1));
    await convertFails({ format: 'idx', input: dir, outDir: fresh('out') }, train.images, /truncated gzip data/);
  });
  it('label and image counts that differ', async () => {
    const dir = fresh('idx');
    const { test } = idxInput(dir);
    fs.writeFileSync(test.labels, idxBytes(0x801, [3], new Uint8Array([1, 2, 3])));
    await convertFails({ format: 'idx', input: dir, outDir: fresh('out') }, test.labels, 'holds 3 labels but t10k-images-idx3-ubyte holds 4 images');
  });
  it('a label out of range of the classes', async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir);
    fs.writeFileSync(train.labels, idxBytes(0x801, [6], new Uint8Array([0, 9, 1, 10, 2, 3])));
    await convertFails({ format: 'idx', input: dir, outDir: fresh('out') }, train.labels, 'label 10 at index 3 is out of range for 10 classes');
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out'), classes: ['a', 'b', 'c'] },
      train.labels,
      'label 9 at index 1 is out of range for 3 classes',
    );
  });
  it('a bad test split leaves no train file either', async () => {
    const dir = fresh('idx');
    const { test } = idxInput(dir);
    fs.writeFileSync(test.images, Buffer.from('not an idx file at all'));
    const outDir = fresh('out');
    await convertFails({ format: 'idx', input: dir, outDir }, test.images, /wrong magic number 0x6e6f7420/);
  });
  it('missing files and folders', async () => {
    const dir = fresh('idx');
    const { test } = idxInput(dir);
    fs.rmSync(test.labels);
    await convertFails(
      { format: 'idx', input: dir, outDir: fresh('out') },
      dir,
      /^no test labels file \(looked for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte\.gz, /,
    );
    const missing = path.join(dir, 'nowhere');
    await convertFails({ format: 'idx', input: missing, outDir: fresh('out') }, missing, 'no such folder');
    await convertFails({ format: 'idx', input: test.images, outDir: fresh('out') }, test.images, /is a file, expected the folder/);
  });
  it('an unreadable file', { skip: process.getuid?.() === 0 ? 'running as root: permissions do not stop reads' : false }, async () => {
    const dir = fresh('idx');
    const { train } = idxInput(dir);
    fs.chmodSync(train.images, 0);
    await convertFails({ format: 'idx', input: dir, outDir: fresh('out') }, train.images, 'cannot read: permission denied');
  });
});

describe('bad CIFAR-10 inputs', () => {
  function cifarInput(dir: string) {
    for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, `data_batch_${i}.bin`), cifarBytes(randomCifarRecords(random, 2)));
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBytes(randomCifarRecords(random, 2)));
  }
  it('a file that is not whole records (truncated)', async () => {
    const dir = fresh('cifar');
    cifarInput(dir);
    const file = path.join(dir, 'data_batch_4.bin');
    fs.truncateSync(file, 3073 + 100);
    await convertFails(
      { format: 'cifar10', input: dir, outDir: fresh('out') },
      file,
      /^3173 bytes is not a whole number of 3073-byte CIFAR-10 records/,
    );
  });
  it('a label out of range', async () => {
    const dir = fresh('cifar');
    cifarInput(dir);
    const file = path.join(dir, 'data_batch_3.bin');
    const bytes = fs.readFileSync(file);
    bytes[3073] = 10;
    fs.writeFileSync(file, bytes);
    await convertFails({ format: 'cifar10', input: dir, outDir: fresh('out') }, file, 'label 10 of record 1 is out of range for 10 classes');
  });
  it('a missing batch file', async () => {
    const dir = fresh('cifar');
    cifarInput(dir);
    fs.rmSync(path.join(dir, 'test_batch.bin'));
    await convertFails({ format: 'cifar10', input: dir, outDir: fresh('out') }, dir, 'no CIFAR-10 test batch file (looked for test_batch.bin)');
  });
});

/** An Arrow file written with apache-arrow directly, bypassing mixprec's writer and its checks. */
function rawArrowFile(file: string, fields: Field[], children: Data[], metadata: Map<string, string>): void {
  const schema = new Schema(fields, metadata);
  const length = children[0]!.length;
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
  fs.writeFileSync(file, RecordBatchFileWriter.writeAll([batch]).toUint8Array(true));
}

const META: DatasetMetadata = { shape: [2, 2, 1], classes: ['a', 'b', 'c'], source: 'test', split: 'train' };

function columns(rows: number, width: number, labels: number[]) {
  const split = new Dictionary(new Utf8(), new Int8(), 0);
  return {
    image: {
      field: new Field('image', new FixedSizeBinary(width), false),
      data: makeData({ type: new FixedSizeBinary(width), length: rows, nullCount: 0, data: new Uint8Array(rows * width) }),
    },
    label: {
      field: new Field('label', new Int32(), false),
      data: makeData({ type: new Int32(), length: rows, nullCount: 0, data: Int32Array.from(labels) }),
    },
    split: {
      field: new Field('split', split, false),
      data: makeData({ type: split, length: rows, nullCount: 0, data: new Int8Array(rows), dictionary: vectorFromArray(['train'], new Utf8()) }),
    },
  };
}

describe('bad Arrow files', () => {
  it('a missing file', async () => {
    const file = path.join(fresh('arrow'), 'none.arrow');
    await assert.rejects(openImageDataset(file), isDatasetError(file, 'cannot open: no such file'));
  });
  it('an empty file, and a file that is not Arrow', async () => {
    const dir = fresh('arrow');
    const empty = path.join(dir, 'empty.arrow');
    fs.writeFileSync(empty, '');
    await assert.rejects(openImageDataset(empty), isDatasetError(empty, 'not an Arrow IPC file (no ARROW1 magic at the start)'));
    const text = path.join(dir, 'text.arrow');
    fs.writeFileSync(text, 'image,label\n' + '0,1\n'.repeat(20));
    await assert.rejects(openImageDataset(text), isDatasetError(text, 'not an Arrow IPC file (no ARROW1 magic at the start)'));
  });
  it('a truncated file, at any length', async () => {
    const dir = fresh('arrow');
    const good = path.join(dir, 'good.arrow');
    writeSyntheticSplit(good, random, 40, { batchRows: 8 });
    const bytes = fs.readFileSync(good);
    for (const keep of [4, 8, 20, bytes.length >> 1, bytes.length - 7, bytes.length - 1]) {
      const file = path.join(dir, `cut-${keep}.arrow`);
      fs.writeFileSync(file, bytes.subarray(0, keep));
      await assert.rejects(openImageDataset(file), isDatasetError(file, /truncated/), `cut at ${keep} of ${bytes.length}`);
    }
  });
  it('a corrupt footer length, and record batches pointing past the data', async () => {
    const dir = fresh('arrow');
    const good = path.join(dir, 'good.arrow');
    writeSyntheticSplit(good, random, 40, { batchRows: 8 });
    const bytes = fs.readFileSync(good);
    const footer = Buffer.from(bytes);
    footer.writeInt32LE(bytes.length, bytes.length - 10);
    const file = path.join(dir, 'footer.arrow');
    fs.writeFileSync(file, footer);
    await assert.rejects(openImageDataset(file), isDatasetError(file, /^corrupt footer: length \d+ does not fit/));
    // Cut out the middle of the data but keep the footer: the footer's blocks now point past the data.
    const file2 = path.join(dir, 'spliced.arrow');
    const footerLength = bytes.readInt32LE(bytes.length - 10);
    fs.writeFileSync(file2, Buffer.concat([bytes.subarray(0, 600), bytes.subarray(bytes.length - 10 - footerLength)]));
    await assert.rejects(
      openImageDataset(file2),
      isDatasetError(file2, /truncated or corrupt: record batch \d+ \(bytes \d+–\d+\) lies outside the data/),
    );
  });
  it('a missing label column', async () => {
    const file = path.join(fresh('arrow'), 'nolabel.arrow');
    const c = columns(3, 4, [0, 1, 2]);
    rawArrowFile(file, [c.image.field, c.split.field], [c.image.data, c.split.data], datasetSchema(META).metadata);
    await assert.rejects(openImageDataset(file), isDatasetError(file, 'no "label" column (columns: image, split)'));
  });
  it('wrong or missing format metadata, and bad shape or classes', async () => {
    const dir = fresh('arrow');
    const c = columns(3, 4, [0, 1, 2]);
    const write = (name: string, edit: (md: Map<string, string>) => void) => {
      const file = path.join(dir, name);
      const md = new Map(datasetSchema(META).metadata);
      edit(md);
      rawArrowFile(file, [c.image.field, c.label.field, c.split.field], [c.image.data, c.label.data, c.split.data], md);
      return file;
    };
    const v2 = write('v2.arrow', (md) => md.set('mixprec.format', 'image-classification/2'));
    await assert.rejects(
      openImageDataset(v2),
      isDatasetError(v2, 'unsupported format: mixprec.format is "image-classification/2", expected "image-classification/1"'),
    );
    const none = write('none.arrow', (md) => md.delete('mixprec.format'));
    await assert.rejects(
      openImageDataset(none),
      isDatasetError(none, 'not a mixprec dataset: schema metadata has no mixprec.format (expected image-classification/1)'),
    );
    const shape = write('shape.arrow', (md) => md.set('mixprec.shape', '[2, 2]'));
    await assert.rejects(openImageDataset(shape), isDatasetError(shape, 'shape [2,2] is not [H, W, C] with positive integers'));
    const classes = write('classes.arrow', (md) => md.set('mixprec.classes', '{"a": 1'));
    await assert.rejects(openImageDataset(classes), isDatasetError(classes, /^schema metadata mixprec.classes is not JSON/));
  });
  it('image bytes that do not match the shape', async () => {
    const file = path.join(fresh('arrow'), 'width.arrow');
    const c = columns(3, 10, [0, 1, 2]);
    rawArrowFile(file, [c.image.field, c.label.field, c.split.field], [c.image.data, c.label.data, c.split.data], datasetSchema(META).metadata);
    await assert.rejects(openImageDataset(file), isDatasetError(file, 'images are 10 bytes but shape [2,2,1] needs 2·2·1 = 4'));
  });
  it('a label out of range, when its batch is read (in this thread and through the worker)', async () => {
    const file = path.join(fresh('arrow'), 'label.arrow');
    const c = columns(4, 4, [0, 2, 5, 1]);
    rawArrowFile(file, [c.image.field, c.label.field, c.split.field], [c.image.data, c.label.data, c.split.data], datasetSchema(META).metadata);
    const problem = 'label 5 of row 2 (record batch 0) is out of range for 3 classes';
    const dataset = await openImageDataset(file);
    await assert.rejects(dataset.readBatch(0), isDatasetError(file, problem));
    await dataset.close();
    for (const prefetch of [0, 2]) {
      const loader = await createLoader(file, { batchSize: 2, prefetch });
      await assert.rejects(
        async () => {
          for await (const batch of loader) void batch;
        },
        isDatasetError(file, problem),
      );
      await loader.close();
    }
  });
});

describe('the writer refuses bad examples and leaves nothing', () => {
  it('labels out of range, image bytes that do not match the shape, no examples', () => {
    const dir = fresh('write');
    const file = path.join(dir, 'x-train.arrow');
    assert.throws(
      () =>
        writeImageDataset(file, META, [
          { images: new Uint8Array(8), labels: [0, 1] },
          { images: new Uint8Array(8), labels: [2, 3] },
        ]),
      isDatasetError(file, 'label 3 of example 3 is out of range for 3 classes'),
    );
    assert.throws(
      () => writeImageDataset(file, META, [{ images: new Uint8Array(7), labels: [0, 1] }]),
      isDatasetError(file, 'a chunk of 2 examples has 7 image bytes, expected 2·4 for shape [2,2,1]'),
    );
    assert.throws(() => writeImageDataset(file, META, []), isDatasetError(file, 'no examples to write'));
    assert.throws(
      () => writeImageDataset(file, { ...META, shape: [2, 0, 1] }, []),
      isDatasetError(file, 'shape [2,0,1] is not [H, W, C] with positive integers'),
    );
    assert.deepEqual(listFiles(dir), []);
  });
  it('an error in the example source keeps the previous file intact', () => {
    const dir = fresh('write');
    const file = path.join(dir, 'x-train.arrow');
    writeImageDataset(file, META, [{ images: new Uint8Array(4), labels: [1] }]);
    const before = fs.readFileSync(file);
    function* failing() {
      yield { images: new Uint8Array(4), labels: [2] };
      throw new Error('source failed');
    }
    assert.throws(() => writeImageDataset(file, META, failing()), /source failed/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(listFiles(dir), ['x-train.arrow']);
  });
});
