/**
 * The WebGPU path's host cost: for one steady-state training step of ResNet-20 (float, U3, P3 on weights and
 * activations) the kernels tfjs runs, the programs dispatched, GPU buffers created, submits, writeBuffer calls and
 * bytes uploaded, and the step's wall and host-CPU milliseconds; beside it, the per-op cost of a chain of `tf.add(x, 1)`
 * and of raw Dawn dispatches of the same add on the same device, in the same run. The counts do not depend on the
 * adapter (lavapipe counts what a GPU would); the times do.
 */
import * as tf from '@tensorflow/tfjs';
import { setWebGpuHostPatches } from '../backend/webgpu_host';
import { countWebGpuWork, webgpuInternals, type GPUDeviceLike, type WebGpuCounts } from '../backend/webgpu_counters';
import { QUANTIZATIONS, resnet20Step } from './train';
import { formatTable } from '../util/table';
import { useProgress, type BenchSuite } from './suite';
import { median, timeIt } from './harness';
import { useFastKernels } from '../backend/kernels';

/**
 * `mixprec`: with the host patches (src/backend/webgpu_host.ts) and mixprec's fused kernels; `tfjs`: tfjs-backend-webgpu
 * as published, running the composed ops.
 */
export type WebGpuPath = 'mixprec' | 'tfjs';

export interface WebGpuStepRow extends WebGpuCounts {
  kind: 'step';
  path: WebGpuPath;
  quantization: (typeof QUANTIZATIONS)[number];
  batch: number;
  /** Kernels tfjs ran (tf.profile), CPU-forwarded and shape-only ones included. */
  kernels: number;
  wallMs: number;
  /** CPU time of the process during the step (on a software adapter this includes the "GPU"). */
  cpuMs: number;
}

export interface WebGpuAddRow {
  kind: 'add-chain';
  path: WebGpuPath;
  elements: number;
  ops: number;
  /**
   * Per op, µs (medians of interleaved rounds): tfjs `tf.add(x, 1)` chained, and raw Dawn dispatches of the same add
   * in one compute pass per submit of `submitEvery`.
   */
  tfjsUsPerOp: number;
  /** The part of it spent recording (before the final read waits for the GPU). */
  tfjsHostUsPerOp: number;
  rawUsPerDispatch: number;
  submitEvery: number;
  ratio: number;
}

export interface WebGpuFilterGradRow {
  kind: 'filter-grad';
  path: WebGpuPath;
  /** x [n, 32, 32, 16], filter 3×3×16×16, stride 1, same padding: a ResNet-20 stage-1 layer. */
  batch: number;
  medianMs: number;
  gflops: number;
}

export type WebGpuBenchRow = WebGpuStepRow | WebGpuAddRow | WebGpuFilterGradRow;

/** The filter gradient of a ResNet-20 stage-1 convolution: tfjs's kernel (`tfjs`) or mixprec's split reduction. */
async function filterGradRow(path: WebGpuPath, batch: number): Promise<WebGpuFilterGradRow> {
  useFastKernels(path === 'mixprec');
  const x = tf.randomNormal([batch, 32, 32, 16], 0, 1, 'float32', 7);
  const dy = tf.randomNormal([batch, 32, 32, 16], 0, 1, 'float32', 8);
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 16] } as unknown as tf.NamedAttrMap;
  try {
    const timing = await timeIt(
      async () => {
        const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
        await g.data();
        g.dispose();
      },
      { warmup: 1, minIterations: 3, maxIterations: 20, budgetMs: 3000 },
    );
    const flops = 2 * batch * 32 * 32 * 3 * 3 * 16 * 16;
    return { kind: 'filter-grad', path, batch, medianMs: timing.medianMs, gflops: flops / (timing.medianMs * 1e6) };
  } finally {
    tf.dispose([x, dy]);
    useFastKernels(true);
  }
}

/** Steps run before the counted one. */
const WARM_STEPS = 10;

