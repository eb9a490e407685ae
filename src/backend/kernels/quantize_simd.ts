/**
 * The uniform quantizer's two elementwise passes on the wasm backend as generated WebAssembly SIMD programs (four
 * floats per instruction, on the heap in place, vectors split among the pool's threads). Every uniform
 * parametrization's step is a power of two (U1 and U3 round it so, U2 too), which is the case covered here; other steps,
 * and tensors holding NaN or ±∞, take the JavaScript loops of quantize_math.ts, whose results these equal bit for bit:
 *
 * - q = sign·min(round(min(|x|, (top+1)·d)/d), top)·d with round half away from zero as trunc(z) + [z − trunc(z) ≥ ½]
 *   (exact in float32, unlike ⌊z + ½⌋, which rounds 0.49999997 up), top = round(X/d); the cap at (top+1)·d keeps
 *   z finite and changes no result (everything above it clamps to top anyway). Signs as the loops give them: −0 for
 *   −½d < x < 0 (signed), +0 for x ≤ 0 (unsigned) and for x = −0.
 * - ∂x = dy·gate (a float product, so the zero keeps dy's sign as in the loop), and the two parameter sums in float64
 *   lanes: q − c is exact in float32 (Sterbenz: q and the clipped c are within d/2 and within a factor of 2, or q is 0)
 *   and dy·(q − c) is exact in float64, so every term is the loop's; only the order of the additions differs (four
 *   lanes, then parts), as the loop's threads already make it. A given thread count is deterministic.
 *
 * Measured against the JavaScript loops: README Performance item 18.
 */
import { FunctionBody, I32, V128, type HeapMemory, type Local } from './wasm_asm';
import { programPool, programScratch, runProgram, simdProgram } from './simd_program';
import { MIN_SPLIT } from './js_pool';
import { roundHalfAway, uniformBackwardSums, uniformForward, type UniformGrid } from './quantize_math';
import type { BackendWasm } from './kernel_call';

const f32 = Math.fround;

/** The constant block the host writes for a program: [1/d, d, top, (top+1)·d, X] in float32, padded to 32 bytes. */
const CONST_BYTES = 32;
const CONST = { inv: 0, step: 4, top: 8, cap: 12, X: 16 } as const;
/** Per part: a non-finite lane mask (i32x4), then Σ dy·(q − c) and Σ dy·out(x), each as two f64x2 (lanes 0–1, 2–3). */
const STATUS_BYTES = 80;
const VECTOR = 4;
/** Vectors per part before a helper thread is woken. */
const MIN_VECTORS_PER_PART = MIN_SPLIT / VECTOR;

const LANES = (v: number) => [v, v, v, v] as const;
const HALF = 0x3f000000;
const ONE = 0x3f800000;
const ABS_MASK = 0x7fffffff;
const MAX_FINITE = 0x7f7fffff;
const SIGN_BIT = 0x80000000 | 0;

/** Whether the SIMD passes cover a grid: a power-of-two step away from the float32 range's ends, top below 2^23. */
export function uniformSimdApplies(g: UniformGrid): boolean {
  const { step, X } = g;
  if (!(step >= 2 ** -100 && step <= 2 ** 100) || 2 ** Math.round(Math.log2(step)) !== step || !Number.isFinite(X)) return false;
  return !(X / step >= 2 ** 23);
}

interface Registers {
  half: Local;
  one: Local;
  absMask: Local;
  maxFinite: Local;
  sign: Local;
  inv: Local;
  step: Local;
  top: Local;
  cap: Local;
  X: Local;
  negX: Local;
  nonFinite: Local;
}

/** The constants as vector registers, the non-finite mask zeroed. */
function registers(f: FunctionBody, consts: Local): Registers {
  const r = f.named(V128, ['half', 'one', 'absMask', 'maxFinite', 'sign', 'inv', 'step', 'top', 'cap', 'X', 'negX', 'nonFinite']);
  for (const [reg, bits] of [
    [r.half, HALF],
    [r.one, ONE],
    [r.absMask, ABS_MASK],
    [r.maxFinite, MAX_FINITE],
    [r.sign, SIGN_BIT],
  ] as const)
    f.i32x4Const(LANES(bits)).set(reg);
  for (const key of ['inv', 'step', 'top', 'cap', 'X'] as const) f.get(consts).load32Splat(CONST[key]).set(r[key]);
  f.get(r.X).get(r.sign).v128Or().set(r.negX);
  f.v128Zero().set(r.nonFinite);
  return r;
}

