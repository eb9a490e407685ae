/**
 * The paper's published numbers (docs/EXPERIMENTS.md#published-results, copied from the ICLR 2020 submission and the repo's images), typed, with the
 * official runs each CIFAR-10 number can come from, for putting our results next to the paper's.
 *
 * Which exact run produced a published number is not documented. The links list the variants of the matching
 * experiment (the runs of one stem of the naming grammar: learning-rate, repeat and fine-tune variants) and say on
 * what the association rests: `get_res.py` (the official result script, which reads the Table-1 uniform float-init
 * numbers from the `…_INIT_ADAM` runs), docs/EXPERIMENTS.md#experiment-names, or the naming grammar (inference).
 */
import { PARAMETRIZATION_FAMILIES, parametrizationInfo, type LearnedKind, type ShortName } from '../../quant/parametrizations';
import type { CfgFile, CfgFileId } from './code_config';
import { FP_CFG } from './fp';
import { POW2_CFG } from './pow2';
import { presetVariants } from './names';

/** The official runs a published number can come from. */
export interface PresetLink {
  /** The cfg file whose sections `presets` names (for the float runs, which both files define alike: 'fp'). */
  file: CfgFileId;
  /** Candidate runs in file order: the variants of the experiment. */
  presets: readonly string[];
  /** The run the official result script reads this number from (get_res.py), where there is one. */
  reportedBy: string | null;
  /** What the association rests on. */
  basis: string;
}

/** A validation error in percent (the CIFAR-10 test set, best epoch), or the paper's "diverging". */
export type ErrorPercent = number | 'diverging';

/** Which tensors Table 1 quantizes. */
export type Table1Quantized = 'weights' | 'weights+activations';

/** One cell pair of Table 1: a parametrization (or float32) with random and float-net initialisation. */
export interface Table1Entry {
  quantized: Table1Quantized;
  column: 'float32' | ShortName;
  randomInit: ErrorPercent;
  floatInit: ErrorPercent;
  randomInitRuns: PresetLink;
  floatInitRuns: PresetLink;
}

const GRAMMAR_BASIS = 'naming grammar (docs/EXPERIMENTS.md#experiment-names): no INIT = random init, INIT = from the float DEFAULT [inference]';
const GET_RES_BASIS = 'get_res.py reads this number from the …_INIT_ADAM run (the paper says SGD with momentum)';

function link(file: CfgFile, stem: string, basis: string, reportedBy: string | null = null): PresetLink {
  return { file: file.id, presets: presetVariants(file, stem), reportedBy, basis };
}

/** Where a parametrization's Table-1 runs are: its family's cfg file, family token and parametrization token. */
function table1Stem(short: ShortName): { file: CfgFile; kind: LearnedKind; family: string; param: string } {
  const entry = parametrizationInfo(short)!;
  const family = PARAMETRIZATION_FAMILIES[entry.kind];
  const file = [FP_CFG, POW2_CFG].find((f) => f.id === family.cfgFile)!;
  return { file, kind: entry.kind, family: family.nameToken, param: entry.nameToken };
}

function table1(quantized: Table1Quantized, column: 'float32' | ShortName, randomInit: ErrorPercent, floatInit: ErrorPercent): Table1Entry {
  if (column === 'float32') {
    return {
      quantized,
      column,
      randomInit,
      floatInit,
      randomInitRuns: link(FP_CFG, 'DEFAULT', 'docs/METHOD.md#float-pre-training: DEFAULT is the float ResNet-20 trained from scratch [inference]'),
      floatInitRuns: link(FP_CFG, 'DEFAULT_INIT', 'float runs started from DEFAULT (naming grammar) [inference]'),
    };
  }
  const { file, kind, family, param } = table1Stem(column);
  const stem = `PARAMETRIC_${family}_${quantized === 'weights' ? 'WQ' : 'WAQ'}_${param}`;
  const adam = kind === 'uniform' ? `${stem}_INIT_ADAM` : null;
  return {
    quantized,
    column,
    randomInit,
    floatInit,
    randomInitRuns: link(file, stem, GRAMMAR_BASIS),
    floatInitRuns: link(file, `${stem}_INIT`, adam === null ? GRAMMAR_BASIS : GET_RES_BASIS, adam),
  };
}

