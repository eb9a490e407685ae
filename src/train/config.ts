/**
 * A training run's configuration: everything that decides what is trained and how. Presets (the official cfg
 * sections) and the CLI produce one of these; the trainer consumes it.
 */
import { checkRange, QuantizerSpecError, SHORT_NAME_LIST, type LayerQuantization, type RoleConfig } from '../quant';
import { MODEL_NAMES } from '../nn/registry';
import { MAX_SEED } from '../data/random';
import { UsageError } from '../util/errors';

export type ModelName = 'resnet20' | 'resnet32' | 'resnet44' | 'resnet56' | 'resnet110' | 'mobilenetv2-cifar' | 'mobilenetv2-imagenet' | 'mnistnet';

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
  /**
   * Weight memory target in KB (KiB), the code's `target_weight_kbytes`: a positive number, or null for none. 0 and
   * negative numbers are errors here (the cfg files' "≤ 0: none" becomes null when a preset is converted).
   */
  weightKB: number | null;
  /** Activation memory target in KB (`target_activation_kbytes`): positive, or null for none (as `weightKB`). */
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
  /** Seed of the weight initialisation, the shuffling and the augmentation: an integer from 0 to 4294967295 (2^32 − 1). */
  seed: number;
}

/** The code's training defaults (train_resnet.py `train()`, docs/METHOD.md#training-loop): float ResNet-20, SGD momentum, 160 epochs. */
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

/**
 * Applies overrides on top of a config (nested objects merged one level deep; `schedule` is replaced whole). Both are
 * checked against {@link TRAIN_CONFIG_SCHEMA} first: a bad or unknown field throws a {@link TrainConfigError} naming
 * `source` (default 'overrides'), the field, the value and what was expected. A field set to `undefined` is absent.
 */
export function mergeTrainConfig(base: TrainConfig, overrides: TrainConfigOverrides, source = 'overrides'): TrainConfig {
  validateTrainConfig(base, 'base config');
  validateTrainConfigOverrides(overrides, source);
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const quant = defined(overrides.quant);
  return {
    ...base,
    ...defined(overrides),
    quant: {
      ...base.quant,
      ...quant,
      weight: { ...base.quant.weight, ...defined(quant.weight) },
      activation: { ...base.quant.activation, ...defined(quant.activation) },
    },
    targets: { ...base.targets, ...defined(overrides.targets) },
  } as TrainConfig;
}

/**
 * A TrainConfig (or overrides) field out of its domain, or an unknown field. The message is one line:
 * `config.json: field "targets.weightKB" must be a positive number or null, got "a"`, or
 * `config.json: unknown field "lr" (did you mean "learningRate"?)`.
 */
