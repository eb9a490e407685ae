/** The Arrow format as written, and the reader: lazy streaming by record batch, random access, concurrent reads. */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Dictionary,
  Field,
  FixedSizeBinary,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Type,
  Uint8,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  type Int,
} from 'apache-arrow';
import { DatasetError, datasetSchema, openImageDataset } from '../../src/data';
import { Random, testSeed } from '../helpers/random';
import { tempDir, writeSyntheticSplit } from './fixtures';

const seed = testSeed();
const random = new Random(seed);
const tmp = tempDir();
after(() => tmp.cleanup());

const SHAPE = [16, 16, 3] as const;
const ROW_BYTES = 16 * 16 * 3;
const file = path.join(tmp.dir, 'synthetic-train.arrow');
const source = writeSyntheticSplit(file, random, 37, { shape: SHAPE, classes: 7, batchRows: 8 });

describe('the written file', () => {
  it('has the documented schema, metadata and record batches (read by Arrow itself)', () => {
    const table = tableFromIPC(fs.readFileSync(file));
    assert.deepEqual(
      table.schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
      [
        ['image', `FixedSizeBinary[${ROW_BYTES}]`, false],
        ['label', 'Int32', false],
        ['split', 'Dictionary<Int8, Utf8>', false],
      ],
    );
    assert.deepEqual(Object.fromEntries(table.schema.metadata), {
      'mixprec.format': 'image-classification/1',
      'mixprec.shape': '[16,16,3]',
      'mixprec.classes': JSON.stringify(Array.from({ length: 7 }, (_, i) => `class${i}`)),
      'mixprec.source': 'synthetic',
    });
    assert.deepEqual(
      table.batches.map((b) => b.numRows),
      [8, 8, 8, 8, 5],
    );
    assert.deepEqual(Array.from(table.getChild('label')!.toArray() as Int32Array), Array.from(source.labels));
    assert.deepEqual(new Set(table.getChild('split')!.toArray() as string[]), new Set(['train']));
    const row5 = table.getChild('image')!.get(5) as Uint8Array;
    assert.deepEqual(Array.from(row5), Array.from(source.images.subarray(5 * ROW_BYTES, 6 * ROW_BYTES)));
  });
});

