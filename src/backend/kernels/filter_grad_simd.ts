/**
 * The filter gradient of a 2-D convolution as a WebAssembly SIMD loop nest on the wasm backend's heap:
 * dW[i,j,ci,co] = Σ_{n,oh,ow} x[n, oh·sh + i − pT, ow·sw + j − pL, ci] · dy[n, oh, ow, co], read in place from the
 * NHWC tensors. Each pass keeps a 4 (ci) × 8 (co) block of dW in eight f32x4 registers over one image's rows: four
 * broadcasts of x and two loads of dy feed 16 multiply-adds (smaller blocks where the channel counts need them).
 * Padding costs nothing: each tap's valid output rows and columns are precomputed, so no zero is read.
 *
 * Why not XNNPACK: through tfjs-wasm the filter gradient is a convolution whose "filter" is dy (Ho·Wo·N·Co values),
 * which tfjs-wasm transposes and XNNPACK packs anew on every call, about 7 ns per value (measured: 15 of a stage-1
 * layer's 28 ms), plus two transposes in JavaScript.
 */
import type { ConvGeometry } from './conv_geometry';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from './kernel_call';
import { heapOffset, programPool, runProgram, simdProgram } from './simd_program';
import { FunctionBody, I32, V128, type HeapMemory, type Local } from './wasm_asm';

/** Byte offsets of the kernel's parameter table (i32 words), written by {@link writeFilterGradTable}. */
const TAB = {
  xImageBytes: 0,
  dyImageBytes: 4,
  kh: 8,
  kw: 12,
  ciBlocks: 16,
  coBlocks: 20,
  xColStep: 24,
  dyPixelBytes: 28,
  xRowStep: 32,
  dyRowBytes: 36,
  tapBytes: 40,
  taps: 44,
} as const;

/**
 * A kernel variant: how many channels of x are broadcast per pass (4, 3, 2 or 1: the largest dividing the channel
 * count) and how many f32x4 vectors of dy channels (2, or 1 when the count is a multiple of 4 but not of 8).
 */
export interface FilterGradPlan {
  ciBlock: number;
  coVectors: number;
}
const CI_BLOCKS = [4, 3, 2, 1] as const;
const CO_VECTORS = [2, 1] as const;

/** Geometry of one filter gradient (no dilation). */
export type FilterGradGeometry = ConvGeometry;

/** The variant for these channel counts, or undefined where dy's channels are not a multiple of 4 (XNNPACK path). */
export function filterGradPlan(g: Pick<FilterGradGeometry, 'ci' | 'co'>): FilterGradPlan | undefined {
  const coVectors = CO_VECTORS.find((v) => g.co % (4 * v) === 0);
  if (coVectors === undefined) return undefined;
  return { ciBlock: CI_BLOCKS.find((b) => g.ci % b === 0)!, coVectors };
}

/** Calls of the SIMD filter gradient so far (tests check that a case took this path). */
export const filterGradSimdStats = { calls: 0 };

/** Int32 words the parameter table takes. */
export function filterGradTableWords(g: Pick<FilterGradGeometry, 'kh' | 'kw'>): number {
  return TAB.taps / 4 + 3 * (g.kh + g.kw);
}

/** Output positions o in [lo, lo + count) whose input position o·s + k − pad lies in [0, size). */
function validRange(out: number, size: number, stride: number, k: number, pad: number): { lo: number; count: number } {
  const lo = Math.max(0, Math.ceil((pad - k) / stride));
  const hi = Math.min(out, Math.floor((size - 1 + pad - k) / stride) + 1);
  // An empty range reads nothing; lo 0 keeps the table's offsets in bounds.
  return hi > lo ? { lo, count: hi - lo } : { lo: 0, count: 0 };
}

/** Fills the table the kernel reads: byte strides, then per filter row and per filter column its valid range. */
export function writeFilterGradTable(g: FilterGradGeometry, plan: FilterGradPlan, tab: Int32Array): void {
  const xPixel = g.ci * 4;
  const dyPixel = g.co * 4;
  tab.set([
    g.h * g.w * xPixel,
    g.ho * g.wo * dyPixel,
    g.kh,
    g.kw,
    g.ci / plan.ciBlock,
    g.co / (4 * plan.coVectors),
    g.sw * xPixel,
    dyPixel,
    g.sh * g.w * xPixel,
    g.wo * dyPixel,
    g.ci * g.co * 4,
  ]);
  let k = TAB.taps / 4;
  for (let i = 0; i < g.kh; i++) {
    const { lo, count } = validRange(g.ho, g.h, g.sh, i, g.top);
    tab.set([count, count > 0 ? (lo * g.sh + i - g.top) * g.w * xPixel : 0, lo * g.wo * dyPixel], k);
    k += 3;
  }
  for (let j = 0; j < g.kw; j++) {
    const { lo, count } = validRange(g.wo, g.w, g.sw, j, g.left);
    tab.set([count, count > 0 ? (lo * g.sw + j - g.left) * xPixel : 0, lo * dyPixel], k);
    k += 3;
  }
}

