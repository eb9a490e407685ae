/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range (plus string `__metadata__`), then the raw little-endian data. Written
 * atomically; read with validation that names the file and the problem.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../util/files';

export type SafetensorsDtype = 'F32' | 'I32' | 'U8';
export interface NamedArray {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, U8: 1 };

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = t.data.byteLength;
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (bytes !== expected) throw new Error(`safetensors: ${name} has ${bytes} bytes for shape [${t.shape}] ${t.dtype}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data section to 8 bytes
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name]!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (bytes.length < 8) throw new CheckpointError(file, `truncated: ${bytes.length} bytes, not even a header length`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLength > bytes.length) throw new CheckpointError(file, `truncated: header of ${headerLength} bytes but the file has ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw new CheckpointError(file, 'not a safetensors file (the header is not JSON)');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new CheckpointError(file, 'the header is not a JSON object');
  const base = 8 + headerLength;
  const dataBytes = bytes.length - base;
  const tensors: Record<string, NamedArray> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, begin, end } = tensorEntry(file, name, entry);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype])
      throw new CheckpointError(file, `tensor ${name}: ${end - begin} bytes for shape [${shape}] ${dtype} (needs ${count * BYTES[dtype]})`);
    if (end > dataBytes) throw new CheckpointError(file, `truncated: tensor ${name} ends at byte ${base + end} of ${bytes.length}`);
    const copy = bytes.buffer.slice(bytes.byteOffset + base + begin, bytes.byteOffset + base + end);
    const data = dtype === 'F32' ? new Float32Array(copy) : dtype === 'I32' ? new Int32Array(copy) : new Uint8Array(copy);
    if (data instanceof Float32Array) {
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new CheckpointError(file, `tensor ${name}: element ${bad} is ${data[bad]} (a checkpoint holds finite values only)`);
    }
    tensors[name] = { dtype, shape, data };
    ranges.push({ name, begin, end });
  }
  // Tensors may not share bytes: an overlap means a corrupt or hand-edited header.
  ranges.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const [prev, cur] = [ranges[i - 1]!, ranges[i]!];
    if (cur.begin < prev.end) throw new CheckpointError(file, `tensors ${prev.name} and ${cur.name} overlap (bytes ${cur.begin}–${prev.end})`);
  }
  const metadata = header.__metadata__;
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      throw new CheckpointError(file, '__metadata__ is not an object');
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new CheckpointError(file, `__metadata__.${k} is not a string`);
  }
  return { tensors, metadata: (metadata as Record<string, string> | undefined) ?? {} };
}

/** One header entry, checked: a known dtype, a shape of non-negative integers, two ordered non-negative offsets. */
function tensorEntry(file: string, name: string, entry: unknown): { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw new CheckpointError(file, `tensor ${name}: the entry is ${JSON.stringify(entry)}, not an object`);
  const { dtype, shape, data_offsets: range } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in BYTES))
    throw new CheckpointError(file, `tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (F32, I32 or U8)`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new CheckpointError(file, `tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(range) || range.length !== 2 || !range.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) || range[0] > range[1]) {
    throw new CheckpointError(
      file,
      `tensor ${name}: data_offsets ${JSON.stringify(range)} are not two non-negative integers [begin, end] with begin ≤ end`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: range[0] as number, end: range[1] as number };
}