export class TrainConfigError extends UsageError {
  constructor(
    /** Where the config came from: a file name, 'command line', 'config', … */
    readonly source: string,
    /** The dotted path of the field (`quant.weight.bitwidthRange`; '' for the whole object). */
    readonly field: string,
    /** The message without the source. */
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'TrainConfigError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The schema: one declarative description of every field; the validator below walks it.

/** One field's domain. `aliases`: names users write for it (CLI flags, the cfg files), for "did you mean". */
export type FieldSchema =
  /** A finite number (an integer when `integer`) within the bounds; null allowed when `nullable`. */
  (
    | { type: 'number'; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean; nullable?: boolean }
    | { type: 'boolean' }
    /** A non-empty string (null allowed when `nullable`). */
    | { type: 'string'; nullable?: boolean }
    | { type: 'enum'; values: readonly string[] }
    | { type: 'array'; items: FieldSchema }
    /** `[min, max]`: finite, min ≤ max (checked by the quantizers' checkRange), min > 0 when `magnitude`, within [lowest, highest]. */
    | { type: 'range'; magnitude: boolean; lowest?: number; highest?: number }
    | ObjectSchema
    /** An object whose `tag` field picks the variant (a discriminated union). */
    | { type: 'union'; tag: string; variants: Readonly<Record<string, ObjectSchema>> }
  ) & { aliases?: readonly string[] };

export interface ObjectSchema {
  type: 'object';
  fields: Readonly<Record<string, FieldSchema>>;
  /** Every field optional (a `Partial<…>` type such as the role configs). */
  partial?: boolean;
  /** Merged field by field by {@link mergeTrainConfig}, so optional in overrides (quant, targets); otherwise replaced whole. */
  merged?: boolean;
}

/** A schema entry for each field of T, no more, no fewer (checked by the compiler). */
type Fields<T> = { readonly [K in keyof T]-?: FieldSchema };

/** The quantizations a layer role takes ('float', the fixed 'fp' / 'pow2' baselines, the paper's six). */
export const LAYER_QUANTIZATIONS: readonly LayerQuantization[] = ['float', 'fp', 'pow2', ...SHORT_NAME_LIST];

/**
 * Bitwidths: 32 at most (float32 arithmetic); signed weights need a sign bit and a magnitude bit (the initial step
 * size is xmax / (2^(b−1) − 1)), unsigned activations one bit. The bitwidth ranges (the code's `*_bitwidth_min/max`)
 * may start at 1 for weights too (pow2 without zero, P1 / P2).
 */
const bits = (min: number): FieldSchema => ({ type: 'number', integer: true, min, max: 32 });
const positive: FieldSchema = { type: 'number', min: 0, exclusiveMin: true };
const positiveInteger: FieldSchema = { type: 'number', integer: true, min: 0, exclusiveMin: true };
const nonNegative: FieldSchema = { type: 'number', min: 0 };

function roleSchema(initialBits: number): ObjectSchema {
  const fields: Fields<RoleConfig> = {
    stepsize: positive,
    stepsizeRange: { type: 'range', magnitude: true },
    xminRange: { type: 'range', magnitude: true },
    xmaxRange: { type: 'range', magnitude: true },
    bitwidth: bits(initialBits),
    bitwidthRange: { type: 'range', magnitude: false, lowest: 1, highest: 32 },
  };
  return { type: 'object', fields, partial: true };
}

type Variant<K extends LearningRateSchedule['kind']> = Omit<Extract<LearningRateSchedule, { kind: K }>, 'kind'>;
const constantFields: Fields<Variant<'constant'>> = {};
const stepFields: Fields<Variant<'step'>> = {
  milestones: { type: 'array', items: { type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true } },
  factor: positive,
};
const cosineFields: Fields<Variant<'cosine'>> = { minFactor: { type: 'number', min: 0, max: 1 } };

const quantFields: Fields<QuantizationConfig> = {
  weights: { type: 'enum', values: LAYER_QUANTIZATIONS },
  activations: { type: 'enum', values: LAYER_QUANTIZATIONS },
  weightBits: { ...bits(2), aliases: ['w_bitwidth'] },
  activationBits: { ...bits(1), aliases: ['a_bitwidth'] },
  weight: roleSchema(2),
  activation: roleSchema(1),
};

const targetFields: Fields<MemoryTargets> = {
  weightKB: { ...positive, nullable: true, aliases: ['target_weight_kbytes', 'weight-target'] },
  activationKB: { ...positive, nullable: true, aliases: ['target_activation_kbytes', 'activation-target'] },
  activationType: { type: 'enum', values: ['max', 'sum'], aliases: ['target_activation_type'] },
  lambda2: { ...nonNegative, aliases: ['initial_cost_lambda2'] },
  lambda3: { ...nonNegative, aliases: ['initial_cost_lambda3'] },
};

const trainConfigFields: Fields<TrainConfig> = {
  name: { type: 'string' },
  model: { type: 'enum', values: MODEL_NAMES },
  quant: { type: 'object', fields: quantFields, merged: true },
  scaleLayer: { type: 'boolean', aliases: ['scale_layer'] },
  optimizer: { type: 'enum', values: ['momentum', 'adam'] },
  momentum: { type: 'number', min: 0, max: 1, exclusiveMax: true },
  learningRate: { ...positive, aliases: ['lr', 'initial_learning_rate'] },
  schedule: {
    type: 'union',
    tag: 'kind',
    variants: {
      constant: { type: 'object', fields: constantFields },
      step: { type: 'object', fields: stepFields },
      cosine: { type: 'object', fields: cosineFields },
    },
  },
  epochs: { ...positiveInteger, aliases: ['epoch'] },
  batchSize: { ...positiveInteger, aliases: ['batch'] },
  evalBatchSize: positiveInteger,
  weightDecay: { ...nonNegative, aliases: ['wd', 'weight_decay'] },
  targets: { type: 'object', fields: targetFields, merged: true },
  initFrom: { type: 'string', nullable: true, aliases: ['init', 'weightfile'] },
  augment: { type: 'boolean' },
  seed: { type: 'number', integer: true, min: 0, max: MAX_SEED },
};

/** Every TrainConfig field's type and domain; {@link validateTrainConfig} and {@link validateTrainConfigOverrides} walk it. */
export const TRAIN_CONFIG_SCHEMA: ObjectSchema = { type: 'object', fields: trainConfigFields };

// ---------------------------------------------------------------------------------------------------------------
// The validator.

interface Walk {
  source: string;
  /** Overrides: top-level and `merged` fields optional. */
  overrides: boolean;
  /** Extra names shown after a field's path, e.g. `{ batchSize: '--batch' }` → `field "batchSize" (--batch)`. */
  labels: Readonly<Record<string, string>>;
}

/** A value as it appears in messages: JSON, except numbers (NaN, Infinity) and undefined. */
function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return `a ${typeof v}`;
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const article = (s: string) => (/^[aeiou]/.test(s) ? `an ${s}` : `a ${s}`);

/** What a field expects, in words ("a positive integer", "an integer from 2 to 32", `one of "max", "sum"`). */
export function describeSchema(s: FieldSchema): string {
  switch (s.type) {
    case 'number': {
      const noun = s.integer ? 'integer' : 'number';
      const { min, max } = s;
      let text: string;
      if (min === 0 && s.exclusiveMin && max === undefined) text = `a positive ${noun}`;
      else if (min === 0 && !s.exclusiveMin && (max === undefined || (s.integer && max === Number.MAX_SAFE_INTEGER))) {
        text = s.integer ? 'an integer ≥ 0' : 'a number ≥ 0';
      } else if (min !== undefined && max !== undefined) {
        text =
          s.integer && !s.exclusiveMin && !s.exclusiveMax
            ? `an integer from ${min} to ${max}`
            : `${article(noun)} in ${s.exclusiveMin ? '(' : '['}${min}, ${max}${s.exclusiveMax ? ')' : ']'}`;
      } else if (min !== undefined) text = `${article(noun)} ${s.exclusiveMin ? '>' : '≥'} ${min}`;
      else if (max !== undefined) text = `${article(noun)} ${s.exclusiveMax ? '<' : '≤'} ${max}`;
      else text = `a finite ${noun}`;
      return s.nullable ? `${text} or null` : text;
    }
    case 'boolean':
      return 'true or false';
    case 'string':
      return s.nullable ? 'a non-empty string or null' : 'a non-empty string';
    case 'enum':
      return `one of ${s.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array':
      return `a list of ${describeSchema(s.items)
        .replace(/^an? /, '')
        .replace(/^(number|integer)/, '$1s')}`;
    case 'range': {
      const lo = s.magnitude ? '0 < min' : s.lowest !== undefined ? `${s.lowest} ≤ min` : 'min';
      return `[min, max] with ${lo} ≤ max${s.highest !== undefined ? ` ≤ ${s.highest}` : ''}`;
    }
    case 'object':
      return `an object with fields ${Object.keys(s.fields).join(', ')}`;
    case 'union':
      return `an object with "${s.tag}": ${Object.keys(s.variants)
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
  }
}

function fail(w: Walk, field: string, problem: string): never {
  throw new TrainConfigError(w.source, field, problem);
}

function label(w: Walk, field: string): string {
  const extra = w.labels[field];
  return `field "${field}"${extra !== undefined ? ` (${extra})` : ''}`;
}

function mismatch(w: Walk, field: string, s: FieldSchema, value: unknown, why?: string): never {
  fail(w, field, `${label(w, field)} must be ${describeSchema(s)}, got ${show(value)}${why ? ` (${why})` : ''}`);
}

const join = (parent: string, key: string) => (parent ? `${parent}.${key}` : key);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Case, `-` and `_` do not count: `batch_size` and `BatchSize` are `batchSize`. */
const normalize = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * The field a user probably meant: a known alias (`lr` → learningRate), a near spelling (at most a third of the
 * name's letters differ), or a prefix of three letters or more (`eval` → evalBatchSize); null when nothing is close.
 */
export function suggestField(name: string, fields: Readonly<Record<string, FieldSchema>>): string | null {
  const typed = normalize(name);
  let best: { field: string; score: number } | null = null;
  for (const [field, s] of Object.entries(fields)) {
    for (const candidate of [field, ...(s.aliases ?? [])]) {
      const target = normalize(candidate);
      const d = editDistance(typed, target);
      const score =
        candidate !== field && d === 0
          ? 0
          : d <= Math.max(1, Math.floor(target.length / 3))
            ? d
            : typed.length >= 3 && target.startsWith(typed)
              ? target.length - typed.length
              : Infinity;
      if (score < (best?.score ?? Infinity)) best = { field, score };
    }
  }
  return best?.field ?? null;
}

function checkObject(
  w: Walk,
  s: ObjectSchema,
  value: unknown,
  path: string,
  optional: boolean,
  extra: Readonly<Record<string, FieldSchema>> = {},
): void {
  const fields = { ...extra, ...s.fields };
  if (!isObject(value)) {
    if (path === '') fail(w, '', `expected a JSON object of TrainConfig fields, got ${show(value)}`);
    mismatch(w, path, s, value);
  }
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(fields, key)) continue;
    const guess = suggestField(key, fields);
    fail(
      w,
      join(path, key),
      `unknown field "${join(path, key)}" ` +
        (guess !== null
          ? `(did you mean "${join(path, guess)}"?)`
          : `(${path ? `fields of ${path}` : 'TrainConfig fields'}: ${Object.keys(fields).join(', ')})`),
    );
  }
  for (const [key, field] of Object.entries(s.fields)) {
    const v = value[key];
    const at = join(path, key);
    if (v === undefined) {
      if (optional || s.partial) continue;
      fail(w, at, `${label(w, at)} is missing; expected ${describeSchema(field)}`);
    }
    check(w, field, v, at, w.overrides && field.type === 'object' && field.merged === true);
  }
}

function check(w: Walk, s: FieldSchema, v: unknown, path: string, optional: boolean): void {
  switch (s.type) {
    case 'number':
      if (v === null && s.nullable) return;
      if (
        typeof v !== 'number' ||
        !Number.isFinite(v) ||
        (s.integer && !Number.isSafeInteger(v)) ||
        (s.min !== undefined && (s.exclusiveMin ? v <= s.min : v < s.min)) ||
        (s.max !== undefined && (s.exclusiveMax ? v >= s.max : v > s.max))
      )
        mismatch(w, path, s, v);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') mismatch(w, path, s, v);
      return;
    case 'string':
      if (v === null && s.nullable) return;
      if (typeof v !== 'string' || v.length === 0) mismatch(w, path, s, v);
      return;
    case 'enum':
      if (typeof v !== 'string' || !s.values.includes(v)) mismatch(w, path, s, v);
      return;
    case 'array':
      if (!Array.isArray(v)) mismatch(w, path, s, v);
      v.forEach((item, i) => check(w, s.items, item, `${path}[${i}]`, false));
      return;
    case 'range': {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) mismatch(w, path, s, v);
      try {
        checkRange(path, v, s.magnitude);
      } catch (err) {
        if (!(err instanceof QuantizerSpecError)) throw err;
        mismatch(w, path, s, v, err.problem);
      }
      const [lo, hi] = v as [number, number];
      if (s.lowest !== undefined && lo < s.lowest) mismatch(w, path, s, v, `min ${lo} is below ${s.lowest}`);
      if (s.highest !== undefined && hi > s.highest) mismatch(w, path, s, v, `max ${hi} is above ${s.highest}`);
      return;
    }
    case 'object':
      checkObject(w, s, v, path, optional);
      return;
    case 'union': {
      if (!isObject(v)) mismatch(w, path, s, v);
      const tag: FieldSchema = { type: 'enum', values: Object.keys(s.variants) };
      const kind = v[s.tag];
      if (typeof kind !== 'string' || !Object.hasOwn(s.variants, kind)) mismatch(w, join(path, s.tag), tag, kind);
      checkObject(w, s.variants[kind]!, v, path, false, { [s.tag]: tag });
      return;
    }
  }
}

export interface ValidateOptions {
  /** Flag names shown after field paths, e.g. `{ batchSize: '--batch' }`. */
  labels?: Readonly<Record<string, string>>;
}

/**
 * Checks a complete TrainConfig against {@link TRAIN_CONFIG_SCHEMA}: every field present and in its domain, no
 * unknown fields; returns it typed. Throws one {@link TrainConfigError} for the first problem, naming `source`
 * (a file name, default 'config'), the field's path, the value and what was expected.
 */
export function validateTrainConfig(config: unknown, source = 'config', options: ValidateOptions = {}): TrainConfig {
  checkObject({ source, overrides: false, labels: options.labels ?? {} }, TRAIN_CONFIG_SCHEMA, config, '', false);
  return config as TrainConfig;
}

/**
 * Checks overrides (a `--config` file, {@link mergeTrainConfig}'s second argument) as {@link validateTrainConfig}
 * does, except that any top-level field and any field of `quant` and `targets` may be left out (`schedule`, replaced
 * whole, must be complete).
 */
export function validateTrainConfigOverrides(overrides: unknown, source = 'overrides', options: ValidateOptions = {}): TrainConfigOverrides {
  checkObject({ source, overrides: true, labels: options.labels ?? {} }, TRAIN_CONFIG_SCHEMA, overrides, '', true);
  return overrides as TrainConfigOverrides;
}