/**
 * Table 1: ResNet-20 on CIFAR-10, validation error in percent with random / float-net initialisation, no memory
 * constraint, initial b = 4. The Float32 column is the same in both rows ("(same)" in the paper).
 */
export const PAPER_TABLE1: readonly Table1Entry[] = [
  table1('weights', 'float32', 8.5, 7.29),
  table1('weights', 'U1', 17.8, 8.18),
  table1('weights', 'U2', 8.8, 7.44),
  table1('weights', 'U3', 8.5, 7.32),
  table1('weights', 'P1', 11.7, 7.9),
  table1('weights', 'P2', 53.07, 23.01),
  table1('weights', 'P3', 10.61, 7.56),
  table1('weights+activations', 'float32', 8.5, 7.29),
  table1('weights+activations', 'U1', 28.9, 9.03),
  table1('weights+activations', 'U2', 9.43, 7.74),
  table1('weights+activations', 'U3', 9.23, 7.4),
  table1('weights+activations', 'P1', 22.91, 11.68),
  table1('weights+activations', 'P2', 'diverging', 35.68),
  table1('weights+activations', 'P3', 15.1, 9.86),
];

/** A bitwidth entry of Tables 3 and 4: a fixed number of bits, or learned. */
export type PaperBitwidth = number | 'learned';
/** How qmax is chosen: fixed, learned, or not applicable (float, '–'). */
export type PaperRange = 'fixed' | 'learned' | null;

/** One row of Table 3 (homogeneous vs heterogeneous quantization of ResNet-20 on CIFAR-10). */
export interface Table3Row {
  method: string;
  bitwidth: { weights: PaperBitwidth; activations: PaperBitwidth };
  qmax: { weights: PaperRange; activations: PaperRange };
  /** Sizes in KB (KiB) as printed; null where the paper prints '–' (that constraint is not used). */
  sizeKB: { weights: number; activationMax: number | null; activationSum: number | null };
  uniform: { error: ErrorPercent; runs: PresetLink };
  pow2: { error: ErrorPercent; runs: PresetLink };
}

function table3Runs(fpStem: string, pow2Stem: string): { uniform: PresetLink; pow2: PresetLink } {
  return {
    uniform: link(FP_CFG, fpStem, 'docs/EXPERIMENTS.md#experiment-names'),
    pow2: link(POW2_CFG, pow2Stem, 'docs/EXPERIMENTS.md#experiment-names (same structure as the fp file)'),
  };
}

function table3(
  method: string,
  bitwidth: Table3Row['bitwidth'],
  qmax: Table3Row['qmax'],
  sizeKB: Table3Row['sizeKB'],
  errors: [uniform: ErrorPercent, pow2: ErrorPercent],
  runs: { uniform: PresetLink; pow2: PresetLink },
): Table3Row {
  return { method, bitwidth, qmax, sizeKB, uniform: { error: errors[0], runs: runs.uniform }, pow2: { error: errors[1], runs: runs.pow2 } };
}

const FLOAT_SIZES = { activationMax: 64, activationSum: 736 };
const A4_SIZES = { activationMax: 8, activationSum: 92 };

