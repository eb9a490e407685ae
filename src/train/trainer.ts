/**
 * The training loop of the official code (train_resnet.py, docs/METHOD.md#training-loop), per iteration:
 *   forward → loss (CE + memory penalties) → backward → weight decay on every parameter → [clip the gradients of
 *   (d, xmax) / (xmin, xmax) to ±d / ±xmin when a memory target is set] → solver update → projection of the
 *   quantizer parameters;
 * per epoch: learning-rate schedule, test-set evaluation, the best model kept when the memory constraints hold,
 * metrics appended to a JSON-lines log, a checkpoint for resuming. Progress is reported through events so that a
 * terminal bar and a notebook widget draw from the same stream.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { currentBackend } from '../backend';
import {
  checkModelFitsData,
  checkModelInput,
  createModel,
  memoryReport,
  ModelInputError,
  reinitializeWeightQuantizers,
  type MemoryReport,
  type ModelName,
  type QuantModel,
  type QuantizerSlot,
} from '../nn';
import { ensureDir, removeStaleTemporaries, writeFileAtomic } from '../util/files';
import { ambientSignal } from '../util/interrupt';
import { loadModelVariables, readCheckpoint, saveCheckpoint, type EpochSums, type LoadedCheckpoint } from './checkpoint';
import { validateTrainConfig, type TrainConfig } from './config';
import { crossEntropy, hasTarget } from './loss';
import { createSolver, type Solver } from './optimizer';
import { createTrainingStep, readScalars, trainableParams } from './step';
import { learningRateAt } from './schedule';

import type { Batch, BatchSource } from '../data';

export type { Batch, BatchSource };

export interface LayerBits {
  layer: string;
  role: QuantizerSlot['role'];
  bits: number;
}

export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  learningRate: number;
  loss: number;
  crossEntropy: number;
  weightPenalty: number;
  activationPenalty: number;
  trainError: number;
  testError: number;
  testLoss: number;
  bestTestError: number | null;
  weightKB: number;
  activationMaxKB: number;
  activationSumKB: number;
  /** Whether the memory targets (if any) are met. */
  constraintsMet: boolean;
  bitwidths: LayerBits[];
  steps: number;
  seconds: number;
  imagesPerSecond: number;
}

export type TrainEvent =
  | {
      type: 'start';
      config: TrainConfig;
      model: string;
      parameters: number;
      backend: string;
      startEpoch: number;
      stepsPerEpoch: number;
      /** Steps of epoch startEpoch + 1 already done (a resume from a checkpoint saved within that epoch); absent or 0 otherwise. */
      startStep?: number;
      /** The settings that changed on resume (recorded in config.json); empty for a fresh run. */
      changes: ConfigChange[];
    }
  | {
      type: 'step';
      epoch: number;
      step: number;
      stepsPerEpoch: number;
      loss: number;
      error: number;
      learningRate: number;
      imagesPerSecond: number;
      /** Mean bitwidth of the weight and of the activation quantizers (null: not quantized), refreshed every 20 steps. */
      meanBits: { weights: number | null; activations: number | null };
    }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'end'; result: TrainSummary };

export interface TrainSummary {
  epochsCompleted: number;
  bestTestError: number | null;
  finalTestError: number | null;
  interrupted: boolean;
  /**
   * Where an interrupted run stopped: in `epoch` (1-based) after `step` of its `stepsPerEpoch` steps, and the
   * checkpoint that resumes from there (null: no output folder, or stopped before the first step, with nothing to save).
   */
  interruptedAt?: { epoch: number; step: number; stepsPerEpoch: number; checkpoint: string | null };
  memory: MemoryReport;
  outDir: string | null;
}

export interface TrainResult extends TrainSummary {
  model: QuantModel;
  history: EpochMetrics[];
}

