/**
 * The training loader: batching, full and block shuffles, determinism across restarts, worker prefetch identical to
 * the in-thread path, normalisation values and the CIFAR augmentation (checked against an independent search).
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { augmentationFor, createLoader, openBatchSource, type Batch, type LoaderOptions } from '../../src/data';
import { Random, testSeed } from '../helpers/random';
import { rowOfImage, tempDir, writeSyntheticSplit } from './fixtures';

const testRunSeed = testSeed();
const random = new Random(testRunSeed);
const tmp = tempDir();
after(() => tmp.cleanup());
const why = (what: string) => `${what} (MIXPREC_TEST_SEED=${testRunSeed})`;

// 103 rows of 6×5×2 whose first pixels spell the row index; record batches of 8 rows (13 of them).
const SHAPE = [6, 5, 2] as const;
const SIZE = 60;
const ROWS = 103;
const file = path.join(tmp.dir, 'ids-train.arrow');
const source = writeSyntheticSplit(file, random, ROWS, { shape: SHAPE, classes: 5, batchRows: 8 });
/** Raw pixel values out (x = v), so rows can be identified from the batches. */
const RAW = { mean: [0, 0], std: [1, 1] };
const LOADER_SEED = random.int(0, 2 ** 31);

async function collect(iterable: AsyncIterable<Batch>): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

function rowsOf(batches: Batch[], size = SIZE): number[] {
  return batches.flatMap((b) => Array.from({ length: b.size }, (_, i) => rowOfImage(b.x, i * size, size)));
}

function assertSameBatches(actual: Batch[], expected: Batch[], what: string): void {
  assert.equal(actual.length, expected.length, why(`${what}: batch count`));
  actual.forEach((batch, i) => {
    assert.equal(batch.size, expected[i]!.size, why(`${what}: size of batch ${i}`));
    assert.ok(Buffer.from(batch.x.buffer).equals(Buffer.from(expected[i]!.x.buffer)), why(`${what}: x of batch ${i}`));
    assert.deepEqual(batch.y, expected[i]!.y, why(`${what}: y of batch ${i}`));
  });
}

/** Each example's x equals its source row's pixels and y its label. */
function assertExamplesMatchSource(batches: Batch[]): void {
  for (const batch of batches) {
    for (let i = 0; i < batch.size; i++) {
      const row = rowOfImage(batch.x, i * SIZE, SIZE);
      assert.ok(row < ROWS, why(`row id ${row}`));
      assert.deepEqual(
        Array.from(batch.x.subarray(i * SIZE, (i + 1) * SIZE)),
        Array.from(source.images.subarray(row * SIZE, (row + 1) * SIZE)),
        why(`pixels of row ${row}`),
      );
      assert.equal(batch.y[i], source.labels[row], why(`label of row ${row}`));
    }
  }
}

async function epochs(options: LoaderOptions, list: number[], of = file): Promise<Batch[][]> {
  const loader = await createLoader(of, options);
  try {
    const out: Batch[][] = [];
    for (const epoch of list) out.push(await collect(loader.batches(epoch)));
    return out;
  } finally {
    await loader.close();
  }
}

const sorted = (rows: number[]) => [...rows].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('batching', () => {
  it('file order without shuffling; sizes with and without dropLast', async () => {
    const loader = await createLoader(file, { batchSize: 10, normalize: RAW, prefetch: 0 });
    assert.equal(loader.numBatches, 11);
    const batches = await collect(loader);
    assert.deepEqual(
      batches.map((b) => b.size),
      [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3],
    );
    assert.deepEqual(
      batches.map((b) => [b.x.length, b.y.length]),
      batches.map((b) => [b.size * SIZE, b.size]),
    );
    assert.deepEqual(rowsOf(batches), range(ROWS));
    assertExamplesMatchSource(batches);
    await loader.close();

    const dropping = await createLoader(file, { batchSize: 10, dropLast: true, prefetch: 0 });
    assert.equal(dropping.numBatches, 10);
    assert.deepEqual(
      (await collect(dropping)).map((b) => b.size),
      Array(10).fill(10),
    );
    await dropping.close();

    const tooBig = await createLoader(file, { batchSize: 200, dropLast: true, prefetch: 0 });
    assert.equal(tooBig.numBatches, 0);
    assert.deepEqual(await collect(tooBig), []);
    await tooBig.close();
  });

  it('rejects bad options', async () => {
    await assert.rejects(createLoader(file, { batchSize: 0 }), /batchSize must be an integer ≥ 1, got 0/);
    await assert.rejects(createLoader(file, { batchSize: 4, prefetch: -1 }), /prefetch must be an integer ≥ 0, got -1/);
    await assert.rejects(
      createLoader(file, { batchSize: 4, normalize: { mean: [0], std: [1] } }),
      /normalize.mean has 1 values, the images have 2 channels/,
    );
    await assert.rejects(createLoader(file, { batchSize: 4, normalize: { mean: [0, 0], std: [1, 0] } }), /normalize.std must be positive/);
    const loader = await createLoader(file, { batchSize: 4, prefetch: 0 });
    await assert.rejects(collect(loader.batches(-1)), /epoch must be an integer ≥ 0, got -1/);
    await loader.close();
  });
});

