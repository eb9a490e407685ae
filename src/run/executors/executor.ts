/**
 * Sweep engines. A sweep's rows run either in this process (the local executor: `runSweep`, kernels started here) or
 * as batch jobs of a cluster scheduler (a {@link BatchExecutor}: the rows are submitted, the submitting process may
 * go, and their states are read back from the scheduler and from each row's own output). Slurm is the batch executor
 * built; another (Kubernetes Jobs, say) is one more object of this shape, registered in `./index.ts`.
 */

/** What the engine says of one row. */
export interface EngineRowState {
  /** The submission (job) the state is of. */
  jobId: string;
  state: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed out';
  /** The engine's own name of the state (`PENDING`, `NODE_FAIL`). */
  slurmState?: string;
  /** Why, where the engine says (`JobArrayTaskLimit`, `BeginTime`). */
  reason?: string;
}

/** One submission of some of a sweep's rows. */
export interface SubmittedJob {
  id: string;
  /** Row numbers (1-based), which are the engine's task ids. */
  rows: number[];
  submitted: string;
}

/** What a batch script runs: the same for every row, the row number from the engine. */
export interface BatchScript {
  /** A comment line at the top. */
  title: string;
  jobName: string;
  /** The rows the script's own array names (a plain resubmission runs these). */
  rows: readonly number[];
  /** Row folders are `<runsDir>/<row zero-padded to rowWidth>`. */
  runsDir: string;
  rowWidth: number;
  /** The engine's log per task, `{task}` and `{job}` filled in by the engine. */
  logPattern: string;
  /** The row's command, words in which `rowPlaceholder` stands for the row folder. */
  command: string[];
  rowPlaceholder: string;
  /** Shell lines before the command, and before a failed attempt is retried. */
  before: string[];
  beforeRetry: string[];
  /** Times a failed task is run again. */
  retries: number;
}

export interface BatchExecutor {
  readonly name: string;
  /** The settings it was made with, as index.json keeps them (a resume submits with the same). */
  readonly options: object;
  /** The batch script's text. */
  script(s: BatchScript): string;
  /** Submits `rows` of the script in `scriptFile`. */
  submit(scriptFile: string, rows: readonly number[]): SubmittedJob;
  /** The engine's state of each row it still knows (row number → state; later jobs win). */
  states(jobs: readonly SubmittedJob[]): Map<number, EngineRowState>;
  /** Cancels the jobs (their running tasks are signalled, pending ones dropped). */
  cancel(jobs: readonly SubmittedJob[]): void;
}
