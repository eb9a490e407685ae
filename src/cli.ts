/**
 * The `mixprec` command line: argument parsing and dispatch only. Every command is a library function; usage errors
 * (a UsageError, which the library's input errors extend: a bad flag, config field, parameter, preset or backend
 * name) exit with 2, failures with 1 (a training run stopped by Ctrl-C: 130), each as one line
 * `mixprec <command>: <message>` naming the problem.
 */
import { BACKEND_ORDER, formatBackendReport, initBackend, isBackendName, type BackendReport } from './backend';
import { runBench, BENCH_SUITES } from './bench';
import { gaussianExperiment } from './train/gaussian';
import { formatTable } from './util/table';
import { progressBar } from './util/progress';
import { SHORT_NAME_LIST } from './quant';
import { CONVERT_FORMATS, DEFAULT_DATASET_DIR, convertDataset, ensureDefaultDatasets, openImageDataset, type ConvertFormat } from './data';
import { listPresets } from './train/presets';
import { checkTrainingSession, requestedRunDir, runTrainingSession } from './train/session';
import { terminalReporter, trainingSummary } from './train/terminal';
import { trainConfigOverrides } from './train/cli_overrides';
import * as path from 'node:path';
import { installKernel, uninstallKernel, DEFAULT_KERNEL_NAME } from './kernel/install';
import type { InstallTarget } from './jupyter/kernelspec';
import {
  collectParameters,
  expandGrid,
  readGridFile,
  readSweepIndex,
  runNotebook,
  runSweep,
  terminalRunReporter,
  terminalSweepReporter,
  type RunOptions,
} from './run';
import {
  batchSweepEnded,
  cancelBatchSweep,
  describeBatchRows,
  readBatchIndex,
  refreshBatchSweep,
  resumeBatchSweep,
  runTrainSweepLocally,
  submitNotebookSweep,
  submitTrainSweep,
  waitBatchSweep,
  type BatchSweepIndex,
} from './run/batch_sweep';
import type { SlurmOptions } from './run/executors/slurm';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { stripAnsi, terminalReproduceReporter } from './run/terminal';
import { reproduce } from './run/reproduce';
import { UsageError } from './util/errors';
import { isSeed, MAX_SEED } from './data/random';
import { TrainingInterrupted, trainingInterrupted, withTrainingInterrupt } from './train/interrupt';

type OptionType = 'string' | 'number' | 'boolean' | 'list' | 'pair' | 'strings';
/** `pair` takes two values (-p NAME VALUE) and repeats; `strings` repeats one value. */
interface OptionSpec {
  name: string;
  short?: string;
  type: OptionType;
  description: string;
  default?: string;
  /** Its value may start with `--` (it is an option for another program: `--sbatch-arg --account=lab`). */
  dashValue?: boolean;
}
interface Command {
  name: string;
  summary: string;
  /** Positional arguments, in order (e.g. the action of `mixprec data convert`). */
  positionals?: { name: string; description: string; choices?: readonly string[]; optional?: boolean }[];
  options: OptionSpec[];
  run(opts: Record<string, unknown>, out: (s: string) => void): Promise<void>;
}

// A usage error (a bad flag, config field, parameter or preset name) exits 2; the library's input errors extend it.
export { UsageError };

const BACKEND_OPTION: OptionSpec = {
  name: 'backend',
  type: 'string',
  description: 'compute backend: tensorflow-gpu, tensorflow, webgpu, wasm or cpu (default: MIXPREC_BACKEND, else the first that starts)',
};