describe('shuffling', () => {
  it('a full permutation per epoch when the split fits the memory budget, different each epoch', async () => {
    const [e0, e1, e2] = await epochs({ batchSize: 10, shuffle: true, seed: LOADER_SEED, normalize: RAW, prefetch: 0 }, [0, 1, 2]);
    for (const batches of [e0!, e1!, e2!]) {
      assert.deepEqual(sorted(rowsOf(batches)), range(ROWS), why('every row exactly once'));
      assertExamplesMatchSource(batches);
    }
    const [r0, r1, r2] = [rowsOf(e0!), rowsOf(e1!), rowsOf(e2!)];
    assert.notDeepEqual(r0, range(ROWS), why('shuffled'));
    assert.notDeepEqual(r0, r1, why('epochs 0 and 1 differ'));
    assert.notDeepEqual(r1, r2, why('epochs 1 and 2 differ'));
    // Full permutation: rows travel across the whole split, not only within record batches of 8.
    assert.ok(
      r0.slice(0, 16).some((row) => row >= 32),
      why('rows from far away appear early'),
    );
  });

  it('dropLast drops the tail of the shuffled order, a different tail each epoch', async () => {
    const [e0, e1] = await epochs({ batchSize: 10, shuffle: true, dropLast: true, seed: LOADER_SEED, normalize: RAW, prefetch: 0 }, [0, 1]);
    for (const batches of [e0!, e1!]) assert.equal(new Set(rowsOf(batches)).size, 100);
    assert.notDeepEqual(sorted(rowsOf(e0!)), sorted(rowsOf(e1!)), why('different rows dropped'));
  });

  it('a block shuffle when the split does not fit: record batches permuted, rows shuffled within windows', async () => {
    // 2 record batches (16 rows, 960 bytes) per window: two windows fit in the budget.
    const options = { batchSize: 16, shuffle: true, seed: LOADER_SEED, normalize: RAW, prefetch: 0, memoryBudgetBytes: 4 * 8 * SIZE };
    const all = await epochs(options, [0, 1, 2, 3]);
    const firstWindows = new Set<string>();
    let shuffledWithin = false;
    for (const batches of all) {
      const rows = rowsOf(batches);
      assert.deepEqual(sorted(rows), range(ROWS), why('every row exactly once'));
      assertExamplesMatchSource(batches);
      // The order splits into runs that are each exactly the rows of two whole record batches (the last maybe one).
      const batchOf = (row: number) => Math.floor(row / 8);
      const batchRows = (b: number) => Math.min(8, ROWS - 8 * b);
      const windows: number[][] = [];
      for (let start = 0; start < ROWS;) {
        const seen = new Set<number>();
        let end = start;
        while (end < ROWS) {
          seen.add(batchOf(rows[end++]!));
          assert.ok(seen.size <= 2, why(`the window at ${start} mixes record batches ${[...seen]}`));
          const whole = [...seen].reduce((n, b) => n + batchRows(b), 0) === end - start;
          if (whole && (seen.size === 2 || end === ROWS)) break;
        }
        windows.push(rows.slice(start, end));
        start = end;
      }
      assert.equal(windows.length, 7, why('13 record batches make 7 windows'));
      if (windows.some((w) => w.some((row, i) => i > 0 && row < w[i - 1]!))) shuffledWithin = true;
      firstWindows.add([...new Set(windows[0]!.map(batchOf))].sort((a, b) => a - b).join(','));
    }
    assert.ok(shuffledWithin, why('rows are permuted within windows'));
    assert.ok(firstWindows.size > 1, why(`record-batch order changes between epochs (first windows: ${[...firstWindows].join(' | ')})`));
  });
});

