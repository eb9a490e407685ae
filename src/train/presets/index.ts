/**
 * The official experiments by name: every section of `train_resnet_quant_fp.cfg` and `train_resnet_quant_pow2.cfg`
 * (sony/ai-research-code, mixed-precision-dnns), their complete code configuration, and the TrainConfig that runs them.
 *
 * ```ts
 * listPresets();                                         // 157 entries: 74 sections of the fp file, 83 of the pow2 file
 * presetConfiguration('PARAMETRIC_FP_WAQ_DELTA_XMAX_INIT'); // train_resnet.py's Configuration for that section
 * presetToTrainConfig('PARAMETRIC_POW2_WQ_XMIN_XMAX_CON_INIT', { epochs: 2 });
 * presetToTrainConfig('pow2:DEFAULT_INIT');              // a file prefix picks the file where a name is in both
 * ```
 */
import { PARAMETRIZATION_TABLE, type LayerQuantization, type RoleConfig } from '../../quant';
import { mergeTrainConfig, type ModelName, type TrainConfig, type TrainConfigOverrides } from '../config';
import { UsageError } from '../../util/errors';
import {
  applyCodeConverters,
  CODE_CONFIG_KEYS,
  CodeConfigurationError,
  sectionRawValues,
  type ActivationQuantizeMethod,
  type CfgFile,
  type CfgFileId,
  type CodeConfiguration,
  type WeightQuantizeMethod,
} from './code_config';
import { FP_CFG } from './fp';
import { POW2_CFG } from './pow2';
import { describePresetName, parsePresetName } from './names';

export * from './code_config';
export * from './names';
export { FP_CFG } from './fp';
export { POW2_CFG } from './pow2';
export * from './paper';

/** Both official cfg files, fp first. */
export const CFG_FILES: readonly CfgFile[] = [FP_CFG, POW2_CFG];

/** One experiment of one cfg file. */
export interface PresetInfo {
  /** The section name (`DEFAULT` included): the run name and output folder of the official script. */
  name: string;
  file: CfgFileId;
  /** `file:name`, which always resolves. */
  qualifiedName: string;
  /** What to pass to the lookup functions: `name`, or `qualifiedName` where the plain name is ambiguous. */
  lookupName: string;
  /** The `###` banner above the section (null for `DEFAULT`). */
  group: string | null;
  /** Text after the section header, e.g. `#app66/0`. */
  comment: string | null;
  /** One line from the naming grammar (docs/EXPERIMENTS.md#experiment-names) with the configuration's numbers. */
  description: string;
}

/** A preset name that does not resolve: unknown (with the closest names) or ambiguous (with the qualified forms). */
export class PresetLookupError extends UsageError {
  constructor(
    readonly query: string,
    readonly reason: 'unknown' | 'ambiguous',
    /** The closest names (unknown) or the qualified names to choose from (ambiguous). */
    readonly suggestions: readonly string[],
  ) {
    super(
      reason === 'unknown'
        ? `unknown preset ${JSON.stringify(query)}; closest: ${suggestions.join(', ')} (listPresets() has them all)`
        : `preset ${JSON.stringify(query)} is defined differently in several cfg files; use one of ${suggestions.join(', ')}`,
    );
    this.name = 'PresetLookupError';
  }
}

/** A resolved lookup: the file and section a name refers to, with configparser's merged raw values. */
export interface ResolvedPreset {
  file: CfgFile;
  name: string;
  raw: Readonly<Record<string, string>>;
}

function sectionNames(file: CfgFile): string[] {
  return ['DEFAULT', ...file.sections.map((s) => s.name)];
}