/** Pushes q for the x in `xv` (see the header), and marks non-finite lanes in the mask. */
function emitQuantized(f: FunctionBody, r: Registers, xv: Local, z: Local, w: Local, signed: boolean): void {
  f.get(r.nonFinite).get(xv).get(r.absMask).v128And().get(r.maxFinite).i32x4GtS().v128Or().set(r.nonFinite);
  f.get(xv).f32x4Abs().get(r.cap).f32x4Min().get(r.inv).f32x4Mul().set(z);
  f.get(z).f32x4Trunc().tee(w);
  f.get(z).get(w).f32x4Sub().get(r.half).f32x4Ge().get(r.one).v128And().f32x4Add();
  f.get(r.top).f32x4Min().get(r.step).f32x4Mul();
  if (signed) f.get(xv).v128Zero().f32x4Lt().get(r.sign).v128And().v128Or();
  else f.get(xv).v128Zero().f32x4Gt().v128And();
}

/** `run(n0, n1, x, out, status, consts)`: q for vectors n0 … n1−1. */
function forwardBody(signed: boolean): FunctionBody {
  const f = new FunctionBody(6);
  const [n0, n1, x, out, status, consts] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i)) as [Local, Local, Local, Local, Local, Local];
  const { count, counter, xp, op } = f.named(I32, ['count', 'counter', 'xp', 'op']);
  const { xv, z, w } = f.named(V128, ['xv', 'z', 'w']);
  const r = registers(f, consts);
  f.get(n1).get(n0).sub().set(count);
  f.get(n0).i32(16).mul().tee(op).get(x).add().set(xp);
  f.get(op).get(out).add().set(op);
  f.repeat(count, counter, () => {
    f.get(xp).v128Load().set(xv);
    f.get(op);
    emitQuantized(f, r, xv, z, w, signed);
    f.v128Store();
    f.bump(xp, 16);
    f.bump(op, 16);
  });
  f.get(status).get(r.nonFinite).v128Store();
  return f;
}

/** `run(n0, n1, dy, x, dx, status, consts)`: ∂x and the partial sums for vectors n0 … n1−1. */
function backwardBody(signed: boolean): FunctionBody {
  const f = new FunctionBody(7);
  const [n0, n1, dy, x, dx, status, consts] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i)) as [Local, Local, Local, Local, Local, Local, Local];
  const { count, counter, xp, dp, op } = f.named(I32, ['count', 'counter', 'xp', 'dp', 'op']);
  const { xv, d, z, w, diff, gate, tX, s0lo, s0hi, s1lo, s1hi } = f.named(V128, [
    'xv',
    'd',
    'z',
    'w',
    'diff',
    'gate',
    'tX',
    's0lo',
    's0hi',
    's1lo',
    's1hi',
  ]);
  const r = registers(f, consts);
  for (const s of [s0lo, s0hi, s1lo, s1hi]) f.v128Zero().set(s);
  f.get(n1).get(n0).sub().set(count);
  f.get(n0).i32(16).mul().tee(op).get(x).add().set(xp);
  f.get(op).get(dy).add().set(dp);
  f.get(op).get(dx).add().set(op);
  /** s_lo += promote(a)·promote(b) on lanes 0–1, s_hi on lanes 2–3 (b absent: promote(a) alone). */
  const accumulate = (lo: Local, hi: Local, a: Local, b?: Local) => {
    for (const [acc, high] of [
      [lo, false],
      [hi, true],
    ] as const) {
      f.get(acc);
      for (const v of b === undefined ? [a] : [a, b]) f.promoteHalf(v, high);
      if (b !== undefined) f.f64x2Mul();
      f.f64x2Add().set(acc);
    }
  };
  f.repeat(count, counter, () => {
    f.get(xp).v128Load().set(xv);
    f.get(dp).v128Load().set(d);
    emitQuantized(f, r, xv, z, w, signed);
    if (signed) {
      // c = clamp(x, −X, X); gate = −X < x < X; tX = dy·([x ≥ X] − [x ≤ −X]).
      f.get(xv).get(r.X).f32x4Min().get(r.negX).f32x4Max().f32x4Sub().set(diff);
      f.get(xv).get(r.negX).f32x4Gt().get(xv).get(r.X).f32x4Lt().v128And().set(gate);
      f.get(d).get(xv).get(r.X).f32x4Ge().v128And().get(d).get(xv).get(r.negX).f32x4Le().v128And().f32x4Sub().set(tX);
    } else {
      // c = min(x, X), the term zeroed for x ≤ 0 (q and c both 0); gate = 0 < x < X; tX = dy·[x ≥ X].
      f.get(xv).get(r.X).f32x4Min().f32x4Sub().get(xv).v128Zero().f32x4Gt().v128And().set(diff);
      f.get(xv).v128Zero().f32x4Gt().get(xv).get(r.X).f32x4Lt().v128And().set(gate);
      f.get(d).get(xv).get(r.X).f32x4Ge().v128And().set(tX);
    }
    f.get(op).get(d).get(gate).get(r.one).v128And().f32x4Mul().v128Store();
    accumulate(s0lo, s0hi, d, diff);
    accumulate(s1lo, s1hi, tX);
    for (const p of [xp, dp, op]) f.bump(p, 16);
  });
  f.get(status).get(r.nonFinite).v128Store();
  [s0lo, s0hi, s1lo, s1hi].forEach((s, i) =>
    f
      .get(status)
      .get(s)
      .v128Store(16 * (i + 1)),
  );
  return f;
}

