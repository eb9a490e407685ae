/**
 * `mixprec sweep --executor slurm` against a real single-node Slurm cluster (Debian's slurm-wlm and munge, started by
 * the test without systemd): the same grids as a local `--parallel 2` sweep give the same cell outputs; failures are
 * named with their cell; --resume reruns only what did not complete; retries, cancellation, a killed task and a time
 * limit each leave the state and a valid notebook behind; and a training grid of `mixprec train` rows.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jupyterWithKernel, missingPython, PYTHON, ROOT } from '../helpers/jupyter';
import { codeNotebook, nbformatProblems, PYTHON_KERNEL, readNotebook, textOf, writeNotebook, type NotebookJson } from '../helpers/notebooks';
import { missingSlurm, startSlurmCluster, until, type SlurmCluster } from '../helpers/slurm_cluster';
import { writeIdxFiles } from '../helpers/idx';

const SKIP = missingSlurm() || missingPython('ipykernel', 'python3-ipykernel');
const bin = path.join(ROOT, 'bin', 'mixprec.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-slurm-sweep-'));

interface Row {
  row: number;
  status: string;
  jobId?: string;
  cell?: number;
  failure?: string;
  attempts?: number;
  notebook: string;
  epochs?: string;
}
interface Index {
  jobs: { id: string; rows: number[] }[];
  runs: Row[];
}

let cluster: SlurmCluster | undefined;
let env: NodeJS.ProcessEnv = {};

function mixprec(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', env, timeout: 480_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const index = (dir: string) => JSON.parse(fs.readFileSync(path.join(work, dir, 'index.json'), 'utf8')) as Index;
const statuses = (dir: string) => index(dir).runs.map((r) => r.status);
/** The rows as `mixprec sweep --status` reads them from Slurm (it rewrites the index). */
function refreshed(dir: string): Row[] {
  const r = mixprec('sweep', '--status', dir);
  assert.equal(r.code, 0, r.stderr);
  return index(dir).runs;
}
const file = (name: string, text: string) => fs.writeFileSync(path.join(work, name), text);

/** The cell whose source starts with `start` (cells are added above the user's: parameters, error banners). */
function cellOf(nb: NotebookJson, start: string) {
  const cell = nb.cells.find((c) => textOf(c.source).startsWith(start));
  assert.ok(cell, `a cell starting ${JSON.stringify(start)}`);
  return cell;
}
const printed = (nb: NotebookJson, start: string) => (cellOf(nb, start).outputs ?? []).map((o) => textOf(o.text as string | string[])).join('');

/** Cell sources and outputs (what a run computed), without timings. */
function computed(nb: NotebookJson) {
  return nb.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) => ({ source: Array.isArray(c.source) ? c.source.join('') : c.source, outputs: c.outputs, count: c.execution_count }));
}

/** The most runs whose [start, end] (notebook metadata) overlap at one moment. */
function mostAtOnce(notebooks: NotebookJson[]): number {
  const events = notebooks.flatMap((nb) => {
    const pm = nb.metadata.papermill as { start_time: string; end_time: string };
    return [
      [Date.parse(pm.start_time), 1],
      [Date.parse(pm.end_time), -1],
    ] as [number, number][];
  });
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}

