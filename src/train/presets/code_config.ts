/**
 * The official training script's experiment configuration (train_resnet.py `Configuration`, an attrs class), field by
 * field with the code's own snake_case names, its defaults, and its converters applied to raw cfg strings; plus the
 * types of a transcribed cfg file (fp.ts, pow2.ts).
 *
 * The script builds one with `Configuration(**dict(cfgs[experiment].items()), experiment=experiment)`: configparser
 * hands every value over as a string (the `[DEFAULT]` keys merged under the section's own), attrs runs each field's
 * converter on it, and fields the cfg does not set keep their attrs default.
 */
import { PARAMETRIZATION_TABLE, type ParametricMethod } from '../../quant/parametrizations';

/**
 * `w_quantize` values the code accepts (get_quantizers in model_resnet.py; network_size_weights in train_resnet.py):
 * the fixed `fp` and `pow2`, and the six learned methods of the parametrization table.
 */
export type WeightQuantizeMethod = 'fp' | 'pow2' | ParametricMethod;

/** `a_quantize` values the code accepts (nonl in model_resnet.py): the weight methods with `_relu`, unsigned. */
export type ActivationQuantizeMethod = `${WeightQuantizeMethod}_relu`;

/** Every accepted `w_quantize` value. */
export const WEIGHT_QUANTIZE_METHODS: readonly WeightQuantizeMethod[] = ['fp', 'pow2', ...PARAMETRIZATION_TABLE.map((e) => e.method)];

/** Every accepted `a_quantize` value (the weight methods with `_relu`). */
export const ACTIVATION_QUANTIZE_METHODS: readonly ActivationQuantizeMethod[] = WEIGHT_QUANTIZE_METHODS.map((method) => `${method}_relu` as const);

/** `target_activation_type`: 'max' is the largest layer (constraint 8c), 'sum' all layers (8b). */
export type TargetActivationType = 'max' | 'sum';

/** train_resnet.py `Configuration`, field by field (names, types after conversion, meaning). */
export interface CodeConfiguration {
  /** The section name given on the command line; also the output folder (`params_dir`). */
  experiment: string;
  /** ResNet depth: 20, 32, 44, 56 or 110 (model_resnet.resnet_cifar10). Required (int). */
  num_layers: number;
  /** '' (or anything but 'b'/'c', case-insensitive): option A shortcuts; 'b': 1×1 conv where channels change; 'c': always. Required (str). */
  shortcut_type: string;
  /** Initial learning rate (Adam's alpha with `optimizer = adam`). Required (float). */
  initial_learning_rate: number;
  /** 'adam' selects Adam; anything else, or null, SGD with momentum 0.9 (str, default None). */
  optimizer: string | null;
  /** Checkpoint to load before building the network, e.g. `params_DEFAULT/params_best.h5` (str, default None). */
  weightfile: string | null;

  /** Weight and bias quantizer; null: float (str, default None). */
  w_quantize: WeightQuantizeMethod | null;
  /** Activation quantizer replacing every ReLU; null: plain ReLU (str, default None). */
  a_quantize: ActivationQuantizeMethod | null;

  /** Initial weight step size without pre-trained weights (float, default 2^-3). */
  w_stepsize: number;
  w_stepsize_min: number;
  w_stepsize_max: number;
  w_xmin_min: number;
  w_xmin_max: number;
  w_xmax_min: number;
  w_xmax_max: number;
  /** Initial (or fixed) weight bitwidth (int, default 4). */
  w_bitwidth: number;
  /** Lower bitwidth bound (int, default 2: "one bit for sign"). */
  w_bitwidth_min: number;
  w_bitwidth_max: number;

  /** Initial activation step size (float, default 2^-3). */
  a_stepsize: number;
  a_stepsize_min: number;
  a_stepsize_max: number;
  a_xmin_min: number;
  a_xmin_max: number;
  a_xmax_min: number;
  a_xmax_max: number;
  /** Initial (or fixed) activation bitwidth (int, default 4). */
  a_bitwidth: number;
  a_bitwidth_min: number;
  a_bitwidth_max: number;

  /** Weight memory target in KB (KiB); ≤ 0: none (float, default -1). */
  target_weight_kbytes: number;
  /** Activation memory target in KB; ≤ 0: none (float, default -1). */
  target_activation_kbytes: number;
  /** How layer activation sizes combine (str, default 'max'). */
  target_activation_type: TargetActivationType;

  /** λ2, weight of the weight-memory penalty (float, default 0.1; constant despite the name). */
  initial_cost_lambda2: number;
  /** λ3, weight of the activation-memory penalty (float, default 0.1). */
  initial_cost_lambda3: number;

  /** A learnable scalar multiplying the logits (`converter=bool`, default False; see {@link applyCodeConverters}). */
  scale_layer: boolean;
}

/** A key a cfg section may set: every field but `experiment`, which the script passes itself. */
export type CodeConfigKey = Exclude<keyof CodeConfiguration, 'experiment'>;