describe('determinism', () => {
  for (const [mode, budget] of [
    ['full shuffle', undefined],
    ['block shuffle', 4 * 8 * SIZE],
  ] as const) {
    it(`${mode}: same seed and epoch, same batches; a loader started at epoch k or batch j joins a continuous run`, async () => {
      const options: LoaderOptions = { batchSize: 7, shuffle: true, augment: true, seed: LOADER_SEED, prefetch: 0, memoryBudgetBytes: budget };
      const continuous = await createLoader(file, options);
      const run: Batch[][] = [];
      for (let epoch = 0; epoch < 4; epoch++) run.push(await collect(continuous.batches(epoch)));
      await continuous.close();

      const again = await epochs(options, [0, 1, 2, 3]);
      again.forEach((batches, epoch) => assertSameBatches(batches, run[epoch]!, `second loader, epoch ${epoch}`));

      const resumed = await createLoader(file, { ...options, epoch: 2 });
      assertSameBatches(await collect(resumed), run[2]!, 'loader created at epoch 2');
      assertSameBatches(await collect(resumed.batches(3, 5)), run[3]!.slice(5), 'epoch 3 from batch 5');
      await resumed.close();

      const otherSeed = await epochs({ ...options, seed: LOADER_SEED + 1 }, [0]);
      assert.notDeepEqual(rowsOf(otherSeed[0]!), rowsOf(run[0]!), why('another seed, another order'));
    });
  }
});

describe('prefetch in a worker', () => {
  it('gives exactly the in-thread batches, at any depth', async () => {
    const options: LoaderOptions = { batchSize: 9, shuffle: true, augment: true, dropLast: true, seed: LOADER_SEED, normalize: 'pm1' };
    const inThread = await epochs({ ...options, prefetch: 0 }, [0, 1]);
    for (const prefetch of [1, 3]) {
      const worker = await epochs({ ...options, prefetch }, [0, 1]);
      worker.forEach((batches, epoch) => assertSameBatches(batches, inThread[epoch]!, `prefetch ${prefetch}, epoch ${epoch}`));
    }
  });

  it('survives iterations abandoned midway (pending batches are cancelled)', async () => {
    const options: LoaderOptions = { batchSize: 5, shuffle: true, seed: LOADER_SEED, normalize: RAW };
    const expected = (await epochs({ ...options, prefetch: 0 }, [4]))[0]!;
    const loader = await createLoader(file, { ...options, prefetch: 4 });
    let taken = 0;
    for await (const batch of loader.batches(4)) {
      void batch;
      if (++taken === 3) break;
    }
    assertSameBatches(await collect(loader.batches(4)), expected, 'after an abandoned iteration');
    await loader.close();
    await assert.rejects(collect(loader.batches(4)), /loader closed/);
  });

  it('serves the trainer interface from one producer', async () => {
    for (const prefetch of [0, 2]) {
      const batchSource = await openBatchSource(file, { seed: LOADER_SEED, normalize: RAW, prefetch });
      assert.deepEqual([batchSource.shape, batchSource.numClasses, batchSource.numExamples], [[6, 5, 2], 5, ROWS]);
      const train = await collect(batchSource.batches(3, { batchSize: 8, shuffle: true, augment: false, dropLast: true }));
      const test = await collect(batchSource.batches(0, { batchSize: 50, shuffle: false, augment: false, dropLast: false }));
      await batchSource.close();
      assertSameBatches(
        train,
        (await epochs({ batchSize: 8, shuffle: true, dropLast: true, seed: LOADER_SEED, normalize: RAW, prefetch: 0 }, [3]))[0]!,
        'train batches',
      );
      assert.deepEqual(rowsOf(test), range(ROWS));
    }
  });
});

describe('normalisation', () => {
  const f = Math.fround;
  const cases = {
    pm1: (v: number) => f(f(f(v / 255) - 0.5) * 2),
    unit: (v: number) => f(v / 255),
  };
  for (const [name, expected] of Object.entries(cases)) {
    it(`${name}`, async () => {
      const [batches] = await epochs({ batchSize: ROWS, normalize: name as 'pm1' | 'unit', prefetch: 0 }, [0]);
      const x = batches![0]!.x;
      for (let i = 0; i < x.length; i++) assert.equal(x[i], expected(source.images[i]!), why(`${name}(${source.images[i]})`));
    });
  }
  it('pm1 maps 0 → −1, 255 → 1, 128 → 1/255 (float32), as the official code', () => {
    assert.deepEqual([cases.pm1(0), cases.pm1(255), cases.pm1(128)], [-1, 1, f(f(f(128 / 255) - 0.5) * 2)]);
    assert.ok(Math.abs(cases.pm1(128) - 1 / 255) < 1e-7);
  });
  it('{ mean, std } per channel', async () => {
    const normalize = { mean: [125.3, 20], std: [63, 0.5] };
    const [batches] = await epochs({ batchSize: ROWS, normalize, prefetch: 0 }, [0]);
    const x = batches![0]!.x;
    for (let i = 0; i < x.length; i++) {
      const c = i % 2;
      assert.equal(x[i], f((source.images[i]! - normalize.mean[c]!) / normalize.std[c]!), why(`channel ${c} of element ${i}`));
    }
  });
});