function parseOptions(command: Command, argv: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const positionals = [...(command.positionals ?? [])];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const short = /^-[A-Za-z]$/.test(arg) ? command.options.find((o) => o.short === arg.slice(1)) : undefined;
    if (/^-[A-Za-z]$/.test(arg) && short === undefined)
      throw new UsageError(`unknown option ${arg} for \`mixprec ${command.name}\` (see mixprec ${command.name} --help)`);
    if (short !== undefined || (arg.startsWith('--') && command.options.find((o) => o.name === arg.slice(2))?.type === 'pair')) {
      const spec = short ?? command.options.find((o) => o.name === arg.slice(2))!;
      const flag = short ? arg : `--${spec.name}`;
      if (spec.type === 'pair') {
        const [name, value] = [argv[i + 1], argv[i + 2]];
        if (name === undefined || value === undefined) throw new UsageError(`${flag} needs a name and a value (${flag} NAME VALUE)`);
        result[spec.name] = [...((result[spec.name] as [string, string][] | undefined) ?? []), [name, value]];
        i += 2;
        continue;
      }
      if (spec.type === 'boolean') {
        result[spec.name] = true;
        continue;
      }
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      result[spec.name] = spec.type === 'strings' ? [...((result[spec.name] as string[] | undefined) ?? []), value] : value;
      continue;
    }
    if (!arg.startsWith('--')) {
      const spec = positionals.shift();
      if (spec === undefined)
        throw new UsageError(`unexpected argument "${arg}" for \`mixprec ${command.name}\` (see mixprec ${command.name} --help)`);
      if (spec.choices && !spec.choices.includes(arg))
        throw new UsageError(`unknown ${spec.name} "${arg}" for \`mixprec ${command.name}\`; expected one of ${spec.choices.join(', ')}`);
      result[spec.name] = arg;
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = command.options.find((o) => o.name === key);
    if (spec === undefined) throw new UsageError(`unknown option --${key} for \`mixprec ${command.name}\` (see mixprec ${command.name} --help)`);
    if (spec.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false')
        throw new UsageError(`--${key} takes no value or true/false, got "${inline}"`);
      result[key] = inline === undefined || inline === 'true';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--') && spec.dashValue !== true))
      throw new UsageError(`--${key} needs a value`);
    if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got "${value}"`);
      result[key] = n;
    } else if (spec.type === 'list') {
      result[key] = [...((result[key] as string[] | undefined) ?? []), ...value.split(',').filter(Boolean)];
    } else if (spec.type === 'strings') {
      result[key] = [...((result[key] as string[] | undefined) ?? []), value];
    } else {
      result[key] = value;
    }
  }
  const missing = positionals.find((p) => !p.optional);
  if (missing)
    throw new UsageError(
      `\`mixprec ${command.name}\` needs ${missing.name === 'action' ? 'an action' : `a ${missing.name}`}: ${missing.choices?.join(', ') ?? missing.description}`,
    );
  return result;
}

/** The --backend flag, checked against the backend names (undefined: MIXPREC_BACKEND, else automatic). */
function backendFlag(opts: Record<string, unknown>): string | undefined {
  const names = typeof opts.backend === 'string' ? [opts.backend] : ((opts.backend as string[] | undefined) ?? []);
  for (const name of names) {
    if (!isBackendName(name)) throw new UsageError(`--backend must be one of ${BACKEND_ORDER.join(', ')}, got ${JSON.stringify(name)}`);
  }
  return typeof opts.backend === 'string' ? opts.backend : undefined;
}

function positiveInteger(opts: Record<string, unknown>, key: string, fallback: number): number {
  const v = opts[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UsageError(`--${key} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Options shared by `run` and `sweep`. */
const RUN_OPTIONS: OptionSpec[] = [
  {
    name: 'parameters',
    short: 'p',
    type: 'pair',
    description: 'a parameter: numbers, true/false, null, JSON lists/objects, else a string (repeatable)',
  },
  { name: 'parameters-file', short: 'f', type: 'strings', description: 'YAML or JSON mapping of parameters (repeatable; -p wins)' },
  { name: 'kernel', short: 'k', type: 'string', description: 'kernel name', default: "the notebook's metadata.kernelspec.name" },
  { name: 'cwd', type: 'string', description: "the kernel's working folder", default: "the notebook's folder" },
  { name: 'timeout', type: 'number', description: 'seconds a cell may run before it is interrupted', default: 'no limit' },
  { name: 'startup-timeout', type: 'number', description: 'seconds to wait for the kernel to start', default: '60' },
  { name: 'log-output', type: 'boolean', description: 'stream cell outputs to the terminal' },
  { name: 'no-progress', type: 'boolean', description: 'no progress bar or per-cell lines' },
];

function positiveSeconds(opts: Record<string, unknown>, key: string): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0)) throw new UsageError(`--${key} must be a positive number of seconds, got ${String(v)}`);
  return v;
}

function runOptions(opts: Record<string, unknown>): RunOptions {
  const timeoutSec = positiveSeconds(opts, 'timeout');
  const startupTimeoutSec = positiveSeconds(opts, 'startup-timeout');
  return {
    ...(opts.kernel !== undefined ? { kernel: opts.kernel as string } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd as string } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(startupTimeoutSec !== undefined ? { startupTimeoutSec } : {}),
    ...(opts['allow-errors'] === true ? { allowErrors: true } : {}),
  };
}

/** Runs `work` with an AbortSignal that the first Ctrl-C / SIGTERM aborts (a second Ctrl-C exits at once). */
async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\n${sig}: stopping after saving the notebook (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The checks `mixprec train` makes on its flags before anything starts (also each row of a training grid). */
function checkTrainFlags(opts: Record<string, unknown>) {
  if (opts.resume === true && opts.overwrite === true) {
    throw new UsageError('--resume and --overwrite exclude each other: --resume continues the run in the folder, --overwrite replaces it');
  }
  // --seed is checked as a flag here; the other field flags by the TrainConfig schema, naming flag and field.
  const seed = opts.seed as number | undefined;
  if (seed !== undefined && !isSeed(seed)) throw new UsageError(`--seed must be an integer from 0 to ${MAX_SEED}, got ${String(seed)}`);
  const overrides = trainConfigOverrides({ ...opts, seed }, opts.config as string | undefined);
  const maxSteps = opts['max-steps'] !== undefined ? positiveInteger(opts, 'max-steps', 1) : undefined;
  const backend = backendFlag(opts);
  const preset = (opts.preset as string | undefined) ?? 'DEFAULT';
  // The preset name and the output folder, before a dataset is built or a backend starts.
  checkTrainingSession({ preset, overrides, ...(opts.out !== undefined ? { outDir: opts.out as string } : {}) });
  return { preset, overrides, maxSteps, backend };
}

/** Flags a training-grid row may not set: the sweep owns the run folder and how a row is continued. */
const TRAIN_ROW_RESERVED = new Set(['out', 'resume', 'overwrite', 'list-presets', 'help']);

/**
 * A training-grid row as `mixprec train` flags (`weights: U3` → `--weights U3`, `no-pretrain: true` → `--no-pretrain`),
 * checked as `mixprec train` checks them; an error names the row and the flag.
 */
function trainRowArgs(parameters: Record<string, unknown>, runDir: string, row: number): string[] {
  const train = commands.find((c) => c.name === 'train')!;
  const args: string[] = [];
  for (const [name, value] of Object.entries(parameters)) {
    const spec = train.options.find((o) => o.name === name);
    const where = `training grid row ${row}`;
    if (spec === undefined || TRAIN_ROW_RESERVED.has(name)) {
      const allowed = train.options.filter((o) => !TRAIN_ROW_RESERVED.has(o.name)).map((o) => o.name);
      throw new UsageError(`${where}: ${JSON.stringify(name)} is not a flag a row may set; expected one of ${allowed.join(', ')}`);
    }
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw new UsageError(`${where}: ${name} takes true or false, got ${JSON.stringify(value)}`);
      if (value) args.push(`--${name}`);
      continue;
    }
    if (typeof value === 'object' && value !== null) throw new UsageError(`${where}: ${name} takes one value, got ${JSON.stringify(value)}`);
    // Paths as the submitting shell meant them, wherever the task starts.
    args.push(`--${name}`, ['dataset', 'test-dataset', 'config', 'init'].includes(name) ? path.resolve(String(value)) : String(value));
  }
  const out = path.resolve(runDir);
  args.push('--out', out);
  try {
    checkTrainFlags(parseOptions(train, args));
  } catch (err) {
    throw new UsageError(`training grid row ${row}: ${(err as Error).message}`);
  }
  return args;
}

/** Whether `dir` holds a sweep submitted to a batch executor. */
function isBatchSweepFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && (readSweepIndex(dir) as { executor?: unknown } | null)?.executor !== undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Prints a batch sweep's rows as a table; with `strict`, throws (exit 1) when it has ended with rows not completed. */
function printBatchSweep(index: BatchSweepIndex, dir: string, out: (s: string) => void, strict = false): void {
  const names = [...new Set(index.runs.flatMap((r) => Object.keys(r.parameters)))];
  const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const train = index.kind === 'train';
  const rows = index.runs.map((r) => [
    String(r.row),
    ...names.map((n) => show(r.parameters[n])),
    r.status + (r.reason && (r.status === 'pending' || r.status === 'running') ? ` (${r.reason})` : ''),
    r.attempts !== undefined ? String(r.attempts) : '',
    ...(train ? [r.epochs ?? '', r.testError !== undefined ? (100 * r.testError).toFixed(2) : ''] : []),
    r.durationSec !== undefined ? r.durationSec.toFixed(1) : '',
    r.jobId ? `${r.jobId}_${r.row}` : '',
    r.failure ?? '',
  ]);
  const header = ['row', ...names, 'status', 'attempts', ...(train ? ['epochs done', 'test err %'] : []), 'seconds', 'job', 'failure'];
  out(
    formatTable(
      header,
      rows,
      header.map(() => 'l' as const),
    ),
  );
  out(`${describeBatchRows(index.runs)}; index: ${path.join(dir, 'index.html')}`);
  const notDone = index.runs.filter((r) => r.status !== 'completed');
  if (strict && batchSweepEnded(index) && notDone.length > 0) {
    throw new Error(
      `${notDone.length} row(s) did not complete (${notDone.map((r) => r.row).join(', ')}); rerun them with: mixprec sweep ${dir} --resume`,
    );
  }
}

/** Asks a yes/no question on the terminal; false when stdin is not one. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * `--wait`: a progress bar over the rows until every one has ended. Ctrl-C stops following; on a terminal it first
 * asks whether to cancel the jobs (the sweep goes on in Slurm either way unless cancelled).
 */
async function followBatchSweep(dir: string, progress: boolean, pollSec: number | undefined, out: (s: string) => void): Promise<void> {
  const first = readBatchIndex(dir);
  const bar = progress ? progressBar('sweep', first.runs.length) : undefined;
  const controller = new AbortController();
  let lastLine = '';
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let index: BatchSweepIndex;
  let ended = 0;
  try {
    index = await waitBatchSweep(dir, {
      ...(pollSec !== undefined ? { pollSec } : {}),
      signal: controller.signal,
      onUpdate: (i) => {
        ended = i.runs.filter((r) => r.status !== 'pending' && r.status !== 'running').length;
        const line = describeBatchRows(i.runs);
        if (bar) bar.update(ended, line);
        else if (line !== lastLine) out(line);
        lastLine = line;
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (controller.signal.aborted) bar?.finish('stopped following', ended);
    else bar?.finish();
  }
  if (controller.signal.aborted && !batchSweepEnded(index)) {
    if (await confirm(`cancel the sweep's Slurm job(s) ${index.jobs.map((j) => j.id).join(', ')}? [y/N] `)) {
      const { index: after, cancelled } = cancelBatchSweep(dir);
      index = after;
      out(`cancelled job${cancelled.length === 1 ? '' : 's'} ${cancelled.join(', ')}`);
    } else {
      out(`stopped following; the sweep goes on in Slurm: mixprec sweep ${dir} --wait, --status ${dir}, --cancel ${dir}`);
      printBatchSweep(index, dir, out);
      throw new TrainingInterrupted('stopped following the sweep', 130);
    }
  }
  printBatchSweep(index, dir, out, true);
}

const commands: Command[] = [
  {
    name: 'demo',
    summary:
      "a quick look without notebooks: the paper's Gaussian experiment (Fig. 3): learn each parametrization's parameters to minimise quantization MSE",
    options: [
      { name: 'steps', type: 'number', description: 'gradient-descent steps', default: '200' },
      { name: 'lr', type: 'number', description: 'learning rate, the same for all parametrizations', default: '1' },
      { name: 'samples', type: 'number', description: 'number of N(0,1) samples', default: '10000' },
      { name: 'seed', type: 'number', description: 'random seed (an integer from 0 to 4294967295)', default: '1' },
      BACKEND_OPTION,
    ],
    async run(opts, out) {
      const steps = positiveInteger(opts, 'steps', 200);
      const samples = positiveInteger(opts, 'samples', 10_000);
      const seed = (opts.seed as number | undefined) ?? 1;
      if (!isSeed(seed)) throw new UsageError(`--seed must be an integer from 0 to ${MAX_SEED}, got ${String(seed)}`);
      const lr = (opts.lr as number | undefined) ?? 1;
      if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`);
      const report = await initBackend(backendFlag(opts));
      out(`backend: ${formatBackendReport(report)}`);
      out(`Quantizing ${samples} samples of N(0,1), every parametrization initialised at 4 bits, ${steps} steps of gradient descent (lr ${lr}):`);
      const bar = progressBar('demo', steps * SHORT_NAME_LIST.length);
      let done = 0;
      const runs = await gaussianExperiment({
        steps,
        samples,
        seed,
        learningRate: lr,
        onStep: ({ short, step, mse }) => bar.update(++done, `${short} step ${step} MSE ${mse.toExponential(2)}`),
      });
      bar.finish();
      const rows = runs.map((r) => {
        const p = Object.entries(r.final.params)
          .map(([k, v]) => `${k}=${v.toPrecision(3)}`)
          .join(' ');
        return [r.short, r.mse[0]!.toExponential(3), r.mse.at(-1)!.toExponential(3), Math.min(...r.mse).toExponential(3), String(r.final.bits), p];
      });
      out(formatTable(['θ', 'MSE start', 'MSE end', 'MSE min', 'bits', 'final parameters'], rows, ['l', 'r', 'r', 'r', 'r', 'l']));
      const best = [...runs].sort((a, b) => a.mse.at(-1)! - b.mse.at(-1)!)[0]!;
      out(`Lowest final MSE: ${best.short}. The paper (Fig. 3) finds U3 and P3 converge to the lowest MSE without oscillation.`);
    },
  },
  {
    name: 'train',
    summary: 'train a network as the official code does: a preset (cfg section) with overrides, on an Arrow dataset',
    options: [
      {
        name: 'preset',
        type: 'string',
        description: 'cfg section, e.g. PARAMETRIC_FP_WAQ_DELTA_XMAX_INIT (mixprec train --list-presets)',
        default: 'DEFAULT',
      },
      { name: 'dataset', type: 'string', description: 'train split (<name>-train.arrow)', default: 'datasets/mnist-train.arrow' },
      { name: 'test-dataset', type: 'string', description: 'test split', default: 'the train split with -test' },
      { name: 'config', type: 'string', description: 'JSON file of config overrides (fields of TrainConfig)' },
      {
        name: 'model',
        type: 'string',
        description: 'resnet20 … resnet110, mobilenetv2-cifar, mobilenetv2-imagenet, mnistnet',
        default: "the preset's",
      },
      { name: 'weights', type: 'string', description: 'weight quantization: float, fp, pow2, U1, U2, U3, P1, P2, P3', default: "the preset's" },
      { name: 'activations', type: 'string', description: 'activation quantization (same choices)', default: "the preset's" },
      { name: 'weight-target', type: 'number', description: 'weight memory target in KB' },
      { name: 'activation-target', type: 'number', description: 'activation memory target in KB (see --activation-type)' },
      { name: 'activation-type', type: 'string', description: 'max (largest layer) or sum (all layers)' },
      { name: 'epochs', type: 'number', description: "epochs (the schedule's milestones scale with it)", default: '160' },
      { name: 'batch', type: 'number', description: 'batch size', default: '128' },
      { name: 'lr', type: 'number', description: 'initial learning rate', default: "the preset's" },
      { name: 'optimizer', type: 'string', description: 'momentum or adam', default: "the preset's" },
      {
        name: 'seed',
        type: 'number',
        description: 'seed of initialisation, shuffling and augmentation (an integer from 0 to 4294967295)',
        default: '313',
      },
      BACKEND_OPTION,
      { name: 'out', type: 'string', description: 'output folder', default: 'runs/<preset>' },
      {
        name: 'resume',
        type: 'boolean',
        description: 'continue from <out>/checkpoint.safetensors (only --epochs, --lr and the eval batch size may change; recorded in config.json)',
      },
      { name: 'overwrite', type: 'boolean', description: 'remove the run already in <out> (its config, metrics and checkpoints) and start afresh' },
      { name: 'init', type: 'string', description: "checkpoint to initialise from (instead of the preset's pre-training run)" },
      { name: 'no-pretrain', type: 'boolean', description: 'fail instead of training a missing pre-training run first' },
      { name: 'max-steps', type: 'number', description: 'at most this many steps per epoch (smoke runs)' },
      { name: 'list-presets', type: 'boolean', description: 'list the presets and exit' },
    ],
    async run(opts, out) {
      if (opts['list-presets']) {
        for (const p of listPresets()) out(`${p.lookupName.padEnd(48)} ${p.description}`);
        return;
      }
      const { preset, overrides, maxSteps, backend } = checkTrainFlags(opts);
      const dataset = (opts.dataset as string | undefined) ?? path.join(DEFAULT_DATASET_DIR, 'mnist-train.arrow');
      if (opts.dataset === undefined) await ensureDefaultDatasets();
      const report = await initBackend(backend);
      out(`backend: ${formatBackendReport(report)}`);
      // Ctrl-C stops at the next step and saves a checkpoint (a second one quits at once): src/train/interrupt.ts.
      const { value: results, stoppedBy } = await withTrainingInterrupt((signal) =>
        runTrainingSession({
          preset,
          overrides,
          dataset,
          ...(opts['test-dataset'] !== undefined ? { testDataset: opts['test-dataset'] as string } : {}),
          ...(opts.out !== undefined ? { outDir: opts.out as string } : {}),
          resume: opts.resume === true,
          overwrite: opts.overwrite === true,
          ...(opts.init !== undefined ? { init: opts.init as string } : {}),
          pretrain: opts['no-pretrain'] !== true,
          ...(maxSteps !== undefined ? { maxStepsPerEpoch: maxSteps } : {}),
          onEvent: terminalReporter(out),
          onPretrain: (run, forRun) => out(`${forRun} initialises from run ${run}, which has no checkpoint yet: training it first`),
          signal,
        }),
      );
      for (const r of results) {
        out('');
        out(trainingSummary(r.outDir ? path.basename(r.outDir) : 'run', r));
        r.model.dispose();
      }
      const last = results.at(-1);
      if (stoppedBy !== null && last?.interrupted) {
        throw trainingInterrupted(
          last,
          opts,
          requestedRunDir({ preset, ...(opts.out !== undefined ? { outDir: opts.out as string } : {}) }),
          stoppedBy,
        );
      }
    },
  },
  {
    name: 'data',
    summary: 'datasets: convert IDX / Fashion-MNIST / CIFAR-10 binaries to Arrow, build the MNIST default, describe a file',
    positionals: [
      { name: 'action', description: 'what to do', choices: ['convert', 'default', 'info'] },
      { name: 'file', description: 'the Arrow file (info)', optional: true },
    ],
    options: [
      { name: 'format', type: 'string', description: `source format for convert: ${CONVERT_FORMATS.join(', ')}` },
      { name: 'input', type: 'string', description: 'source folder or files for convert (fashion-mnist: default the Debian package folder)' },
      { name: 'out', type: 'string', description: 'output folder for convert and default', default: 'datasets' },
      { name: 'name', type: 'string', description: 'dataset name: files <out>/<name>-{train,test}.arrow', default: "the format's" },
      { name: 'force', type: 'boolean', description: 'default: rebuild even if the files are up to date' },
      { name: 'quiet', type: 'boolean', description: 'print nothing on success' },
    ],
    async run(opts, out) {
      const say = opts.quiet ? () => undefined : out;
      if (opts.action === 'default') {
        const r = await ensureDefaultDatasets((opts.out as string | undefined) ?? DEFAULT_DATASET_DIR, { force: opts.force === true });
        say(`${r.built ? 'built' : 'up to date'}: ${r.train}, ${r.test}`);
      } else if (opts.action === 'convert') {
        if (opts.format === undefined) throw new UsageError(`convert needs --format (${CONVERT_FORMATS.join(', ')})`);
        if (!(CONVERT_FORMATS as readonly string[]).includes(opts.format as string))
          throw new UsageError(`unknown --format "${String(opts.format)}"; expected one of ${CONVERT_FORMATS.join(', ')}`);
        const r = await convertDataset({
          format: opts.format as ConvertFormat,
          outDir: (opts.out as string | undefined) ?? 'datasets',
          ...(opts.input !== undefined ? { input: opts.input as string } : {}),
          ...(opts.name !== undefined ? { name: opts.name as string } : {}),
        });
        for (const split of r.splits) say(`${split.file}: ${split.rows} ${split.split} examples`);
      } else {
        if (opts.file === undefined) throw new UsageError('info needs a FILE');
        const ds = await openImageDataset(opts.file as string);
        const i = ds.info;
        out(
          `${i.file}: ${i.numRows} ${i.split} examples of ${i.shape.join('×')}, ${i.numClasses} classes (${i.classes.join(', ')}), ` +
            `${i.recordBatchRows.length} record batches; source: ${i.source}`,
        );
        await ds.close();
      }
    },
  },
  {
    name: 'kernel',
    summary: 'install or uninstall the "TypeScript (mixprec)" Jupyter kernelspec',
    positionals: [{ name: 'action', description: 'what to do', choices: ['install', 'uninstall'] }],
    options: [
      { name: 'user', type: 'boolean', description: "the user's Jupyter data folder (the default)" },
      { name: 'sys-prefix', type: 'boolean', description: "the active Python environment's prefix (sys.prefix/share/jupyter)" },
      { name: 'prefix', type: 'string', description: 'PREFIX/share/jupyter/kernels' },
      { name: 'name', type: 'string', description: 'kernel name', default: DEFAULT_KERNEL_NAME },
      { name: 'display-name', type: 'string', description: "name shown in the notebook's kernel menu", default: 'TypeScript (mixprec)' },
    ],
    async run(opts, out) {
      const chosen = [opts.user === true, opts['sys-prefix'] === true, opts.prefix !== undefined].filter(Boolean).length;
      if (chosen > 1) throw new UsageError('choose one of --user, --sys-prefix, --prefix');
      const target: InstallTarget | undefined =
        opts.prefix !== undefined
          ? { kind: 'prefix', prefix: opts.prefix as string }
          : opts['sys-prefix']
            ? { kind: 'sys-prefix' }
            : opts.user
              ? { kind: 'user' }
              : undefined;
      const name = opts.name as string | undefined;
      if (opts.action === 'install') {
        const dir = installKernel({
          target: target ?? { kind: 'user' },
          ...(name ? { name } : {}),
          ...(opts['display-name'] ? { displayName: opts['display-name'] as string } : {}),
        });
        out(`installed kernelspec ${name ?? DEFAULT_KERNEL_NAME} in ${dir}`);
      } else {
        const removed = uninstallKernel({ ...(target ? { target } : {}), ...(name ? { name } : {}) });
        if (removed.length === 0) throw new Error(`no kernelspec named ${name ?? DEFAULT_KERNEL_NAME} is installed${target ? ' there' : ''}`);
        for (const dir of removed) out(`removed ${dir}`);
      }
    },
  },
  {
    name: 'run',
    summary: 'execute a notebook headless (papermill-style): parameters, per-cell timeout, the output saved after every cell',
    positionals: [
      { name: 'input', description: 'the notebook to run' },
      { name: 'output', description: 'where the executed notebook goes (default INPUT with .out.ipynb)', optional: true },
    ],
    options: [...RUN_OPTIONS, { name: 'allow-errors', type: 'boolean', description: 'keep going after a cell raises (the error stays in the cell)' }],
    async run(opts, out) {
      const input = opts.input as string;
      const output = (opts.output as string | undefined) ?? input.replace(/(\.ipynb)?$/, '.out.ipynb');
      const parameters = collectParameters(opts['parameters-file'] as string[] | undefined, opts.parameters as [string, string][] | undefined);
      const reporter = terminalRunReporter({ progress: opts['no-progress'] !== true, logOutput: opts['log-output'] === true });
      const { summary } = await withInterrupt((signal) => runNotebook(input, { ...runOptions(opts), output, parameters, reporter, signal })).finally(
        () => reporter.close(),
      );
      for (const e of summary.errors) out(`allowed: ${e.message}`);
      if (summary.status === 'failed') {
        const f = summary.failure!;
        if (f.traceback?.length) process.stderr.write(`${stripAnsi(f.traceback.join('\n'))}\n`);
        throw new Error(`${f.message}; the notebook so far is in ${output}`);
      }
      out(`${input}: ${summary.executed} cells ran in ${summary.durationSec.toFixed(1)} s (kernel ${summary.kernel}) → ${output}`);
    },
  },
  {
    name: 'reproduce',
    summary: 'the main job: run the paper notebooks headless and write the executed notebooks and one HTML report',
    options: [
      { name: 'out', type: 'string', description: 'output folder (executed notebooks, report.html, training runs)', default: 'results' },
      { name: 'only', type: 'list', description: 'notebooks by name or number prefix, e.g. 03 or 03-parametrizations', default: 'all' },
      { name: 'smoke', type: 'boolean', description: "tiny parameters from each notebook's metadata (what CI runs)" },
      { name: 'parallel', type: 'number', description: 'notebooks at once', default: 'min(2, CPUs)' },
      { name: 'parameters', short: 'p', type: 'pair', description: 'a parameter for every notebook (repeatable)' },
      {
        name: 'update-notebooks',
        type: 'boolean',
        description: 'write the executed notebooks back into notebooks/ (how the committed outputs are made)',
      },
      { name: 'timeout', type: 'number', description: 'seconds a cell may run before it is interrupted', default: 'no limit' },
      { name: 'kernel', short: 'k', type: 'string', description: 'kernel name', default: 'mixprec' },
      { name: 'no-progress', type: 'boolean', description: 'plain log lines instead of a progress bar' },
    ],
    async run(opts, out) {
      const parameters = collectParameters(undefined, opts.parameters as [string, string][] | undefined);
      const timeoutSec = positiveSeconds(opts, 'timeout');
      const parallel = opts.parallel !== undefined ? positiveInteger(opts, 'parallel', 2) : undefined;
      const reporter = terminalReproduceReporter({ progress: opts['no-progress'] !== true, smoke: opts.smoke === true, out });
      const result = await withInterrupt((signal) =>
        reproduce({
          outDir: (opts.out as string | undefined) ?? 'results',
          ...(opts.only ? { only: opts.only as string[] } : {}),
          smoke: opts.smoke === true,
          parameters,
          signal,
          ...(parallel !== undefined ? { parallel } : {}),
          ...(opts.kernel ? { kernel: opts.kernel as string } : {}),
          ...(timeoutSec ? { timeoutSec } : {}),
          updateNotebooks: opts['update-notebooks'] === true,
          reporter,
        }),
      ).finally(() => reporter.finish());
      for (const nb of result.notebooks) {
        if (nb.summary.failure?.traceback?.length) process.stderr.write(`${nb.name}:\n${stripAnsi(nb.summary.failure.traceback.join('\n'))}\n`);
      }
      out(`report: ${result.report}`);
      out(`notebooks: ${result.notebooks.map((n) => path.relative(process.cwd(), n.output)).join(', ')}`);
      if (result.failed > 0) throw new Error(`${result.failed} notebook(s) failed; see ${result.report}`);
    },
  },
  {
    name: 'sweep',
    summary:
      'run a notebook (or `mixprec train`) once per parameter set of a grid: N kernels here, or a Slurm job array; with an index (JSON + HTML)',
    positionals: [{ name: 'input', description: 'the notebook to run, or the folder of a Slurm sweep (with --wait, --resume)', optional: true }],
    options: [
      { name: 'grid', type: 'string', description: 'YAML/JSON grid: name → list of values (cartesian product), or a list of runs' },
      { name: 'out', type: 'string', description: 'folder for the run notebooks, index.json and index.html', default: '<input>-sweep' },
      { name: 'parallel', type: 'number', description: 'kernels (or training processes) at once, local executor', default: '1' },
      { name: 'resume', type: 'boolean', description: 'rerun only the runs of the sweep in <out> (or INPUT) that did not complete' },
      { name: 'overwrite', type: 'boolean', description: 'remove the sweep in <out> (its index and run notebooks) and start over' },
      { name: 'train', type: 'boolean', description: 'a training grid: each row is `mixprec train` with the row as its flags' },
      { name: 'executor', type: 'string', description: 'local (kernels in this process) or slurm (one job array, a task per row)', default: 'local' },
      { name: 'partition', type: 'string', description: 'slurm: partition' },
      { name: 'gpus-per-task', type: 'number', description: 'slurm: GPUs per task' },
      { name: 'cpus-per-task', type: 'number', description: 'slurm: CPUs per task' },
      { name: 'mem', type: 'string', description: 'slurm: memory per task (4G)' },
      { name: 'time', type: 'string', description: 'slurm: time limit per task (minutes, H:MM:SS, D-HH:MM:SS)' },
      { name: 'max-parallel', type: 'number', description: 'slurm: tasks running at once (the %K of --array)', default: "the cluster's limit" },
      { name: 'sbatch-arg', type: 'strings', description: 'slurm: one more sbatch option, e.g. --account=lab (repeatable)', dashValue: true },
      { name: 'retries', type: 'number', description: 'slurm: requeue a failed task this many times', default: '0' },
      { name: 'status', type: 'string', description: 'print the state of the Slurm sweep in DIR (and rewrite its index)' },
      { name: 'wait', type: 'boolean', description: 'follow the Slurm sweep with a progress bar until every row has ended' },
      { name: 'cancel', type: 'string', description: 'cancel the Slurm sweep in DIR (scancel of its jobs)' },
      { name: 'poll', type: 'number', description: 'seconds between reads of Slurm while waiting', default: '5' },
      ...RUN_OPTIONS,
    ],
    async run(opts, out) {
      if (opts.resume === true && opts.overwrite === true) {
        throw new UsageError(
          '--resume and --overwrite exclude each other: --resume reruns the runs that did not complete, --overwrite starts the sweep over',
        );
      }
      const input = opts.input as string | undefined;
      const pollSec = opts.poll !== undefined ? positiveSeconds(opts, 'poll') : undefined;
      if (typeof opts.status === 'string') return printBatchSweep(refreshBatchSweep(opts.status), opts.status, out);
      if (typeof opts.cancel === 'string') {
        const { index, cancelled } = cancelBatchSweep(opts.cancel);
        out(
          cancelled.length ? `cancelled job${cancelled.length === 1 ? '' : 's'} ${cancelled.join(', ')}` : 'every row had ended; nothing to cancel',
        );
        return printBatchSweep(index, opts.cancel, out);
      }
      // A Slurm sweep's folder: follow it, or resubmit what did not complete.
      if (input !== undefined && opts.grid === undefined && isBatchSweepFolder(input)) {
        if (opts.resume === true) {
          const retries = opts.retries !== undefined ? (opts.retries as number) : undefined;
          const { index, rows } = resumeBatchSweep(input, retries !== undefined ? { retries } : {});
          if (rows.length === 0) out(`every row of ${input} completed; nothing to resume`);
          else out(`resubmitted ${rows.length} row(s) (${rows.join(', ')}) as job ${index.jobs.at(-1)!.id}`);
          if (opts.wait !== true || rows.length === 0) return printBatchSweep(index, input, out);
        }
        return followBatchSweep(input, opts['no-progress'] !== true, pollSec, out);
      }
      const executor = (opts.executor as string | undefined) ?? 'local';
      if (executor !== 'local' && executor !== 'slurm') throw new UsageError(`--executor must be local or slurm, got ${JSON.stringify(executor)}`);
      if (opts.grid === undefined)
        throw new UsageError('sweep needs --grid FILE (or --status DIR, --cancel DIR, or a Slurm sweep folder to --wait on or --resume)');
      const fixed = collectParameters(opts['parameters-file'] as string[] | undefined, opts.parameters as [string, string][] | undefined);
      const grid = readGridFile(opts.grid as string);
      if (executor === 'slurm') {
        const slurmOptions: SlurmOptions = {
          ...(opts.partition !== undefined ? { partition: opts.partition as string } : {}),
          ...(opts['gpus-per-task'] !== undefined ? { gpusPerTask: opts['gpus-per-task'] as number } : {}),
          ...(opts['cpus-per-task'] !== undefined ? { cpusPerTask: opts['cpus-per-task'] as number } : {}),
          ...(opts.mem !== undefined ? { mem: opts.mem as string } : {}),
          ...(opts.time !== undefined ? { time: opts.time as string } : {}),
          ...(opts['max-parallel'] !== undefined ? { maxParallel: opts['max-parallel'] as number } : {}),
          ...(opts['sbatch-arg'] !== undefined ? { sbatchArgs: opts['sbatch-arg'] as string[] } : {}),
        };
        if (opts.resume === true) throw new UsageError('to resume a Slurm sweep, pass its folder: mixprec sweep DIR --resume');
        if (opts.parallel !== undefined) throw new UsageError('--parallel is for the local executor; with --executor slurm use --max-parallel');
        const common = {
          grid,
          fixed,
          executor: 'slurm' as const,
          slurm: slurmOptions,
          overwrite: opts.overwrite === true,
          ...(opts.retries !== undefined ? { retries: opts.retries as number } : {}),
          warn: (w: string) => process.stderr.write(`warning: ${w}\n`),
        };
        let outDir: string;
        let index;
        if (opts.train === true) {
          if (input !== undefined) throw new UsageError('--train runs `mixprec train` per row and takes no notebook');
          outDir = (opts.out as string | undefined) ?? 'train-sweep';
          // The default dataset is built once here, not by every task at once.
          if (expandGrid(grid, fixed).some((r) => r.dataset === undefined)) await ensureDefaultDatasets();
          index = submitTrainSweep(trainRowArgs, { ...common, out: outDir });
        } else {
          if (input === undefined) throw new UsageError('sweep needs a NOTEBOOK (or --train for a training grid)');
          outDir = (opts.out as string | undefined) ?? input.replace(/(\.ipynb)?$/, '-sweep');
          index = submitNotebookSweep(input, { ...common, ...runOptions(opts), out: outDir });
        }
        out(`submitted ${index.runs.length} rows as Slurm job ${index.jobs[0]!.id} (script: ${path.join(outDir, index.script)})`);
        if (opts.wait === true) return followBatchSweep(outDir, opts['no-progress'] !== true, pollSec, out);
        out(`follow it with: mixprec sweep ${outDir} --wait   (or --status ${outDir}; --cancel ${outDir} stops it)`);
        return;
      }
      for (const flag of ['partition', 'gpus-per-task', 'cpus-per-task', 'mem', 'time', 'max-parallel', 'sbatch-arg', 'retries', 'wait']) {
        if (opts[flag] !== undefined) throw new UsageError(`--${flag} needs --executor slurm`);
      }
      if (opts.train === true) {
        if (input !== undefined) throw new UsageError('--train runs `mixprec train` per row and takes no notebook');
        const outDir = (opts.out as string | undefined) ?? 'train-sweep';
        if (expandGrid(grid, fixed).some((r) => r.dataset === undefined)) await ensureDefaultDatasets();
        const total = expandGrid(grid, fixed).length;
        const bar = opts['no-progress'] !== true ? progressBar('train grid', total) : undefined;
        let ended = 0;
        const index = await withInterrupt((signal) =>
          runTrainSweepLocally(trainRowArgs, {
            out: outDir,
            grid,
            fixed,
            parallel: positiveInteger(opts, 'parallel', 1),
            resume: opts.resume === true,
            overwrite: opts.overwrite === true,
            signal,
            onRowStart: (run) => bar?.update(ended, `row ${run.row} started`),
            onRowEnd: (run) => {
              ended++;
              const line = `row ${run.row}: ${run.status}${run.failure ? ` (${run.failure})` : ''}`;
              if (bar) bar.update(ended, line);
              else out(line);
            },
          }),
        ).finally(() => bar?.finish());
        return printBatchSweep(index, outDir, out, true);
      }
      if (input === undefined) throw new UsageError('sweep needs a NOTEBOOK');
      const outDir = (opts.out as string | undefined) ?? input.replace(/(\.ipynb)?$/, '-sweep');
      const reporter = terminalSweepReporter({ progress: opts['no-progress'] !== true, logOutput: opts['log-output'] === true });
      const logOutput = opts['log-output'] === true;
      const result = await withInterrupt((signal) =>
        runSweep(input, {
          ...runOptions(opts),
          out: outDir,
          grid,
          fixed,
          parallel: positiveInteger(opts, 'parallel', 1),
          reporter,
          signal,
          resume: opts.resume === true,
          overwrite: opts.overwrite === true,
          ...(logOutput ? { runReporter: () => terminalRunReporter({ progress: false, logOutput: true }) } : {}),
        }),
      ).finally(() => reporter.close());
      const failed = result.index.runs.filter((r) => r.status !== 'completed');
      const before = result.resumed ? ` (${result.completedBefore} before this resume)` : '';
      out(`${result.index.runs.length - failed.length}/${result.index.runs.length} runs completed${before}; index: ${result.htmlFile}`);
      if (failed.length) throw new Error(`${failed.length} run(s) did not complete: ${failed.map((r) => r.notebook).join(', ')}`);
    },
  },
  {
    name: 'backend',
    summary: 'start a compute backend and print its report (and why others were skipped)',
    options: [BACKEND_OPTION, { name: 'json', type: 'boolean', description: 'print the report as JSON' }],
    async run(opts, out) {
      const report: BackendReport = await initBackend(backendFlag(opts));
      if (opts.json) {
        out(JSON.stringify(report, null, 2));
        return;
      }
      out(formatBackendReport(report));
      out(
        `versions: ${Object.entries(report.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      for (const s of report.skipped) out(`skipped ${s.name}: ${s.reason}`);
    },
  },
  {
    name: 'bench',
    summary: `benchmarks (suites: ${BENCH_SUITES.map((s) => s.name).join(', ')}): print a table and write JSON`,
    options: [
      {
        name: 'suite',
        type: 'list',
        description: `suites to run (${BENCH_SUITES.map((s) => `${s.name}: ${s.description}`).join('; ')})`,
        default: 'all',
      },
      { name: 'backend', type: 'list', description: 'backends to measure (default: every one that starts here)' },
      { name: 'elements', type: 'number', description: 'tensor size for the quant suite', default: '1048576' },
      { name: 'batch', type: 'list', description: 'batch sizes for the train suite', default: '32,128' },
      { name: 'quick', type: 'boolean', description: 'small sizes and short time budgets (smoke test)' },
      { name: 'out', type: 'string', description: 'JSON output file', default: 'bench-results/<suites>.json' },
    ],
    async run(opts, out) {
      backendFlag(opts); // the names; whether each starts is the benchmark's to say
      await runBench({
        suites: opts.suite as string[] | undefined,
        backends: opts.backend as string[] | undefined,
        quick: opts.quick === true,
        ...(opts.elements !== undefined ? { elements: positiveInteger(opts, 'elements', 1) } : {}),
        ...(opts.batch !== undefined
          ? {
              batches: (opts.batch as string[]).map((b) => {
                const n = Number(b);
                if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--batch takes positive integers, got "${b}"`);
                return n;
              }),
            }
          : {}),
        ...(opts.out !== undefined ? { out: opts.out as string } : {}),
        print: out,
      });
    },
  },
];

function version(): string {
  return (require('../package.json') as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `mixprec ${version()}: mixed-precision DNNs (Uhlich et al., ICLR 2020) in TypeScript`,
    '',
    'usage: mixprec <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'mixprec <command> --help shows the options of a command.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const pos = (c.positionals ?? []).map((p) => (p.optional ? `[${p.name.toUpperCase()}]` : p.name.toUpperCase())).join(' ');
  const lines = [`usage: mixprec ${c.name}${pos ? ` ${pos}` : ''} [options]`, '', c.summary, ''];
  for (const p of c.positionals ?? []) lines.push(`${p.name.toUpperCase()}: ${p.description}${p.choices ? ` (${p.choices.join(', ')})` : ''}`);
  if (c.positionals?.length) lines.push('');
  lines.push('options:');
  for (const o of c.options) {
    const value =
      o.type === 'boolean' ? '' : o.type === 'list' ? ' A[,B]' : o.type === 'number' ? ' N' : o.type === 'pair' ? ' NAME VALUE' : ' VALUE';
    const flag = `${o.short ? `-${o.short}, ` : ''}--${o.name}${value}`;
    lines.push(`  ${flag.padEnd(30)} ${o.description}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(30)} this text`);
  return lines.join('\n');
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const target = rest[0] !== undefined ? commands.find((c) => c.name === rest[0]) : undefined;
    out(target ? commandHelp(target) : usage());
    return 0;
  }
  if (name === '--version' || name === 'version') {
    out(version());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      out(commandHelp(command));
      return 0;
    }
    await command.run(parseOptions(command, rest), out);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`mixprec${command ? ` ${command.name}` : ''}: ${e.message}\n`);
    if (process.env.MIXPREC_DEBUG) process.stderr.write(`${e.stack}\n`);
    return err instanceof UsageError ? 2 : err instanceof TrainingInterrupted ? err.exitCode : 1; // the one place errors become exit codes
  }
}