/** Calls of the SIMD passes so far (tests check that a case took this path). */
export const quantizeSimdStats = { forward: 0, backward: 0 };

interface Run {
  parts: number;
  /** Each part's status block (see STATUS_BYTES), as float64 words. */
  status: Float64Array;
  nonFinite: boolean;
}

/** Allocates the constants and status block, runs `program` over n/4 vectors with `pointers`, reads the statuses. */
function runOnVectors(
  backend: BackendWasm,
  memory: HeapMemory,
  key: string,
  body: () => FunctionBody,
  n: number,
  g: UniformGrid,
  pointers: (statusOffset: number, constsOffset: number) => number[],
): Run {
  const vectors = Math.floor(n / VECTOR);
  if (vectors === 0) return { parts: 0, status: new Float64Array(0), nonFinite: false };
  const program = simdProgram(key, memory.buffer instanceof SharedArrayBuffer, body);
  const parts = programPool().partsFor(memory, vectors, MIN_VECTORS_PER_PART);
  // Growing the block may grow the heap: callers pass offsets, and every view below is taken after it.
  const base = programScratch(backend, CONST_BYTES + parts * STATUS_BYTES);
  const top = roundHalfAway(f32(g.X / g.step));
  floats(memory, base, CONST_BYTES / 4).set([1 / g.step, g.step, top, (top + 1) * g.step, g.X]);
  runProgram(memory, program, vectors, (k) => pointers(base + CONST_BYTES + k * STATUS_BYTES, base), MIN_VECTORS_PER_PART);
  const status = new Float64Array(memory.buffer.slice(base + CONST_BYTES, base + CONST_BYTES + parts * STATUS_BYTES));
  const masks = new Int32Array(status.buffer);
  let nonFinite = false;
  for (let k = 0; k < parts; k++) for (let lane = 0; lane < 4; lane++) nonFinite ||= masks[(k * STATUS_BYTES) / 4 + lane] !== 0;
  return { parts, status, nonFinite };
}

const floats = (memory: HeapMemory, offset: number, n: number) => new Float32Array(memory.buffer, offset, n);

/**
 * q of the n floats at xOffset into outOffset; false where a non-finite input sent the caller to the JavaScript loop
 * (nothing else to undo: the loop rewrites every element).
 */
export function uniformForwardSimd(backend: BackendWasm, memory: HeapMemory, xOffset: number, outOffset: number, n: number, g: UniformGrid): boolean {
  quantizeSimdStats.forward++;
  const run = runOnVectors(
    backend,
    memory,
    `quantize:${+g.signed}`,
    () => forwardBody(g.signed),
    n,
    g,
    (status, consts) => [xOffset, outOffset, status, consts],
  );
  if (run.nonFinite) return false;
  const done = n - (n % VECTOR);
  uniformForward(floats(memory, xOffset + 4 * done, n - done), floats(memory, outOffset + 4 * done, n - done), g);
  return true;
}

/** ∂x and the float64 sums [Σ dy·(q − c), Σ dy·out(x)] (see uniformBackwardSums); undefined where an input is non-finite. */
export function uniformBackwardSimd(
  backend: BackendWasm,
  memory: HeapMemory,
  offsets: { dy: number; x: number; dx: number },
  n: number,
  g: UniformGrid,
): [number, number] | undefined {
  quantizeSimdStats.backward++;
  const run = runOnVectors(
    backend,
    memory,
    `quantizeGrad:${+g.signed}`,
    () => backwardBody(g.signed),
    n,
    g,
    (status, consts) => [offsets.dy, offsets.x, offsets.dx, status, consts],
  );
  if (run.nonFinite) return undefined;
  let [sStep, sX] = [0, 0];
  // Parts in order; within a part, lanes 0–1 then 2–3.
  for (let k = 0; k < run.parts; k++) {
    const s = run.status.subarray((k * STATUS_BYTES) / 8 + 2, ((k + 1) * STATUS_BYTES) / 8);
    sStep += s[0]! + s[1]! + (s[2]! + s[3]!);
    sX += s[4]! + s[5]! + (s[6]! + s[7]!);
  }
  const done = n - (n % VECTOR);
  const tail = (offset: number) => floats(memory, offset + 4 * done, n - done);
  const [t0, t1] = uniformBackwardSums(tail(offsets.dy), tail(offsets.x), tail(offsets.dx), g);
  return [sStep + t0, sX + t1];
}
