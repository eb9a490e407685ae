/** `mixprec train` and `mixprec data` as a user runs them (the bin over the built package, real files). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/train/checkpoint';
import { writeIdxFiles as idxFiles } from '../helpers/idx';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'mixprec.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-cli-train-'));

function mixprec(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, MIXPREC_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts `mixprec ...args`, waits (at most 120 s) until `ready()` holds, sends SIGINT — `times` of them, each after
 * the previous one was acknowledged on stderr — and resolves with the exit code and output (at most 120 s more).
 */
async function interrupted(args: string[], ready: () => boolean, times = 1) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: work,
    env: { ...process.env, MIXPREC_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let code: number | string | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (c, signal) => {
      code = c ?? `signal ${signal}`;
      resolve();
    }),
  );
  const waitFor = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 120_000;
    while (!condition()) {
      if (code !== undefined) assert.fail(`mixprec exited (${code}) before ${what}: ${stderr}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        assert.fail(`not ${what} after 120 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(ready, 'training had started');
  for (let i = 0; i < times; i++) {
    if (code !== undefined) break;
    child.kill('SIGINT');
    if (i + 1 < times) await waitFor(() => code !== undefined || stderr.includes('SIGINT: stopping'), 'the interrupt was acknowledged');
  }
  await waitFor(() => code !== undefined, 'it had exited');
  await exited;
  return { code, stdout, stderr };
}

describe('mixprec train and data', () => {
  it('converts IDX files and describes the result', () => {
    idxFiles(path.join(work, 'idx'), 200);
    const r = mixprec('data', 'convert', '--format', 'idx', '--input', 'idx', '--out', 'ds', '--name', 'tiny');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ds\/tiny-train\.arrow: 200 train examples/);
    const info = mixprec('data', 'info', 'ds/tiny-test.arrow');
    assert.match(info.stdout, /^ds\/tiny-test\.arrow: 100 test examples of 28×28×1, 10 classes/);
    const bad = mixprec('data', 'info', 'idx/train-labels-idx1-ubyte');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^mixprec data: idx\/train-labels-idx1-ubyte: /);
  });

  it('trains a fine-tuning preset, pre-training its float run first, and writes both runs', () => {
    const r = mixprec(
      'train',
      '--preset',
      'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT',
      '--dataset',
      'ds/tiny-train.arrow',
      '--model',
      'mnistnet',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--max-steps',
      '3',
      '--out',
      'runs/u3',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PARAMETRIC_FP_WQ_DELTA_XMAX_INIT initialises from run DEFAULT, which has no checkpoint yet: training it first/);
    assert.match(r.stdout, /DEFAULT epoch 1\/1: loss [\d.]+ · train [\d.]+% · test [\d.]+%/);
    assert.match(r.stdout, /\| conv2 +\| +\d+ \| +\| +32 \| +[\d.]+ \|/, 'per-layer table: quantized weights, float activations');
    for (const f of ['runs/DEFAULT/best.safetensors', 'runs/u3/checkpoint.safetensors', 'runs/u3/metrics.jsonl', 'runs/u3/config.json']) {
      assert.ok(fs.existsSync(path.join(work, f)), `${f} written`);
    }
    const { meta } = readCheckpoint(path.join(work, 'runs/u3/checkpoint.safetensors'));
    assert.equal(meta.config.quant.weights, 'U3');
    assert.equal(meta.config.initFrom, 'DEFAULT');
    // resume continues after the last complete epoch
    const resumed = mixprec(
      'train',
      '--preset',
      'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT',
      '--dataset',
      'ds/tiny-train.arrow',
      '--model',
      'mnistnet',
      '--epochs',
      '2',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--max-steps',
      '3',
      '--out',
      'runs/u3',
      '--resume',
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming after epoch 1/);
    assert.match(resumed.stdout, /PARAMETRIC_FP_WQ_DELTA_XMAX_INIT: resumed with changed settings \(recorded in config\.json\): epochs 1 → 2\n/);
    const epochs = () =>
      fs
        .readFileSync(path.join(work, 'runs/u3/metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).epoch);
    assert.deepEqual(epochs(), [1, 2]);
    assert.deepEqual(
      JSON.parse(fs.readFileSync(path.join(work, 'runs/u3/config.json'), 'utf8')).resumes.map((r: { changes: unknown }) => r.changes),
      [[{ field: 'epochs', from: 1, to: 2 }]],
    );
    // the same folder again, without --resume or --overwrite: refused, nothing touched
    const again = [
      'train',
      '--preset',
      'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT',
      '--dataset',
      'ds/tiny-train.arrow',
      '--model',
      'mnistnet',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--max-steps',
      '3',
      '--out',
      'runs/u3',
    ];
    const log = fs.readFileSync(path.join(work, 'runs/u3/metrics.jsonl'));
    const refused = mixprec(...again);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'mixprec train: runs/u3 already holds a training run (config.json, metrics.jsonl, checkpoint.safetensors, ' +
        'best.safetensors): continue it with --resume (resume: true), replace it with --overwrite (overwrite: true; its files are removed first), ' +
        'or write to another --out folder\n',
    );
    assert.deepEqual(fs.readFileSync(path.join(work, 'runs/u3/metrics.jsonl')), log);
    const batch = mixprec(...again.slice(0, -2), '--batch', '8', '--epochs', '2', '--out', 'runs/u3', '--resume');
    assert.equal(batch.code, 1);
    assert.match(
      batch.stderr,
      /^mixprec train: cannot resume from runs\/u3\/checkpoint\.safetensors: it was trained with different settings: batchSize 16 → 8 \(/,
    );
    const overwritten = mixprec(...again, '--overwrite');
    assert.equal(overwritten.code, 0, overwritten.stderr);
    assert.deepEqual(epochs(), [1], "only the new run's epoch");
    assert.equal(JSON.parse(fs.readFileSync(path.join(work, 'runs/u3/config.json'), 'utf8')).resumes, undefined);
  });

  it('accepts seed 0: deterministic, and not the same run as seed 1', () => {
    const trained = (seed: string, out: string) => {
      const r = mixprec(
        'train',
        '--dataset',
        'ds/tiny-train.arrow',
        '--model',
        'mnistnet',
        '--epochs',
        '1',
        '--batch',
        '16',
        '--lr',
        '0.01',
        '--max-steps',
        '2',
        '--seed',
        seed,
        '--out',
        out,
      );
      assert.equal(r.code, 0, r.stderr);
      const { meta, tensors } = readCheckpoint(path.join(work, out, 'checkpoint.safetensors'));
      assert.equal(meta.config.seed, Number(seed));
      const loss = (JSON.parse(fs.readFileSync(path.join(work, out, 'metrics.jsonl'), 'utf8')) as { loss: number }).loss;
      return {
        loss,
        weights: Object.keys(tensors)
          .sort()
          .map((k) => Buffer.from(tensors[k]!.data.buffer).toString('base64'))
          .join(','),
      };
    };
    const a = trained('0', 'runs/seed0a');
    const b = trained('0', 'runs/seed0b');
    const c = trained('1', 'runs/seed1');
    assert.deepEqual(a, b, 'two runs with seed 0 train the same weights and losses');
    assert.notEqual(a.weights, c.weights);
    assert.notEqual(a.loss, c.loss);
    const big = mixprec('train', '--dataset', 'ds/tiny-train.arrow', '--seed', String(2 ** 32));
    assert.equal(big.code, 2);
    assert.equal(big.stderr, 'mixprec train: --seed must be an integer from 0 to 4294967295, got 4294967296\n');
  });

  it('stops at the first SIGINT with a resumable checkpoint and says so; exits 130', async () => {
    idxFiles(path.join(work, 'idx-big'), 2000);
    assert.equal(mixprec('data', 'convert', '--format', 'idx', '--input', 'idx-big', '--out', 'ds', '--name', 'big').code, 0);
    const args = [
      'train',
      '--dataset',
      'ds/big-train.arrow',
      '--model',
      'mnistnet',
      '--epochs',
      '100',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--out',
      'runs/sigint',
    ];
    const metrics = path.join(work, 'runs/sigint/metrics.jsonl');
    const r = await interrupted(args, () => fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').includes('\n'));
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /(^|\n)SIGINT: stopping at the next step to save a checkpoint \(again to quit at once\)\n/);
    const m =
      /\nmixprec train: interrupted at epoch (\d+) step (\d+) of 125: saved runs\/sigint\/checkpoint\.safetensors \(metrics of (\d+) epochs? in runs\/sigint\/metrics\.jsonl\); resume with: (mixprec train .*)\n$/.exec(
        r.stderr,
      );
    assert.ok(m, r.stderr);
    const [epoch, step, logged] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(logged, epoch - 1);
    const { meta } = readCheckpoint(path.join(work, 'runs/sigint/checkpoint.safetensors'));
    assert.deepEqual([meta.epoch, meta.epochStep], [epoch - 1, step]);
    const resume = m[4]!.split(' ');
    assert.deepEqual(resume, ['mixprec', ...args, '--resume']);
    // The printed command, one epoch long: it finishes the interrupted epoch and stops.
    const resumed = mixprec(...resume.slice(1), '--epochs', String(epoch));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming after epoch ${epoch - 1}${step > 0 ? ` at step ${step}` : ''}`));
    const lines = fs
      .readFileSync(metrics, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { epoch: number; steps: number });
    assert.deepEqual(
      lines.map((l) => l.epoch),
      Array.from({ length: epoch }, (_, i) => i + 1),
    );
    assert.equal(lines.at(-1)!.steps, 125, 'the resumed epoch counts the steps before the interrupt');
  });

  it('exits 130 at once on a second SIGINT, leaving no torn checkpoint', async () => {
    const args = [
      'train',
      '--dataset',
      'ds/big-train.arrow',
      '--model',
      'mnistnet',
      '--epochs',
      '100',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--out',
      'runs/sigint2',
    ];
    const metrics = path.join(work, 'runs/sigint2/metrics.jsonl');
    const r = await interrupted(args, () => fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').includes('\n'), 2);
    // A small model finishes its stop within milliseconds, so the second signal can land after the process has printed
    // its last line and is already exiting with 130, when Node has closed its signal handlers: then the signal ends it,
    // which a shell also reports as 130 (128 + SIGINT). Either way nothing is torn (checked below).
    const finishedFirst = /mixprec train: interrupted at epoch \d+ step \d+/.test(r.stderr);
    assert.ok(r.code === 130 || (finishedFirst && r.code === 'signal SIGINT'), `exit ${r.code}: ${r.stderr}`);
    readCheckpoint(path.join(work, 'runs/sigint2/checkpoint.safetensors'));
  });

  it('lists the presets', () => {
    const r = mixprec('train', '--list-presets');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().split('\n').length, 157);
    assert.match(r.stdout, /\nPARAMETRIC_POW2_WAMQ_XMIN_XMAX_CON_INIT +/);
  });

  it('names the problem for a bad preset, config file, field or dataset', () => {
    const preset = mixprec('train', '--preset', 'PARAMETRIC_FP_WQ_DELTA_XMAX_INT', '--dataset', 'ds/tiny-train.arrow');
    assert.equal(preset.code, 2);
    assert.match(preset.stderr, /PARAMETRIC_FP_WQ_DELTA_XMAX_INT.*PARAMETRIC_FP_WQ_DELTA_XMAX_INIT/);
    fs.writeFileSync(path.join(work, 'bad.json'), '{"epochs": 3,');
    assert.match(mixprec('train', '--config', 'bad.json', '--dataset', 'ds/tiny-train.arrow').stderr, /^mixprec train: bad\.json: not valid JSON/);
    fs.writeFileSync(path.join(work, 'field.json'), '{"quant": {"weights": "U4"}}');
    assert.match(
      mixprec('train', '--config', 'field.json', '--dataset', 'ds/tiny-train.arrow').stderr,
      /^mixprec train: field\.json: field "quant\.weights" must be one of "float", "fp", .*, "P3", got "U4"\n$/,
    );
    assert.match(mixprec('train', '--dataset', 'ds/none-train.arrow').stderr, /ds\/none-train\.arrow: no such dataset file/);
    assert.match(
      mixprec('train', '--dataset', 'ds/tiny-train.arrow', '--model', 'vgg16').stderr,
      /^mixprec train: command line: field "model" \(--model\) must be one of "resnet20", .*, got "vgg16"\n$/,
    );
  });

  it('refuses a --config file with an unknown or bad field, naming it, before writing anything', () => {
    fs.writeFileSync(path.join(work, 'typo.json'), '{"epochs": 2, "lr": 0.01}');
    const typo = mixprec('train', '--config', 'typo.json', '--dataset', 'ds/tiny-train.arrow', '--out', 'runs/typo');
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, 'mixprec train: typo.json: unknown field "lr" (did you mean "learningRate"?)\n');
    fs.writeFileSync(path.join(work, 'target.json'), '{"targets": {"weightKB": "a"}}');
    const target = mixprec('train', '--config', 'target.json', '--dataset', 'ds/tiny-train.arrow', '--out', 'runs/typo');
    assert.equal(target.code, 2);
    assert.equal(target.stderr, 'mixprec train: target.json: field "targets.weightKB" must be a positive number or null, got "a"\n');
    const flag = mixprec('train', '--batch', '0', '--dataset', 'ds/tiny-train.arrow', '--out', 'runs/typo');
    assert.equal(flag.code, 2);
    assert.equal(flag.stderr, 'mixprec train: command line: field "batchSize" (--batch) must be a positive integer, got 0\n');
    assert.equal(fs.existsSync(path.join(work, 'runs/typo')), false);
  });

  it('does not train over an unfinished pre-training run', () => {
    fs.mkdirSync(path.join(work, 'runs2/DEFAULT'), { recursive: true });
    fs.writeFileSync(path.join(work, 'runs2/DEFAULT/config.json'), '{}');
    fs.writeFileSync(path.join(work, 'runs2/DEFAULT/metrics.jsonl'), '');
    const r = mixprec(
      'train',
      '--preset',
      'PARAMETRIC_FP_WQ_DELTA_XMAX_INIT',
      '--dataset',
      'ds/tiny-train.arrow',
      '--model',
      'mnistnet',
      '--out',
      'runs2/u3',
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'mixprec train: preset PARAMETRIC_FP_WQ_DELTA_XMAX_INIT initialises from run DEFAULT, but runs2/DEFAULT holds an unfinished ' +
        'run of it (config.json, metrics.jsonl) without best.safetensors: finish it (mixprec train --preset DEFAULT --out runs2/DEFAULT --resume), ' +
        'start it again (the same with --overwrite instead of --resume), or pass --init CHECKPOINT\n',
    );
    assert.deepEqual(fs.readdirSync(path.join(work, 'runs2')), ['DEFAULT']);
  });
});