async function stepRow(path: WebGpuPath, quantization: WebGpuStepRow['quantization'], batch: number): Promise<WebGpuStepRow> {
  // `tfjs` is the path before mixprec: composed ops (no fused kernels) on the published backend.
  useFastKernels(path === 'mixprec');
  const fixture = resnet20Step(quantization, batch);
  try {
    // Steps that compile every pipeline, fill the buffer pools and let the pool's buffer assignment settle (which
    // the bind-group cache needs); the step after is the steady state counted.
    for (let i = 0; i < WARM_STEPS; i++) await fixture.step();
    // tf.profile times every kernel (the backend then submits each program alone), so it counts the kernels in a
    // step of its own, and the GPU work is counted in the next one, unprofiled.
    const profile = await tf.profile(fixture.step);
    const kernels = profile.kernels.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { counts } = await countWebGpuWork(fixture.step);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { kind: 'step', path, quantization, batch, kernels, ...counts, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    fixture.dispose();
    useFastKernels(true);
  }
}

const RAW_ADD = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&a)) { b[g.x] = a[g.x] + 1.0; }
}`;

/**
 * Raw Dawn: `n` dispatches of an add on `elements` floats, ping-ponging two buffers with bind groups made once, in
 * one compute pass per submit of `submitEvery` dispatches (how tfjs records them); µs per dispatch, GPU work done.
 */
function rawDawnAdd(device: GPUDeviceLike, elements: number, submitEvery: number): { run(n: number): Promise<number>; dispose(): void } {
  const STORAGE = 0x80;
  const COPY_DST = 0x8;
  const buffers = [0, 1].map(() => device.createBuffer({ size: elements * 4, usage: STORAGE | COPY_DST }));
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: RAW_ADD }), entryPoint: 'main' },
  });
  const groups = [0, 1].map((i) =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: buffers[i] } },
        { binding: 1, resource: { buffer: buffers[1 - i] } },
      ],
    }),
  );
  return {
    async run(n) {
      const t0 = performance.now();
      let encoder = device.createCommandEncoder();
      let pass = encoder.beginComputePass();
      for (let i = 0; i < n; i++) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, groups[i % 2]);
        pass.dispatchWorkgroups(Math.ceil(elements / 64));
        if ((i + 1) % submitEvery === 0 || i === n - 1) {
          pass.end();
          device.queue.submit([encoder.finish()]);
          encoder = device.createCommandEncoder();
          pass = encoder.beginComputePass();
        }
      }
      pass.end();
      await device.queue.onSubmittedWorkDone();
      return ((performance.now() - t0) * 1000) / n;
    },
    dispose() {
      for (const b of buffers) b.destroy();
    },
  };
}

/** tfjs: `n` chained `tf.add(x, 1)` on `elements` floats, the result read; µs per op, in all and on the host alone. */
async function tfjsAddChain(elements: number, n: number): Promise<{ us: number; hostUs: number }> {
  const t0 = performance.now();
  let x = tf.zeros([elements]);
  for (let i = 0; i < n; i++) {
    const next = tf.add(x, 1);
    x.dispose();
    x = next;
  }
  const recorded = performance.now();
  await x.data();
  x.dispose();
  return { us: ((performance.now() - t0) * 1000) / n, hostUs: ((recorded - t0) * 1000) / n };
}

/** Interleaved rounds of each; the medians are compared (the machines are shared and noisy). */
const ADD_ROUNDS = 7;

async function addRow(path: WebGpuPath, elements: number, ops: number): Promise<WebGpuAddRow> {
  const device = webgpuInternals().device;
  const submitEvery = tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
  const raw = rawDawnAdd(device, elements, submitEvery);
  try {
    // Warm: the JIT compiles tfjs's and mixprec's host paths (the first thousand ops cost several times the later
    // ones), pipelines and the bind-group cache fill.
    await tfjsAddChain(elements, 3 * ops);
    await raw.run(ops);
    const tfjsRounds: { us: number; hostUs: number }[] = [];
    const rawRounds: number[] = [];
    for (let r = 0; r < ADD_ROUNDS; r++) {
      tfjsRounds.push(await tfjsAddChain(elements, ops));
      rawRounds.push(await raw.run(ops));
    }
    const tfjsUsPerOp = median(tfjsRounds.map((r) => r.us));
    const tfjsHostUsPerOp = median(tfjsRounds.map((r) => r.hostUs));
    const rawUsPerDispatch = median(rawRounds);
    return {
      kind: 'add-chain',
      path,
      elements,
      ops,
      tfjsUsPerOp,
      tfjsHostUsPerOp,
      rawUsPerDispatch,
      submitEvery,
      ratio: tfjsUsPerOp / rawUsPerDispatch,
    };
  } finally {
    raw.dispose();
  }
}

export const webgpuSuite: BenchSuite<WebGpuBenchRow> = {
  name: 'webgpu',
  description:
    'WebGPU host cost: kernels, dispatches, GPU buffers created, submits, writeBuffer bytes and uploads of one steady-state ResNet-20 training step (float, U3, P3), and a tf.add chain beside raw Dawn dispatches, in the same run',
  async run(ctx) {
    // Without a WebGPU backend there is nothing to count (`mixprec bench` runs every suite on the backends present).
    if (!ctx.backends.some((b) => b.name === 'webgpu')) return [];
    await ctx.switchTo('webgpu');
    const batches = ctx.options.batches ?? (ctx.quick ? [2] : [8]);
    const ops = ctx.quick ? 100 : 1000;
    const paths: WebGpuPath[] = ['tfjs', 'mixprec'];
    const progress = useProgress(ctx, 'webgpu', paths.length * (batches.length * QUANTIZATIONS.length + 2));
    let done = 0;
    const rows: WebGpuBenchRow[] = [];
    try {
      for (const path of paths) {
        setWebGpuHostPatches(path === 'mixprec');
        progress.update(done++, `${path}: add chain`);
        rows.push(await addRow(path, 1024, ops));
        progress.update(done++, `${path}: filter gradient`);
        rows.push(await filterGradRow(path, ctx.quick ? 8 : 128));
        for (const batch of batches) {
          for (const q of QUANTIZATIONS) {
            progress.update(done++, `${path}: ResNet-20 ${q} batch ${batch}`);
            rows.push(await stepRow(path, q, batch));
          }
        }
      }
    } finally {
      setWebGpuHostPatches(true);
    }
    progress.finish();
    return rows;
  },
  table(rows) {
    if (rows.length === 0) {
      return 'webgpu suite: no WebGPU backend was benchmarked (--backend webgpu; MIXPREC_WEBGPU_ALLOW_SOFTWARE=1 for lavapipe)';
    }
    const steps = rows.filter((r): r is WebGpuStepRow => r.kind === 'step');
    const adds = rows.filter((r): r is WebGpuAddRow => r.kind === 'add-chain');
    const stepTable = formatTable(
      [
        'ResNet-20 step',
        'kernels',
        'dispatches',
        'buffers created',
        'bind groups created',
        'submits',
        'writeBuffer',
        'CPU→GPU tensors',
        'their bytes',
        'wall ms',
        'CPU ms',
      ],
      steps.map((r) => [
        `${r.path}: ${r.quantization} b${r.batch}`,
        String(r.kernels),
        String(r.dispatches),
        String(r.buffersCreated),
        String(r.bindGroupsCreated),
        String(r.submits),
        `${r.writeBuffers} (${(r.writeBufferBytes / 1024).toFixed(1)} KB)`,
        String(r.uploads),
        `${(r.uploadBytes / 1024).toFixed(1)} KB`,
        r.wallMs.toFixed(0),
        r.cpuMs.toFixed(0),
      ]),
    );
    const addTable = formatTable(
      ['add chain (medians of 7 interleaved rounds)', 'tfjs µs/op', 'of it recording', 'raw Dawn µs/dispatch', 'tfjs / raw'],
      adds.map((r) => [
        `${r.path}: ${r.ops} × ${r.elements} floats, submit every ${r.submitEvery}`,
        r.tfjsUsPerOp.toFixed(1),
        r.tfjsHostUsPerOp.toFixed(1),
        r.rawUsPerDispatch.toFixed(1),
        `${r.ratio.toFixed(2)}×`,
      ]),
    );
    const grads = rows.filter((r): r is WebGpuFilterGradRow => r.kind === 'filter-grad');
    const gradTable = formatTable(
      ['Conv2DBackpropFilter, x [n,32,32,16], 3×3×16×16', 'ms', 'GFLOP/s'],
      grads.map((r) => [`${r.path}: n = ${r.batch}`, r.medianMs.toFixed(2), r.gflops.toFixed(2)]),
    );
    return `${stepTable}\n\n${addTable}\n\n${gradTable}`;
  },
};
