/** MNIST-format (IDX) files of a given size, for conversions and small training runs. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes train-* (n examples) and t10k-* (n/2) image and label files of 28×28 patterned images into `dir`. */
export function writeIdxFiles(dir: string, n: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [prefix, count] of [
    ['train', n],
    ['t10k', Math.ceil(n / 2)],
  ] as const) {
    const images = Buffer.alloc(16 + count * 784);
    images.writeUInt32BE(2051, 0);
    images.writeUInt32BE(count, 4);
    images.writeUInt32BE(28, 8);
    images.writeUInt32BE(28, 12);
    for (let i = 16; i < images.length; i++) images[i] = (i * 31) % 256;
    const labels = Buffer.alloc(8 + count);
    labels.writeUInt32BE(2049, 0);
    labels.writeUInt32BE(count, 4);
    for (let i = 0; i < count; i++) labels[8 + i] = i % 10;
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), images);
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), labels);
  }
}