/** Runs the grid on Slurm (≤ 2 at once) and locally (--parallel 2); asserts the same outputs row by row. */
function sameAsLocal(notebook: string, grid: string, rows: number) {
  const stem = notebook.replace(/\.ipynb$/, '');
  const slurm = mixprec(
    'sweep',
    notebook,
    '--grid',
    grid,
    '--out',
    `${stem}-slurm`,
    '--executor',
    'slurm',
    '--max-parallel',
    '2',
    '--wait',
    '--poll',
    '1',
  );
  assert.equal(slurm.code, 0, `${slurm.stdout}${slurm.stderr}`);
  assert.match(slurm.stdout, new RegExp(`${rows} rows: ${rows} completed`));
  assert.match(fs.readFileSync(path.join(work, `${stem}-slurm`, 'sweep.sbatch'), 'utf8'), new RegExp(`#SBATCH --array=1-${rows}%2\\n`));
  const local = mixprec('sweep', notebook, '--grid', grid, '--out', `${stem}-local`, '--parallel', '2', '--no-progress');
  assert.equal(local.code, 0, local.stderr);
  const fromSlurm = index(`${stem}-slurm`).runs.map((r) => readNotebook(path.join(work, `${stem}-slurm`, r.notebook)));
  for (let i = 0; i < rows; i++) {
    const own = readNotebook(path.join(work, `${stem}-local`, `${stem}-${String(i + 1).padStart(3, '0')}.ipynb`));
    assert.deepEqual(computed(fromSlurm[i]!), computed(own), `row ${i + 1}`);
    assert.equal(nbformatProblems(path.join(work, `${stem}-slurm`, index(`${stem}-slurm`).runs[i]!.notebook)), '');
  }
  assert.ok(mostAtOnce(fromSlurm) <= 2, 'at most 2 tasks at once');
  return fromSlurm;
}

