/**
 * The TrainConfig overrides of `mixprec train`: its flags, each setting one TrainConfig field, on top of a
 * `--config` JSON file of fields. Both are checked against the TrainConfig schema; an error names the file, or the
 * flag and its field (`command line: field "batchSize" (--batch) must be a positive integer, got 0`).
 */
import * as fs from 'node:fs';
import { TrainConfigError, validateTrainConfigOverrides, type TrainConfigOverrides } from './config';

/** The flags of `mixprec train` that set a TrainConfig field: flag name (without `--`) → dotted field path. */
export const TRAIN_FLAGS: Readonly<Record<string, string>> = {
  model: 'model',
  weights: 'quant.weights',
  activations: 'quant.activations',
  'weight-target': 'targets.weightKB',
  'activation-target': 'targets.activationKB',
  'activation-type': 'targets.activationType',
  epochs: 'epochs',
  batch: 'batchSize',
  lr: 'learningRate',
  optimizer: 'optimizer',
  seed: 'seed',
};

/** The flag that sets each field (`batchSize` → `--batch`), for naming the flag in config errors. */
export const TRAIN_FLAG_FIELDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TRAIN_FLAGS).map(([flag, field]) => [field, `--${flag}`]),
);

/** Reads and checks a `--config` file of TrainConfig fields; errors name the file. */
export function readTrainConfigFile(file: string): TrainConfigOverrides {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TrainConfigError(
      file,
      '',
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`,
    );
  }
  return validateTrainConfigOverrides(parsed, file);
}

/**
 * The overrides from a config file (optional) and the flags given (`flags` holds parsed flag values by flag name;
 * the flags win). The file's fields are checked first, naming the file; then the whole, naming the flags.
 */
export function trainConfigOverrides(flags: Readonly<Record<string, unknown>>, configFile?: string): TrainConfigOverrides {
  const overrides: Record<string, unknown> = configFile !== undefined ? { ...readTrainConfigFile(configFile) } : {};
  for (const [flag, field] of Object.entries(TRAIN_FLAGS)) {
    const value = flags[flag];
    if (value === undefined) continue;
    const [head, leaf] = field.split('.') as [string, string | undefined];
    if (leaf === undefined) {
      overrides[head] = value;
    } else {
      overrides[head] = { ...(overrides[head] as Record<string, unknown> | undefined), [leaf]: value };
    }
  }
  // What is wrong now came from a flag (the file's fields were checked above).
  return validateTrainConfigOverrides(overrides, 'command line', { labels: TRAIN_FLAG_FIELDS });
}