export interface TrainOptions {
  config: TrainConfig;
  train: BatchSource;
  test: BatchSource;
  /** Output folder for config.json, metrics.jsonl, checkpoint.safetensors and best.safetensors; null writes nothing. */
  outDir: string | null;
  /**
   * Continue from outDir/checkpoint.safetensors. Only the settings in {@link RESUMABLE_FIELDS} may differ from the
   * run's (any other difference is refused, naming each field); every resume is recorded in config.json's `resumes`.
   */
  resume?: boolean;
  /**
   * Start afresh in an outDir that holds an earlier run: its files ({@link RUN_FILES}, a study's summary.json) are
   * removed first. Without resume or overwrite, an outDir holding any of {@link RUN_FILES} is refused.
   */
  overwrite?: boolean;
  /** A checkpoint to initialise weights from (resolved by the caller from config.initFrom). */
  initCheckpoint?: string | null;
  /** Train this model instead of building one from the config (notebooks). */
  model?: QuantModel;
  /**
   * Stops at the next step boundary; the model stays usable and the result says `interrupted` and `interruptedAt`. A
   * run with an output folder saves checkpoint.safetensors there first, so that `resume` continues within the epoch
   * (the partial epoch is not logged to metrics.jsonl). Default: the ambient signal a host such as the kernel sets.
   */
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** Pause and the learning rate, at step boundaries (the notebook's training dashboard). */
  control?: TrainingControl;
  /** Limits for smoke runs and tests. */
  maxStepsPerEpoch?: number;
  maxEvalBatches?: number;
}

/** What a host (the training dashboard) may change while a run goes on; both act at the next step boundary. */
export interface TrainingControl {
  /** Awaited before every step: a paused run waits here. It must also resolve when the run's signal aborts. */
  beforeStep?(): Promise<void> | void;
  /** The learning rate of the next step, given the schedule's. */
  learningRate?(scheduled: number): number;
}

/** The loss became NaN or infinite; the message names the step and the tensors where non-finite values appeared. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

async function quantizerBits(model: QuantModel): Promise<LayerBits[]> {
  const out: LayerBits[] = [];
  for (const slot of model.quantizers) {
    const b = slot.quantizer.bitwidth();
    out.push({ layer: slot.layer, role: slot.role, bits: (await b.data())[0]! });
    b.dispose();
  }
  return out;
}

function summarizeBits(bits: readonly LayerBits[]): { weights: number | null; activations: number | null } {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    weights: mean(bits.filter((b) => b.role !== 'activation').map((b) => b.bits)),
    activations: mean(bits.filter((b) => b.role === 'activation').map((b) => b.bits)),
  };
}

/** Test-set error and cross-entropy with BN in inference mode. */
export async function evaluate(
  model: QuantModel,
  source: BatchSource,
  batchSize: number,
  maxBatches = Infinity,
): Promise<{ error: number; loss: number; examples: number }> {
  const [H, W, C] = source.shape;
  let wrong = 0;
  let lossSum = 0;
  let examples = 0;
  let batches = 0;
  for await (const batch of source.batches(0, { batchSize, shuffle: false, augment: false, dropLast: false })) {
    if (batches++ >= maxBatches) break;
    const [w, l] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.size, H, W, C]);
      const y = tf.tensor1d(batch.y, 'int32');
      const logits = model.forward(x, false);
      const miss = tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), y), 'float32'));
      return [miss, tf.mul(crossEntropy(logits, y), batch.size)];
    });
    const [missed, loss] = await readScalars(w, l);
    tf.dispose([w, l]);
    wrong += missed!;
    lossSum += loss!;
    examples += batch.size;
  }
  return { error: examples ? wrong / examples : NaN, loss: examples ? lossSum / examples : NaN, examples };
}

function constraintsMet(config: TrainConfig, memory: { weightKB: number; activationKB: number }): boolean {
  const t = config.targets;
  return (!hasTarget(t.weightKB) || memory.weightKB <= t.weightKB) && (!hasTarget(t.activationKB) || memory.activationKB <= t.activationKB);
}

function readHistory(file: string, upToEpoch: number): EpochMetrics[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  // Every epoch appends a whole line ending in a newline, so text after the last newline is a line cut short by a
  // crash while appending; its epoch was not checkpointed (the checkpoint is written after it) and is run again.
  lines.pop();
  const history = lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as EpochMetrics];
    } catch (err) {
      throw new Error(`${file}: line ${i + 1} is not JSON (${(err as Error).message})`);
    }
  });
  return history.filter((m) => m.epoch <= upToEpoch);
}

