/**
 * Stopping `mixprec train` from the terminal. The first SIGINT (Ctrl-C) or SIGTERM aborts the run's AbortSignal:
 * training stops at the next step boundary and saves a checkpoint of the partial epoch (train() does); a second one
 * exits at once (checkpoints are written atomically, so the one on disk is never torn). An interrupted run ends with
 * one line saying where it stopped, what holds its state, and the command that resumes it, and exits 130 (SIGINT) or
 * 143 (SIGTERM).
 */
import * as path from 'node:path';
import type { TrainResult } from './trainer';

type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit codes of a run stopped by a signal (128 + the signal's number), as a shell reports them. */
export const INTERRUPT_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The notice printed on the first signal. */
export const interruptNotice = (sig: StopSignal) => `${sig}: stopping at the next step to save a checkpoint (again to quit at once)`;

/** A training run that a signal stopped; the message is the line that ends it, `exitCode` the process's exit code. */
export class TrainingInterrupted extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'TrainingInterrupted';
  }
}

export interface InterruptHooks {
  /** Writes the notice (default: stderr). */
  write?: (text: string) => void;
  /** Ends the process on the second signal (default: process.exit). */
  exit?: (code: number) => void;
}

/**
 * Runs `work` with an AbortSignal that the first SIGINT / SIGTERM aborts, after printing {@link interruptNotice}; a
 * second signal exits at once with {@link INTERRUPT_EXIT_CODES}. Resolves with work's value and the signal that
 * stopped it (null: none came). The handlers are removed when work settles, unless a signal came: then a second one
 * quits at any time until the process ends.
 */
export async function withTrainingInterrupt<T>(
  work: (signal: AbortSignal) => Promise<T>,
  hooks: InterruptHooks = {},
): Promise<{ value: T; stoppedBy: StopSignal | null }> {
  const write = hooks.write ?? ((text: string) => process.stderr.write(text));
  const exit = hooks.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  let stoppedBy: StopSignal | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    const name: StopSignal = sig === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    if (stoppedBy !== null) {
      exit(INTERRUPT_EXIT_CODES[name]);
      return;
    }
    stoppedBy = name;
    // On a line of its own: a progress bar may be drawing on the current one.
    write(`\n${interruptNotice(name)}\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const value = await work(controller.signal);
    return { value, stoppedBy };
  } finally {
    // After a stop the handlers stay: a second signal while the stopped run winds up (summary, closing the loader)
    // still quits at once with the exit code, rather than killing the process by the signal.
    if (stoppedBy === null) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** A word of a command line as a POSIX shell reads it back (quoted only where needed). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `mixprec train` with the parsed options `opts` (in the order given; boolean flags as `--flag`, the false ones left
 * out), without --resume and --overwrite and the keys in `drop`, with `set` replacing or adding values, then `last`.
 */
export function trainCommandLine(
  opts: Readonly<Record<string, unknown>>,
  change: { drop?: readonly string[]; set?: Readonly<Record<string, string>>; last?: string } = {},
): string {
  const words = ['mixprec', 'train'];
  const set = { ...change.set };
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'resume' || key === 'overwrite' || change.drop?.includes(key) || value === undefined || value === false) continue;
    if (key in set) {
      words.push(`--${key}`, set[key]!);
      delete set[key];
    } else if (value === true) {
      words.push(`--${key}`);
    } else {
      for (const v of Array.isArray(value) ? value : [value]) words.push(`--${key}`, String(v));
    }
  }
  for (const [key, value] of Object.entries(set)) words.push(`--${key}`, value);
  if (change.last !== undefined) words.push(change.last);
  return words.map(shellWord).join(' ');
}

/**
 * The error that ends an interrupted `mixprec train` (main prints `mixprec train: <message>` and exits with its code):
 * `interrupted at epoch E step S of N: saved <out>/checkpoint.safetensors (metrics of K epochs in <out>/metrics.jsonl);
 * resume with: mixprec train <the same options> --resume`. `result` is the session's last (the interrupted) run,
 * `opts` the command's parsed options, `outDir` the requested run's folder: a different one in the result is a
 * pre-training run that the session was training first, and the line says how to finish that one.
 */
export function trainingInterrupted(
  result: Pick<TrainResult, 'interruptedAt' | 'epochsCompleted' | 'outDir'>,
  opts: Readonly<Record<string, unknown>>,
  outDir: string,
  stoppedBy: StopSignal,
): TrainingInterrupted {
  const at = result.interruptedAt;
  const where = at ? `interrupted at epoch ${at.epoch} step ${at.step} of ${at.stepsPerEpoch}` : `interrupted after epoch ${result.epochsCompleted}`;
  const run = result.outDir ?? outDir;
  const pretraining = path.resolve(run) !== path.resolve(outDir);
  const of = pretraining ? ` of the pre-training run in ${run}` : '';
  // A pre-training run is that preset's run in its own folder; the overrides apply to it as well, --init does not.
  const target = pretraining ? { drop: ['init', 'no-pretrain'], set: { preset: path.basename(run), out: run } } : {};
  const then = pretraining ? ', then run this command again' : '';
  const n = result.epochsCompleted;
  const metrics = `metrics of ${n} epoch${n === 1 ? '' : 's'} in ${path.join(run, 'metrics.jsonl')}`;
  const message = at?.checkpoint
    ? `${where}${of}: saved ${at.checkpoint} (${metrics}); resume with: ${trainCommandLine(opts, { ...target, last: '--resume' })}${then}`
    : `${where}${of}, before its first step: nothing to resume; start it again with: ${trainCommandLine(opts, { ...target, last: '--overwrite' })}${then}`;
  return new TrainingInterrupted(message, INTERRUPT_EXIT_CODES[stoppedBy]);
}
