/**
 * Slurm as a sweep engine: a sweep's rows become one job array (task id = row number), submitted with sbatch, read
 * back with `squeue --states=all` (which knows finished jobs for MinJobAge seconds), else `sacct` where the cluster
 * keeps accounting (many give users no slurmdbd), and cancelled with scancel. Only Slurm's user commands are used, so
 * anything a user may do on a login node is enough.
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../../util/errors';
import type { BatchExecutor, EngineRowState, SubmittedJob, BatchScript } from './executor';

/** sbatch options of a Slurm sweep (each maps to the sbatch flag of the same name). */
export interface SlurmOptions {
  partition?: string;
  gpusPerTask?: number;
  cpusPerTask?: number;
  /** Memory per node, as sbatch takes it (`4G`, `500M`). */
  mem?: string;
  /** Time limit per task, as sbatch takes it (`30`, `1:00:00`, `2-00:00:00`). */
  time?: string;
  /** Tasks running at once (the `%K` of `--array`); default: as many as Slurm gives. */
  maxParallel?: number;
  /** More sbatch arguments, written into the script as they are (`--account=lab`, `--qos=short`). */
  sbatchArgs?: string[];
}

/** A Slurm command failed, or is not there; names the command and what it printed. */
export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function slurm(command: string, args: string[]): CommandResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SlurmError(`${command} is not on PATH: the slurm executor needs Slurm's commands (run it on a login node)`);
    throw new SlurmError(`${command} ${args.join(' ')}: ${r.error.message}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

function mustSucceed(command: string, args: string[]): string {
  const r = slurm(command, args);
  if (r.status !== 0) throw new SlurmError(`${command} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr || r.stdout.trim()}`);
  return r.stdout;
}

/** `1-6%2`, `2,5%2`: the rows (task ids) as ranges, with the limit of tasks at once. */
export function arraySpec(rows: readonly number[], maxParallel?: number): string {
  const sorted = [...new Set(rows)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return `${parts.join(',')}${maxParallel !== undefined ? `%${maxParallel}` : ''}`;
}

/** Slurm job states (`squeue -o %T`, `sacct -o State`) as a row's state. */
export function rowStateOf(slurmState: string): EngineRowState['state'] {
  const s = slurmState.split(/\s/)[0]!.replace(/\+$/, '').toUpperCase();
  if (['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'PREEMPTED', 'SUSPENDED', 'RESV_DEL_HOLD', 'RESIZING'].includes(s)) return 'pending';
  if (['RUNNING', 'CONFIGURING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'STOPPED'].includes(s)) return 'running';
  if (s === 'COMPLETED') return 'completed';
  if (s === 'CANCELLED') return 'cancelled';
  if (s === 'TIMEOUT' || s === 'DEADLINE') return 'timed out';
  return 'failed'; // FAILED, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, SPECIAL_EXIT, REVOKED
}

function checkPositiveInteger(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new UsageError(`--${name} must be a positive integer, got ${v}`);
}

/** Checks the options before anything is written: the values sbatch would refuse later, named by their flags. */
export function checkSlurmOptions(o: SlurmOptions): void {
  checkPositiveInteger('gpus-per-task', o.gpusPerTask);
  checkPositiveInteger('cpus-per-task', o.cpusPerTask);
  checkPositiveInteger('max-parallel', o.maxParallel);
  if (o.mem !== undefined && !/^\d+(\.\d+)?[KMGT]?B?$/i.test(o.mem))
    throw new UsageError(`--mem must be a size as sbatch takes it (500M, 4G), got ${JSON.stringify(o.mem)}`);
  if (o.time !== undefined && !/^(\d+-)?\d+(:\d+){0,2}$/.test(o.time))
    throw new UsageError(`--time must be a time limit as sbatch takes it (minutes, H:MM:SS or D-HH:MM:SS), got ${JSON.stringify(o.time)}`);
  if (o.partition !== undefined && !/^[\w.,-]+$/.test(o.partition))
    throw new UsageError(`--partition: not a partition name: ${JSON.stringify(o.partition)}`);
  for (const a of o.sbatchArgs ?? []) {
    if (!a.startsWith('-') || /[\n\r]/.test(a))
      throw new UsageError(`--sbatch-arg takes one sbatch option such as --account=lab, got ${JSON.stringify(a)}`);
    if (/^--?(a|array|o|output|e|error|open-mode|J|job-name)\b/.test(a))
      throw new UsageError(`--sbatch-arg ${a}: the sweep sets this itself (the array is its rows; the logs go to each row's folder)`);
  }
}

/** Shell word for a path or value (the script is read by bash). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A word of the row command, its `placeholder` parts replaced by the row folder ("$RUN"). */
function shellWordWithRun(word: string, placeholder: string): string {
  return word
    .split(placeholder)
    .map((part) => (part === '' ? '' : shellQuote(part)))
    .join('"$RUN"');
}