/** The files a run writes into its output folder. */
export const RUN_FILES = ['config.json', 'metrics.jsonl', 'checkpoint.safetensors', 'best.safetensors'] as const;

/** Which of {@link RUN_FILES} `dir` holds (none when it does not exist). */
export function existingRunFiles(dir: string): string[] {
  return RUN_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
}

/** An output folder that holds another run, with neither resume nor overwrite asked for (or both). */
export class RunFolderError extends Error {
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunFolderError';
  }
}

/** Removes what a run (and a study, summary.json) writes into `dir`, temporary files of interrupted writes included. */
function removeRunFiles(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const names: readonly string[] = [...RUN_FILES, 'summary.json'];
  for (const entry of fs.readdirSync(dir)) {
    if (names.some((n) => entry === n || entry.startsWith(`${n}.tmp-`))) fs.rmSync(path.join(dir, entry), { force: true });
  }
}

/**
 * Settings that may change when a run is resumed: its length (to extend it; the schedule's milestones, fractions of
 * the run, move with it), the learning rate (fine-tuning), the evaluation batch size and the name. Any other change
 * would mix two different runs in one folder.
 */
export const RESUMABLE_FIELDS: readonly (keyof TrainConfig)[] = ['epochs', 'learningRate', 'evalBatchSize', 'name'];

/** A setting that differs between two configs: its dotted path and both values (undefined: absent). */
export interface ConfigChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** What config.json's `resumes` lists: one entry per resume. */
export interface ResumeRecord {
  date: string;
  /** The epochs completed before this resume. */
  fromEpoch: number;
  /** Steps of epoch fromEpoch + 1 done before this resume (present only when it resumed within that epoch). */
  fromStep?: number;
  changes: ConfigChange[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every leaf setting that differs between `from` and `to` (objects compared field by field, arrays whole). */
export function configChanges(from: unknown, to: unknown, field = ''): ConfigChange[] {
  if (isRecord(from) && isRecord(to)) {
    return [...new Set([...Object.keys(from), ...Object.keys(to)])].flatMap((k) => configChanges(from[k], to[k], field ? `${field}.${k}` : k));
  }
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ field, from, to }];
}

const shown = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
/** `batchSize 32 → 16`. */
export const formatChange = (c: ConfigChange) => `${c.field} ${shown(c.from)} → ${shown(c.to)}`;