describe('augmentation', () => {
  const H = 32;
  const W = 32;
  const C = 3;
  const cifarFile = path.join(tmp.dir, 'cifarlike-train.arrow');
  const cifar = writeSyntheticSplit(cifarFile, random, 40, { shape: [H, W, C], classes: 10, batchRows: 16 });

  /** Independent reference: the crop at (dy, dx) of the 4-pixel zero-padded image, then the mirror if `flip`. */
  function matches(out: Float32Array, o: number, src: Uint8Array, s: number, dy: number, dx: number, flip: boolean): boolean {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const px = flip ? W - 1 - x : x; // mirror of the cropped window
        const py = y + dy - 4;
        const qx = px + dx - 4;
        for (let c = 0; c < C; c++) {
          const want = py < 0 || py >= H || qx < 0 || qx >= W ? 0 : Math.fround(src[s + (py * W + qx) * C + c]! / 255);
          if (out[o + (y * W + x) * C + c] !== want) return false;
        }
      }
    }
    return true;
  }

  it('every image is a shifted window (offsets 0..8) of the zero-padded image, mirrored or not', async () => {
    const loader = await createLoader(cifarFile, { batchSize: 40, augment: true, normalize: 'unit', seed: LOADER_SEED, prefetch: 0 });
    const seen = { dy: new Set<number>(), dx: new Set<number>(), flip: new Set<boolean>() };
    for (const epoch of [0, 1, 2]) {
      const [batch] = await collect(loader.batches(epoch));
      for (let row = 0; row < 40; row++) {
        const found: string[] = [];
        for (let dy = 0; dy <= 8; dy++) {
          for (let dx = 0; dx <= 8; dx++) {
            for (const flip of [false, true]) {
              if (matches(batch!.x, row * H * W * C, cifar.images, row * H * W * C, dy, dx, flip)) {
                found.push(`${dy},${dx},${flip}`);
                seen.dy.add(dy);
                seen.dx.add(dx);
                seen.flip.add(flip);
              }
            }
          }
        }
        assert.ok(found.length > 0, why(`epoch ${epoch} row ${row}: no crop/flip of the padded image matches`));
        const { dy, dx, flip } = augmentationFor(LOADER_SEED, epoch, row);
        assert.ok(
          found.includes(`${dy},${dx},${flip}`),
          why(`epoch ${epoch} row ${row}: found ${found.join(' ')}, documented draw ${dy},${dx},${flip}`),
        );
        assert.equal(batch!.y[row], cifar.labels[row]);
      }
    }
    assert.ok(seen.dy.size >= 6 && seen.dx.size >= 6, why(`offsets vary: dy ${[...seen.dy]}, dx ${[...seen.dx]}`));
    assert.ok(seen.dy.has(0) || seen.dy.has(8) || seen.dx.has(0) || seen.dx.has(8), why('extreme offsets occur'));
    assert.equal(seen.flip.size, 2, why('both mirrored and plain images'));
    await loader.close();
  });

  it('draws per row: a shuffled epoch gives each row the same crop and flip as file order does', async () => {
    const options: LoaderOptions = { batchSize: 40, shuffle: true, seed: LOADER_SEED, prefetch: 0 };
    const order = rowsOf((await epochs({ ...options, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } }, [5], cifarFile))[0]!, H * W * C);
    assert.notDeepEqual(order, range(40));
    const [[shuffled]] = (await epochs({ ...options, augment: true, normalize: 'unit' }, [5], cifarFile)) as [Batch[]];
    order.forEach((row, slot) => {
      const { dy, dx, flip } = augmentationFor(LOADER_SEED, 5, row);
      assert.ok(matches(shuffled!.x, slot * H * W * C, cifar.images, row * H * W * C, dy, dx, flip), why(`row ${row} at slot ${slot}`));
    });
  });

  it('pads with 0 after normalisation (mid-grey for pm1), and leaves images alone without augment', async () => {
    const augmented = (await epochs({ batchSize: 40, augment: true, normalize: 'pm1', seed: LOADER_SEED, prefetch: 0 }, [0], cifarFile))[0]![0]!;
    const plain = (await epochs({ batchSize: 40, augment: false, normalize: 'unit', prefetch: 0 }, [0], cifarFile))[0]![0]!;
    for (let row = 0; row < 40; row++) {
      const { dy } = augmentationFor(LOADER_SEED, 0, row);
      if (dy < 4) {
        // The top 4 − dy rows come from the padding.
        const top = augmented.x.subarray(row * H * W * C, (row * H + (4 - dy)) * W * C);
        assert.ok(
          top.every((v) => v === 0),
          why(`row ${row}: padding is 0`),
        );
      }
    }
    assert.deepEqual(
      Array.from(plain.x),
      Array.from(cifar.images, (v) => Math.fround(v / 255)),
    );
  });
});