/** The executor. `options` are the sbatch settings the sweep was submitted with (kept in index.json). */
export function slurmExecutor(options: SlurmOptions = {}): BatchExecutor {
  checkSlurmOptions(options);
  return {
    name: 'slurm',
    options: { ...options },

    script(s: BatchScript): string {
      const o = options;
      const directives = [
        `--job-name=${s.jobName}`,
        `--array=${arraySpec(s.rows, o.maxParallel)}`,
        // %Na pads the task id as the row folders are named; append keeps every attempt's log.
        `--output=${s.logPattern.replace('{task}', `%${s.rowWidth}a`).replace('{job}', '%A')}`,
        '--open-mode=append',
        ...(o.partition ? [`--partition=${o.partition}`] : []),
        ...(o.cpusPerTask ? [`--cpus-per-task=${o.cpusPerTask}`] : []),
        ...(o.gpusPerTask ? [`--gpus-per-task=${o.gpusPerTask}`] : []),
        ...(o.mem ? [`--mem=${o.mem}`] : []),
        ...(o.time ? [`--time=${o.time}`] : []),
        // Retries requeue the task; Slurm requeues only jobs that allow it.
        ...(s.retries > 0 ? ['--requeue'] : []),
        ...(o.sbatchArgs ?? []),
      ];
      return [
        '#!/bin/bash',
        `# ${s.title}`,
        '# Written by mixprec sweep. Resubmit as it is with `sbatch` (the array is every row), or only some rows with',
        '# `sbatch --array=2,5 <this file>`; `mixprec sweep --resume <sweep folder>` does that for the rows not completed.',
        ...directives.map((d) => `#SBATCH ${d}`),
        '',
        'set -u',
        `ROW=$(printf '%0${s.rowWidth}d' "$SLURM_ARRAY_TASK_ID")`,
        `RUN=${shellQuote(s.runsDir)}/$ROW`,
        'ATTEMPT=$(( ${SLURM_RESTART_COUNT:-0} + 1 ))',
        'echo "mixprec sweep: row $SLURM_ARRAY_TASK_ID, attempt $ATTEMPT, job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -Is)"',
        ...s.before,
        s.command.map((word) => shellWordWithRun(word, s.rowPlaceholder)).join(' '),
        'STATUS=$?',
        `if [ "$STATUS" -ne 0 ] && [ "$ATTEMPT" -le ${s.retries} ]; then`,
        ...s.beforeRetry.map((l) => `  ${l}`),
        '  echo "mixprec sweep: attempt $ATTEMPT failed (exit $STATUS); requeueing the task"',
        '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
        'fi',
        'exit "$STATUS"',
        '',
      ].join('\n');
    },

    submit(scriptFile: string, rows: readonly number[]): SubmittedJob {
      const args = ['--parsable', `--array=${arraySpec(rows, options.maxParallel)}`, scriptFile];
      const id = mustSucceed('sbatch', args).trim().split(';')[0]!;
      if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch ${args.join(' ')} printed no job id: ${JSON.stringify(id)}`);
      return { id, rows: [...rows], submitted: new Date().toISOString() };
    },

    states(jobs: readonly SubmittedJob[]): Map<number, EngineRowState> {
      const found = new Map<number, EngineRowState>();
      if (jobs.length === 0) return found;
      // Later submissions (resumes) of a row win over earlier ones.
      const order = new Map(jobs.map((j, i) => [j.id, i]));
      const put = (jobId: string, task: number, s: EngineRowState) => {
        const before = found.get(task);
        if (before && (order.get(before.jobId) ?? -1) > (order.get(jobId) ?? -1)) return;
        found.set(task, s);
      };
      for (const job of jobs) {
        // One query per job: squeue refuses the whole list when one id has been purged.
        const q = slurm('squeue', ['--states=all', '--array', '--noheader', '--jobs', job.id, '--format=%F|%K|%T|%r']);
        if (q.status === 0) {
          for (const line of q.stdout.split('\n').filter(Boolean)) {
            const [jobId, task, state, reason] = line.split('|');
            if (jobId !== job.id || !/^\d+$/.test(task ?? '')) continue;
            put(job.id, Number(task), {
              jobId: job.id,
              state: rowStateOf(state!),
              slurmState: state!,
              ...(reason && reason !== 'None' ? { reason } : {}),
            });
          }
        }
        if (job.rows.every((r) => found.get(r)?.jobId === job.id)) continue;
        // Purged from the controller: accounting, where the cluster keeps it.
        const a = slurm('sacct', ['--noheader', '--parsable2', '--allocations', '--jobs', job.id, '--format=JobID,State,ExitCode']);
        if (a.status !== 0) continue; // no accounting here ("Slurm accounting storage is disabled")
        for (const line of a.stdout.split('\n').filter(Boolean)) {
          const [id, state, exit] = line.split('|');
          const m = /^(\d+)_(\d+)$/.exec(id ?? '');
          if (!m || m[1] !== job.id || found.get(Number(m[2]))?.jobId === job.id) continue;
          put(job.id, Number(m[2]), { jobId: job.id, state: rowStateOf(state!), slurmState: state!, ...(exit ? { reason: `exit ${exit}` } : {}) });
        }
      }
      return found;
    },

    cancel(jobs: readonly SubmittedJob[]): void {
      if (jobs.length > 0)
        mustSucceed(
          'scancel',
          jobs.map((j) => j.id),
        );
    },
  };
}