export function modelForConfig(config: TrainConfig, shape: readonly [number, number, number], numClasses: number): QuantModel {
  return createModel(config.model as ModelName, {
    inputShape: shape,
    numClasses,
    quantization: {
      weights: config.quant.weights,
      activations: config.quant.activations,
      weightBits: config.quant.weightBits,
      activationBits: config.quant.activationBits,
      weight: config.quant.weight,
      activation: config.quant.activation,
    },
    scaleLayer: config.scaleLayer,
    seed: config.seed,
  });
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, outDir } = options;
  const emit = options.onEvent ?? (() => undefined);
  // A host (the Jupyter kernel) may provide the interrupt signal without the caller passing it.
  const signal = options.signal ?? ambientSignal();
  validateTrainConfig(config, 'config');
  // Before the run folder changes: too small an image would otherwise hang wasm (an out-of-bounds MaxPool) or give NaN.
  const { train: trainData, test: testData } = options;
  if (options.model) {
    checkModelFitsData(options.model, trainData.shape, trainData.numClasses, 'the training data');
  } else {
    checkModelInput(config.model, trainData.shape, trainData.numClasses);
  }
  if (trainData.shape.join('×') !== testData.shape.join('×') || trainData.numClasses !== testData.numClasses) {
    throw new ModelInputError(
      `the test data (${testData.shape.join('×')} images, ${testData.numClasses} classes) does not match the training data ` +
        `(${trainData.shape.join('×')}, ${trainData.numClasses} classes)`,
    );
  }
  const files =
    outDir === null
      ? null
      : {
          config: path.join(outDir, 'config.json'),
          metrics: path.join(outDir, 'metrics.jsonl'),
          checkpoint: path.join(outDir, 'checkpoint.safetensors'),
          best: path.join(outDir, 'best.safetensors'),
        };
  // Everything that can refuse the folder is checked before anything in it changes.
  if (options.resume && options.overwrite) {
    throw new RunFolderError(
      outDir ?? '',
      'resume and overwrite exclude each other: --resume continues the run in the folder, --overwrite replaces it',
    );
  }
  const existing = outDir === null ? [] : existingRunFiles(outDir);
  if (!options.resume && !options.overwrite && existing.length > 0) {
    throw new RunFolderError(
      outDir!,
      `${outDir} already holds a training run (${existing.join(', ')}): continue it with --resume (resume: true), ` +
        `replace it with --overwrite (overwrite: true; its files are removed first), or write to another --out folder`,
    );
  }
  // A killed run may have left torn temporaries of its files; they go before anything is written (a live writer's stay).
  if (outDir !== null) for (const f of [...RUN_FILES, 'summary.json']) removeStaleTemporaries(path.join(outDir, f));
  let resumeFrom: (LoadedCheckpoint & { changes: ConfigChange[]; resumes: ResumeRecord[] }) | null = null;
  if (options.resume) {
    if (files === null || !fs.existsSync(files.checkpoint)) {
      const why =
        files === null
          ? 'no output folder'
          : `${files.checkpoint} does not exist` +
            (existing.length > 0 ? ` (the run in ${outDir} completed no epoch; start it again with --overwrite)` : '');
      throw new Error(`cannot resume: ${why}`);
    }
    const checkpoint = readCheckpoint(files.checkpoint);
    const changes = configChanges(checkpoint.meta.config, config);
    const refused = changes.filter((c) => !(RESUMABLE_FIELDS as readonly string[]).includes(c.field));
    if (refused.length > 0) {
      throw new Error(
        `cannot resume from ${files.checkpoint}: it was trained with different settings: ${refused.map(formatChange).join(', ')} ` +
          `(only ${RESUMABLE_FIELDS.join(', ')} may change on resume; to train with these settings, start afresh with --overwrite or another --out)`,
      );
    }
    let resumes: ResumeRecord[] = [];
    if (fs.existsSync(files.config)) {
      let saved: unknown;
      try {
        saved = JSON.parse(fs.readFileSync(files.config, 'utf8'));
      } catch (err) {
        throw new Error(`cannot resume: ${files.config} is not valid JSON (${(err as Error).message})`);
      }
      const earlier = isRecord(saved) ? saved.resumes : undefined;
      if (earlier !== undefined && !Array.isArray(earlier)) throw new Error(`cannot resume: ${files.config}: "resumes" is not a list`);
      resumes = (earlier ?? []) as ResumeRecord[];
    }
    resumeFrom = { ...checkpoint, changes, resumes };
  }
  const model = options.model ?? modelForConfig(config, trainData.shape, trainData.numClasses);
  const named = trainableParams(model);
  const solver: Solver = createSolver(config.optimizer, config.learningRate, config.momentum);
  let startEpoch = 0;
  // A checkpoint saved within an epoch: its steps done and running sums; that epoch goes on after them.
  let startStep = 0;
  let startSums: EpochSums | null = null;
  let globalStep = 0;
  let bestTestError: number | null = null;
  let history: EpochMetrics[] = [];
  // The checkpoint that holds the current state (an interrupt before any new step has nothing newer to save).
  let checkpointed: string | null = null;

  if (resumeFrom !== null && files !== null) {
    const { meta, tensors } = resumeFrom;
    loadModelVariables(files.checkpoint, model, tensors, () => true);
    solver.restore(
      tensors,
      named.map((p) => p.name),
    );
    startEpoch = meta.epoch;
    startStep = meta.epochStep;
    startSums = meta.epochSums;
    globalStep = meta.globalStep;
    bestTestError = meta.bestTestError;
    checkpointed = files.checkpoint;
    history = readHistory(files.metrics, startEpoch);
    writeFileAtomic(files.metrics, history.map((m) => `${JSON.stringify(m)}\n`).join(''));
    const record: ResumeRecord = {
      date: new Date().toISOString(),
      fromEpoch: startEpoch,
      ...(startStep > 0 ? { fromStep: startStep } : {}),
      changes: resumeFrom.changes,
    };
    writeFileAtomic(files.config, `${JSON.stringify({ ...config, resumes: [...resumeFrom.resumes, record] }, null, 2)}\n`);
  } else {
    if (options.initCheckpoint) {
      // Float pre-training → quantized fine-tuning: weights, biases and BN from the checkpoint; quantizer parameters
      // too if it has them (the FT runs), else initialised from the loaded weights as the code does.
      const { tensors } = readCheckpoint(options.initCheckpoint);
      const loaded = loadModelVariables(options.initCheckpoint, model, tensors, (_, kind) => kind === 'weight' || kind === 'bias');
      const fresh = model.quantizers.filter((s) =>
        Object.keys(s.quantizer.variables).some((p) => !loaded.has(`${s.quantizer.scope.split('/').slice(1).join('/')}/${p}`)),
      );
      await reinitializeWeightQuantizers(fresh, model.quantization);
    }
    if (files !== null) {
      if (options.overwrite) removeRunFiles(outDir!);
      ensureDir(outDir!);
      writeFileAtomic(files.config, `${JSON.stringify(config, null, 2)}\n`);
      writeFileAtomic(files.metrics, '');
    }
  }

  const [H, W, C] = options.train.shape;
  const perEpoch = Math.floor(options.train.numExamples / config.batchSize);
  const stepsPerEpoch = Math.min(perEpoch, options.maxStepsPerEpoch ?? Infinity);
  const stepper = createTrainingStep(model, config, solver);
  const augment = config.augment && C === 3; // the CIFAR augmentation flips and shifts; not for digits
  const backend = currentBackend()?.name ?? tf.getBackend();
  emit({
    type: 'start',
    config,
    model: model.name,
    parameters: named.reduce((n, p) => n + p.variable.size, 0),
    backend,
    startEpoch,
    startStep,
    stepsPerEpoch,
    changes: resumeFrom?.changes ?? [],
  });

  let interrupted = false;
  let interruptedAt: TrainSummary['interruptedAt'];
  let meanBits: { weights: number | null; activations: number | null } = { weights: null, activations: null };
  for (let epoch = startEpoch; epoch < config.epochs && !interrupted; epoch++) {
    const scheduled = learningRateAt(config.schedule, config.learningRate, epoch, config.epochs);
    solver.learningRate = scheduled;
    // Resuming within this epoch: its first `skip` batches (the same ones: an epoch's batches are a function of the
    // epoch) were trained before the interrupt, and their sums and seconds carry over.
    const resumed = epoch === startEpoch && startStep > 0 ? startSums : null;
    let skip = resumed !== null ? startStep : 0;
    const firstStep = skip;
    const started = performance.now() - (resumed?.seconds ?? 0) * 1000;
    const sums =
      resumed !== null
        ? { loss: resumed.loss, ce: resumed.ce, wp: resumed.wp, ap: resumed.ap, wrong: resumed.wrong, examples: resumed.examples }
        : { loss: 0, ce: 0, wp: 0, ap: 0, wrong: 0, examples: 0 };
    let step = skip;
    for await (const batch of options.train.batches(epoch, { batchSize: config.batchSize, shuffle: true, augment, dropLast: true })) {
      if (skip > 0) {
        skip--;
        continue;
      }
      if (step >= stepsPerEpoch) break;
      // Yield to the event loop between steps: on CPU backends every await resolves at once, and a loop that never
      // yields would starve timers, progress displays and interrupt handling.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (options.control?.beforeStep) await options.control.beforeStep();
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      if (options.control?.learningRate) {
        const lr = options.control.learningRate(scheduled);
        if (!(Number.isFinite(lr) && lr >= 0)) throw new RangeError(`training control: the learning rate must be a finite number ≥ 0, got ${lr}`);
        solver.learningRate = lr;
      }
      const x = tf.tensor4d(batch.x, [batch.size, H, W, C]);
      const y = tf.tensor1d(batch.y, 'int32');
      const result = await stepper.step(x, y);
      tf.dispose([x, y]);
      if (!result.finite) {
        throw new TrainingDivergedError(
          `training diverged at epoch ${epoch + 1}, step ${step + 1} (global step ${globalStep + 1}): the loss is ${result.loss} ` +
            `(cross-entropy ${result.crossEntropy}, weight-memory penalty ${result.weightPenalty}, activation-memory penalty ` +
            `${result.activationPenalty}); ${result.nonFinite}`,
          epoch + 1,
          step + 1,
        );
      }
      const { loss, crossEntropy: ce, weightPenalty: wp, activationPenalty: ap, wrong } = result;
      sums.loss += loss * batch.size;
      sums.ce += ce * batch.size;
      sums.wp += wp * batch.size;
      sums.ap += ap * batch.size;
      sums.wrong += wrong;
      sums.examples += batch.size;
      step++;
      globalStep++;
      if (options.onEvent && (step === firstStep + 1 || step % 20 === 0)) meanBits = summarizeBits(await quantizerBits(model));
      const elapsed = (performance.now() - started) / 1000;
      emit({
        type: 'step',
        epoch: epoch + 1,
        step,
        stepsPerEpoch,
        loss,
        error: wrong / batch.size,
        learningRate: solver.learningRate,
        imagesPerSecond: sums.examples / elapsed,
        meanBits,
      });
    }
    if (interrupted) {
      // A partial epoch is not evaluated or logged; its state is checkpointed (unless this run did no step in it:
      // then the checkpoint it resumed from, or the last epoch's, already holds it), so that a resume goes on here.
      if (files !== null && step > firstStep) {
        const epochSums: EpochSums = { ...sums, seconds: (performance.now() - started) / 1000 };
        await saveCheckpoint(files.checkpoint, model, solver, { epoch, epochStep: step, epochSums, globalStep, bestTestError, config });
        checkpointed = files.checkpoint;
      }
      interruptedAt = { epoch: epoch + 1, step, stepsPerEpoch, checkpoint: checkpointed };
      break;
    }
    const seconds = (performance.now() - started) / 1000;
    const test = await evaluate(model, options.test, config.evalBatchSize, options.maxEvalBatches);
    const memory = await memoryReport(model);
    const activationKB = config.targets.activationType === 'max' ? memory.activationsMaxKB : memory.activationsSumKB;
    const met = constraintsMet(config, { weightKB: memory.weightsKB, activationKB });
    const improved = met && (bestTestError === null || test.error < bestTestError);
    if (improved) bestTestError = test.error;
    const n = Math.max(sums.examples, 1);
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      learningRate: solver.learningRate,
      loss: sums.loss / n,
      crossEntropy: sums.ce / n,
      weightPenalty: sums.wp / n,
      activationPenalty: sums.ap / n,
      trainError: sums.wrong / n,
      testError: test.error,
      testLoss: test.loss,
      bestTestError,
      weightKB: memory.weightsKB,
      activationMaxKB: memory.activationsMaxKB,
      activationSumKB: memory.activationsSumKB,
      constraintsMet: met,
      bitwidths: await quantizerBits(model),
      steps: step,
      seconds,
      imagesPerSecond: sums.examples / seconds,
    };
    history.push(metrics);
    if (files !== null) {
      fs.appendFileSync(files.metrics, `${JSON.stringify(metrics)}\n`);
      // At the end of an epoch: epochStep 0 (a resume starts the next epoch), the run's settings as validated on resume.
      const meta = { epoch: epoch + 1, epochStep: 0, epochSums: null, globalStep, bestTestError, config };
      if (improved) await saveCheckpoint(files.best, model, null, meta);
      await saveCheckpoint(files.checkpoint, model, solver, meta);
      checkpointed = files.checkpoint;
    }
    emit({ type: 'epoch', metrics });
  }

  const last = history.at(-1);
  const summary: TrainSummary = {
    epochsCompleted: last?.epoch ?? startEpoch,
    bestTestError,
    finalTestError: last?.testError ?? null,
    interrupted,
    ...(interruptedAt !== undefined ? { interruptedAt } : {}),
    memory: await memoryReport(model),
    outDir,
  };
  solver.dispose();
  emit({ type: 'end', result: summary });
  return { ...summary, model, history };
}
