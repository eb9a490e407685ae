/** The headless runner: notebooks executed from scripts and CI over the Jupyter protocol, papermill-style. */
export { launchKernel, resolveKernelSpec, KernelNotFoundError, type RunningKernel, type LaunchOptions } from './launch';
export {
  readNotebookFile,
  parseNotebook,
  serializeNotebook,
  writeNotebookFile,
  NotebookError,
  type Notebook,
  type NotebookCell,
  type NotebookOutput,
  type CellType,
} from './notebook';
export { OutputCollector, outputFromMessage } from './outputs';
export {
  parseParameterValue,
  readParameterFile,
  collectParameters,
  parameterizeNotebook,
  translatorFor,
  ParameterError,
  type Parameters,
  type ParameterValue,
  type ParameterTranslator,
} from './parameters';
export {
  runNotebook,
  prepareNotebook,
  executePrepared,
  type RunOptions,
  type RunResult,
  type RunSummary,
  type RunReporter,
  type CellFailure,
  type CellEvent,
  type FailureKind,
} from './runner';
export {
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
} from './sweep';
export {
  submitNotebookSweep,
  submitTrainSweep,
  refreshBatchSweep,
  waitBatchSweep,
  cancelBatchSweep,
  resumeBatchSweep,
  readBatchIndex,
  batchSweepEnded,
  batchSweepHtml,
  describeBatchRows,
  notebookRowCommand,
  BATCH_ROW_STATUSES,
  type BatchSweepIndex,
  type BatchSweepRow,
  type BatchRowStatus,
  type BatchSweepOptions,
  type NotebookRowOptions,
  type TrainRowCheck,
  type WaitOptions,
  type ResumeOptions,
} from './batch_sweep';
export { slurmExecutor, arraySpec, checkSlurmOptions, SlurmError, type SlurmOptions } from './executors/slurm';
export type { BatchExecutor, BatchScript, EngineRowState, SubmittedJob } from './executors/executor';
export { terminalRunReporter, terminalSweepReporter, terminalReproduceReporter } from './terminal';
export { reproduce, listNotebooks, NOTEBOOK_DIR, type ReproduceOptions, type ReproduceResult, type ReproduceReporter } from './reproduce';
export { notebooksHtml, outputHtml, type ReportEntry, type ReportOptions } from './report';
