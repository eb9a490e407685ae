/**
 * Training as the official workflow runs it: a preset (cfg section) plus overrides, on a dataset's train and test
 * splits, into `<runs>/<name>/`; a run that initialises from another (`weightfile = params_DEFAULT/...`) finds that
 * run's best checkpoint next to it and, when it is missing, trains it first (float pre-training → quantized
 * fine-tuning), recursively.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openBatchSource, type DatasetBatchSource } from '../data';
import type { TrainConfig, TrainConfigOverrides } from './config';
import { presetToTrainConfig } from './presets';
import { existingRunFiles, train, type TrainEvent, type TrainResult } from './trainer';
import { checkDirCreatable } from '../util/files';

export interface TrainingSessionOptions {
  /** A cfg section name (`DEFAULT`, `PARAMETRIC_FP_WAQ_DELTA_XMAX_INIT`, `pow2:DEFAULT`, …). */
  preset: string;
  /** Applied on top of every preset in the chain (dataset-level choices: model, epochs, batch size, …). */
  overrides?: TrainConfigOverrides;
  /** The train split (`<name>-train.arrow`). */
  dataset: string;
  /** The test split; default: the train file's name with `-train` replaced by `-test`. */
  testDataset?: string;
  /** Folder holding one folder per run (default `runs`). */
  runsDir?: string;
  /** This run's folder (default `<runsDir>/<preset>`). */
  outDir?: string;
  resume?: boolean;
  /** Replace a run already in the output folder (its files are removed first); see {@link TrainOptions.overwrite}. */
  overwrite?: boolean;
  /** A checkpoint to initialise from, instead of the preset's `initFrom` run. */
  init?: string;
  /** Train missing `initFrom` runs first (default true); false makes a missing one an error. */
  pretrain?: boolean;
  maxStepsPerEpoch?: number;
  maxEvalBatches?: number;
  /** Loader worker prefetch depth (0: in-thread). */
  prefetch?: number;
  signal?: AbortSignal;
  onEvent?: (run: string, event: TrainEvent) => void;
  /** Called before a pre-training run starts. */
  onPretrain?: (run: string, forRun: string) => void;
}

export function testSplitFor(trainFile: string): string {
  const test = trainFile.replace(/-train\.arrow$/, '-test.arrow');
  if (test === trainFile)
    throw new Error(`${trainFile}: cannot derive the test split (expected a name ending in -train.arrow); pass the test split explicitly`);
  return test;
}

/**
 * Checks what can be checked without reading anything (the preset name, the overrides, that the output folders can be
 * made); throws the first problem. {@link runTrainingSession} starts with it; callers may check before a backend starts.
 */
export function checkTrainingSession(o: Pick<TrainingSessionOptions, 'preset' | 'overrides' | 'outDir' | 'runsDir'>): void {
  presetToTrainConfig(o.preset, o.overrides ?? {});
  for (const dir of [o.outDir, o.runsDir]) if (dir !== undefined) checkDirCreatable(dir);
}

/** The requested run's folder: outDir, else `<runsDir>/<preset>` (runsDir default `runs`). */
export function requestedRunDir(o: Pick<TrainingSessionOptions, 'preset' | 'outDir' | 'runsDir'>): string {
  return o.outDir ?? path.join(o.runsDir ?? 'runs', o.preset.replace(/^(fp|pow2):/, ''));
}

/**
 * Runs the preset, after the runs it initialises from; returns every run's result, the requested one last. An
 * interrupted run (o.signal) ends the session: it is the last result then, which may be a pre-training run.
 */
export async function runTrainingSession(o: TrainingSessionOptions): Promise<TrainResult[]> {
  checkTrainingSession(o);
  const testFile = o.testDataset ?? testSplitFor(o.dataset);
  for (const file of [o.dataset, testFile]) {
    if (!fs.existsSync(file))
      throw new Error(
        `${file}: no such dataset file (build the default with \`mixprec data default\`, or convert one with \`mixprec data convert\`)`,
      );
  }
  const trainSource = await openBatchSource(o.dataset, { prefetch: o.prefetch ?? 2 });
  let testSource: DatasetBatchSource | undefined;
  try {
    testSource = await openBatchSource(testFile, { prefetch: o.prefetch ?? 2 });
    if (JSON.stringify(testSource.shape) !== JSON.stringify(trainSource.shape) || testSource.numClasses !== trainSource.numClasses) {
      throw new Error(
        `${testFile}: its images (${testSource.shape.join('×')}, ${testSource.numClasses} classes) do not match the train split's ` +
          `(${trainSource.shape.join('×')}, ${trainSource.numClasses} classes)`,
      );
    }
    const runsDir = o.runsDir ?? (o.outDir !== undefined ? path.dirname(o.outDir) : 'runs');
    const results: TrainResult[] = [];
    // presetToTrainConfig checks the overrides against the TrainConfig schema.
    const configOf = (preset: string): TrainConfig => presetToTrainConfig(preset, o.overrides ?? {});

    const runPreset = async (preset: string, outDir: string, chain: string[], requested: boolean): Promise<void> => {
      const config = configOf(preset);
      let initCheckpoint: string | null = requested && o.init ? o.init : null;
      if (initCheckpoint === null && config.initFrom !== null && !(requested && o.resume)) {
        const source = config.initFrom;
        if (chain.includes(source)) {
          throw new Error(
            `preset ${preset} initialises from ${source}, which depends on it (${[...chain, source].join(' → ')}); pass --init CHECKPOINT`,
          );
        }
        const sourceDir = path.join(runsDir, source);
        initCheckpoint = path.join(sourceDir, 'best.safetensors');
        if (!fs.existsSync(initCheckpoint)) {
          if (o.pretrain === false) {
            throw new Error(
              `preset ${preset} initialises from run ${source}, but ${initCheckpoint} does not exist; train it first (mixprec train --preset ${source}) or pass --init CHECKPOINT`,
            );
          }
          const left = existingRunFiles(sourceDir);
          if (left.length > 0) {
            throw new Error(
              `preset ${preset} initialises from run ${source}, but ${sourceDir} holds an unfinished run of it (${left.join(', ')}) ` +
                `without best.safetensors: finish it (mixprec train --preset ${source} --out ${sourceDir} --resume), start it again ` +
                `(the same with --overwrite instead of --resume), or pass --init CHECKPOINT`,
            );
          }
          o.onPretrain?.(source, preset);
          await runPreset(source, sourceDir, [...chain, preset], false);
          // An interrupted pre-training run ends the session: its result (interruptedAt) says how to go on.
          if (results.at(-1)?.interrupted) return;
          if (!fs.existsSync(initCheckpoint)) {
            throw new Error(`run ${source} finished without a best checkpoint (no epoch met its constraints), so ${preset} cannot start from it`);
          }
        }
      }
      const result = await train({
        config,
        train: trainSource,
        test: testSource!,
        outDir,
        resume: requested ? (o.resume ?? false) : false,
        overwrite: requested ? (o.overwrite ?? false) : false,
        initCheckpoint,
        ...(o.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: o.maxStepsPerEpoch } : {}),
        ...(o.maxEvalBatches !== undefined ? { maxEvalBatches: o.maxEvalBatches } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        onEvent: (e) => o.onEvent?.(preset, e),
      });
      results.push(result);
    };

    await runPreset(o.preset, requestedRunDir(o), [], true);
    return results;
  } finally {
    await trainSource.close();
    await testSource?.close();
  }
}
