/**
 * mixprec/tools: the headless notebook runner and the benchmarks, the tools behind `mixprec run`, `sweep`,
 * `reproduce` and `bench`. A separate entry from the library (`mixprec`) so that a kernel, which loads the library
 * into every notebook, does not load them.
 *
 * ```ts
 * import { runNotebook, runSweep, reproduce, runBench } from 'mixprec/tools';
 * const { notebook, summary } = await runNotebook('in.ipynb', { output: 'out.ipynb', parameters: { epochs: 2 } });
 * ```
 * @packageDocumentation
 */

// The headless runner.
export {
  /** Starts a kernel from its kernelspec (the mixprec kernel is known even when not installed in Jupyter). */
  launchKernel,
  resolveKernelSpec,
  KernelNotFoundError,
  type RunningKernel,
  type LaunchOptions,
  /** Runs a notebook papermill-style: parameters, per-cell timeout, atomic saves after every cell; returns notebook + summary. */
  runNotebook,
  type RunOptions,
  type RunResult,
  type RunSummary,
  type RunReporter,
  type CellFailure,
  type CellEvent,
  type FailureKind,
  /** One run per parameter set of a grid, N kernels at once, with an index (JSON + HTML). */
  runSweep,
  expandGrid,
  readGridFile,
  readSweepIndex,
  sweepHtml,
  SweepFolderError,
  type ParameterGrid,
  type SweepOptions,
  type SweepResult,
  type SweepIndex,
  type SweepRun,
  /**
   * Sweeps on a cluster: a grid's rows as one Slurm job array (notebook rows run `mixprec run`, training rows
   * `mixprec train`); the state lives in the sweep folder and in Slurm, read back by refresh / wait.
   */
  submitNotebookSweep,
  submitTrainSweep,
  refreshBatchSweep,
  waitBatchSweep,
  cancelBatchSweep,
  resumeBatchSweep,
  readBatchIndex,
  batchSweepEnded,
  describeBatchRows,
  type BatchSweepIndex,
  type BatchSweepRow,
  type BatchRowStatus,
  type BatchSweepOptions,
  type NotebookRowOptions,
  type WaitOptions,
  type ResumeOptions,
  /** The Slurm engine, and the interface another engine (Kubernetes Jobs) would implement. */
  slurmExecutor,
  SlurmError,
  type SlurmOptions,
  type BatchExecutor,
  type BatchScript,
  type EngineRowState,
  type SubmittedJob,
  /** Notebook files: read with one clear error per problem, written the way nbformat writes them. */
  readNotebookFile,
  writeNotebookFile,
  parseNotebook,
  serializeNotebook,
  NotebookError,
  type Notebook,
  type NotebookCell,
  type NotebookOutput,
  type CellType,
  /** Parameters: command-line typing, YAML/JSON files, the injected-parameters cell per kernel language. */
  parseParameterValue,
  readParameterFile,
  collectParameters,
  parameterizeNotebook,
  translatorFor,
  ParameterError,
  type Parameters,
  type ParameterValue,
  type ParameterTranslator,
  /** What `mixprec run`, `sweep` and `reproduce` show on a terminal: a bar on a TTY, one line per cell or run otherwise. */
  terminalRunReporter,
  terminalSweepReporter,
  terminalReproduceReporter,
  /** The main job: the paper notebooks headless, executed notebooks and one self-contained HTML report. */
  reproduce,
  listNotebooks,
  NOTEBOOK_DIR,
  type ReproduceOptions,
  type ReproduceResult,
  type ReproduceReporter,
  /** Executed notebooks as one static HTML page (plots from their SVG/PNG fallbacks). */
  notebooksHtml,
  outputHtml,
  type ReportEntry,
  type ReportOptions,
} from './run';

// Benchmarks.
export {
  /**
   * Runs benchmark suites (quant, train, kernel, runner) on one or more backends, prints their tables and writes
   * one JSON record with the machine's and the backends' reports.
   */
  runBench,
  /** The suites runBench knows, by name. */
  BENCH_SUITES,
  type BenchOptions,
  type BenchRecord,
} from './bench';