function sameConfiguration(a: CodeConfiguration, b: CodeConfiguration): boolean {
  return CODE_CONFIG_KEYS.every((key) => Object.is(a[key], b[key]));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

const FILE_PREFIX = /^(?<file>[a-z0-9]+):(?<name>.*)$/;

/** The name to look a section up by: plain when it resolves to this section, `file:name` otherwise. */
function lookupNameOf(file: CfgFile, name: string, files: readonly CfgFile[]): string {
  try {
    return resolvePreset(name, files).file === file ? name : `${file.id}:${name}`;
  } catch {
    return `${file.id}:${name}`;
  }
}

function closestNames(query: string, files: readonly CfgFile[], count = 5): string[] {
  const prefixed = FILE_PREFIX.exec(query)?.groups;
  const wanted = (prefixed?.name ?? query).toUpperCase();
  const preferred = files.find((f) => f.id === prefixed?.file);
  const scored = files.flatMap((file) =>
    sectionNames(file).map((name) => ({
      file,
      name,
      distance: editDistance(wanted, name.toUpperCase()) + (preferred !== undefined && file !== preferred ? 0.5 : 0),
    })),
  );
  scored.sort((x, y) => x.distance - y.distance);
  const out: string[] = [];
  for (const { file, name } of scored) {
    // With a file prefix, answer in qualified names; otherwise in the names that resolve (plain where possible).
    const display = preferred !== undefined ? `${file.id}:${name}` : lookupNameOf(file, name, files);
    if (!out.includes(display) && !out.includes(name)) out.push(display);
    if (out.length === count) break;
  }
  return out;
}

/**
 * Finds the section a preset name refers to. `NAME` looks in every file; `fp:NAME` / `pow2:NAME` in one. A plain name
 * that several files define resolves only when their complete configurations are identical (true of `DEFAULT`,
 * `DEFAULT_`, `DEFAULT_INIT`, `DEFAULT_RLR`, `DEFAULT_INIT_RLR`, the float runs both files share), to the first file;
 * otherwise it is ambiguous. Section names are case-sensitive, as in configparser.
 */
export function resolvePreset(query: string, files: readonly CfgFile[] = CFG_FILES): ResolvedPreset {
  const prefixed = FILE_PREFIX.exec(query)?.groups;
  let searched = files;
  let name = query;
  if (prefixed !== undefined) {
    const file = files.find((f) => f.id === prefixed.file);
    if (file === undefined) {
      throw new PresetLookupError(query, 'unknown', closestNames(query, files));
    }
    searched = [file];
    name = prefixed.name!;
  }
  const hits = searched.flatMap((file) => {
    const raw = sectionRawValues(file, name);
    return raw === undefined ? [] : [{ file, name, raw: raw as Readonly<Record<string, string>> }];
  });
  if (hits.length === 0) throw new PresetLookupError(query, 'unknown', closestNames(query, files));
  if (hits.length > 1) {
    const first = applyCodeConverters(hits[0]!.raw, name);
    if (!hits.every((hit) => sameConfiguration(first, applyCodeConverters(hit.raw, name)))) {
      throw new PresetLookupError(
        query,
        'ambiguous',
        hits.map((hit) => `${hit.file.id}:${name}`),
      );
    }
  }
  return hits[0]!;
}

/**
 * train_resnet.py's `Configuration` for a preset: attrs defaults ← the file's `[DEFAULT]` ← the section's own keys,
 * through the code's converters; `experiment` is the section name.
 */
export function presetConfiguration(name: string, files: readonly CfgFile[] = CFG_FILES): CodeConfiguration {
  const preset = resolvePreset(name, files);
  return applyCodeConverters(preset.raw, preset.name);
}

/**
 * The run a `weightfile` loads: `params_X/params_best.h5` and `X/params_best.h5` → `X` (the code writes a run's best
 * checkpoint to `<experiment>/params_best.h5`; the cfgs refer to the float run as `params_DEFAULT/…`). Any other path
 * is returned unchanged, as TrainConfig's `initFrom` also takes a checkpoint path.
 */
export function initFromWeightfile(weightfile: string): string {
  const match = /^(?:params_)?(?<run>[^/]+)\/params_best\.h5$/.exec(weightfile);
  return match?.groups?.run ?? weightfile;
}

const WEIGHT_QUANTIZATION = {
  fp: 'fp',
  pow2: 'pow2',
  ...Object.fromEntries(PARAMETRIZATION_TABLE.map((e) => [e.method, e.short])),
} as Readonly<Record<WeightQuantizeMethod, LayerQuantization>>;

/** The quantizer a `w_quantize` value names ('float' for none). */
export function weightQuantization(method: WeightQuantizeMethod | null): LayerQuantization {
  return method === null ? 'float' : WEIGHT_QUANTIZATION[method];
}

/** The quantizer an `a_quantize` value names (the weight method without `_relu`; 'float' for none, a plain ReLU). */
export function activationQuantization(method: ActivationQuantizeMethod | null): LayerQuantization {
  return method === null ? 'float' : WEIGHT_QUANTIZATION[method.replace(/_relu$/, '') as WeightQuantizeMethod];
}

const RESNET_DEPTHS = [20, 32, 44, 56, 110];

function roleConfig(cfg: CodeConfiguration, role: 'w' | 'a'): RoleConfig {
  const get = (suffix: string): number => cfg[`${role}_${suffix}` as keyof CodeConfiguration] as number;
  return {
    stepsize: get('stepsize'),
    stepsizeRange: [get('stepsize_min'), get('stepsize_max')],
    xminRange: [get('xmin_min'), get('xmin_max')],
    xmaxRange: [get('xmax_min'), get('xmax_max')],
    bitwidth: get('bitwidth'),
    bitwidthRange: [get('bitwidth_min'), get('bitwidth_max')],
  };
}

/** What train_resnet.py `train()` fixes for every CIFAR-10 run (docs/METHOD.md#training-loop). */
export const CODE_TRAINING_CONSTANTS = {
  epochs: 160,
  /** lr0 for 80 epochs, lr0/10 for 40, lr0/100 for 40. */
  milestones: [0.5, 0.75] as readonly number[],
  factor: 0.1,
  batchSize: 128,
  evalBatchSize: 100,
  weightDecay: 2e-4,
  momentum: 0.9,
  /** cifar_data's shuffling RandomState. */
  seed: 313,
} as const;

/**
 * A TrainConfig that runs a code configuration as train_resnet.py would: `resnet{num_layers}`, the quantizers and
 * their ranges, SGD momentum 0.9 (Adam for `optimizer = adam`), the 160-epoch step schedule, batch 128, weight decay
 * 2e-4, memory targets where > 0, the scale layer, `initFrom` from `weightfile`, augmentation on; `name` is the
 * experiment. Throws a {@link CodeConfigurationError} naming the field for what mixprec cannot build
 * (`shortcut_type` 'b' / 'c', an unknown depth).
 */
export function codeConfigurationToTrainConfig(cfg: CodeConfiguration): TrainConfig {
  if (!RESNET_DEPTHS.includes(cfg.num_layers)) {
    throw new CodeConfigurationError('num_layers', `no CIFAR ResNet with ${cfg.num_layers} layers; the code builds ${RESNET_DEPTHS.join(', ')}`);
  }
  const shortcut = cfg.shortcut_type.toLowerCase();
  if (shortcut === 'b' || shortcut === 'c') {
    throw new CodeConfigurationError(
      'shortcut_type',
      `${JSON.stringify(cfg.shortcut_type)} (1×1 convolution shortcuts` +
        `${shortcut === 'b' ? ' where the channels change' : ' in every block'}) is not supported; mixprec builds option A ` +
        `(identity, subsampling and zero channels), the code's behaviour for shortcut_type = '' as in both cfg files`,
    );
  }
  return {
    name: cfg.experiment,
    model: `resnet${cfg.num_layers}` as ModelName,
    quant: {
      weights: weightQuantization(cfg.w_quantize),
      activations: activationQuantization(cfg.a_quantize),
      weightBits: cfg.w_bitwidth,
      activationBits: cfg.a_bitwidth,
      weight: roleConfig(cfg, 'w'),
      activation: roleConfig(cfg, 'a'),
    },
    scaleLayer: cfg.scale_layer,
    optimizer: cfg.optimizer === 'adam' ? 'adam' : 'momentum',
    momentum: CODE_TRAINING_CONSTANTS.momentum,
    learningRate: cfg.initial_learning_rate,
    schedule: { kind: 'step', milestones: [...CODE_TRAINING_CONSTANTS.milestones], factor: CODE_TRAINING_CONSTANTS.factor },
    epochs: CODE_TRAINING_CONSTANTS.epochs,
    batchSize: CODE_TRAINING_CONSTANTS.batchSize,
    evalBatchSize: CODE_TRAINING_CONSTANTS.evalBatchSize,
    weightDecay: CODE_TRAINING_CONSTANTS.weightDecay,
    targets: {
      weightKB: cfg.target_weight_kbytes > 0 ? cfg.target_weight_kbytes : null,
      activationKB: cfg.target_activation_kbytes > 0 ? cfg.target_activation_kbytes : null,
      activationType: cfg.target_activation_type,
      lambda2: cfg.initial_cost_lambda2,
      lambda3: cfg.initial_cost_lambda3,
    },
    initFrom: cfg.weightfile === null ? null : initFromWeightfile(cfg.weightfile),
    augment: true,
    seed: CODE_TRAINING_CONSTANTS.seed,
  };
}

/** The TrainConfig of a preset (see {@link resolvePreset} for names), with `overrides` merged last. */
export function presetToTrainConfig(name: string, overrides: TrainConfigOverrides = {}): TrainConfig {
  return mergeTrainConfig(codeConfigurationToTrainConfig(presetConfiguration(name)), overrides);
}

function describePreset(name: string, cfg: CodeConfiguration, group: string | null): string {
  const parts = parsePresetName(name);
  const train = codeConfigurationToTrainConfig(cfg);
  if (parts === null) return `${group ?? 'cfg section'} (name outside the naming grammar)`;
  return describePresetName(name, parts, {
    learningRate: train.learningRate,
    adam: train.optimizer === 'adam',
    initFrom: train.initFrom,
    weightTargetKB: train.targets.weightKB,
    activationTargetKB: train.targets.activationKB,
    scaleLayer: train.scaleLayer,
    activationBits: train.quant.activationBits,
    lambda2: train.targets.lambda2,
    lambda3: train.targets.lambda3,
  });
}

/** Every experiment of the given cfg files (default: both official ones), `DEFAULT` first in each, in file order. */
export function listPresets(files: readonly CfgFile[] = CFG_FILES): PresetInfo[] {
  return files.flatMap((file) =>
    [
      { name: 'DEFAULT', group: null, comment: null },
      ...file.sections.map((s) => ({ name: s.name, group: s.group, comment: s.comment ?? null })),
    ].map(({ name, group, comment }) => ({
      name,
      file: file.id,
      qualifiedName: `${file.id}:${name}`,
      lookupName: lookupNameOf(file, name, files),
      group,
      comment,
      description: describePreset(name, applyCodeConverters(sectionRawValues(file, name)!, name), group),
    })),
  );
}