/** Table 3: validation error in percent, uniform and power-of-two, with the runs of each. */
export const PAPER_TABLE3: readonly Table3Row[] = [
  table3('Baseline', { weights: 32, activations: 32 }, { weights: null, activations: null }, { weights: 1048, ...FLOAT_SIZES }, [7.29, 7.29], {
    uniform: link(FP_CFG, 'DEFAULT', 'docs/METHOD.md#float-pre-training: the float pre-training [inference]'),
    pow2: link(POW2_CFG, 'DEFAULT', 'docs/METHOD.md#float-pre-training: the float pre-training [inference]'),
  }),
  table3(
    'Fixed',
    { weights: 2, activations: 32 },
    { weights: 'fixed', activations: null },
    { weights: 65.5, ...FLOAT_SIZES },
    [10.81, 8.99],
    table3Runs('FP_W2Q_INIT', 'POW2_W2Q_INIT'),
  ),
  table3(
    'TQT (Jain et al., 2019)',
    { weights: 2, activations: 32 },
    { weights: 'learned', activations: null },
    { weights: 65.5, ...FLOAT_SIZES },
    [9.47, 8.79],
    table3Runs('PARAMETRIC_FP_W2Q_B_XMAX_CON_INIT', 'PARAMETRIC_POW2_W2Q_B_XMAX_CON_INIT'),
  ),
  table3(
    'Ours (w/ constr. (8a))',
    { weights: 'learned', activations: 32 },
    { weights: 'learned', activations: null },
    { weights: 70, ...FLOAT_SIZES },
    [8.59, 8.53],
    table3Runs('PARAMETRIC_FP_WQ_DELTA_XMAX_CON_INIT', 'PARAMETRIC_POW2_WQ_XMIN_XMAX_CON_INIT'),
  ),
  table3(
    'Fixed',
    { weights: 2, activations: 4 },
    { weights: 'fixed', activations: 'fixed' },
    { weights: 65.5, ...A4_SIZES },
    [11.3, 11.62],
    table3Runs('FP_W2A4Q_INIT', 'POW2_W2A4Q_INIT'),
  ),
  table3(
    'TQT (Jain et al., 2019)',
    { weights: 2, activations: 4 },
    { weights: 'learned', activations: 'learned' },
    { weights: 65.5, ...A4_SIZES },
    [9.62, 11.29],
    table3Runs('PARAMETRIC_FP_W2A4Q_B_XMAX_CON_INIT', 'PARAMETRIC_POW2_W2A4Q_B_XMAX_CON_INIT'),
  ),
  table3(
    'Ours (w/ constr. (8a) and (8b))',
    { weights: 'learned', activations: 'learned' },
    { weights: 'learned', activations: 'learned' },
    { weights: 70, activationMax: null, activationSum: 92 },
    [9.38, 11.29],
    table3Runs('PARAMETRIC_FP_WASQ_DELTA_XMAX_CON_INIT', 'PARAMETRIC_POW2_WASQ_XMIN_XMAX_CON_INIT'),
  ),
  table3(
    'Ours (w/ constr. (8a) and (8c))',
    { weights: 'learned', activations: 'learned' },
    { weights: 'learned', activations: 'learned' },
    { weights: 70, activationMax: 8, activationSum: null },
    [8.58, 11.23],
    table3Runs('PARAMETRIC_FP_WAMQ_DELTA_XMAX_CON_INIT', 'PARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT'),
  ),
];

/** One network's columns in Table 4: sizes in MB (MiB) as printed, top-1 validation error in percent. */
export interface Table4Result {
  sizeMB: { weights: number; activationMax: number };
  error: number;
}

/**
 * One row of Table 4 (ImageNet, uniform U3 for weights and activations). No preset: the ImageNet configs are not in
 * the repository (attached to issue #47, not retrievable).
 */
export interface Table4Row {
  method: string;
  bitwidth: { weights: PaperBitwidth; activations: PaperBitwidth };
  qmax: { weights: PaperRange; activations: PaperRange };
  mobilenetV2: Table4Result;
  resnet18: Table4Result;
}

function table4(
  method: string,
  bitwidth: Table4Row['bitwidth'],
  qmax: Table4Row['qmax'],
  mobilenetV2: [weightsMB: number, activationMaxMB: number, error: number],
  resnet18: [weightsMB: number, activationMaxMB: number, error: number],
): Table4Row {
  const result = ([weights, activationMax, error]: [number, number, number]): Table4Result => ({ sizeMB: { weights, activationMax }, error });
  return { method, bitwidth, qmax, mobilenetV2: result(mobilenetV2), resnet18: result(resnet18) };
}

