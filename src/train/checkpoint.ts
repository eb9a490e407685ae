/**
 * Training checkpoints in safetensors: every model variable under its canonical (official-code) name, the solver's
 * state, and metadata (format, completed epochs, global step, best error, the run's config), written atomically.
 */
import * as tf from '@tensorflow/tfjs';
import type { QuantModel } from '../nn';
import type { TrainConfig } from './config';
import type { Solver } from './optimizer';
import { CheckpointError, readSafetensors, writeSafetensors, type NamedArray } from './safetensors';

export const CHECKPOINT_FORMAT = 'mixprec-checkpoint/1';

export interface CheckpointMeta {
  format: string;
  /** Epochs completed. */
  epoch: number;
  globalStep: number;
  bestTestError: number | null;
  config: TrainConfig;
  model: string;
  date: string;
}

export async function saveCheckpoint(file: string, model: QuantModel, solver: Solver | null, meta: Omit<CheckpointMeta, 'format' | 'date' | 'model'>): Promise<void> {
  const tensors: Record<string, NamedArray> = {};
  for (const { name, variable } of model.variables) {
    tensors[name] = { dtype: 'F32', shape: variable.shape, data: (await variable.data()) as Float32Array };
  }
  if (solver !== null) Object.assign(tensors, await solver.state());
  const full: CheckpointMeta = { ...meta, format: CHECKPOINT_FORMAT, model: model.name, date: new Date().toISOString() };
  writeSafetensors(file, tensors, {
    format: full.format,
    epoch: String(full.epoch),
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
  return {
    tensors,
    meta: {
      format: metadata.format, epoch: Number(metadata.epoch), globalStep: Number(metadata.global_step),
      bestTestError: metadata.best_test_error ? Number(metadata.best_test_error) : null,
      config, model: metadata.model ?? '', date: metadata.date ?? '',
    },
  };
}

/**
 * Assigns checkpoint tensors to the model's variables. `require` lists the variable kinds that must be present
 * (resume: all; initialising from a float run: weights, biases and BN); returns the names that were loaded.
 */
export function loadModelVariables(file: string, model: QuantModel, tensors: Record<string, NamedArray>, required: (name: string, kind: string) => boolean): Set<string> {
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
