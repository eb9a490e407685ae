/**
 * Batch norm's four passes over [rows, c] (batch_norm_math.ts) on the wasm backend as WebAssembly SIMD programs
 * generated for each channel count, rows split among the pool's threads. The arithmetic is the loops' own, lane by
 * lane in float64 (f64x2: each float32 promoted, the per-channel vectors read as float64), so
 *
 * - the affine pass (y = a·u + b·v + c0, rounded once to float32) gives the loop's bits;
 * - the per-channel sums have the loop's terms and differ only in the order of the additions (the loop adds blocks of
 *   64 rows; here each part adds its rows in order into per-part sums in the heap, then the parts are added in order).
 *
 * Each row is unrolled at generation (c/4 vectors, every offset an immediate). Channel counts that are not a multiple
 * of 4, or above {@link MAX_SIMD_CHANNELS}, and arrays outside the heap take the loops. Measured: README Performance
 * item 18.
 */
import { FunctionBody, I32, V128, type HeapMemory } from './wasm_asm';
import { programPool, programScratch, runProgram, simdProgram } from './simd_program';
import { MIN_SPLIT } from './js_pool';
import type { ChannelPasses } from './batch_norm_math';
import type { BackendWasm } from './kernel_call';

/** Widest channel count with a generated program (c/4 unrolled vectors per row). */
export const MAX_SIMD_CHANNELS = 1024;
/** Lanes 0–1 of the first operand, then lanes 0–1 of the second. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

type Pass = 'sums' | 'squaredDeviations' | 'gradSums' | 'affine' | 'affine2';

/**
 * `run(r0, r1, …)` over rows r0 … r1−1 of c floats:
 *   sums               (x, acc):          acc[k] += x
 *   squaredDeviations  (x, mu, acc):      acc[k] += (x − μ_k)²
 *   gradSums           (dy, x, mu, acc):  acc[k] += dy, acc[c + k] += dy·(x − μ_k)
 *   affine / affine2   (u, [v,] coef, out): out = a_k·u (+ b_k·v) + c0_k, coef = [a; b; c0] (3c float64)
 */
function rowsBody(pass: Pass, c: number): FunctionBody {
  const arity = { sums: 2, squaredDeviations: 3, gradSums: 4, affine: 3, affine2: 4 }[pass];
  const f = new FunctionBody(2 + arity);
  const [r0, r1] = [f.param(0), f.param(1)];
  const ptr = Array.from({ length: arity }, (_, i) => f.param(2 + i));
  const { count, counter } = f.named(I32, ['count', 'counter']);
  const rowPointers = pass === 'gradSums' || pass === 'affine2' ? [ptr[0]!, ptr[1]!] : [ptr[0]!];
  const out = pass === 'affine' ? ptr[2]! : pass === 'affine2' ? ptr[3]! : undefined;
  if (out !== undefined) rowPointers.push(out);
  const { a, b, t } = f.named(V128, ['a', 'b', 't']);
  const halves = f.named(V128, ['lo', 'hi']);
  const rowBytes = 4 * c;
  f.get(r1).get(r0).sub().set(count);
  for (const p of rowPointers) f.get(r0).i32(rowBytes).mul().get(p).add().set(p);
  f.repeat(count, counter, () => {
    for (let j = 0; j < c / 4; j++) {
      const at = 16 * j;
      f.get(rowPointers[0]!).v128Load(at).set(a);
      if (rowPointers.length > 1 && pass !== 'affine') f.get(rowPointers[1]!).v128Load(at).set(b);
      for (const high of [false, true]) {
        const k8 = 8 * (4 * j + (high ? 2 : 0));
        if (pass === 'sums') {
          const acc = ptr[1]!;
          f.get(acc).get(acc).v128Load(k8);
          f.promoteHalf(a, high);
          f.f64x2Add().v128Store(k8);
        } else if (pass === 'squaredDeviations') {
          const [mu, acc] = [ptr[1]!, ptr[2]!];
          f.promoteHalf(a, high);
          f.get(mu).v128Load(k8).f64x2Sub().set(t);
          f.get(acc).get(acc).v128Load(k8).get(t).get(t).f64x2Mul().f64x2Add().v128Store(k8);
        } else if (pass === 'gradSums') {
          // a = dy, b = x.
          const [mu, acc] = [ptr[2]!, ptr[3]!];
          f.promoteHalf(a, high);
          f.set(t);
          f.get(acc).get(acc).v128Load(k8).get(t).f64x2Add().v128Store(k8);
          f.get(acc)
            .get(acc)
            .v128Load(8 * c + k8)
            .get(t);
          f.promoteHalf(b, high);
          f.get(mu)
            .v128Load(k8)
            .f64x2Sub()
            .f64x2Mul()
            .f64x2Add()
            .v128Store(8 * c + k8);
        } else {
          const coef = pass === 'affine' ? ptr[1]! : ptr[2]!;
          f.get(coef).v128Load(k8);
          f.promoteHalf(a, high);
          f.f64x2Mul();
          if (pass === 'affine2') {
            f.get(coef).v128Load(8 * c + k8);
            f.promoteHalf(b, high);
            f.f64x2Mul().f64x2Add();
          }
          f.get(coef)
            .v128Load(16 * c + k8)
            .f64x2Add()
            .f32x4DemoteF64x2Zero()
            .set(high ? halves.hi : halves.lo);
        }
      }
      if (out !== undefined) f.get(out).get(halves.lo).get(halves.hi).i8x16Shuffle(LOW_HALVES).v128Store(at);
    }
    for (const p of rowPointers) f.bump(p, rowBytes);
  });
  return f;
}

