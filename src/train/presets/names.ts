/**
 * The naming grammar of the official experiment names (docs/EXPERIMENTS.md#experiment-names):
 * `[PARAMETRIC_]{FP|POW2}_W[bits][A[bits]][M|S]Q[_PARAM][_CON][_INIT][_{OLR|RLR|RRLR|ADAM}[n]][_FT[n]]`, and the float
 * runs `DEFAULT[_INIT][_RLR]` / `DEFAULT_`. Every section name of both cfg files parses (tested), and the parts agree
 * with the sections' configurations.
 */
import { PARAMETRIZATION_FAMILIES, PARAMETRIZATION_TABLE, parametrizationInfo, type LearnedKind, type ShortName } from '../../quant/parametrizations';
import type { CfgFile } from './code_config';

/** What a run quantizes with, from the name's prefix. */
export type NamedQuantizer = 'float' | `${'fixed' | 'learned'}-${LearnedKind}`;

/** Learning-rate / optimizer token: none = 0.03 (the float pre-training `DEFAULT`: 0.1). */
export type LearningRateToken = 'OLR' | 'RLR' | 'RRLR' | 'ADAM';

/** An experiment name broken into its grammar parts. */
export interface PresetNameParts {
  quantizer: NamedQuantizer;
  /** `WA…Q`: activations quantized too. */
  activationsQuantized: boolean;
  /** Fixed bitwidths in the name (`W2`, `A4`), or null. */
  weightBits: number | null;
  activationBits: number | null;
  /** `WAMQ`: max-activation memory target (8c); `WASQ`: total-activation memory target (8b). */
  activationMemoryTarget: 'max' | 'sum' | null;
  /** `DELTA_B` U1, `B_XMAX` U2/P1, `DELTA_XMAX` U3, `B_XMIN` P2, `XMIN_XMAX` P3 (learned quantizers only). */
  parametrization: ShortName | null;
  /** `CON`: bitwidth frozen (learn range only) or memory targets. */
  constrained: boolean;
  /** `INIT`: starts from a checkpoint (`weightfile`), normally the float `DEFAULT`. */
  init: boolean;
  learningRateToken: LearningRateToken | null;
  /** The digit after the learning-rate token (`RLR2` → 2): a repeat or variant. */
  repeat: number | null;
  /** `FT` → 1, `FT2` → 2, …: fine-tuning from another run. */
  fineTune: number | null;
  /**
   * The experiment without learning-rate, repeat and fine-tune tokens: runs that share a stem are variants of one
   * experiment (`PARAMETRIC_FP_WQ_DELTA_XMAX_INIT` for `…_INIT`, `…_INIT_RLR`, `…_INIT_ADAM`).
   */
  stem: string;
}

const KINDS = Object.keys(PARAMETRIZATION_FAMILIES) as LearnedKind[];
/** `FP|POW2` and `DELTA_XMAX|XMIN_XMAX|…` from the table, longest first so that no token stops at a shorter one. */
const alternation = (tokens: readonly string[]) => [...new Set(tokens)].sort((a, b) => b.length - a.length).join('|');
const FAMILY_TOKENS = alternation(KINDS.map((kind) => PARAMETRIZATION_FAMILIES[kind].nameToken));
const PARAM_TOKENS = alternation(PARAMETRIZATION_TABLE.map((e) => e.nameToken));

const NAME_GRAMMAR = new RegExp(
  `^(?<base>DEFAULT|(?<parametric>PARAMETRIC_)?(?<family>${FAMILY_TOKENS})_W(?<wBits>\\d+)?(?<acts>A(?<aBits>\\d+)?)?(?<memory>[MS])?Q` +
    `(?:_(?<param>${PARAM_TOKENS}))?)` +
    '(?<con>_CON)?(?<init>_INIT)?(?:_(?<lr>OLR|RLR|RRLR|ADAM)(?<repeat>\\d+)?)?(?<ftToken>_FT(?<ft>\\d+)?)?(?<trailing>_)?$',
);

/** The grammar parts of an experiment name, or null when the name does not follow the grammar. */
export function parsePresetName(name: string): PresetNameParts | null {
  const groups = NAME_GRAMMAR.exec(name)?.groups;
  if (groups === undefined) return null;
  const family = KINDS.find((kind) => PARAMETRIZATION_FAMILIES[kind].nameToken === groups.family);
  const parametric = groups.parametric !== undefined;
  let parametrization: ShortName | null = null;
  if (groups.param !== undefined) {
    // A parametrization only exists for learned quantizers of its family (POW2 has no DELTA_*, FP no B_XMIN).
    if (family === undefined || !parametric) return null;
    parametrization = PARAMETRIZATION_TABLE.find((e) => e.kind === family && e.nameToken === groups.param)?.short ?? null;
    if (parametrization === null) return null;
  } else if (parametric) {
    return null;
  }
  const quantizer: NamedQuantizer = family === undefined ? 'float' : `${parametric ? 'learned' : 'fixed'}-${family}`;
  const integer = (digits: string | undefined): number | null => (digits === undefined ? null : Number(digits));
  return {
    quantizer,
    activationsQuantized: groups.acts !== undefined,
    weightBits: integer(groups.wBits),
    activationBits: integer(groups.aBits),
    activationMemoryTarget: groups.memory === 'M' ? 'max' : groups.memory === 'S' ? 'sum' : null,
    parametrization,
    constrained: groups.con !== undefined,
    init: groups.init !== undefined,
    learningRateToken: (groups.lr as LearningRateToken | undefined) ?? null,
    repeat: integer(groups.repeat),
    fineTune: groups.ftToken === undefined ? null : groups.ft === undefined ? 1 : Number(groups.ft),
    stem: `${groups.base}${groups.con ?? ''}${groups.init ?? ''}`,
  };
}

