/**
 * The training kernels mixprec adds (wasm: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter and
 * ...BackpropInput; cpu: a faster Conv2DBackpropFilter) against naive float64 loops written from the definition,
 * and wasm against cpu where the cpu kernel is tfjs's own and right (its depthwise gradients ignore dilation), over
 * strides, paddings, dilations and shapes.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { transposeJs } from '../../src/backend/kernels/transpose_js';
import { filterGradPlan, filterGradSimdStats } from '../../src/backend/kernels/filter_grad_simd';
import { convSimdStats } from '../../src/backend/kernels/conv2d_simd';
import { jsPool } from '../../src/backend/kernels/js_pool';
import { wasmThreadCount } from '../../src/backend/wasm_threads';
import { Random, testSeed } from '../helpers/random';
import { testBackends } from '../helpers/backends';

const seed = testSeed();

/** tfjs computes a numeric padding's output size with the height's kernel and stride for both axes, so numeric
 * paddings are given as the explicit arrays mixprec's layers use. */
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const symmetric = (p: number): Pad => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];
interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: [number, number];
  dilation: [number, number];
  pad: Pad;
  mult: number;
}

function randomCase(r: Random, depthwise: boolean): ConvCase {
  const stride: [number, number] = [r.int(1, 3), r.int(1, 2)];
  const dilated = depthwise && stride[0] === 1 && stride[1] === 1 && r.next() < 0.4;
  return {
    n: r.int(1, 3),
    h: r.int(4, 11),
    w: r.int(4, 11),
    cin: r.int(1, 5),
    cout: r.int(1, 6),
    k: [r.pick([1, 2, 3, 5]), r.pick([1, 3, 4])],
    stride,
    dilation: dilated ? [r.int(1, 2), r.int(1, 3)] : [1, 1],
    pad: r.pick<Pad>([
      'same',
      'valid',
      symmetric(0),
      symmetric(1),
      symmetric(2),
      [
        [0, 0],
        [0, 2],
        [1, 0],
        [0, 0],
      ],
    ]),
    mult: r.int(1, 3),
  };
}

function data(r: Random, shape: number[]): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal());
}

/** Runs a kernel by name on the active backend and reads the result. */
async function kernel(name: string, inputs: Record<string, { shape: number[]; values: Float32Array }>, attrs: Record<string, unknown>) {
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  const out = tf.engine().runKernel(name, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { shape: out.shape, values: await out.data() };
  tf.dispose([out, ...Object.values(tensors)]);
  return result;
}

function assertAllClose(got: { shape: number[]; values: ArrayLike<number> }, want: { shape: number[]; values: ArrayLike<number> }, what: string) {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let norm = 0;
  for (let i = 0; i < want.values.length; i++) norm = Math.max(norm, Math.abs(want.values[i]!));
  for (let i = 0; i < want.values.length; i++) {
    const diff = Math.abs(got.values[i]! - want.values[i]!);
    assert.ok(diff <= 1e-5 * (norm + 1), `${what}[${i}]: wasm ${got.values[i]} vs cpu ${want.values[i]}`);
  }
}

type Info = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Dense = { shape: number[]; values: Float32Array };
const at4 = (shape: number[], a: number, b: number, c: number, d: number) => ((a * shape[1]! + b) * shape[2]! + c) * shape[3]! + d;

/** Σ over (n, oh, ow) of x[n, oh·s + i·dil − pad, ow·s + j·dil − pad, ·] · dy[n, oh, ow, ·], by definition. */
function filterGradRef(x: Dense, dy: Dense, info: Info, depthwise: boolean): { shape: number[]; values: Float64Array } {
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const cin = info.inChannels;
  const cols = depthwise ? info.outChannels / cin : info.outChannels;
  const shape = [kh, kw, cin, cols];
  const out = new Float64Array(kh * kw * cin * cols);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cols; o++) {
          let sum = 0;
          for (let n = 0; n < info.batchSize; n++)
            for (let oh = 0; oh < info.outHeight; oh++)
              for (let ow = 0; ow < info.outWidth; ow++) {
                const h = oh * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
                const w = ow * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
                if (h < 0 || w < 0 || h >= info.inHeight || w >= info.inWidth) continue;
                sum += x.values[at4(x.shape, n, h, w, c)]! * dy.values[at4(dy.shape, n, oh, ow, depthwise ? c * cols + o : o)]!;
              }
          out[at4(shape, i, j, c, o)] = sum;
        }
  return { shape, values: out };
}