/** Table 4: ImageNet results of MobileNetV2 and ResNet-18 (identical numbers in the repo's `imgs/results.png`). */
export const PAPER_TABLE4: readonly Table4Row[] = [
  table4('Baseline', { weights: 32, activations: 32 }, { weights: null, activations: null }, [13.23, 4.59, 29.82], [44.56, 3.04, 29.72]),
  table4('Fixed', { weights: 4, activations: 4 }, { weights: 'fixed', activations: 'fixed' }, [1.65, 0.57, 36.27], [5.57, 0.38, 34.15]),
  table4(
    'TQT (Jain et al., 2019)',
    { weights: 4, activations: 4 },
    { weights: 'learned', activations: 'learned' },
    [1.65, 0.57, 32.21],
    [5.57, 0.38, 30.49],
  ),
  table4(
    'Ours (w/ constr. (8a) and (8c))',
    { weights: 'learned', activations: 'learned' },
    { weights: 'learned', activations: 'learned' },
    [1.55, 0.57, 30.26],
    [5.4, 0.38, 29.92],
  ),
  table4(
    'Ours (w/o constr.)',
    { weights: 'learned', activations: 'learned' },
    { weights: 'learned', activations: 'learned' },
    [3.14, 1.58, 29.41],
    [10.5, 1.05, 29.34],
  ),
];

/**
 * Fig. 5 (repo `imgs/bitwidth.png`): the learned weight bitwidth per layer of the constrained ImageNet networks, read
 * off the bars (docs/EXPERIMENTS.md#learned-bitwidths: an inference, checked for ResNet-18, whose bits times its parameter counts give the 5.40 MB
 * of Table 4). No preset (ImageNet).
 */
export const PAPER_FIG5_BITWIDTHS = {
  resnet18: {
    /** conv1, then per BasicBlock convA, convB, with the 1×1 downsample conv after convB in the first block of stages 2–4. */
    layers: [
      'conv1',
      'res1.1a',
      'res1.1b',
      'res1.2a',
      'res1.2b',
      'res2.1a',
      'res2.1b',
      'res2.1-downsample',
      'res2.2a',
      'res2.2b',
      'res3.1a',
      'res3.1b',
      'res3.1-downsample',
      'res3.2a',
      'res3.2b',
      'res4.1a',
      'res4.1b',
      'res4.1-downsample',
      'res4.2a',
      'res4.2b',
      'fc',
    ] as readonly string[],
    bits: [9, 8, 5, 6, 6, 6, 6, 8, 6, 5, 5, 4, 5, 4, 4, 4, 3, 5, 3, 4, 7] as readonly number[],
  },
  mobilenetV2: {
    /**
     * 53 layers: conv, dw, pw, then 16 × (pw-expand, dw, pw-project), the 1×1 conv to 1280 channels, fc. With standard
     * MobileNetV2 parameter counts these give 1.586 MiB, not Table 4's 1.55 MB (not reconciled, docs/EXPERIMENTS.md#learned-bitwidths).
     */
    bits: [
      9,
      10,
      9,
      8,
      8,
      8,
      7,
      9,
      7,
      7,
      6,
      8,
      5,
      7,
      6,
      6,
      8,
      6,
      7,
      6,
      6,
      4,
      6,
      5,
      4,
      6,
      4,
      4,
      6,
      5,
      6,
      7,
      6,
      5,
      6,
      4,
      4,
      6,
      4,
      6,
      5,
      5,
      4,
      6,
      3,
      4,
      6,
      4,
      5,
      3,
      4,
      4, // 1×1 conv to 1280
      3, // fc
    ] as readonly number[],
  },
} as const;