/** The three fields without an attrs default; both cfg files set them in `[DEFAULT]`. */
export const REQUIRED_CODE_KEYS = ['num_layers', 'shortcut_type', 'initial_learning_rate'] as const;

/** Fields with an attrs default. */
export type DefaultedCodeKey = Exclude<CodeConfigKey, (typeof REQUIRED_CODE_KEYS)[number]>;

/** The attrs defaults of `Configuration` (after conversion: attrs runs converters on defaults too). */
export const CODE_CONFIGURATION_DEFAULTS: Readonly<Pick<CodeConfiguration, DefaultedCodeKey>> = {
  optimizer: null,
  weightfile: null,
  w_quantize: null,
  a_quantize: null,
  w_stepsize: 2 ** -3,
  w_stepsize_min: 2 ** -8,
  w_stepsize_max: 1,
  w_xmin_min: 2 ** -16,
  w_xmin_max: 127,
  w_xmax_min: 2 ** -8,
  w_xmax_max: 127,
  w_bitwidth: 4,
  w_bitwidth_min: 2,
  w_bitwidth_max: 8,
  a_stepsize: 2 ** -3,
  a_stepsize_min: 2 ** -8,
  a_stepsize_max: 1,
  a_xmin_min: 2 ** -14,
  a_xmin_max: 255,
  a_xmax_min: 2 ** -8,
  a_xmax_max: 255,
  a_bitwidth: 4,
  a_bitwidth_min: 1,
  a_bitwidth_max: 8,
  target_weight_kbytes: -1,
  target_activation_kbytes: -1,
  target_activation_type: 'max',
  initial_cost_lambda2: 0.1,
  initial_cost_lambda3: 0.1,
  scale_layer: false,
};

/** The converter attrs applies to each field (`str`: none, the string is kept). */
export type CodeConverter = 'int' | 'float' | 'str' | 'bool';

/** Each cfg key's converter, as declared in `Configuration`. */
export const CODE_CONVERTERS: Readonly<Record<CodeConfigKey, CodeConverter>> = {
  num_layers: 'int',
  shortcut_type: 'str',
  initial_learning_rate: 'float',
  optimizer: 'str',
  weightfile: 'str',
  w_quantize: 'str',
  a_quantize: 'str',
  w_stepsize: 'float',
  w_stepsize_min: 'float',
  w_stepsize_max: 'float',
  w_xmin_min: 'float',
  w_xmin_max: 'float',
  w_xmax_min: 'float',
  w_xmax_max: 'float',
  w_bitwidth: 'int',
  w_bitwidth_min: 'int',
  w_bitwidth_max: 'int',
  a_stepsize: 'float',
  a_stepsize_min: 'float',
  a_stepsize_max: 'float',
  a_xmin_min: 'float',
  a_xmin_max: 'float',
  a_xmax_min: 'float',
  a_xmax_max: 'float',
  a_bitwidth: 'int',
  a_bitwidth_min: 'int',
  a_bitwidth_max: 'int',
  target_weight_kbytes: 'float',
  target_activation_kbytes: 'float',
  target_activation_type: 'str',
  initial_cost_lambda2: 'float',
  initial_cost_lambda3: 'float',
  scale_layer: 'bool',
};

/** Every key a cfg section may set, in `Configuration` order. */
export const CODE_CONFIG_KEYS: readonly CodeConfigKey[] = Object.keys(CODE_CONVERTERS) as CodeConfigKey[];

/** Raw cfg values as configparser returns them: strings, keyed by field name. */
export type RawCodeValues = Readonly<Partial<Record<CodeConfigKey, string>>>;

/** Which official cfg file: `train_resnet_quant_fp.cfg` (uniform) or `train_resnet_quant_pow2.cfg` (power-of-two). */
export type CfgFileId = 'fp' | 'pow2';

/** One `[SECTION]` of a cfg file, as written. */
export interface CfgSection {
  /** The section name between the brackets (what train_resnet.py takes as `experiment`). */
  readonly name: string;
  /** Text after the header on the same line, e.g. `#app66/0` (configparser ignores it). */
  readonly comment?: string;
  /** The `########### … ###########` banner above the section, without the hashes. */
  readonly group: string;
  /** Exactly the keys this section sets, with the file's raw values, in file order. */
  readonly values: RawCodeValues;
}

/** A transcribed cfg file: `[DEFAULT]` and the other sections in file order. */
export interface CfgFile {
  readonly id: CfgFileId;
  /** Path in sony/ai-research-code. */
  readonly path: string;
  /** The `[DEFAULT]` section's keys; configparser applies them to every section that does not set them itself. */
  readonly defaults: RawCodeValues;
  /** Every other section in file order. */
  readonly sections: readonly CfgSection[];
}

