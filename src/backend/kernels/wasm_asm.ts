/**
 * A small WebAssembly assembler for mixprec's SIMD kernels on the wasm backend's own heap. tfjs-wasm exposes no way
 * to run new native code, but its heap is a WebAssembly.Memory that another module can import, so a kernel can be
 * emitted here as bytes (no toolchain, no download) and run on the tensors in place, on any thread holding the memory.
 * Only the instructions the kernels use are here; the encodings are the WebAssembly 2.0 binary format's.
 */

/** Value types of locals and parameters. */
export const I32 = 0x7f;
export const V128 = 0x7b;
type ValueType = typeof I32 | typeof V128;

/** Shuffle lanes that move a v128's bytes 8–15 to 0–7 (its f32 lanes 2–3 to 0–1). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** Unsigned LEB128. */
function uleb(value: number, out: number[]): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(value: number, out: number[]): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function name(text: string, out: number[]): void {
  const bytes = Buffer.from(text, 'utf8');
  uleb(bytes.length, out);
  out.push(...bytes);
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

/** A local (or parameter) by index, as the body builder hands them out. */
export type Local = number & { readonly local: unique symbol };

/** One function: parameters (all i32), locals added on demand, and an instruction stream. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly locals: ValueType[] = [];

  constructor(readonly params: number) {}

  /** The i-th parameter. */
  param(i: number): Local {
    if (i >= this.params) throw new Error(`wasm_asm: parameter ${i} of ${this.params}`);
    return i as Local;
  }

  local(type: ValueType): Local {
    this.locals.push(type);
    return (this.params + this.locals.length - 1) as Local;
  }

  /** One new local of `type` per name. */
  named<const Names extends readonly string[]>(type: ValueType, names: Names): Record<Names[number], Local> {
    return Object.fromEntries(names.map((n) => [n, this.local(type)])) as Record<Names[number], Local>;
  }

  get(l: Local): this {
    return this.op(0x20).u(l);
  }
  set(l: Local): this {
    return this.op(0x21).u(l);
  }
  tee(l: Local): this {
    return this.op(0x22).u(l);
  }
  i32(value: number): this {
    this.code.push(0x41);
    sleb(value, this.code);
    return this;
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  /** i32 > 0 (signed) as 0/1. */
  gtS(): this {
    return this.op(0x4a);
  }
  /** i32.load at the address on the stack plus `offset` bytes. */
  load(offset = 0): this {
    return this.op(0x28).u(2).u(offset);
  }
  /** i32.store: address, then value, on the stack. */
  store(offset = 0): this {
    return this.op(0x36).u(2).u(offset);
  }
  v128Load(offset = 0): this {
    return this.simd(0x00).u(4).u(offset);
  }
  /** Loads one f32 and repeats it in all four lanes. */
  load32Splat(offset = 0): this {
    return this.simd(0x09).u(2).u(offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).u(4).u(offset);
  }
  /** memory.copy: destination, source, byte count on the stack. */
  memoryCopy(): this {
    return this.op(0xfc).u(10).op(0x00, 0x00);
  }
  /** memory.fill: destination, byte value, byte count on the stack. */
  memoryFill(): this {
    return this.op(0xfc).u(11).op(0x00);
  }
  /** A v128 of zeros. */
  v128Zero(): this {
    return this.i32x4Const([0, 0, 0, 0]);
  }
  /** A v128 constant from four i32 lanes (float lanes: their bits). */
  i32x4Const(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0c);
    for (const lane of lanes) for (let b = 0; b < 4; b++) this.code.push((lane >>> (8 * b)) & 0xff);
    return this;
  }
  /** An i32 (a float's bits, say) in all four lanes. */
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  /** The bytes of two v128s picked by 16 lane indices (0–15 the first operand, 16–31 the second). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new Error('wasm_asm: a shuffle takes 16 lane indices');
    this.simd(0x0d);
    this.code.push(...lanes);
    return this;
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  /** Lane masks (all ones where true) of signed i32 a > b. */
  i32x4GtS(): this {
    return this.simd(0x3b);
  }
  f32x4Lt(): this {
    return this.simd(0x43);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Le(): this {
    return this.simd(0x45);
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  f32x4Trunc(): this {
    return this.simd(0x69);
  }
  f32x4Abs(): this {
    return this.simd(0xe0);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /** IEEE minimum (NaN if either lane is NaN). */
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  /** The two low f32 lanes as f64. */
  f64x2PromoteLow(): this {
    return this.simd(0x5f);
  }
  /** Two f64 lanes rounded to f32 in lanes 0–1, lanes 2–3 zero. */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  /** f32 lanes 0–1 (high: 2–3) of the v128 in `v` as f64x2 on the stack. */
  promoteHalf(v: Local, high: boolean): this {
    this.get(v);
    if (high) this.get(v).i8x16Shuffle(HIGH_HALF);
    return this.f64x2PromoteLow();
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  /** `l += value` for an i32 local, value from a local. */
  addTo(l: Local, value: Local): this {
    return this.get(l).get(value).add().set(l);
  }
  /** `l += value` for an i32 local and a constant (a pointer's step, say). */
  bump(l: Local, value: number): this {
    return this.get(l).i32(value).add().set(l);
  }

  /**
   * A counted loop: runs `body` `count` times (count read from a local, nothing when it is not positive), using
   * `counter` as the down-counter.
   */
  repeat(count: Local, counter: Local, body: () => void): this {
    this.get(count).set(counter);
    this.op(0x02, 0x40); // block
    this.get(counter).i32(0).gtS().op(0x45).op(0x0d).u(0); // br_if 0 when !(counter > 0)
    this.op(0x03, 0x40); // loop
    body();
    this.get(counter).i32(1).sub().tee(counter).i32(0).gtS().op(0x0d).u(0); // br_if loop while counter > 0
    this.op(0x0b, 0x0b); // end loop, end block
    return this;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }
  private u(value: number): this {
    uleb(value, this.code);
    return this;
  }

  /** The body as the code section holds it: local declarations, instructions, end. */
  encode(): number[] {
    const out: number[] = [];
    const groups: [number, ValueType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [count, t] of groups) {
      uleb(count, out);
      out.push(t);
    }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }
}

/**
 * A module importing `env.memory` (shared or not, to match the heap it will run on) and exporting the given functions,
 * each taking only i32 parameters and returning nothing.
 */
export function assemble(functions: { name: string; body: FunctionBody }[], sharedMemory: boolean): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(functions.length, types);
  for (const f of functions) {
    types.push(0x60);
    uleb(f.body.params, types);
    for (let i = 0; i < f.body.params; i++) types.push(I32);
    types.push(0x00);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  imports.push(0x02);
  // A shared memory must declare a maximum; 65536 pages (4 GiB) admits any heap.
  if (sharedMemory) imports.push(0x03, 0x01, 0x80, 0x80, 0x04);
  else imports.push(0x00, 0x01);
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(functions.length, funcs);
  functions.forEach((_, i) => uleb(i, funcs));
  section(3, funcs, out);
  const exportSection: number[] = [];
  uleb(functions.length, exportSection);
  functions.forEach((f, i) => {
    name(f.name, exportSection);
    exportSection.push(0x00);
    uleb(i, exportSection);
  });
  section(7, exportSection, out);
  const code: number[] = [];
  uleb(functions.length, code);
  for (const f of functions) code.push(...f.body.encode());
  section(10, code, out);
  return Uint8Array.from(out);
}

/** The wasm backend's heap as a module imports it (a WebAssembly.Memory; lib.dom's types are not in this build). */
export interface HeapMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Compiles a module {@link assemble} wrote. */
export function compileModule(bytes: Uint8Array): object {
  return new webAssembly.Module(bytes);
}

/** Instantiates a compiled module on `memory` and returns its exports. */
export function instantiateOn(module: object, memory: HeapMemory): unknown {
  return new webAssembly.Instance(module, { env: { memory } }).exports;
}