/** Calls of the SIMD passes so far, by pass (tests check that a case took this path). */
export const batchNormSimdStats = { sums: 0, squaredDeviations: 0, gradSums: 0, affine: 0 };

/** Whether the SIMD passes cover c channels. */
export const batchNormSimdApplies = (c: number): boolean => c % 4 === 0 && c > 0 && c <= MAX_SIMD_CHANNELS;

/**
 * The passes as SIMD programs on the backend's heap for tensors of c channels, the loops of `fallback` for arrays
 * they do not cover; `split` false keeps them on this thread. Reserves the heap scratch they need now: call it before
 * taking views of the kernel's tensors.
 */
export function simdChannelPasses(backend: BackendWasm, memory: HeapMemory, c: number, fallback: ChannelPasses, split = true): ChannelPasses {
  if (!batchNormSimdApplies(c)) return fallback;
  const pool = programPool();
  const maxParts = split ? pool.threads : 1;
  // [vectors in: 3c float64][per part: 2c float64 of sums]
  const base = programScratch(backend, 8 * (3 * c + maxParts * 2 * c));
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const minRows = split ? Math.ceil(MIN_SPLIT / c) : Infinity;
  const onHeap = (arrays: (Float32Array | null)[]) => arrays.every((x) => x === null || (x.buffer === memory.buffer && x.length % c === 0));
  const vecIn = (vectors: ArrayLike<number>[]) => {
    const view = new Float64Array(memory.buffer, base, 3 * c);
    vectors.forEach((v, i) => view.set(v, i * c));
  };
  const run = (pass: Pass, rows: number, pointers: (accOffset: number) => number[], sumsLength: number): Float64Array => {
    const program = simdProgram(`batchNorm:${pass}:${c}`, shared, () => rowsBody(pass, c));
    const parts = pool.partsFor(memory, rows, minRows);
    const accBase = base + 8 * 3 * c;
    new Float64Array(memory.buffer, accBase, parts * sumsLength).fill(0);
    runProgram(memory, program, rows, (k) => pointers(accBase + 8 * k * sumsLength), minRows);
    const acc = new Float64Array(memory.buffer, accBase, parts * sumsLength);
    const sums = new Float64Array(sumsLength);
    for (let k = 0; k < parts; k++) for (let i = 0; i < sumsLength; i++) sums[i]! += acc[k * sumsLength + i]!;
    return sums;
  };
  return {
    sums(x, cc) {
      if (cc !== c || !onHeap([x])) return fallback.sums(x, cc);
      batchNormSimdStats.sums++;
      return run('sums', x.length / c, (acc) => [x.byteOffset, acc], c);
    },
    squaredDeviations(x, cc, mean) {
      if (cc !== c || !onHeap([x])) return fallback.squaredDeviations(x, cc, mean);
      batchNormSimdStats.squaredDeviations++;
      vecIn([mean]);
      return run('squaredDeviations', x.length / c, (acc) => [x.byteOffset, base, acc], c);
    },
    gradSums(dy, x, cc, mean) {
      if (cc !== c || !onHeap([dy, x]) || dy.length !== x.length) return fallback.gradSums(dy, x, cc, mean);
      batchNormSimdStats.gradSums++;
      vecIn([mean]);
      return run('gradSums', x.length / c, (acc) => [dy.byteOffset, x.byteOffset, base, acc], 2 * c);
    },
    affine(u, v, ak, bk, c0, out) {
      if (ak.length !== c || !onHeap([u, v, out]) || (v !== null && v.length !== u.length) || out.length !== u.length)
        return fallback.affine(u, v, ak, bk, c0, out);
      batchNormSimdStats.affine++;
      vecIn([ak, bk, c0]);
      const rows = u.length / c;
      if (v === null) run('affine', rows, () => [u.byteOffset, base, out.byteOffset], 0);
      else run('affine2', rows, () => [u.byteOffset, v.byteOffset, base, out.byteOffset], 0);
    },
  };
}