describe('sweeps on a Slurm cluster', { skip: SKIP || undefined }, () => {
  before(async () => {
    cluster = await startSlurmCluster();
    env = { ...jupyterWithKernel().env, SLURM_CONF: cluster.env.SLURM_CONF };
    // Started first, read at the end: a task over its one-minute time limit takes a minute or more.
    writeNotebook(
      path.join(work, 'limit.ipynb'),
      codeNotebook(['print("started")', 'import time\ntime.sleep(600)', 'print("never")'], PYTHON_KERNEL),
    );
    file('limit.yaml', '- {}\n');
    const r = mixprec('sweep', 'limit.ipynb', '--grid', 'limit.yaml', '--out', 'limit', '--executor', 'slurm', '--time', '1');
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => cluster?.stop());

  it('runs a 6-row TypeScript grid with at most 2 tasks at once, with the outputs of a local --parallel 2 sweep', () => {
    writeNotebook(
      path.join(work, 'ts.ipynb'),
      codeNotebook([
        { source: 'const bits: number = 2;\nconst kind: string = "U3";', tags: ['parameters'] },
        'const levels = 2 ** bits - 1;\nconsole.log(kind, bits, levels);',
        '({ kind, levels, step: 1 / levels })',
      ]),
    );
    file('ts.yaml', 'bits: [2, 4, 8]\nkind: [U3, P3]\n');
    const nbs = sameAsLocal('ts.ipynb', 'ts.yaml', 6);
    assert.deepEqual(
      nbs.map((nb) => printed(nb, 'const levels')),
      ['U3 2 3\n', 'P3 2 3\n', 'U3 4 15\n', 'P3 4 15\n', 'U3 8 255\n', 'P3 8 255\n'],
    );
  });

  it('runs a 4-row Python (ipykernel) grid the same way', () => {
    writeNotebook(
      path.join(work, 'py.ipynb'),
      codeNotebook([{ source: 'n = 1', tags: ['parameters'] }, 'print("square", n * n)', '{"n": n, "cube": n ** 3}'], PYTHON_KERNEL),
    );
    file('py.yaml', 'n: [1, 2, 3, 4]\n');
    const nbs = sameAsLocal('py.ipynb', 'py.yaml', 4);
    assert.deepEqual(
      nbs.map((nb) => textOf((cellOf(nb, '{"n"').outputs![0] as { data: Record<string, string | string[]> }).data['text/plain']!)),
      ["{'n': 1, 'cube': 1}", "{'n': 2, 'cube': 8}", "{'n': 3, 'cube': 27}", "{'n': 4, 'cube': 64}"],
    );
  });

  it('reports a row that raises as failed with its cell, and --resume reruns only it once the notebook is fixed', () => {
    const broken = codeNotebook(
      [{ source: 'n = 1', tags: ['parameters'] }, 'if n == 3:\n    raise ValueError("three is broken")\nprint(n)'],
      PYTHON_KERNEL,
    );
    writeNotebook(path.join(work, 'fails.ipynb'), broken);
    const first = mixprec('sweep', 'fails.ipynb', '--grid', 'py.yaml', '--out', 'fails', '--executor', 'slurm', '--wait', '--poll', '1');
    assert.equal(first.code, 1, first.stdout);
    assert.match(first.stderr, /mixprec sweep: 1 row\(s\) did not complete \(3\); rerun them with: mixprec sweep fails --resume\n$/);
    const failed = index('fails').runs[2]!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.cell, 3, 'the injected parameters cell is cell 2, the failing one cell 3');
    assert.match(failed.failure!, /^cell 3 \("if n == 3:"\) raised ValueError: three is broken$/);
    assert.match(first.stdout, /\| 3 +\| 3 +\| failed +\| 1 +\| [\d.]+ +\| \d+_3 +\| cell 3 \("if n == 3:"\) raised ValueError: three is broken \|/);
    const before = index('fails').runs.map((r) => fs.statSync(path.join(work, 'fails', r.notebook)).mtimeMs);

    writeNotebook(path.join(work, 'fails.ipynb'), codeNotebook([{ source: 'n = 1', tags: ['parameters'] }, 'print(n)'], PYTHON_KERNEL));
    const resumed = mixprec('sweep', 'fails', '--resume', '--wait', '--poll', '1');
    assert.equal(resumed.code, 0, `${resumed.stdout}${resumed.stderr}`);
    assert.match(resumed.stdout, /^resubmitted 1 row\(s\) \(3\) as job \d+\n/);
    const after = index('fails');
    assert.deepEqual(statuses('fails'), ['completed', 'completed', 'completed', 'completed']);
    assert.equal(after.jobs.length, 2);
    assert.deepEqual(after.jobs[1]!.rows, [3]);
    assert.deepEqual(
      after.runs.map((r) => r.jobId),
      [after.jobs[0]!.id, after.jobs[0]!.id, after.jobs[1]!.id, after.jobs[0]!.id],
    );
    const mtimes = after.runs.map((r) => fs.statSync(path.join(work, 'fails', r.notebook)).mtimeMs);
    assert.deepEqual([mtimes[0], mtimes[1], mtimes[3]], [before[0], before[1], before[3]], 'the completed rows were not run again');
    assert.notEqual(mtimes[2], before[2]);
    const again = mixprec('sweep', 'fails', '--resume');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^every row of fails completed; nothing to resume\n/);
  });

  it('--retries requeues a failed task, which completes on its second attempt with the first kept', () => {
    const marker = path.join(work, 'flaky.marker');
    writeNotebook(
      path.join(work, 'flaky.ipynb'),
      codeNotebook(
        [
          { source: 'n = 1\nmarker = ""', tags: ['parameters'] },
          'import os\nif n == 2 and not os.path.exists(marker):\n    open(marker, "w").close()\n    raise RuntimeError("flaky")\nprint("ok", n)',
        ],
        PYTHON_KERNEL,
      ),
    );
    file('flaky.yaml', 'n: [1, 2]\n');
    const r = mixprec(
      'sweep',
      'flaky.ipynb',
      '--grid',
      'flaky.yaml',
      '--out',
      'flaky',
      '--executor',
      'slurm',
      '--retries',
      '1',
      '-p',
      'marker',
      marker,
      '--wait',
      '--poll',
      '1',
    );
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const rows = index('flaky').runs;
    assert.deepEqual(
      rows.map((x) => [x.status, x.attempts]),
      [
        ['completed', 1],
        ['completed', 2],
      ],
    );
    const first = readNotebook(path.join(work, 'flaky', 'runs', '002', 'attempt-1.ipynb'));
    assert.match(JSON.stringify(cellOf(first, 'import os').outputs), /"ename":"RuntimeError","evalue":"flaky"/);
    assert.match(
      fs.readFileSync(path.join(work, 'flaky', 'runs', '002', `slurm-${rows[1]!.jobId}_2.out`), 'utf8'),
      /attempt 1 failed \(exit 1\); requeueing the task/,
    );
  });

  it('scancel of one array task leaves a valid partial notebook; --cancel cancels the rest and shows cancelled rows', async () => {
    writeNotebook(
      path.join(work, 'slow.ipynb'),
      codeNotebook(
        [{ source: 'n = 1', tags: ['parameters'] }, 'print("before", n)', 'import time\ntime.sleep(600)', 'print("after")'],
        PYTHON_KERNEL,
      ),
    );
    file('slow.yaml', 'n: [1, 2, 3]\n');
    const r = mixprec('sweep', 'slow.ipynb', '--grid', 'slow.yaml', '--out', 'slow', '--executor', 'slurm', '--max-parallel', '2');
    assert.equal(r.code, 0, r.stderr);
    const job = index('slow').jobs[0]!.id;
    const nbFile = (row: number) => path.join(work, 'slow', 'runs', String(row).padStart(3, '0'), 'slow.ipynb');
    const sleeping = (row: number) => {
      try {
        const nb = readNotebook(nbFile(row));
        return (cellOf(nb, 'import time').metadata.papermill as { status: string }).status === 'running';
      } catch {
        return false;
      }
    };
    await until('rows 1 and 2 to be in their sleep cell', () => sleeping(1) && sleeping(2), 180_000);
    cluster!.run('scancel', `${job}_1`);
    await until('row 1 to be cancelled', () => refreshed('slow')[0]!.status === 'cancelled', 60_000, 500);
    const saved = () => (readNotebook(nbFile(1)).metadata.papermill as { end_time: string | null }).end_time !== null;
    await until('row 1 to have saved its notebook', saved, 60_000, 500);
    assert.equal(nbformatProblems(nbFile(1)), '', 'a valid notebook');
    const partial = readNotebook(nbFile(1));
    assert.equal(printed(partial, 'print("before"'), 'before 1\n');
    assert.notEqual((cellOf(partial, 'import time').metadata.papermill as { status: string }).status, 'completed');
    assert.deepEqual(cellOf(partial, 'print("after")').outputs, []);
    assert.equal(refreshed('slow')[0]!.failure, 'cancelled during cell 4');

    // Ctrl-C on --wait (no terminal to ask on) stops following and leaves the sweep running in Slurm.
    const follower = spawn(process.execPath, [bin, 'sweep', 'slow', '--wait', '--poll', '1'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout.setEncoding('utf8').on('data', (t: string) => (followed += t));
    follower.stderr.setEncoding('utf8').on('data', (t: string) => (followed += t));
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    await until('--wait to print the rows', () => /3 rows: /.test(followed), 60_000, 200);
    follower.kill('SIGINT');
    assert.equal(await exited, 130, followed);
    assert.match(followed, /stopped following; the sweep goes on in Slurm: mixprec sweep slow --wait, --status slow, --cancel slow\n/);
    assert.equal(refreshed('slow')[1]!.status, 'running');

    const cancel = mixprec('sweep', '--cancel', 'slow');
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`^cancelled job ${job}\\n`));
    await until('every row to be cancelled', () => refreshed('slow').every((x) => x.status === 'cancelled'), 60_000, 500);
    assert.deepEqual(statuses('slow'), ['cancelled', 'cancelled', 'cancelled']);
    assert.match(fs.readFileSync(path.join(work, 'slow', 'index.html'), 'utf8'), /<tr class="cancelled"><td>3<\/td>/);
  });

  it('Ctrl-C on --wait in a terminal asks whether to cancel, and yes cancels the jobs', async () => {
    writeNotebook(path.join(work, 'asked.ipynb'), codeNotebook(['import time\ntime.sleep(600)'], PYTHON_KERNEL));
    file('one.yaml', '- {}\n');
    const r = mixprec('sweep', 'asked.ipynb', '--grid', 'one.yaml', '--out', 'asked', '--executor', 'slurm');
    assert.equal(r.code, 0, r.stderr);
    await until('the row to run', () => refreshed('asked')[0]!.status === 'running', 120_000, 500);
    const job = index('asked').jobs[0]!.id;
    const tty = spawnSync(
      PYTHON,
      [
        path.join(ROOT, 'test', 'e2e', 'tty_interrupt.py'),
        '1 row: 1 running',
        '? [y/N]',
        'y',
        '--',
        process.execPath,
        bin,
        'sweep',
        'asked',
        '--wait',
        '--poll',
        '1',
      ],
      { cwd: work, env, encoding: 'utf8', timeout: 300_000 },
    );
    const seen = tty.stdout.slice(-3000);
    // (readline moves the cursor before echoing the answer)
    assert.match(seen, new RegExp(`cancel the sweep's Slurm job\\(s\\) ${job}\\? \\[y/N\\] (\\x1b\\[\\d+G)?y\\r*\\n`), seen);
    assert.match(seen, new RegExp(`cancelled job ${job}\\r?\\n`), seen);
    await until('the row to be cancelled', () => refreshed('asked')[0]!.status === 'cancelled', 60_000, 500);
    const again = mixprec('sweep', '--cancel', 'asked');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^every row had ended; nothing to cancel\n/);
  });

  it('marks a task that hits its time limit as timed out, with the cell it was in', async () => {
    await until(
      'the time-limited task to end',
      () => refreshed('limit')[0]!.status !== 'running' && index('limit').runs[0]!.status !== 'pending',
      300_000,
      1000,
    );
    const row = index('limit').runs[0]!;
    assert.equal(row.status, 'timed out');
    assert.equal(row.failure, 'hit its time limit (--time 1) during cell 2');
    const nb = path.join(work, 'limit', row.notebook);
    assert.equal(nbformatProblems(nb), '');
    assert.equal(printed(readNotebook(nb), 'print("started")'), 'started\n');
    assert.deepEqual(cellOf(readNotebook(nb), 'print("never")').outputs, []);
  });

  it('runs a training grid of `mixprec train` rows as a local grid does, and refuses a bad row before anything is written', () => {
    writeIdxFiles(path.join(work, 'idx'), 64);
    assert.equal(mixprec('data', 'convert', '--format', 'idx', '--input', 'idx', '--out', 'ds', '--name', 'tiny').code, 0);
    file(
      'train.yaml',
      'weights: [float, U3]\nmodel: mnistnet\nepochs: 1\nmax-steps: 2\nbatch: 16\nbackend: wasm\nno-pretrain: true\ndataset: ds/tiny-train.arrow\n',
    );
    const r = mixprec('sweep', '--train', '--grid', 'train.yaml', '--out', 'train', '--executor', 'slurm', '--wait', '--poll', '1');
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /\| 1 +\| float +\|.*\| completed +\| 1 +\| 1\/1 +\| [\d.]+ +\|/);
    for (const row of ['001', '002']) {
      for (const f of ['config.json', 'metrics.jsonl', 'checkpoint.safetensors'])
        assert.ok(fs.existsSync(path.join(work, 'train', 'runs', row, f)), `${row}/${f}`);
    }
    const config = JSON.parse(fs.readFileSync(path.join(work, 'train', 'runs', '002', 'config.json'), 'utf8')) as { quant: { weights: string } };
    assert.equal(config.quant.weights, 'U3');
    // The same grid here, two training processes at once: the same epochs, bit for bit but for the timings.
    const local = mixprec('sweep', '--train', '--grid', 'train.yaml', '--out', 'train-local', '--parallel', '2', '--no-progress');
    assert.equal(local.code, 0, `${local.stdout}${local.stderr}`);
    const metrics = (dir: string, row: string) =>
      fs
        .readFileSync(path.join(work, dir, 'runs', row, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const { seconds: _s, imagesPerSecond: _i, ...m } = JSON.parse(l) as Record<string, unknown>;
          return m;
        });
    for (const row of ['001', '002']) assert.deepEqual(metrics('train', row), metrics('train-local', row), `row ${row}`);

    file('bad-train.yaml', 'weights: [U3, U9]\nepochs: 1\n');
    const bad = mixprec('sweep', '--train', '--grid', 'bad-train.yaml', '--out', 'bad-train', '--executor', 'slurm');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mixprec sweep: training grid row 2: .*U9.*\n$/);
    assert.equal(fs.existsSync(path.join(work, 'bad-train')), false, 'nothing written');
  });
});