/**
 * `run(n0, n1, x, dy, acc, tab)`: adds images n0 … n1−1's filter gradient into acc ([kh, kw, ci, co] f32), all
 * pointers byte offsets into the imported memory; the shape comes from the table, so one program serves a variant.
 */
function filterGradBody({ ciBlock, coVectors }: FilterGradPlan): FunctionBody {
  const f = new FunctionBody(6);
  const [n0, n1, x, dy, acc, tab] = [f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)];
  const { xImageBytes, dyImageBytes, kh, kw, ciBlocks, coBlocks, xColStep, dyPixel, xRowStep, dyRowBytes, tapBytes } = f.named(I32, [
    'xImageBytes',
    'dyImageBytes',
    'kh',
    'kw',
    'ciBlocks',
    'coBlocks',
    'xColStep',
    'dyPixel',
    'xRowStep',
    'dyRowBytes',
    'tapBytes',
  ]);
  const { images, cN, cI, cJ, cCi, cCo, cOh, cOw } = f.named(I32, ['images', 'cN', 'cI', 'cJ', 'cCi', 'cCo', 'cOh', 'cOw']);
  const { xImg, dyImg, rowI, colJ, accTap, ohCount, xOffI, dyOffI, owCount, xTap, dyTap } = f.named(I32, [
    'xImg',
    'dyImg',
    'rowI',
    'colJ',
    'accTap',
    'ohCount',
    'xOffI',
    'dyOffI',
    'owCount',
    'xTap',
    'dyTap',
  ]);
  const { accCi, xCi, accCo, dyCo, a, xr, dr, xp, dp } = f.named(I32, ['accCi', 'xCi', 'accCo', 'dyCo', 'a', 'xr', 'dr', 'xp', 'dp']);
  const accs = Array.from({ length: ciBlock * coVectors }, () => f.local(V128));
  const s = Array.from({ length: ciBlock }, () => f.local(V128));
  const d = Array.from({ length: coVectors }, () => f.local(V128));
  const block = (r: number, c: number) => accs[r * coVectors + c]!;

  const fromTable = (l: Local, offset: number) => f.get(tab).load(offset).set(l);
  fromTable(xImageBytes, TAB.xImageBytes);
  fromTable(dyImageBytes, TAB.dyImageBytes);
  fromTable(kh, TAB.kh);
  fromTable(kw, TAB.kw);
  fromTable(ciBlocks, TAB.ciBlocks);
  fromTable(coBlocks, TAB.coBlocks);
  fromTable(xColStep, TAB.xColStep);
  fromTable(dyPixel, TAB.dyPixelBytes);
  fromTable(xRowStep, TAB.xRowStep);
  fromTable(dyRowBytes, TAB.dyRowBytes);
  fromTable(tapBytes, TAB.tapBytes);
  f.get(n1).get(n0).sub().set(images);
  f.get(x).get(n0).get(xImageBytes).mul().add().set(xImg);
  f.get(dy).get(n0).get(dyImageBytes).mul().add().set(dyImg);

  // block(r, c) holds dW[ci0 + r, co0 + 4c … 4c+3]; rows of dW lie dyPixel bytes apart (co values).
  const eachRow = (body: (r: number) => void) => {
    f.get(accCo).set(a);
    for (let r = 0; r < ciBlock; r++) {
      body(r);
      if (r < ciBlock - 1) f.addTo(a, dyPixel);
    }
  };

  f.repeat(images, cN, () => {
    f.get(tab).i32(TAB.taps).add().set(rowI);
    f.get(acc).set(accTap);
    f.repeat(kh, cI, () => {
      f.get(rowI).load(0).set(ohCount);
      f.get(rowI).load(4).set(xOffI);
      f.get(rowI).load(8).set(dyOffI);
      f.get(tab).i32(TAB.taps).add().get(kh).i32(12).mul().add().set(colJ);
      f.repeat(kw, cJ, () => {
        f.get(colJ).load(0).set(owCount);
        f.get(xImg).get(xOffI).add().get(colJ).load(4).add().set(xTap);
        f.get(dyImg).get(dyOffI).add().get(colJ).load(8).add().set(dyTap);
        f.get(accTap).set(accCi);
        f.get(xTap).set(xCi);
        f.repeat(ciBlocks, cCi, () => {
          f.get(accCi).set(accCo);
          f.get(dyTap).set(dyCo);
          f.repeat(coBlocks, cCo, () => {
            eachRow((r) => {
              for (let c = 0; c < coVectors; c++)
                f.get(a)
                  .v128Load(16 * c)
                  .set(block(r, c));
            });
            f.get(xCi).set(xr);
            f.get(dyCo).set(dr);
            f.repeat(ohCount, cOh, () => {
              f.get(xr).set(xp);
              f.get(dr).set(dp);
              f.repeat(owCount, cOw, () => {
                for (let r = 0; r < ciBlock; r++)
                  f.get(xp)
                    .load32Splat(4 * r)
                    .set(s[r]!);
                for (let c = 0; c < coVectors; c++)
                  f.get(dp)
                    .v128Load(16 * c)
                    .set(d[c]!);
                for (let r = 0; r < ciBlock; r++) {
                  for (let c = 0; c < coVectors; c++) f.get(block(r, c)).get(s[r]!).get(d[c]!).f32x4Mul().f32x4Add().set(block(r, c));
                }
                f.addTo(xp, xColStep);
                f.addTo(dp, dyPixel);
              });
              f.addTo(xr, xRowStep);
              f.addTo(dr, dyRowBytes);
            });
            eachRow((r) => {
              for (let c = 0; c < coVectors; c++)
                f.get(a)
                  .get(block(r, c))
                  .v128Store(16 * c);
            });
            f.bump(accCo, 16 * coVectors);
            f.bump(dyCo, 16 * coVectors);
          });
          f.get(accCi).get(dyPixel).i32(ciBlock).mul().add().set(accCi);
          f.bump(xCi, ciBlock * 4);
        });
        f.addTo(accTap, tapBytes);
        f.bump(colJ, 12);
      });
      f.bump(rowI, 12);
    });
    f.addTo(xImg, xImageBytes);
    f.addTo(dyImg, dyImageBytes);
  });
  return f;
}

