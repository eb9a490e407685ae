/**
 * CIFAR-10 binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): records of 1 label byte and
 * 3072 pixel bytes, channel-planar (1024 red, 1024 green, 1024 blue, each 32×32 row-major). The dataset format
 * stores HWC, so each record is interleaved on the way in.
 */
import * as fs from 'node:fs';
import { asDatasetError, DatasetError } from './errors';
import type { ExampleChunk } from './arrow_writer';
import type { ImageShape } from './schema';

export const CIFAR10_SHAPE: ImageShape = [32, 32, 3];
export const CIFAR10_CLASSES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR10_TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES: readonly string[] = ['test_batch.bin'];

const PLANE = 32 * 32;
const PIXELS = PLANE * 3;
export const CIFAR10_RECORD_BYTES = 1 + PIXELS;

/** Channel-planar (CHW) pixels to interleaved (HWC). */
export function chwToHwc(chw: Uint8Array, hwc: Uint8Array, planeSize: number, channels: number): void {
  for (let p = 0; p < planeSize; p++) {
    for (let c = 0; c < channels; c++) hwc[p * channels + c] = chw[c * planeSize + p]!;
  }
}

/** One CIFAR-10 binary batch file as a chunk of HWC examples, labels checked against the 10 classes. */
export function readCifarBatch(file: string): ExampleChunk {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw asDatasetError(file, err, 'cannot read');
  }
  if (bytes.length === 0) throw new DatasetError(file, 'empty file, expected CIFAR-10 records');
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DatasetError(
      file,
      `${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records (1 label + 3072 pixels): truncated or not a CIFAR-10 binary batch`,
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * PIXELS);
  for (let i = 0; i < count; i++) {
    const record = bytes.subarray(i * CIFAR10_RECORD_BYTES, (i + 1) * CIFAR10_RECORD_BYTES);
    const label = record[0]!;
    if (label >= CIFAR10_CLASSES.length)
      throw new DatasetError(file, `label ${label} of record ${i} is out of range for ${CIFAR10_CLASSES.length} classes`);
    labels[i] = label;
    chwToHwc(record.subarray(1), images.subarray(i * PIXELS, (i + 1) * PIXELS), PLANE, 3);
  }
  return { images, labels };
}
