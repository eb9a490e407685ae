/**
 * Training checkpoints in safetensors: every model variable under its canonical (official-code) name, the solver's
 * state, and metadata (format, completed epochs, the steps done in the epoch being trained when a run was stopped
 * within one, with that partial epoch's running sums, global step, best error, the run's config), written atomically.
 */
import * as tf from '@tensorflow/tfjs';
import type { QuantModel } from '../nn';
import type { TrainConfig } from './config';
import type { Solver } from './optimizer';
import { CheckpointError, readSafetensors, writeSafetensors, type NamedArray } from './safetensors';

export const CHECKPOINT_FORMAT = 'mixprec-checkpoint/1';

/** The running sums of an epoch's training metrics (example-weighted), and the seconds spent on it so far. */
export interface EpochSums {
  loss: number;
  ce: number;
  wp: number;
  ap: number;
  wrong: number;
  examples: number;
  seconds: number;
}

export interface CheckpointMeta {
  format: string;
  /** Epochs completed. */
  epoch: number;
  /**
   * Steps done in epoch `epoch + 1` when the run was stopped within it (a resume goes on after them); 0 for a
   * checkpoint at the end of an epoch.
   */
  epochStep: number;
  /** The partial epoch's running sums (null when epochStep is 0), so that its logged metrics cover all its steps. */
  epochSums: EpochSums | null;
  globalStep: number;
  bestTestError: number | null;
  config: TrainConfig;
  model: string;
  date: string;
}

export async function saveCheckpoint(
  file: string,
  model: QuantModel,
  solver: Solver | null,
  meta: Omit<CheckpointMeta, 'format' | 'date' | 'model' | 'epochStep' | 'epochSums'> & Partial<Pick<CheckpointMeta, 'epochStep' | 'epochSums'>>,
): Promise<void> {
  const tensors: Record<string, NamedArray> = {};
  for (const { name, variable } of model.variables) {
    tensors[name] = { dtype: 'F32', shape: variable.shape, data: (await variable.data()) as Float32Array };
  }
  if (solver !== null) Object.assign(tensors, await solver.state());
  const epochStep = meta.epochStep ?? 0;
  const epochSums = epochStep > 0 ? (meta.epochSums ?? null) : null;
  if (epochStep > 0 && epochSums === null)
    throw new Error(`saveCheckpoint ${file}: a checkpoint within an epoch (step ${epochStep}) needs the epoch's running sums`);
  const full: CheckpointMeta = { ...meta, epochStep, epochSums, format: CHECKPOINT_FORMAT, model: model.name, date: new Date().toISOString() };
  writeSafetensors(file, tensors, {
    format: full.format,
    epoch: String(full.epoch),
    ...(full.epochStep > 0 ? { epoch_step: String(full.epochStep), epoch_sums: JSON.stringify(full.epochSums) } : {}),
    global_step: String(full.globalStep),
    best_test_error: full.bestTestError === null ? '' : String(full.bestTestError),
    model: full.model,
    date: full.date,
    config: JSON.stringify(full.config),
    layout: 'conv filters HWIO (tfjs); nnabla stores OIHW',
  });
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  tensors: Record<string, NamedArray>;
}

export function readCheckpoint(file: string): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(file, `not a mixprec checkpoint (format ${JSON.stringify(metadata.format)}, expected ${CHECKPOINT_FORMAT})`);
  }
  let config: TrainConfig;
  try {
    config = JSON.parse(metadata.config ?? '') as TrainConfig;
  } catch {
    throw new CheckpointError(file, 'its config metadata is not JSON');
  }
  const epochStep = metadata.epoch_step === undefined ? 0 : Number(metadata.epoch_step);
  if (!Number.isSafeInteger(epochStep) || epochStep < 0)
    throw new CheckpointError(file, `its epoch_step metadata is not an integer ≥ 0 (${JSON.stringify(metadata.epoch_step)})`);
  let epochSums: EpochSums | null = null;
  if (epochStep > 0) {
    try {
      epochSums = JSON.parse(metadata.epoch_sums ?? '') as EpochSums;
    } catch {
      throw new CheckpointError(file, 'it was saved within an epoch, but its epoch_sums metadata is not JSON');
    }
    const fields = ['loss', 'ce', 'wp', 'ap', 'wrong', 'examples', 'seconds'] as const;
    const bad = fields.filter((k) => typeof epochSums?.[k] !== 'number' || !Number.isFinite(epochSums[k]));
    if (bad.length > 0) throw new CheckpointError(file, `its epoch_sums metadata lacks finite ${bad.join(', ')}`);
  }
  return {
    tensors,
    meta: {
      format: metadata.format,
      epoch: Number(metadata.epoch),
      epochStep,
      epochSums,
      globalStep: Number(metadata.global_step),
      bestTestError: metadata.best_test_error ? Number(metadata.best_test_error) : null,
      config,
      model: metadata.model ?? '',
      date: metadata.date ?? '',
    },
  };
}

/**
 * Assigns checkpoint tensors to the model's variables. `require` lists the variable kinds that must be present
 * (resume: all; initialising from a float run: weights, biases and BN); returns the names that were loaded.
 */
export function loadModelVariables(
  file: string,
  model: QuantModel,
  tensors: Record<string, NamedArray>,
  required: (name: string, kind: string) => boolean,
): Set<string> {
  const loaded = new Set<string>();
  for (const { name, variable, kind } of model.variables) {
    const saved = tensors[name];
    if (saved === undefined) {
      if (required(name, kind)) throw new CheckpointError(file, `has no tensor ${name} (a ${kind} of ${model.name})`);
      continue;
    }
    if (saved.shape.join('x') !== variable.shape.join('x')) {
      throw new CheckpointError(file, `tensor ${name} has shape [${saved.shape}] but the model's is [${variable.shape}]`);
    }
    tf.tidy(() => variable.assign(tf.tensor(saved.data, saved.shape, 'float32')));
    loaded.add(name);
  }
  return loaded;
}