/**
 * dW from x and dy in place, images split among the pool's threads, each part into its own partial dW (part 0 into
 * the output), added in part order.
 */
export function filterGradSimd(
  backend: BackendWasm,
  memory: HeapMemory,
  x: TensorInfo,
  dy: TensorInfo,
  g: FilterGradGeometry,
  plan: FilterGradPlan,
): TensorInfo {
  filterGradSimdStats.calls++;
  const program = simdProgram(`filterGrad:${plan.ciBlock}x${plan.coVectors}`, memory.buffer instanceof SharedArrayBuffer, () => filterGradBody(plan));
  const size = g.kh * g.kw * g.ci * g.co;
  const parts = programPool().partsFor(memory, g.n);
  const words = filterGradTableWords(g);
  const out = backend.makeOutput([g.kh, g.kw, g.ci, g.co], 'float32');
  // Parts 1 … parts−1 accumulate into scratch, then the table.
  const scratch = backend.makeOutput([(parts - 1) * size + words], 'float32');
  try {
    // Views after both allocations: growing the heap detaches earlier ones.
    const result = backend.typedArrayFromHeap(out) as Float32Array;
    const partials = backend.typedArrayFromHeap(scratch) as Float32Array;
    result.fill(0);
    partials.fill(0, 0, (parts - 1) * size);
    const tableOffset = partials.byteOffset + (parts - 1) * size * 4;
    writeFilterGradTable(g, plan, new Int32Array(partials.buffer, tableOffset, words));
    const xOffset = heapOffset(backend, x);
    const dyOffset = heapOffset(backend, dy);
    runProgram(memory, program, g.n, (k) => [xOffset, dyOffset, k === 0 ? result.byteOffset : partials.byteOffset + (k - 1) * size * 4, tableOffset]);
    for (let k = 1; k < parts; k++) {
      const partial = partials.subarray((k - 1) * size, k * size);
      for (let e = 0; e < size; e++) result[e]! += partial[e]!;
    }
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}
