/**
 * A training run's configuration: everything that decides what is trained and how. Presets (the official cfg
 * sections) and the CLI produce one of these; the trainer consumes it.
 */
import type { LayerQuantization, RoleConfig } from '../quant';

export type ModelName =
  | 'resnet20' | 'resnet32' | 'resnet44' | 'resnet56' | 'resnet110'
  | 'mobilenetv2-cifar' | 'mobilenetv2-imagenet'
  | 'mnistnet';

export interface QuantizationConfig {
  /** Quantizer of every weight and bias tensor ('float': not quantized). */
  weights: LayerQuantization;
  /** Quantizer replacing every ReLU ('float': plain ReLU). */
  activations: LayerQuantization;
  /** Initial weight bitwidth (the code's `w_bitwidth`). */
  weightBits: number;
  /** Initial activation bitwidth (`a_bitwidth`). */
  activationBits: number;
  /** Overrides of the code's weight config (`w_stepsize*`, `w_xmin_*`, `w_xmax_*`, `w_bitwidth_min/max`). */
  weight: Partial<RoleConfig>;
  /** Overrides of the code's activation config (`a_*`). */
  activation: Partial<RoleConfig>;
}

/** Learning rate as a function of the epoch; step milestones are fractions of the run so they scale with --epochs. */
export type LearningRateSchedule =
  | { kind: 'constant' }
  /** lr0 · factor^(number of milestones passed); the code: milestones [0.5, 0.75] of 160 epochs, factor 0.1. */
  | { kind: 'step'; milestones: number[]; factor: number }
  | { kind: 'cosine'; minFactor: number };

export interface MemoryTargets {
  /** Weight memory target in KB (KiB), the code's `target_weight_kbytes` (≤ 0 or null: none). */
  weightKB: number | null;
  /** Activation memory target in KB (`target_activation_kbytes`). */
  activationKB: number | null;
  /** 'max': the largest layer (constraint 8c); 'sum': all layers (8b). */
  activationType: 'max' | 'sum';
  /** Penalty weights λ2 (weights) and λ3 (activations), the code's `initial_cost_lambda2/3`. */
  lambda2: number;
  lambda3: number;
}

export interface TrainConfig {
  /** Run name (the preset name for presets); also the default output folder name. */
  name: string;
  model: ModelName;
  quant: QuantizationConfig;
  /** A learnable scalar multiplying the logits (the code's `scale_layer`, used by all pow2 runs). */
  scaleLayer: boolean;
  optimizer: 'momentum' | 'adam';
  /** Momentum coefficient for 'momentum' (0.9 in the code). */
  momentum: number;
  /** Initial learning rate (`initial_learning_rate`; Adam's alpha). */
  learningRate: number;
  schedule: LearningRateSchedule;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  /** Coupled L2 weight decay on every trainable parameter, quantizer parameters included (2e-4 in the code). */
  weightDecay: number;
  targets: MemoryTargets;
  /**
   * Initialise weights from another run (the code's `weightfile`): a run/preset name whose best checkpoint is looked up
   * next to this run's output folder (e.g. 'DEFAULT' for `params_DEFAULT/params_best.h5`), or a checkpoint path.
   */
  initFrom: string | null;
  /** Pad-4 random crop and horizontal flip (the code's CIFAR augmentation). */
  augment: boolean;
  seed: number;
}

/** The code's training defaults (train_resnet.py `train()`, SPEC §6.4): float ResNet-20, SGD momentum, 160 epochs. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  name: 'DEFAULT',
  model: 'resnet20',
  quant: { weights: 'float', activations: 'float', weightBits: 4, activationBits: 4, weight: {}, activation: {} },
  scaleLayer: false,
  optimizer: 'momentum',
  momentum: 0.9,
  learningRate: 0.1,
  schedule: { kind: 'step', milestones: [0.5, 0.75], factor: 0.1 },
  epochs: 160,
  batchSize: 128,
  evalBatchSize: 100,
  weightDecay: 2e-4,
  targets: { weightKB: null, activationKB: null, activationType: 'max', lambda2: 0.1, lambda3: 0.1 },
  initFrom: null,
  augment: true,
  seed: 313,
};

/** A partial config whose nested objects are partial too (what presets and users override). */
export type TrainConfigOverrides = Partial<Omit<TrainConfig, 'quant' | 'targets'>> & {
  quant?: Partial<QuantizationConfig>;
  targets?: Partial<MemoryTargets>;
};

/** Applies overrides on top of a config (nested objects merged one level deep). */
export function mergeTrainConfig(base: TrainConfig, overrides: TrainConfigOverrides): TrainConfig {
  return {
    ...base,
    ...overrides,
    quant: {
      ...base.quant,
      ...overrides.quant,
      weight: { ...base.quant.weight, ...overrides.quant?.weight },
      activation: { ...base.quant.activation, ...overrides.quant?.activation },
    },
    targets: { ...base.targets, ...overrides.targets },
  } as TrainConfig;
}

/** A TrainConfig field that is out of its domain; `field` names it (dotted path). */
export class TrainConfigError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`config ${field}: ${problem}`);
    this.name = 'TrainConfigError';
  }
}

const QUANTIZATIONS = ['float', 'fp', 'pow2', 'U1', 'U2', 'U3', 'P1', 'P2', 'P3'];

/** Checks the fields a user can get wrong (from a JSON override file or the command line). */
export function validateTrainConfig(c: TrainConfig, models: readonly string[]): TrainConfig {
  const positiveInt = (field: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new TrainConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  };
  const positive = (field: string, v: unknown) => {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new TrainConfigError(field, `must be a positive number, got ${JSON.stringify(v)}`);
  };
  if (!models.includes(c.model)) throw new TrainConfigError('model', `unknown model ${JSON.stringify(c.model)}; models: ${models.join(', ')}`);
  for (const role of ['weights', 'activations'] as const) {
    if (!QUANTIZATIONS.includes(c.quant[role])) {
      throw new TrainConfigError(`quant.${role}`, `unknown quantization ${JSON.stringify(c.quant[role])}; expected one of ${QUANTIZATIONS.join(', ')}`);
    }
  }
  positiveInt('quant.weightBits', c.quant.weightBits);
  positiveInt('quant.activationBits', c.quant.activationBits);
  positiveInt('epochs', c.epochs);
  positiveInt('batchSize', c.batchSize);
  positiveInt('evalBatchSize', c.evalBatchSize);
  positive('learningRate', c.learningRate);
  positiveInt('seed', c.seed);
  if (c.optimizer !== 'momentum' && c.optimizer !== 'adam') throw new TrainConfigError('optimizer', `must be "momentum" or "adam", got ${JSON.stringify(c.optimizer)}`);
  if (typeof c.weightDecay !== 'number' || c.weightDecay < 0) throw new TrainConfigError('weightDecay', `must be a number ≥ 0, got ${JSON.stringify(c.weightDecay)}`);
  if (c.targets.activationType !== 'max' && c.targets.activationType !== 'sum') {
    throw new TrainConfigError('targets.activationType', `must be "max" or "sum", got ${JSON.stringify(c.targets.activationType)}`);
  }
  const s = c.schedule;
  if (s.kind === 'step' && (!Array.isArray(s.milestones) || s.milestones.some((m) => !(m > 0 && m < 1)))) {
    throw new TrainConfigError('schedule.milestones', `must be fractions of the run in (0, 1), got ${JSON.stringify(s.milestones)}`);
  }
  if (!['step', 'constant', 'cosine'].includes(s.kind)) throw new TrainConfigError('schedule.kind', `must be step, constant or cosine, got ${JSON.stringify(s.kind)}`);
  return c;
}
