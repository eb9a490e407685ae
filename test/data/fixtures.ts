/** Small dataset files written byte by byte in their distribution formats, and synthetic splits, in temp folders. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { writeImageDataset, type DatasetMetadata, type ImageShape } from '../../src/data';
import { Random } from '../helpers/random';

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'mixprec-data-'): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** IDX bytes: big-endian magic, dimensions, data. */
export function idxBytes(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

export interface IdxSplitFixture {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export function randomIdxSplit(random: Random, count: number, rows: number, cols: number, numClasses = 10): IdxSplitFixture {
  const pixels = new Uint8Array(count * rows * cols).map(() => random.int(0, 255));
  const labels = new Uint8Array(count).map(() => random.int(0, numClasses - 1));
  return { count, rows, cols, pixels, labels };
}

/** Writes `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]`. */
export function writeIdxSplit(dir: string, prefix: 'train' | 't10k', split: IdxSplitFixture, gzip: boolean): { images: string; labels: string } {
  const suffix = gzip ? '.gz' : '';
  const pack = (b: Buffer) => (gzip ? zlib.gzipSync(b) : b);
  const images = path.join(dir, `${prefix}-images-idx3-ubyte${suffix}`);
  const labels = path.join(dir, `${prefix}-labels-idx1-ubyte${suffix}`);
  fs.writeFileSync(images, pack(idxBytes(0x803, [split.count, split.rows, split.cols], split.pixels)));
  fs.writeFileSync(labels, pack(idxBytes(0x801, [split.count], split.labels)));
  return { images, labels };
}

export interface CifarRecords {
  labels: Uint8Array;
  /** Channel-planar pixels as in the file: record i at i·3072, R plane, G plane, B plane. */
  chw: Uint8Array;
}

export function randomCifarRecords(random: Random, count: number): CifarRecords {
  return {
    labels: new Uint8Array(count).map(() => random.int(0, 9)),
    chw: new Uint8Array(count * 3072).map(() => random.int(0, 255)),
  };
}

/** CIFAR-10 binary batch bytes: per record, 1 label byte then 3072 CHW pixel bytes. */
export function cifarBytes(records: CifarRecords): Buffer {
  const count = records.labels.length;
  const out = Buffer.alloc(count * 3073);
  for (let i = 0; i < count; i++) {
    out[i * 3073] = records.labels[i]!;
    out.set(records.chw.subarray(i * 3072, (i + 1) * 3072), i * 3073 + 1);
  }
  return out;
}

/**
 * A synthetic split whose images say which row they are: pixel 0..3 hold the row index (little-endian bytes), the
 * rest are random; labels are random. Returns the file and the source bytes.
 */
export function writeSyntheticSplit(
  file: string,
  random: Random,
  rows: number,
  options: { shape?: ImageShape; classes?: number; batchRows?: number; split?: 'train' | 'test' } = {},
): { images: Uint8Array; labels: Int32Array; meta: DatasetMetadata } {
  const shape = options.shape ?? [4, 4, 1];
  const size = shape[0] * shape[1] * shape[2];
  const numClasses = options.classes ?? 10;
  const images = new Uint8Array(rows * size).map(() => random.int(0, 255));
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < Math.min(4, size); k++) images[r * size + k] = (r >>> (8 * k)) & 0xff;
  }
  const labels = new Int32Array(rows).map(() => random.int(0, numClasses - 1));
  const meta: DatasetMetadata = {
    shape,
    classes: Array.from({ length: numClasses }, (_, i) => `class${i}`),
    source: 'synthetic',
    split: options.split ?? 'train',
  };
  writeImageDataset(file, meta, [{ images, labels }], { batchRows: options.batchRows ?? 16 });
  return { images, labels, meta };
}

/** The row index a synthetic image carries, read back from raw (un-normalised) floats. */
export function rowOfImage(x: Float32Array, offset: number, size: number): number {
  let row = 0;
  for (let k = Math.min(4, size) - 1; k >= 0; k--) row = row * 256 + x[offset + k]!;
  return row;
}

/** Files in a folder (for "nothing left behind" checks). */
export function listFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}
