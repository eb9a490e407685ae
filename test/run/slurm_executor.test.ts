/**
 * The Slurm executor's parts that need no cluster: array specs, state names, the batch script (run by bash as a task
 * would run it) and the sacct fallback for jobs the controller has purged. Submitting and reading a real cluster is
 * test/e2e/slurm_sweep.test.ts.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { arraySpec, rowStateOf, shellQuote, slurmExecutor } from '../../src/run/executors/slurm';

const STAND_IN = [
  'const fs = require("fs");',
  'const [dir] = process.argv.slice(1);',
  'fs.writeFileSync(dir + "/args.json", JSON.stringify(process.argv.slice(1)));',
  'process.exit(fs.existsSync(dir + "/fail") ? 3 : 0);',
].join(' ');
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mixprec slurm's unit-"));

describe('Slurm job arrays', () => {
  it('writes rows as ranges, sorted and without repeats, with the limit of tasks at once', () => {
    assert.equal(arraySpec([1, 2, 3, 4, 5, 6], 2), '1-6%2');
    assert.equal(arraySpec([8, 7, 1, 3, 2, 5, 3]), '1-3,5,7-8');
    assert.equal(arraySpec([4]), '4');
  });

  it('maps every Slurm job state to a row state', () => {
    const cases: [string, string][] = [
      ['PENDING', 'pending'],
      ['REQUEUED', 'pending'],
      ['PREEMPTED', 'pending'],
      ['SUSPENDED', 'pending'],
      ['CONFIGURING', 'running'],
      ['RUNNING', 'running'],
      ['COMPLETING', 'running'],
      ['COMPLETED', 'completed'],
      ['FAILED', 'failed'],
      ['NODE_FAIL', 'failed'],
      ['OUT_OF_MEMORY', 'failed'],
      ['BOOT_FAIL', 'failed'],
      ['CANCELLED', 'cancelled'],
      ['CANCELLED by 0', 'cancelled'], // sacct
      ['CANCELLED+', 'cancelled'], // sacct, cut to its column
      ['TIMEOUT', 'timed out'],
      ['DEADLINE', 'timed out'],
    ];
    for (const [slurm, row] of cases) assert.equal(rowStateOf(slurm), row, slurm);
  });
});

describe('the batch script', () => {
  const runsDir = path.join(work, 'runs');
  const script = (retries: number) =>
    slurmExecutor({
      partition: 'gpu',
      gpusPerTask: 1,
      cpusPerTask: 4,
      mem: '8G',
      time: '2:00:00',
      maxParallel: 3,
      sbatchArgs: ['--account=lab'],
    }).script({
      title: 'a test sweep',
      jobName: 'mixprec-test',
      rows: [1, 2, 3, 4],
      runsDir,
      rowWidth: 3,
      logPattern: `${runsDir}/{task}/slurm-{job}_%a.out`,
      // A stand-in for `mixprec run`: writes its arguments into the row folder; fails (3) where the folder has a `fail`.
      command: [process.execPath, '-e', STAND_IN, '{RUN}', '{RUN}/notebook.ipynb', "it's {RUN}"],
      rowPlaceholder: '{RUN}',
      before: [],
      beforeRetry: [],
      retries,
    });

  it('carries the sbatch settings as #SBATCH lines, and parses as bash', () => {
    const text = script(0);
    const directives = text.split('\n').filter((l) => l.startsWith('#SBATCH '));
    assert.deepEqual(directives, [
      '#SBATCH --job-name=mixprec-test',
      '#SBATCH --array=1-4%3',
      `#SBATCH --output=${runsDir}/%3a/slurm-%A_%a.out`,
      '#SBATCH --open-mode=append',
      '#SBATCH --partition=gpu',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --gpus-per-task=1',
      '#SBATCH --mem=8G',
      '#SBATCH --time=2:00:00',
      '#SBATCH --account=lab',
    ]);
    assert.match(script(2), /#SBATCH --requeue\n/);
    const file = path.join(work, 'sweep.sbatch');
    fs.writeFileSync(file, text);
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('runs the row the task id names, with the row folder in every argument that names it, even with quotes and spaces', () => {
    const file = path.join(work, 'sweep.sbatch');
    fs.writeFileSync(file, script(0));
    for (const [row, exit] of [
      [2, 0],
      [4, 3],
    ] as const) {
      const dir = path.join(runsDir, String(row).padStart(3, '0'));
      fs.mkdirSync(dir, { recursive: true });
      if (exit !== 0) fs.writeFileSync(path.join(dir, 'fail'), '');
      const r = spawnSync('bash', [file], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: String(row), SLURM_ARRAY_JOB_ID: '77' } });
      assert.match(r.stdout, new RegExp(`^mixprec sweep: row ${row}, attempt 1, job 77_${row} on `));
      const args = JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8')) as string[];
      assert.deepEqual(args, [dir, `${dir}/notebook.ipynb`, `it's ${dir}`]);
      assert.equal(r.status, exit, "the row command's exit status is the task's");
      assert.doesNotMatch(r.stdout, /requeueing/, 'no retries asked for');
    }
  });

  it('quotes words for bash exactly', () => {
    for (const word of ['plain', 'with space', "it's", '$HOME', '`x`', 'a"b', '']) {
      const r = spawnSync('bash', ['-c', `printf %s ${shellQuote(word) || "''"}`], { encoding: 'utf8' });
      assert.equal(r.stdout, word);
    }
  });
});

describe('reading states back', () => {
  it("uses sacct for jobs squeue no longer knows, and the later submission's state of a row", () => {
    // squeue and sacct as a cluster with accounting answers for a purged job 5 and a live job 9.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, 'squeue'),
      '#!/bin/bash\nfor a in "$@"; do case "$a" in 9) echo "9|2|RUNNING|None"; echo "9|3|PENDING|JobArrayTaskLimit"; exit 0;; esac; done\necho "slurm_load_jobs error: Invalid job id specified" >&2; exit 1\n',
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, 'sacct'), '#!/bin/bash\necho "5_1|COMPLETED|0:0"\necho "5_2|FAILED|1:0"\necho "5_3|CANCELLED by 0|0:15"\n', {
      mode: 0o755,
    });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      const states = slurmExecutor().states([
        { id: '5', rows: [1, 2, 3], submitted: '' },
        { id: '9', rows: [2, 3], submitted: '' },
      ]);
      assert.deepEqual(
        [...states.entries()].sort((a, b) => a[0] - b[0]).map(([row, s]) => [row, s.jobId, s.state, s.reason]),
        [
          [1, '5', 'completed', 'exit 0:0'],
          [2, '9', 'running', undefined],
          [3, '9', 'pending', 'JobArrayTaskLimit'],
        ],
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});