describe('openImageDataset', () => {
  it('reports the metadata without reading the data', async () => {
    const dataset = await openImageDataset(file);
    assert.deepEqual(dataset.info, {
      file,
      shape: [16, 16, 3],
      classes: source.meta.classes,
      source: 'synthetic',
      split: 'train',
      numRows: 37,
      numClasses: 7,
      imageBytes: ROW_BYTES,
      recordBatchRows: [8, 8, 8, 8, 5],
    });
    assert.ok(dataset.bytesRead < 8 * ROW_BYTES, `opening read ${dataset.bytesRead} bytes, less than one record batch of images`);
    await dataset.close();
  });

  it('streams record batches lazily: each step reads about one more batch', async () => {
    const size = fs.statSync(file).size;
    const dataset = await openImageDataset(file);
    const opened = dataset.bytesRead;
    let k = 0;
    for await (const batch of dataset.batches()) {
      k++;
      const read = dataset.bytesRead - opened;
      // One record batch = its images + labels + header, a bit over rows·ROW_BYTES; never the rest of the file.
      assert.ok(read >= batch.firstRow * ROW_BYTES + batch.rows * ROW_BYTES, `after ${k} batches: read ${read}`);
      assert.ok(read <= (batch.firstRow + batch.rows) * ROW_BYTES + k * 1024, `after ${k} batches: read ${read} bytes, more than ${k} batches`);
      assert.deepEqual(batch.images, source.images.subarray(batch.firstRow * ROW_BYTES, (batch.firstRow + batch.rows) * ROW_BYTES));
      assert.deepEqual(batch.labels, source.labels.subarray(batch.firstRow, batch.firstRow + batch.rows));
    }
    assert.equal(k, 5);
    // The whole file about once (batch headers are read twice: on open for row counts, and with their batch).
    assert.ok(dataset.bytesRead >= size - 1024 && dataset.bytesRead < size + 5 * 1024, `read ${dataset.bytesRead} of ${size} bytes`);
    await dataset.close();
  });

  it('reads any record batch by index, touching only that batch', async () => {
    const dataset = await openImageDataset(file);
    const before = dataset.bytesRead;
    const batch = await dataset.readBatch(3);
    const read = dataset.bytesRead - before;
    assert.ok(read >= 8 * ROW_BYTES && read < 9 * ROW_BYTES, `read ${read} bytes for one batch of 8 rows`);
    assert.equal(batch.firstRow, 24);
    assert.deepEqual(batch.images, source.images.subarray(24 * ROW_BYTES, 32 * ROW_BYTES));
    await assert.rejects(dataset.readBatch(5), /record batch 5 does not exist \(the file has 5\)/);
    await dataset.close();
  });

  it('serves concurrent reads correctly (one file position, reads queued)', async () => {
    const dataset = await openImageDataset(file);
    const order = [4, 0, 3, 3, 1, 2, 0, 4];
    const batches = await Promise.all(order.map((i) => dataset.readBatch(i)));
    batches.forEach((batch, k) => {
      assert.equal(batch.index, order[k]);
      assert.deepEqual(batch.labels, source.labels.subarray(batch.firstRow, batch.firstRow + batch.rows));
      assert.deepEqual(batch.images, source.images.subarray(batch.firstRow * ROW_BYTES, (batch.firstRow + batch.rows) * ROW_BYTES));
    });
    await dataset.close();
  });

  it('streams examples in file order', async () => {
    const dataset = await openImageDataset(file);
    let row = 0;
    for await (const example of dataset.examples()) {
      assert.equal(example.row, row);
      assert.equal(example.label, source.labels[row]);
      assert.deepEqual(example.image, source.images.subarray(row * ROW_BYTES, (row + 1) * ROW_BYTES));
      row++;
    }
    assert.equal(row, 37);
    await dataset.close();
  });

  it('accepts a smaller integer type for labels', async () => {
    const small = path.join(tmp.dir, 'uint8-labels.arrow');
    const meta = { shape: [2, 2, 1] as const, classes: ['a', 'b', 'c'], source: 'test', split: 'test' as const };
    const base = datasetSchema(meta);
    const split = base.fields[2]!.type as Dictionary<Utf8>;
    const schema = new Schema([base.fields[0]!, new Field('label', new Uint8(), false), base.fields[2]!], base.metadata);
    const children = [
      makeData({ type: base.fields[0]!.type as FixedSizeBinary, length: 3, nullCount: 0, data: Uint8Array.from({ length: 12 }, (_, i) => i) }),
      makeData({ type: new Uint8(), length: 3, nullCount: 0, data: Uint8Array.of(2, 0, 1) }),
      makeData({ type: split, length: 3, nullCount: 0, data: new Int8Array(3), dictionary: vectorFromArray(['test'], new Utf8()) }),
    ];
    fs.writeFileSync(
      small,
      RecordBatchFileWriter.writeAll([
        new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children })),
      ]).toUint8Array(true),
    );
    const dataset = await openImageDataset(small);
    assert.equal(dataset.info.split, 'test');
    const batch = await dataset.readBatch(0);
    assert.deepEqual(Array.from(batch.labels), [2, 0, 1]);
    assert.ok(batch.labels instanceof Int32Array);
    assert.equal((schema.fields[1]!.type as Int).typeId, Type.Int);
    await dataset.close();
  });

  it('names the file for a directory', async () => {
    await assert.rejects(
      openImageDataset(tmp.dir),
      (err: unknown) => err instanceof DatasetError && err.file === tmp.dir && /directory/.test(err.problem),
    );
  });
});
