/**
 * Training throughput: images/s of one full training step (forward, backward, weight decay, nnabla momentum update,
 * projection) of ResNet-20 on CIFAR-shaped data, float vs U3 vs P3 (weights and activations), per batch size and
 * backend.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels } from '../backend';
import { PACKAGE_ROOT } from '../util/package';
import { createModel } from '../nn';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../train/config';
import { createSolver } from '../train/optimizer';
import { createTrainingStep } from '../train/step';
import { formatTable } from '../util/table';
import { median, timeIt } from './harness';
import { TorchReference, torchDevices, type TorchDevice, type TorchRound } from './torch_reference';
import { useProgress, type BenchSuite } from './suite';

export const QUANTIZATIONS = ['float', 'U3', 'P3'] as const;

export interface TrainBenchRow {
  /** tfjs backend, or `pytorch-cpu` / `pytorch-cuda` for the reference. */
  backend: string;
  /**
   * `mixprec`: this version's kernels; `before`: the backend's own kernels and composed quantizer ops
   * (useFastKernels(false)); `reference`: PyTorch.
   */
  path: 'mixprec' | 'before' | 'reference';
  model: string;
  quantization: (typeof QUANTIZATIONS)[number];
  batch: number;
  medianMs: number;
  imagesPerSecond: number;
  /** PyTorch rows: its intra-op threads (set to every CPU, as mixprec's wasm uses) and device name. */
  threads?: number;
  device?: string;
  /**
   * Set on a mixprec row timed in alternating rounds with PyTorch: each round's images/s ratio (mixprec / PyTorch), so
   * the spread of the comparison is on record and not only its median.
   */
  interleaved?: { with: string; rounds: number; roundRatios: number[] };
}

/** PyTorch's rows for one device, each configuration timed alone (used for CUDA, which shares nothing with the tfjs backends). */
async function torchRows(device: TorchDevice, batches: number[], budgetMs: number): Promise<TrainBenchRow[]> {
  const torch = new TorchReference(device);
  const rows: TrainBenchRow[] = [];
  try {
    for (const batch of batches) {
      for (const quantization of ['float', 'U3'] as const) {
        await torch.round(quantization, batch, 1);
        const samples: number[] = [];
        const start = performance.now();
        let about: TorchRound | undefined;
        while (samples.length < 3 || (samples.length < 200 && performance.now() - start < budgetMs)) {
          about = await torch.round(quantization, batch, 1);
          samples.push(...about.samplesMs);
        }
        rows.push(torchRow(device, quantization, batch, samples, about!));
      }
    }
  } finally {
    await torch.close();
  }
  return rows;
}

function torchRow(device: TorchDevice, quantization: 'float' | 'U3', batch: number, samplesMs: number[], about: TorchRound): TrainBenchRow {
  const medianMs = median(samplesMs);
  return {
    backend: `pytorch-${device}`,
    path: 'reference',
    model: 'resnet20',
    quantization,
    batch,
    medianMs,
    imagesPerSecond: batch / (medianMs / 1000),
    threads: about.threads,
    device: about.device,
  };
}

/** Rounds of the interleaved comparison, and the time each side's round aims at. */
const ROUNDS = 5;
const ROUND_MS = 2500;

/**
 * mixprec's step and PyTorch's (same model, batch and quantization) timed in alternating rounds, so that both see the
 * same machine: a ratio of two medians taken minutes apart on a shared VM measures the VM as much as the code.
 */
async function measureInterleaved(name: string, quantization: 'float' | 'U3', batch: number, torch: TorchReference): Promise<TrainBenchRow[]> {
  const fixture = resnet20Step(quantization, batch);
  try {
    await fixture.step(); // warm-up (kernels compiled, buffers sized)
    const t0 = performance.now();
    await fixture.step();
    const ownSteps = Math.max(1, Math.min(20, Math.round(ROUND_MS / (performance.now() - t0))));
    const probe = await torch.round(quantization, batch, 1); // builds and warms PyTorch's model too
    const torchSteps = Math.max(1, Math.min(20, Math.round(ROUND_MS / probe.samplesMs[0]!)));
    const own: number[] = [];
    const theirs: number[] = [];
    const roundRatios: number[] = [];
    let about = probe;
    for (let r = 0; r < ROUNDS; r++) {
      const mine = (await timeIt(fixture.step, { warmup: 0, minIterations: ownSteps, maxIterations: ownSteps, budgetMs: 0 })).samplesMs;
      about = await torch.round(quantization, batch, torchSteps);
      own.push(...mine);
      theirs.push(...about.samplesMs);
      // images/s ratio of this round: PyTorch's median time over mixprec's
      roundRatios.push(median(about.samplesMs) / median(mine));
    }
    const medianMs = median(own);
    return [
      {
        backend: name,
        path: 'mixprec',
        model: 'resnet20',
        quantization,
        batch,
        medianMs,
        imagesPerSecond: batch / (medianMs / 1000),
        interleaved: { with: `pytorch-${torch.device}`, rounds: ROUNDS, roundRatios },
      },
      torchRow(torch.device, quantization, batch, theirs, about),
    ];
  } finally {
    fixture.dispose();
  }
}

