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
import { collectParameters, readGridFile, runNotebook, runSweep, terminalRunReporter, terminalSweepReporter, type RunOptions } from './run';
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
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${key} needs a value`);
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
    summary: 'run a notebook once per parameter set of a grid, N kernels at once, with an index (JSON + HTML)',
    positionals: [{ name: 'input', description: 'the notebook to run' }],
    options: [
      { name: 'grid', type: 'string', description: 'YAML/JSON grid: name → list of values (cartesian product), or a list of runs' },
      { name: 'out', type: 'string', description: 'folder for the run notebooks, index.json and index.html', default: '<input>-sweep' },
      { name: 'parallel', type: 'number', description: 'kernels at once', default: '1' },
      { name: 'resume', type: 'boolean', description: 'rerun only the runs of the sweep in <out> that did not complete (the grid must be the same)' },
      { name: 'overwrite', type: 'boolean', description: 'remove the sweep in <out> (its index and run notebooks) and start over' },
      ...RUN_OPTIONS,
    ],
    async run(opts, out) {
      const input = opts.input as string;
      if (opts.grid === undefined) throw new UsageError('sweep needs --grid FILE');
      if (opts.resume === true && opts.overwrite === true) {
        throw new UsageError(
          '--resume and --overwrite exclude each other: --resume reruns the runs that did not complete, --overwrite starts the sweep over',
        );
      }
      const fixed = collectParameters(opts['parameters-file'] as string[] | undefined, opts.parameters as [string, string][] | undefined);
      const outDir = (opts.out as string | undefined) ?? input.replace(/(\.ipynb)?$/, '-sweep');
      const reporter = terminalSweepReporter({ progress: opts['no-progress'] !== true, logOutput: opts['log-output'] === true });
      const logOutput = opts['log-output'] === true;
      const result = await withInterrupt((signal) =>
        runSweep(input, {
          ...runOptions(opts),
          out: outDir,
          grid: readGridFile(opts.grid as string),
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