/** dx[n, h, w, c] = Σ dy[n, oh, ow, c·M + m] · W[i, j, c, m] over h = oh·s + i·dil − pad, by definition. */
function depthwiseInputGradRef(dy: Dense, filter: Dense, info: Info): { shape: number[]; values: Float64Array } {
  const shape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const mult = info.outChannels / info.inChannels;
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let n = 0; n < info.batchSize; n++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++) {
        for (let i = 0; i < info.filterHeight; i++)
          for (let j = 0; j < info.filterWidth; j++) {
            const h = oh * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
            const w = ow * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
            if (h < 0 || w < 0 || h >= info.inHeight || w >= info.inWidth) continue;
            for (let c = 0; c < info.inChannels; c++)
              for (let m = 0; m < mult; m++) {
                out[at4(shape, n, h, w, c)] += dy.values[at4(dy.shape, n, oh, ow, c * mult + m)]! * filter.values[at4(filter.shape, i, j, c, m)]!;
              }
          }
      }
  return { shape, values: out };
}

/** dx[n, h, w, ci] = Σ dy[n, oh, ow, co] · W[i, j, ci, co] over h = oh·s + i − pad, by definition. */
function inputGradRef(dy: Dense, filter: Dense, info: Info): { shape: number[]; values: Float64Array } {
  const shape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let n = 0; n < info.batchSize; n++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++) {
        for (let i = 0; i < info.filterHeight; i++)
          for (let j = 0; j < info.filterWidth; j++) {
            const h = oh * info.strideHeight + i - info.padInfo.top;
            const w = ow * info.strideWidth + j - info.padInfo.left;
            if (h < 0 || w < 0 || h >= info.inHeight || w >= info.inWidth) continue;
            for (let ci = 0; ci < info.inChannels; ci++)
              for (let co = 0; co < info.outChannels; co++) {
                out[at4(shape, n, h, w, ci)] += dy.values[at4(dy.shape, n, oh, ow, co)]! * filter.values[at4(filter.shape, i, j, ci, co)]!;
              }
          }
      }
  return { shape, values: out };
}

/** out[n, oh, ow, co] = Σ x[n, oh·s + i·dil − pad, ow·s + j·dil − pad, ci] · W[i, j, ci, co], by definition. */
function convRef(x: Dense, filter: Dense, info: Info): { shape: number[]; values: Float64Array } {
  const shape = info.outShape;
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let n = 0; n < info.batchSize; n++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++)
        for (let co = 0; co < info.outChannels; co++) {
          let sum = 0;
          for (let i = 0; i < info.filterHeight; i++)
            for (let j = 0; j < info.filterWidth; j++) {
              const h = oh * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
              const w = ow * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
              if (h < 0 || w < 0 || h >= info.inHeight || w >= info.inWidth) continue;
              for (let ci = 0; ci < info.inChannels; ci++)
                sum += x.values[at4(x.shape, n, h, w, ci)]! * filter.values[at4(filter.shape, i, j, ci, co)]!;
            }
          out[at4(shape, n, oh, ow, co)] = sum;
        }
  return { shape, values: out };
}

/**
 * A regular (not depthwise) case's shapes and tfjs's conv info, or undefined where tfjs refuses the case or its
 * output is empty (the loops skip those).
 */
function convCaseInfo(c: ConvCase, dilation: [number, number] | 1 = 1) {
  const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
  const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.cin, c.cout];
  let info: Info;
  try {
    info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.stride, dilation, c.pad);
  } catch {
    return undefined;
  }
  return info.outHeight > 0 && info.outWidth > 0 ? { xShape, filterShape, info } : undefined;
}

async function onBoth(fn: () => Promise<{ shape: number[]; values: ArrayLike<number> }>) {
  await initBackend('cpu');
  const cpu = await fn();
  await initBackend('wasm');
  const wasm = await fn();
  return { cpu, wasm };
}