/** A raw value the code would reject, or a configuration this toolkit cannot run; `field` names the entry. */
export class CodeConfigurationError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`code configuration ${field}: ${problem}`);
    this.name = 'CodeConfigurationError';
  }
}

const PYTHON_INT = /^[+-]?\d+(?:_\d+)*$/;
const PYTHON_DECIMAL = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const PYTHON_SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;

/** Python's `int(str)`: base-10 digits with optional sign, surrounding whitespace and `_` separators. */
function pythonInt(field: string, raw: string): number {
  const text = raw.trim();
  if (!PYTHON_INT.test(text)) throw new CodeConfigurationError(field, `int() cannot convert ${JSON.stringify(raw)}`);
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(value)) throw new CodeConfigurationError(field, `integer ${raw} is out of range`);
  return value;
}

/** Python's `float(str)`: decimal or exponent notation, `inf`/`infinity`/`nan` in any case. */
function pythonFloat(field: string, raw: string): number {
  const text = raw.trim();
  const special = PYTHON_SPECIAL_FLOAT.exec(text);
  if (special !== null) {
    if (special[2]!.toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!PYTHON_DECIMAL.test(text)) throw new CodeConfigurationError(field, `float() cannot convert ${JSON.stringify(raw)}`);
  return Number(text.replace(/_/g, ''));
}

function oneOf<T extends string>(field: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new CodeConfigurationError(field, `unknown value ${JSON.stringify(raw)}; the code accepts ${allowed.join(', ')}`);
  }
  return raw as T;
}

type MutableConfiguration = { -readonly [K in keyof CodeConfiguration]: CodeConfiguration[K] };

/**
 * `Configuration(**raw, experiment=experiment)`: applies the attrs converters to raw cfg strings (configparser's
 * values, `[DEFAULT]` already merged in) and fills the attrs defaults.
 *
 * - `int` / `float` fields parse as Python's `int()` / `float()` do ("2.0" is not an int; "1e-3" is a float).
 * - `scale_layer` uses `converter=bool`, Python's truthiness of the *string*: every non-empty value is True, so
 *   `scale_layer = False` (or `0`, `no`) turns the scale layer **on**; only an empty value (`scale_layer = `) is
 *   False. Reproduced as the code has it; the official cfgs only ever write `True`.
 * - `w_quantize`, `a_quantize` and `target_activation_type` have no converter; the attrs class would accept any string
 *   and the training script fail later, so unknown values are rejected here with the accepted list.
 * - A key that is not a field is an error, as attrs raises for an unexpected keyword (configparser lower-cases keys
 *   before this point; this function expects them lower-case).
 */
export function applyCodeConverters(raw: Readonly<Record<string, string>>, experiment: string): CodeConfiguration {
  const config: Partial<MutableConfiguration> = { ...CODE_CONFIGURATION_DEFAULTS, experiment };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'experiment') {
      throw new CodeConfigurationError(key, 'is passed by the script itself; a cfg section cannot set it');
    }
    if (!(key in CODE_CONVERTERS)) {
      throw new CodeConfigurationError(key, `not a field of Configuration (fields: ${CODE_CONFIG_KEYS.join(', ')})`);
    }
    if (typeof value !== 'string') {
      throw new CodeConfigurationError(key, `raw cfg values are strings, got ${JSON.stringify(value)}`);
    }
    const field = key as CodeConfigKey;
    switch (field) {
      case 'w_quantize':
        config.w_quantize = oneOf(field, value, WEIGHT_QUANTIZE_METHODS);
        break;
      case 'a_quantize':
        config.a_quantize = oneOf(field, value, ACTIVATION_QUANTIZE_METHODS);
        break;
      case 'target_activation_type':
        config.target_activation_type = oneOf<TargetActivationType>(field, value, ['max', 'sum']);
        break;
      case 'shortcut_type':
      case 'optimizer':
      case 'weightfile':
        config[field] = value;
        break;
      case 'scale_layer':
        // attrs `converter=bool` on a string: Python truthiness, True for every non-empty string ("False" included).
        config.scale_layer = value.length > 0;
        break;
      default: {
        const converter = CODE_CONVERTERS[field];
        (config as Record<string, unknown>)[field] = converter === 'int' ? pythonInt(field, value) : pythonFloat(field, value);
      }
    }
  }
  for (const key of REQUIRED_CODE_KEYS) {
    if (raw[key] === undefined) {
      throw new CodeConfigurationError(key, `required (no attrs default); set it in the section or in [DEFAULT]`);
    }
  }
  return config as CodeConfiguration;
}

/** configparser's view of one section: the `[DEFAULT]` keys, overridden by the section's own (`DEFAULT`: defaults only). */
export function sectionRawValues(file: CfgFile, name: string): RawCodeValues | undefined {
  if (name === 'DEFAULT') return { ...file.defaults };
  const section = file.sections.find((s) => s.name === name);
  return section === undefined ? undefined : { ...file.defaults, ...section.values };
}
