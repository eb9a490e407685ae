/**
 * Exit codes as scripts see them: every bad argument or configuration exits 2 with one line
 * `mixprec <command>: <message>` naming the flag or field and its value; an output folder that cannot be created
 * because a file is in the way is one line naming that file, for every command that writes one.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeNotebook, writeNotebook } from '../helpers/notebooks';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'mixprec.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-cli-args-'));
const env = { ...process.env, JUPYTER_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-cli-args-data-')), MIXPREC_BACKEND: 'cpu' };

function mixprec(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const file = (name: string, text: string) => fs.writeFileSync(path.join(work, name), text);
file('field.json', '{"quant": {"weights": "U4"}}');
file('typo.json', '{"lr": 0.1}');
file('bad.json', '{"epochs": 3,');
file('list.json', '[1]');
file('grid.yaml', 'n: [1, 2]\n');
file('bad-grid.yaml', 'n: [1, 2\n');
file('somefile.txt', 'not a folder');
file('train-grid.yaml', 'weights: [U3, U9]\nepochs: 1\ndataset: none-train.arrow\n');
file('colour-grid.yaml', 'colour: [red]\n');
file('out-grid.yaml', 'out: [somewhere]\n');
fs.mkdirSync(path.join(work, 'idx'));
writeNotebook(path.join(work, 'ok.ipynb'), codeNotebook([{ source: 'const n = 0;', tags: ['parameters'] }, 'n']));

describe('bad arguments exit 2, naming the flag or field and the value', () => {
  const train = ['train', '--dataset', 'none-train.arrow'];
  const slurm = ['--executor', 'slurm', '--out', 'never-written'];
  const cases: [string[], RegExp][] = [
    [[...train, '--lr', 'NaN'], /^mixprec train: --lr must be a number, got "NaN"$/],
    [[...train, '--lr', '-1'], /^mixprec train: command line: field "learningRate" \(--lr\) must be a positive number, got -1$/],
    [[...train, '--batch', '0'], /^mixprec train: command line: field "batchSize" \(--batch\) must be a positive integer, got 0$/],
    [[...train, '--epochs', '1.5'], /^mixprec train: command line: field "epochs" \(--epochs\) must be a positive integer, got 1\.5$/],
    [[...train, '--weights', 'U4'], /^mixprec train: command line: field "quant\.weights" \(--weights\) must be one of .*, got "U4"$/],
    [[...train, '--seed', '-1'], /^mixprec train: --seed must be an integer from 0 to 4294967295, got -1$/],
    [[...train, '--max-steps', '0'], /^mixprec train: --max-steps must be a positive integer, got 0$/],
    [[...train, '--config', 'field.json'], /^mixprec train: field\.json: field "quant\.weights" must be one of .*, got "U4"$/],
    [[...train, '--config', 'typo.json'], /^mixprec train: typo\.json: unknown field "lr" \(did you mean "learningRate"\?\)$/],
    [[...train, '--config', 'list.json'], /^mixprec train: list\.json: .*got \[1\]$/],
    [[...train, '--config', 'bad.json'], /^mixprec train: bad\.json: not valid JSON \(/],
    [[...train, '--config', 'none.json'], /^mixprec train: none\.json: no such file$/],
    [[...train, '--preset', 'NOPE'], /^mixprec train: unknown preset "NOPE"; closest: /],
    [[...train, '--resume', '--overwrite'], /^mixprec train: --resume and --overwrite exclude each other: /],
    [[...train, '--backend', 'gpu9000'], /^mixprec train: --backend must be one of .*, got "gpu9000"$/],
    [['demo', '--seed', '-1'], /^mixprec demo: --seed must be an integer from 0 to 4294967295, got -1$/],
    [['demo', '--lr', '-1'], /^mixprec demo: --lr must be positive, got -1$/],
    [['run', 'ok.ipynb', '-p', 'n', '[1, 2'], /^mixprec run: parameter n: "\[1, 2" is not valid JSON/],
    [['sweep', 'ok.ipynb', '--grid', 'bad-grid.yaml'], /^mixprec sweep: grid file bad-grid\.yaml: not valid YAML or JSON/],
    [['sweep', 'ok.ipynb', '--grid', 'grid.yaml', '--parallel', '0'], /^mixprec sweep: --parallel must be a positive integer, got 0$/],
    [['sweep', 'ok.ipynb', '--grid', 'grid.yaml', '--resume', '--overwrite'], /^mixprec sweep: --resume and --overwrite exclude each other: /],
    [['sweep', 'ok.ipynb', '--grid', 'grid.yaml', '--partition', 'gpu'], /^mixprec sweep: --partition needs --executor slurm$/],
    [['sweep', 'ok.ipynb', '--grid', 'grid.yaml', '--executor', 'pbs'], /^mixprec sweep: --executor must be local or slurm, got "pbs"$/],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--max-parallel', '0'],
      /^mixprec sweep: --max-parallel must be a positive integer, got 0$/,
    ],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--gpus-per-task', '1.5'],
      /^mixprec sweep: --gpus-per-task must be a positive integer, got 1\.5$/,
    ],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--time', '1h'],
      /^mixprec sweep: --time must be a time limit as sbatch takes it .*, got "1h"$/,
    ],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--mem', 'lots'],
      /^mixprec sweep: --mem must be a size as sbatch takes it .*, got "lots"$/,
    ],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--sbatch-arg', '--array=1-3'],
      /^mixprec sweep: --sbatch-arg --array=1-3: the sweep sets this itself/,
    ],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--sbatch-arg', 'account'],
      /^mixprec sweep: --sbatch-arg takes one sbatch option such as --account=lab, got "account"$/,
    ],
    [['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--retries', '-1'], /^mixprec sweep: --retries must be a whole number, got -1$/],
    [
      ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', ...slurm, '--parallel', '2'],
      /^mixprec sweep: --parallel is for the local executor; with --executor slurm use --max-parallel$/,
    ],
    [['sweep', '--train', '--grid', 'train-grid.yaml', ...slurm], /^mixprec sweep: training grid row 2: .*"U9"/],
    [
      ['sweep', '--train', '--grid', 'colour-grid.yaml', ...slurm],
      /^mixprec sweep: training grid row 1: "colour" is not a flag a row may set; expected one of preset, dataset, /,
    ],
    [['sweep', '--train', '--grid', 'out-grid.yaml', ...slurm], /^mixprec sweep: training grid row 1: "out" is not a flag a row may set/],
    [['bench', '--batch', 'x'], /^mixprec bench: --batch takes positive integers, got "x"$/],
    [['backend', '--backend', 'gpu9000'], /^mixprec backend: --backend must be one of .*, got "gpu9000"$/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), () => {
      const r = mixprec(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), message);
    });
  }
  it('wrote nothing for the refused Slurm sweeps', () => assert.equal(fs.existsSync(path.join(work, 'never-written')), false));
});

describe('an output folder under a file is one clear error, for every command that writes one', () => {
  const blocked = 'cannot create the folder somefile.txt/out: somefile.txt is a file, not a folder';
  const cases: string[][] = [
    ['train', '--dataset', 'none-train.arrow', '--out', 'somefile.txt/out'],
    ['run', 'ok.ipynb', 'somefile.txt/out/ok.ipynb'],
    ['sweep', 'ok.ipynb', '--grid', 'grid.yaml', '--out', 'somefile.txt/out'],
    ['data', 'convert', '--format', 'idx', '--input', 'idx', '--out', 'somefile.txt/out'],
    ['bench', '--quick', '--backend', 'cpu', '--suite', 'quant', '--elements', '64', '--out', 'somefile.txt/out/quant.json'],
    ['reproduce', '--only', '01', '--out', 'somefile.txt/out'],
  ];
  for (const args of cases) {
    it(args.join(' '), () => {
      const r = mixprec(...args);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `mixprec ${args[0]}: ${blocked}\n`);
    });
  }
});