describe('training kernels mixprec registers', () => {
  it('Conv2DBackpropFilter (cpu, wasm, and webgpu where an adapter exists)', async () => {
    const hasWebGpu = (await testBackends()).includes('webgpu');
    let webgpuChecked = 0;
    const r = new Random(seed);
    for (let t = 0; t < 60; t++) {
      const c = randomCase(r, false);
      const shaped = convCaseInfo(c);
      if (shaped === undefined) continue;
      const { xShape, filterShape, info } = shaped;
      const x: Dense = { shape: xShape, values: data(r, xShape) };
      const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
      const { cpu, wasm } = await onBoth(() => kernel('Conv2DBackpropFilter', { x, dy }, attrs));
      const ref = filterGradRef(x, dy, info, false);
      assertAllClose(wasm, ref, `wasm Conv2DBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      assertAllClose(cpu, ref, `cpu Conv2DBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      if (hasWebGpu) {
        // The split-reduction WGSL kernel (src/backend/kernels/conv2d_backprop_filter_webgpu.ts).
        await initBackend('webgpu', { allowSoftwareAdapter: true });
        const gpu = await kernel('Conv2DBackpropFilter', { x, dy }, attrs);
        assertAllClose(gpu, ref, `webgpu Conv2DBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
        webgpuChecked++;
      }
    }
    if (hasWebGpu) assert.ok(webgpuChecked > 30, `only ${webgpuChecked} webgpu cases`);
  });

  it("wasm Conv2DBackpropFilter's SIMD loop nest: every block variant, stride, padding and image split vs the definition", async () => {
    await initBackend('wasm');
    const r = new Random(seed);
    const pool = jsPool(wasmThreadCount());
    const [calls, splits] = [filterGradSimdStats.calls, pool.splitRuns];
    const variants = new Set<string>();
    let simdCases = 0;
    for (let t = 0; t < 48; t++) {
      const c = randomCase(r, false);
      // Each variant in turn (x channels in blocks of 4, 3, 2, 1; dy channels in 8s or 4s), more images to split.
      c.cin = [r.pick([4, 8, 16]), r.pick([3, 9]), r.pick([2, 10]), r.pick([1, 5, 7])][t % 4]!;
      c.cout = (t >> 2) % 2 === 0 ? r.pick([8, 16, 24]) : r.pick([4, 12, 20]);
      c.n = r.int(1, 7);
      if (t === 0) Object.assign(c, { n: 5, h: 16, w: 16, cin: 16, cout: 32, k: [3, 3], stride: [1, 1], pad: 'same' });
      // A filter column that meets no input column (left padding 1, one output column at stride 2): its gradient is 0.
      if (t === 1)
        Object.assign(c, {
          n: 1,
          h: 5,
          w: 4,
          cin: 3,
          cout: 4,
          k: [5, 4],
          stride: [1, 2],
          pad: [
            [0, 0],
            [0, 2],
            [1, 0],
            [0, 0],
          ],
        });
      const shaped = convCaseInfo(c);
      if (shaped === undefined) continue;
      const { xShape, filterShape, info } = shaped;
      const plan = filterGradPlan({ ci: c.cin, co: c.cout });
      assert.ok(plan !== undefined, `a SIMD variant for ${c.cin} → ${c.cout} channels`);
      variants.add(`${plan.ciBlock}x${plan.coVectors}`);
      const x: Dense = { shape: xShape, values: data(r, xShape) };
      const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
      const before = filterGradSimdStats.calls;
      const wasm = await kernel('Conv2DBackpropFilter', { x, dy }, attrs);
      assert.equal(filterGradSimdStats.calls, before + 1, `the SIMD path ran for ${JSON.stringify(c)}`);
      assertAllClose(wasm, filterGradRef(x, dy, info, false), `SIMD Conv2DBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      simdCases++;
    }
    assert.ok(simdCases > 30, `only ${simdCases} SIMD cases`);
    assert.equal(variants.size, 8, `variants covered: ${[...variants].join(', ')}`);
    assert.equal(filterGradSimdStats.calls - calls, simdCases);
    if (wasmThreadCount() > 1) assert.ok(pool.splitRuns > splits, 'some cases were split among the helper threads');
    assert.equal(filterGradPlan({ ci: 4, co: 6 }), undefined, 'dy channels that are not a multiple of 4 keep the XNNPACK path');
  });

  it("wasm Conv2D's generated SIMD programs (and Conv2DBackpropInput through them) vs the definition; the rest on XNNPACK", async () => {
    await initBackend('wasm');
    const r = new Random(seed + 5);
    const pool = jsPool(wasmThreadCount());
    const splits = pool.splitRuns;
    let [simd, fallback] = [0, 0];
    for (let t = 0; t < 48; t++) {
      const c = randomCase(r, false);
      c.cin = r.int(1, 17);
      // Output channels in groups of 8 and of 4 run generated; 6 and a dilation keep XNNPACK.
      c.cout = t % 8 === 7 ? 6 : r.pick([4, 8, 12, 16, 24]);
      c.n = r.int(1, 6);
      const dilation: [number, number] = t % 8 === 3 && c.stride[0] === 1 && c.stride[1] === 1 ? [2, 1] : [1, 1];
      if (t === 0) Object.assign(c, { n: 5, h: 13, w: 11, cin: 16, cout: 32, k: [3, 3], stride: [1, 1], pad: 'same' });
      const shaped = convCaseInfo(c, dilation);
      if (shaped === undefined) continue;
      const { xShape, filterShape, info } = shaped;
      const x: Dense = { shape: xShape, values: data(r, xShape) };
      const filter: Dense = { shape: filterShape, values: data(r, filterShape) };
      const before = convSimdStats.calls;
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: dilation, dimRoundingMode: undefined };
      const out = await kernel('Conv2D', { x, filter }, attrs);
      const generated = c.cout % 4 === 0 && dilation[0] === 1;
      assert.equal(convSimdStats.calls, before + (generated ? 1 : 0), `SIMD path taken (${generated}) for ${JSON.stringify(c)}`);
      assertAllClose(out, convRef(x, filter, info), `wasm Conv2D vs definition ${JSON.stringify({ ...c, dilation })} [seed ${seed}]`);
      if (generated) simd++;
      else fallback++;
      if (dilation[0] === 1 && c.cin % 4 === 0) {
        // The input gradient is a convolution with cin output channels: generated too.
        const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
        const grad = await kernel('Conv2DBackpropInput', { dy, filter }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: xShape });
        assertAllClose(grad, inputGradRef(dy, filter, info), `wasm Conv2DBackpropInput vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      }
    }
    assert.ok(simd > 25 && fallback > 3, `SIMD cases ${simd}, XNNPACK cases ${fallback}`);
    if (wasmThreadCount() > 1) assert.ok(pool.splitRuns > splits, 'some cases were split among the helper threads');
  });

  it('Conv2DBackpropInput (wasm: the XNNPACK convolution replacing the scalar loop)', async () => {
    const r = new Random(seed + 3);
    let checked = 0;
    for (let t = 0; t < 60; t++) {
      const c = randomCase(r, false);
      const shaped = convCaseInfo(c);
      if (shaped === undefined) continue;
      const { xShape: inputShape, filterShape, info } = shaped;
      const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
      const filter: Dense = { shape: filterShape, values: data(r, filterShape) };
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape };
      const { cpu, wasm } = await onBoth(() => kernel('Conv2DBackpropInput', { dy, filter }, attrs));
      const ref = inputGradRef(dy, filter, info);
      assertAllClose(wasm, ref, `wasm Conv2DBackpropInput vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      assertAllClose(cpu, ref, `cpu Conv2DBackpropInput vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      checked++;
    }
    assert.ok(checked > 30, `only ${checked} cases`);
  });

  it('DepthwiseConv2dNativeBackpropFilter (wasm, and webgpu where an adapter exists)', async () => {
    const hasWebGpu = (await testBackends()).includes('webgpu');
    let webgpuChecked = 0;
    const r = new Random(seed + 1);
    for (let t = 0; t < 60; t++) {
      const c = randomCase(r, true);
      const xShape = [c.n, c.h, c.w, c.cin];
      const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.cin, c.mult];
      let info;
      try {
        info = tf.backend_util.computeConv2DInfo(
          xShape as [number, number, number, number],
          filterShape,
          c.stride,
          c.dilation,
          c.pad,
          undefined,
          true,
        );
      } catch {
        continue;
      }
      if (info.outHeight <= 0 || info.outWidth <= 0) continue;
      const x: Dense = { shape: xShape, values: data(r, xShape) };
      const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
      const attrs = { strides: c.stride, dilations: c.dilation, pad: c.pad, dimRoundingMode: undefined, filterShape };
      const { cpu, wasm } = await onBoth(() => kernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs));
      const ref = filterGradRef(x, dy, info, true);
      assertAllClose(wasm, ref, `DepthwiseConv2dNativeBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
      if (c.dilation[0] === 1 && c.dilation[1] === 1)
        assertAllClose(wasm, cpu, `DepthwiseConv2dNativeBackpropFilter vs cpu ${JSON.stringify(c)} [seed ${seed}]`);
      if (hasWebGpu) {
        // The split-reduction WGSL kernel, depthwise form (src/backend/kernels/conv2d_backprop_filter_webgpu.ts).
        await initBackend('webgpu', { allowSoftwareAdapter: true });
        const gpu = await kernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs);
        assertAllClose(gpu, ref, `webgpu DepthwiseConv2dNativeBackpropFilter vs definition ${JSON.stringify(c)} [seed ${seed}]`);
        webgpuChecked++;
      }
    }
    if (hasWebGpu) assert.ok(webgpuChecked > 30, `only ${webgpuChecked} webgpu cases`);
  });

  it('DepthwiseConv2dNativeBackpropInput', async () => {
    const r = new Random(seed + 2);
    for (let t = 0; t < 60; t++) {
      const c = randomCase(r, true);
      const inputShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
      const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.cin, c.mult];
      let info;
      try {
        info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, c.stride, c.dilation, c.pad, undefined, true);
      } catch {
        continue;
      }
      if (info.outHeight <= 0 || info.outWidth <= 0) continue;
      const dy: Dense = { shape: info.outShape, values: data(r, info.outShape) };
      const filter: Dense = { shape: filterShape, values: data(r, filterShape) };
      const attrs = { strides: c.stride, dilations: c.dilation, pad: c.pad, dimRoundingMode: undefined, inputShape };
      const { cpu, wasm } = await onBoth(() => kernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs));
      assertAllClose(
        wasm,
        depthwiseInputGradRef(dy, filter, info),
        `DepthwiseConv2dNativeBackpropInput vs definition ${JSON.stringify(c)} [seed ${seed}]`,
      );
      if (c.dilation[0] === 1 && c.dilation[1] === 1)
        assertAllClose(wasm, cpu, `DepthwiseConv2dNativeBackpropInput vs cpu ${JSON.stringify(c)} [seed ${seed}]`);
    }
  });

  it('training through conv2d and depthwiseConv2d works on wasm (tf.grads) and leaks nothing', async () => {
    const r = new Random(seed + 3);
    const x = data(r, [2, 9, 9, 3]);
    const f = data(r, [3, 3, 3, 4]);
    const dw = data(r, [3, 3, 4, 2]);
    const loss = (xx: tf.Tensor4D, ff: tf.Tensor4D, dd: tf.Tensor4D) =>
      tf.sum(tf.square(tf.depthwiseConv2d(tf.relu(tf.conv2d(xx, ff, 2, 'same')), dd, 1, 'valid')));
    const grads = async () => {
      const g = tf.grads(loss as (...a: tf.Tensor[]) => tf.Tensor)([
        tf.tensor4d(x, [2, 9, 9, 3]),
        tf.tensor4d(f, [3, 3, 3, 4]),
        tf.tensor4d(dw, [3, 3, 4, 2]),
      ]);
      const values = await Promise.all(g.map((t) => t.data()));
      tf.dispose(g);
      return values;
    };
    await initBackend('cpu');
    const cpu = await grads();
    await initBackend('wasm');
    const before = tf.memory().numTensors;
    const wasm = await grads();
    assert.ok(tf.memory().numTensors <= before + 3, 'no intermediate tensors left behind'); // the three inputs
    cpu.forEach((c, k) => assertAllClose({ shape: [c.length], values: wasm[k]! }, { shape: [c.length], values: c }, `grad ${k} [seed ${seed}]`));
  });

  it('pooling and matMul on empty tensors agree with cpu on wasm (XNNPACK wrote out of bounds / left garbage)', async () => {
    const r = new Random(seed + 5);
    const x = data(r, [4, 1, 1, 3]);
    const a = data(r, [3, 2]);
    // Each case: a loss whose forward has an empty intermediate, and its gradient with respect to the inputs.
    const cases: Array<[string, () => tf.Tensor[]]> = [
      ['maxPool 1×1 → 0×0', () => [tf.maxPool(tf.tensor4d(x, [4, 1, 1, 3]), 2, 2, 'valid')]],
      ['avgPool 1×1 → 0×0', () => [tf.avgPool(tf.tensor4d(x, [4, 1, 1, 3]), 2, 2, 'valid')]],
      ['maxPool gradient', () => tf.grads((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))([tf.tensor4d(x, [4, 1, 1, 3])])],
      ['avgPool gradient', () => tf.grads((t: tf.Tensor) => tf.sum(tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid')))([tf.tensor4d(x, [4, 1, 1, 3])])],
      ['matMul with inner size 0', () => [tf.matMul(tf.zeros([4, 0]), tf.zeros([0, 5]))]],
      ['matMul with no rows', () => [tf.matMul(tf.zeros([0, 3]), tf.tensor2d(a, [3, 2]))]],
      [
        'matMul gradient through an empty feature map',
        () =>
          tf.grads((t: tf.Tensor) => {
            const pooled = tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid');
            return tf.sum(tf.matMul(tf.reshape(pooled, [4, 0]), tf.zeros([0, 2])));
          })([tf.tensor4d(x, [4, 1, 1, 3])]),
      ],
    ];
    for (const [what, run] of cases) {
      const read = async () => {
        const outs = run();
        const got = await Promise.all(outs.map(async (t) => ({ shape: t.shape, values: await t.data() })));
        tf.dispose(outs);
        return got;
      };
      await initBackend('cpu');
      const cpu = await read();
      await initBackend('wasm');
      const wasm = await read();
      cpu.forEach((c, k) => assertAllClose(wasm[k]!, c, `${what} output ${k}`));
    }
  });

  it("the filter gradient's JavaScript transposes move every element where tf.transpose (cpu) does", async () => {
    const r = new Random(seed + 7);
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      for (let t = 0; t < 12; t++) {
        const shape: [number, number, number, number] = [r.int(1, 9), r.int(1, 6), r.int(1, 6), r.int(1, 17)];
        const values = data(r, shape);
        for (const perm of [
          [3, 1, 2, 0],
          [1, 2, 0, 3],
        ] as const) {
          const x = tf.tensor4d(values, shape);
          const info = tf.engine().makeTensorFromTensorInfo(transposeJs(backend, tf.backend(), x, perm));
          const got = { shape: info.shape, values: await info.data() };
          tf.dispose([x, info]);
          await initBackend('cpu');
          const ref = tf.transpose(tf.tensor4d(values, shape), [...perm]);
          const want = { shape: ref.shape, values: await ref.data() };
          tf.dispose(ref);
          await initBackend(backend);
          assert.deepEqual(got.shape, want.shape, `${backend} [${shape}] perm [${perm}]`);
          assert.ok(
            got.values.every((v, i) => Object.is(v, want.values[i])),
            `${backend} [${shape}] perm [${perm}]: values differ [seed ${seed}]`,
          );
        }
      }
    }
  });

  it('wasm Identity shares the buffer and counts the reference: a clone outlives its source and frees with it', async () => {
    await initBackend('wasm');
    const before = tf.memory();
    const x = tf.tensor1d([1, -2, 3.5]);
    const y = tf.clone(x);
    assert.equal(tf.memory().numDataBuffers, before.numDataBuffers + 1, 'the clone shares the buffer');
    x.dispose();
    assert.deepEqual(Array.from(await y.data()), [1, -2, 3.5], 'the clone still reads its values');
    y.dispose();
    assert.equal(tf.memory().numDataBuffers, before.numDataBuffers, 'the buffer is released with the last reference');
    assert.equal(tf.memory().numBytes, before.numBytes);
    // A gradient through the tape (which clones saved tensors) still matches cpu.
    const grad = async () => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.clone(v), tf.clone(v))))(tf.tensor1d([0.5, -1.5, 2]));
      const out = Array.from(await g.data());
      g.dispose();
      return out;
    };
    const wasm = await grad();
    await initBackend('cpu');
    assert.deepEqual(wasm, await grad());
  });
});