/**
 * The initial learning rate the name's token stands for (docs/EXPERIMENTS.md#experiment-names): none 0.03, `OLR` 0.1, `RLR` 0.01, `RRLR` 0.003,
 * `ADAM` 0.001 (Adam's alpha); the float pre-training `DEFAULT` 0.1. The pow2 `B_XMIN` runs use a tenth of it
 * (0.003 / 0.001), which the name does not say.
 */
export function learningRateOfName(name: string, parts: PresetNameParts): number {
  if (name === 'DEFAULT') return 0.1;
  const byToken: Record<LearningRateToken | 'none', number> = { none: 0.03, OLR: 0.1, RLR: 0.01, RRLR: 0.003, ADAM: 0.001 };
  const rate = byToken[parts.learningRateToken ?? 'none'];
  return parts.quantizer === 'learned-pow2' && parts.parametrization === 'P2' ? rate / 10 : rate;
}

/** What {@link describePresetName} needs from the configuration for its numbers. */
export interface DescribedSettings {
  learningRate: number;
  adam: boolean;
  /** The section name `weightfile` points at, or null. */
  initFrom: string | null;
  weightTargetKB: number | null;
  activationTargetKB: number | null;
  scaleLayer: boolean;
  /** Initial activation bitwidth (`a_bitwidth`). */
  activationBits: number;
  /** Penalty weights λ2, λ3 (mentioned where they differ from the code's 0.1). */
  lambda2: number;
  lambda3: number;
}

/** One line saying what an experiment is, from its name's grammar parts and the numbers of its configuration. */
export function describePresetName(name: string, parts: PresetNameParts, settings: DescribedSettings): string {
  const pieces: string[] = [];
  const family = PARAMETRIZATION_FAMILIES[parts.quantizer.endsWith('uniform') ? 'uniform' : 'pow2'].label;
  const parametrization = parts.parametrization === null ? '' : ` ${parametrizationInfo(parts.parametrization)!.label}`;
  switch (parts.quantizer) {
    case 'float':
      pieces.push(name === 'DEFAULT' ? 'float32 pre-training (the float net INIT runs start from)' : 'float32 retraining');
      break;
    case 'fixed-uniform':
    case 'fixed-pow2': {
      const what = `fixed ${family} weights ${parts.weightBits ?? '?'} bit`;
      pieces.push(parts.activationsQuantized ? `${what} + activations ${parts.activationBits ?? '?'} bit` : `${what}, float activations`);
      break;
    }
    default:
      pieces.push(
        `learned ${family}${parametrization} ` +
          (parts.activationsQuantized ? 'weights + activations' : 'weights, float activations') +
          (parts.activationsQuantized && settings.activationBits !== 4 ? ` (initial activations ${settings.activationBits} bit)` : ''),
      );
  }
  if (parts.constrained) {
    if (settings.weightTargetKB !== null || settings.activationTargetKB !== null) {
      const targets: string[] = [];
      if (settings.weightTargetKB !== null) targets.push(`weights ≤ ${settings.weightTargetKB} KB`);
      if (settings.activationTargetKB !== null) {
        targets.push(`${parts.activationMemoryTarget === 'sum' ? 'total' : 'max'} activation ≤ ${settings.activationTargetKB} KB`);
      }
      const lambdas = [
        ['λ2', settings.lambda2],
        ['λ3', settings.lambda3],
      ]
        .filter(([, v]) => v !== 0.1)
        .map(([k, v]) => `${k} = ${v}`);
      pieces.push(`memory targets ${targets.join(', ')}${lambdas.length > 0 ? ` (${lambdas.join(', ')})` : ''}`);
    } else {
      const bits = [`W${parts.weightBits ?? '?'}`, ...(parts.activationsQuantized ? [`A${parts.activationBits ?? '?'}`] : [])];
      pieces.push(`bitwidth frozen at ${bits.join('/')}, range learned (TQT-like)`);
    }
  }
  if (settings.initFrom === null) pieces.push('random init');
  else if (settings.initFrom === name) pieces.push(`init from its own output ${name} (self-reference in the cfg)`);
  else pieces.push(`init from ${settings.initFrom}${settings.initFrom === 'DEFAULT' ? ' (float)' : ''}`);
  let training = `${settings.adam ? 'Adam' : 'SGD'} lr ${settings.learningRate}`;
  if (parts.repeat !== null) training += `, variant ${parts.repeat}`;
  if (parts.fineTune !== null) training += `, fine-tune ${parts.fineTune}`;
  pieces.push(training);
  if (settings.scaleLayer) pieces.push('learnable logit scale');
  return pieces.join('; ');
}

/**
 * The sections of a cfg file (`DEFAULT` included), in file order, whose names have this stem: the learning-rate,
 * repeat and fine-tune variants of one experiment (`presetVariants(FP_CFG, 'FP_W2Q_INIT')` →
 * FP_W2Q_INIT, FP_W2Q_INIT_RLR, FP_W2Q_INIT_RRLR).
 */
export function presetVariants(file: CfgFile, stem: string): string[] {
  return ['DEFAULT', ...file.sections.map((s) => s.name)].filter((name) => parsePresetName(name)?.stem === stem);
}
