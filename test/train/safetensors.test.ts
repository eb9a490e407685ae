/** safetensors files: layout per the format, read back exactly, parsed by an independent reader, bad files named. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointError, encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/train/safetensors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-st-'));

describe('safetensors', () => {
  const tensors = {
    'conv1/quantized_conv/W': { dtype: 'F32' as const, shape: [3, 3, 1, 2], data: Float32Array.from({ length: 18 }, (_, i) => i * 0.5 - 3) },
    'optimizer/adam/t': { dtype: 'I32' as const, shape: [], data: Int32Array.of(7) },
    scalar: { dtype: 'F32' as const, shape: [], data: Float32Array.of(Math.PI) },
  };

  it('round-trips tensors and metadata exactly, with an 8-byte aligned data section', () => {
    const file = path.join(dir, 'a.safetensors');
    writeSafetensors(file, tensors, { epoch: '3' });
    const back = readSafetensors(file);
    assert.deepEqual(back.metadata, { epoch: '3' });
    for (const [name, t] of Object.entries(tensors)) {
      assert.deepEqual(back.tensors[name]!.shape, t.shape);
      assert.deepEqual(Array.from(back.tensors[name]!.data), Array.from(t.data));
    }
    const bytes = fs.readFileSync(file);
    assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
    );
  });

  it('is readable by an independent parser (Python struct + json, little-endian float32)', () => {
    const file = path.join(dir, 'b.safetensors');
    writeSafetensors(file, tensors);
    const script = [
      'import json, struct, sys',
      'b = open(sys.argv[1], "rb").read()',
      'n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n]); base = 8 + n',
      'e = h["conv1/quantized_conv/W"]; s, t = e["data_offsets"]',
      'vals = struct.unpack("<18f", b[base+s:base+t])',
      'i = h["optimizer/adam/t"]; s2, t2 = i["data_offsets"]',
      'print(json.dumps({"shape": e["shape"], "dtype": e["dtype"], "vals": vals, "t": struct.unpack("<i", b[base+s2:base+t2])[0]}))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as { shape: number[]; dtype: string; vals: number[]; t: number };
    assert.deepEqual(parsed.shape, [3, 3, 1, 2]);
    assert.equal(parsed.dtype, 'F32');
    assert.deepEqual(parsed.vals, Array.from(tensors['conv1/quantized_conv/W'].data));
    assert.equal(parsed.t, 7);
  });

  it('names the file and the problem for truncated, non-safetensors and missing files', () => {
    const good = encodeSafetensors(tensors);
    const cut = path.join(dir, 'cut.safetensors');
    fs.writeFileSync(cut, good.subarray(0, good.length - 10));
    assert.throws(
      () => readSafetensors(cut),
      (e: unknown) => e instanceof CheckpointError && e.file === cut && /truncated: tensor \S+ ends at byte \d+ of \d+/.test(e.message),
    );
    const junk = path.join(dir, 'junk.safetensors');
    fs.writeFileSync(junk, Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hello')]));
    assert.throws(() => readSafetensors(junk), /junk\.safetensors: not a safetensors file \(the header is not JSON\)/);
    assert.throws(() => readSafetensors(path.join(dir, 'none.safetensors')), /none\.safetensors: cannot read: ENOENT/);
    const tiny = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(tiny, Buffer.from([1, 2]));
    assert.throws(() => readSafetensors(tiny), /truncated: 2 bytes, not even a header length/);
  });

  it('validates every header entry and refuses non-finite weights, naming the file, the tensor and the problem', () => {
    /** A file from a raw header and data section, as a hand-edited or corrupt checkpoint would be. */
    const raw = (file: string, header: unknown, data: Uint8Array) => {
      const json = Buffer.from(JSON.stringify(header), 'utf8');
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      const at = path.join(dir, file);
      fs.writeFileSync(at, Buffer.concat([length, json, data]));
      return at;
    };
    const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
    const cases: [string, unknown, Uint8Array, RegExp][] = [
      [
        'negative.safetensors',
        { w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } },
        f32(1),
        /tensor w: data_offsets \[-4,0\] are not two non-negative integers/,
      ],
      [
        'reversed.safetensors',
        { w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } },
        f32(1),
        /tensor w: data_offsets \[4,0\] are not .* begin ≤ end/,
      ],
      ['fraction.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4.5] } }, f32(1, 2), /tensor w: data_offsets \[0,4.5\]/],
      [
        'dtype.safetensors',
        { w: { dtype: 'I32', shape: [3], data_offsets: [0, 8] } },
        f32(1, 2),
        /tensor w: 8 bytes for shape \[3\] I32 \(needs 12\)/,
      ],
      ['unknown-dtype.safetensors', { w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, f32(1), /tensor w: unsupported dtype "F16"/],
      ['null.safetensors', { w: null }, f32(1), /tensor w: the entry is null, not an object/],
      [
        'no-shape.safetensors',
        { w: { dtype: 'F32', data_offsets: [0, 4] } },
        f32(1),
        /tensor w: shape undefined is not a list of non-negative integers/,
      ],
      ['bad-shape.safetensors', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1), /tensor w: shape \[-1\]/],
      ['nan.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32(1, NaN, 3), /tensor w: element 1 is NaN/],
      ['inf.safetensors', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(-Infinity, 0), /tensor w: element 0 is -Infinity/],
      [
        'overlap.safetensors',
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
        f32(1, 2),
        /tensors a and b overlap/,
      ],
      ['array.safetensors', [1, 2], f32(1), /the header is not a JSON object/],
      ['metadata.safetensors', { __metadata__: { epoch: 3 } }, f32(), /__metadata__\.epoch is not a string/],
    ];
    for (const [name, header, data, problem] of cases) {
      const file = raw(name, header, data);
      assert.throws(
        () => readSafetensors(file),
        (e: unknown) => {
          assert.ok(e instanceof CheckpointError, `${name}: ${String(e)}`);
          assert.equal(e.file, file);
          assert.match(e.message, problem, name);
          return true;
        },
      );
    }
    // The same hand-made layout with valid values reads back exactly.
    const ok = raw('ok.safetensors', { __metadata__: { epoch: '3' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(0.5, -2));
    const back = readSafetensors(ok);
    assert.deepEqual([...back.tensors.w!.data], [0.5, -2]);
    assert.deepEqual(back.metadata, { epoch: '3' });
  });
});
