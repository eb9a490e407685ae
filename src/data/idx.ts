/**
 * IDX files (the MNIST distribution format): a big-endian header, magic `0x0000 08 NN` (unsigned bytes, NN
 * dimensions), NN int32 dimension sizes, then the data. Images are `0x00000803` (count, rows, cols), labels
 * `0x00000801` (count). Files may be gzipped (recognised by content, not by name).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { asDatasetError, DatasetError } from './errors';

export const IDX_IMAGES_MAGIC = 0x00000803; // 2051
export const IDX_LABELS_MAGIC = 0x00000801; // 2049

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols bytes, image after image, row-major (HWC with C = 1). */
  pixels: Uint8Array;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** The whole file, gunzipped when it starts with the gzip magic. */
export function readMaybeGzipped(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw asDatasetError(file, err, 'cannot read');
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return zlib.gunzipSync(bytes);
    } catch (err) {
      throw asDatasetError(file, err);
    }
  }
  return bytes;
}

/** Parses an IDX header with `dims` dimensions and checks the data length; returns the dimensions and the data. */
function parseIdx(file: string, bytes: Buffer, magic: number, dims: number, what: string): { sizes: number[]; data: Uint8Array } {
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < 4) throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than the ${headerBytes}-byte ${what} header`);
  const found = bytes.readUInt32BE(0);
  if (found !== magic) throw new DatasetError(file, `wrong magic number ${hex(found)}, expected ${hex(magic)} (${what})`);
  if (bytes.length < headerBytes)
    throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than the ${headerBytes}-byte ${what} header`);
  const sizes = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const expected = sizes.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual < expected) throw new DatasetError(file, `truncated: holds ${actual} data bytes, its header promises ${sizes.join('·')} = ${expected}`);
  if (actual > expected) throw new DatasetError(file, `${actual - expected} bytes beyond the ${sizes.join('·')} = ${expected} its header promises`);
  return { sizes, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, expected) };
}

/** An IDX image file (idx3-ubyte). */
export function readIdxImages(file: string): IdxImages {
  const { sizes, data } = parseIdx(file, readMaybeGzipped(file), IDX_IMAGES_MAGIC, 3, 'IDX images');
  const [count, rows, cols] = sizes as [number, number, number];
  if (rows === 0 || cols === 0) throw new DatasetError(file, `images of ${rows}×${cols} pixels`);
  return { count, rows, cols, pixels: data };
}

/** An IDX label file (idx1-ubyte), with every label checked against `numClasses`. */
export function readIdxLabels(file: string, numClasses: number): Uint8Array {
  const { data } = parseIdx(file, readMaybeGzipped(file), IDX_LABELS_MAGIC, 1, 'IDX labels');
  const bad = data.findIndex((label) => label >= numClasses);
  if (bad >= 0) throw new DatasetError(file, `label ${data[bad]} at index ${bad} is out of range for ${numClasses} classes`);
  return data;
}