/**
 * The path before mixprec's speed work, on wasm: one thread, the backend's own kernels, composed quantizers and
 * autodiff batch norm. It runs in a child process (threads are fixed when the wasm backend starts), in the same run.
 */
const BEFORE_ENV = 'MIXPREC_BENCH_TRAIN_PATH';

function beforeRows(batches: number[], quick: boolean): TrainBenchRow[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-bench-')), 'before.json');
  const args = [
    path.join(PACKAGE_ROOT, 'bin', 'mixprec.js'),
    'bench',
    '--suite',
    'train',
    '--backend',
    'wasm',
    '--batch',
    batches.join(','),
    '--out',
    out,
    ...(quick ? ['--quick'] : []),
  ];
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, [BEFORE_ENV]: 'before', MIXPREC_WASM_THREADS: '1' },
    timeout: 3_600_000,
  });
  if (r.status !== 0) throw new Error(`the old-path benchmark (child process) failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const record = JSON.parse(fs.readFileSync(out, 'utf8')) as { suites: { train: TrainBenchRow[] } };
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return record.suites.train;
}

/** A ResNet-20 training step on one fixed CIFAR-shaped batch (4-bit `quantization` on weights and activations). */
export interface ResNetStepFixture {
  step(): Promise<void>;
  dispose(): void;
}

/** The ResNet-20 step the benchmark suites measure: momentum at lr 0.01, random inputs and labels of a fixed seed. */
export function resnet20Step(quantization: (typeof QUANTIZATIONS)[number], batch: number): ResNetStepFixture {
  const config = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { quant: { weights: quantization, activations: quantization }, learningRate: 0.01 });
  const model = createModel('resnet20', {
    inputShape: [32, 32, 3],
    numClasses: 10,
    quantization: { weights: quantization, activations: quantization, weightBits: 4, activationBits: 4 },
  });
  const solver = createSolver('momentum', 0.01);
  const stepper = createTrainingStep(model, config, solver);
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const y = tf.randomUniformInt([batch], 0, 10, 4) as tf.Tensor1D;
  return {
    step: async () => {
      await stepper.step(x, y);
    },
    dispose() {
      tf.dispose([x, y]);
      solver.dispose();
      model.dispose();
    },
  };
}

async function measureStep(
  name: string,
  which: TrainBenchRow['path'],
  quantization: TrainBenchRow['quantization'],
  batch: number,
  quick: boolean,
): Promise<TrainBenchRow> {
  const fixture = resnet20Step(quantization, batch);
  const timing = await timeIt(fixture.step, { warmup: 1, minIterations: quick ? 1 : 2, maxIterations: 20, budgetMs: quick ? 0 : 20_000 });
  fixture.dispose();
  return {
    backend: name,
    path: which,
    model: 'resnet20',
    quantization,
    batch,
    medianMs: timing.medianMs,
    imagesPerSecond: batch / (timing.medianMs / 1000),
  };
}

/** ", interleaved, 5 rounds 0.91–1.10×" for a row timed in alternating rounds. */
function spread(r: TrainBenchRow): string {
  if (!r.interleaved) return ', timed separately';
  const ratios = r.interleaved.roundRatios;
  return `, ${r.interleaved.rounds} alternating rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`;
}

export const trainSuite: BenchSuite<TrainBenchRow> = {
  name: 'train',
  description:
    "ResNet-20 training step (forward, backward, update, projection), images/s, float vs U3 vs P3, batch 32 and 128; the path before mixprec's kernels (wasm, one thread, child process) and PyTorch (when installed) in the same run, on the CPU in rounds alternating with mixprec's",
  async run(ctx) {
    const batches = ctx.options.batches ?? (ctx.quick ? [4] : [32, 128]);
    const rows: TrainBenchRow[] = [];
    if (process.env[BEFORE_ENV] === 'before') {
      // The child of beforeRows: only the old path.
      await ctx.switchTo('wasm');
      useFastKernels(false);
      try {
        for (const batch of batches) for (const q of QUANTIZATIONS) rows.push(await measureStep('wasm', 'before', q, batch, ctx.quick));
      } finally {
        useFastKernels(true);
      }
      return rows;
    }
    const devices = ctx.quick ? [] : torchDevices();
    const hasWasm = ctx.backends.some((b) => b.name === 'wasm');
    // PyTorch on the CPU is timed interleaved with one backend: wasm (the CPU path) when it is benchmarked, else the first.
    const interleaveWith = devices.includes('cpu') ? (ctx.backends.find((b) => b.name === 'wasm') ?? ctx.backends[0])?.name : undefined;
    const alone = devices.filter((d) => d !== 'cpu' || interleaveWith === undefined);
    const progress = useProgress(ctx, 'train', ctx.backends.length * batches.length * QUANTIZATIONS.length + (hasWasm ? 1 : 0) + alone.length);
    let done = 0;
    const torch = interleaveWith !== undefined ? new TorchReference('cpu') : undefined;
    try {
      for (const { name } of ctx.backends) {
        await ctx.switchTo(name);
        for (const batch of batches) {
          for (const quantization of QUANTIZATIONS) {
            if (torch && name === interleaveWith && quantization !== 'P3') {
              progress.update(done++, `${name} batch ${batch} ${quantization}, rounds alternating with PyTorch cpu`);
              rows.push(...(await measureInterleaved(name, quantization, batch, torch)));
            } else {
              progress.update(done++, `${name} batch ${batch} ${quantization}`);
              rows.push(await measureStep(name, 'mixprec', quantization, batch, ctx.quick));
            }
          }
        }
      }
    } finally {
      await torch?.close();
    }
    if (hasWasm) {
      progress.update(done++, 'wasm, the path before (child process)');
      rows.push(...beforeRows(batches, ctx.quick));
    }
    for (const device of alone) {
      progress.update(done++, `PyTorch ${device}`);
      rows.push(...(await torchRows(device, batches, 20_000)));
    }
    progress.finish();
    return rows;
  },
  table(rows) {
    const label = (r: TrainBenchRow) => `${r.backend}${r.path === 'before' ? ' (before)' : ''} b${r.batch}`;
    const columns = [...new Set(rows.map(label))];
    const body = QUANTIZATIONS.filter((q) => rows.some((r) => r.quantization === q)).map((q) => [
      q,
      ...columns.map((col) => {
        const r = rows.find((x) => label(x) === col && x.quantization === q);
        return r ? `${r.imagesPerSecond.toFixed(1)} img/s` : '–';
      }),
    ]);
    const ratios = rows
      .filter((r) => r.path === 'mixprec')
      .flatMap((r) => {
        const before = rows.find((b) => b.path === 'before' && b.backend === r.backend && b.batch === r.batch && b.quantization === r.quantization);
        const torch = rows.find(
          (b) =>
            b.path === 'reference' &&
            b.backend === 'pytorch-cpu' &&
            b.batch === r.batch &&
            b.quantization === (r.quantization === 'P3' ? 'U3' : r.quantization),
        );
        const parts = [
          before ? `${(r.imagesPerSecond / before.imagesPerSecond).toFixed(2)}× the path before` : '',
          torch && r.quantization !== 'P3'
            ? `${(r.imagesPerSecond / torch.imagesPerSecond).toFixed(2)}× PyTorch cpu (${torch.threads ?? '?'} threads${spread(r)})`
            : '',
        ].filter(Boolean);
        return parts.length ? [`${r.backend} ${r.quantization} b${r.batch}: ${parts.join(', ')}`] : [];
      });
    return (
      'ResNet-20 training step (CIFAR shape), images/s\n' +
      formatTable(['quantization', ...columns], body) +
      (ratios.length ? `\n${ratios.join('\n')}` : '')
    );
  },
};
