/**
 * Run folders never lose history: train() refuses a folder that holds a run unless asked to resume or overwrite it,
 * overwriting leaves nothing of the old run, resuming refuses settings that would mix two runs and records the ones
 * that may change (config.json `resumes`), and metrics.jsonl holds every epoch exactly once.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfig, type TrainConfigOverrides } from '../../src/train/config';
import { readCheckpoint } from '../../src/train/checkpoint';
import { RunFolderError, train, type EpochMetrics, type TrainEvent } from '../../src/train/trainer';
import { useBackend } from '../helpers/backends';
import { syntheticSource } from '../helpers/synthetic';
import { deadPid } from '../helpers/processes';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-runs-'));
const data = syntheticSource({ examples: 128 });
const test = syntheticSource({ examples: 32, seed: 8 });

function config(overrides: TrainConfigOverrides = {}): TrainConfig {
  return mergeTrainConfig(DEFAULT_TRAIN_CONFIG, {
    model: 'mnistnet',
    epochs: 1,
    batchSize: 32,
    evalBatchSize: 32,
    learningRate: 0.05,
    augment: false,
    quant: { weights: 'U3', activations: 'U3' },
    ...overrides,
  });
}

async function run(
  dir: string,
  c: TrainConfig,
  o: { resume?: boolean; overwrite?: boolean; onEvent?: (e: TrainEvent) => void; signal?: AbortSignal } = {},
) {
  const r = await train({ config: c, train: data, test, outDir: dir, maxStepsPerEpoch: 2, ...o });
  r.model.dispose();
  return r;
}

/** Every file of a folder with its bytes. */
const snapshot = (dir: string) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f))]),
  );
const epochs = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as EpochMetrics).epoch);
const RUN = ['best.safetensors', 'checkpoint.safetensors', 'config.json', 'metrics.jsonl'];

describe('run folders', () => {
  before(() => useBackend('cpu'));

  it('refuses a folder that holds a run, naming it and the choices, and leaves it untouched', async () => {
    const dir = path.join(root, 'taken');
    await run(dir, config());
    const before = snapshot(dir);
    assert.deepEqual(Object.keys(before), RUN);
    await assert.rejects(run(dir, config({ seed: 5 })), (err: unknown) => {
      assert.ok(err instanceof RunFolderError);
      assert.equal(err.dir, dir);
      assert.equal(
        err.message,
        `${dir} already holds a training run (config.json, metrics.jsonl, checkpoint.safetensors, best.safetensors): ` +
          'continue it with --resume (resume: true), replace it with --overwrite (overwrite: true; its files are removed first), or write to another --out folder',
      );
      return true;
    });
    await assert.rejects(run(dir, config(), { resume: true, overwrite: true }), /resume and overwrite exclude each other/);
    assert.deepEqual(snapshot(dir), before, 'every file byte-identical, metrics.jsonl included');
    // a folder with only other files is free
    const other = path.join(root, 'notes');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'mine');
    await run(other, config());
    assert.deepEqual(Object.keys(snapshot(other)), [...RUN, 'notes.txt']);
  });

  it('--overwrite removes the old run first: nothing of it survives, other files stay', async () => {
    const dir = path.join(root, 'overwritten');
    await run(dir, config({ epochs: 2 }));
    fs.writeFileSync(path.join(dir, 'summary.json'), '{}');
    fs.writeFileSync(path.join(dir, 'checkpoint.safetensors.tmp-1-2'), 'torn');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    // The new run is stopped before its first step, so it writes no checkpoint of its own (a stop after a step would).
    const controller = new AbortController();
    const r = await run(dir, config({ seed: 9 }), {
      overwrite: true,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'start') controller.abort();
      },
    });
    assert.equal(r.epochsCompleted, 0);
    assert.deepEqual(Object.keys(snapshot(dir)), ['config.json', 'metrics.jsonl', 'notes.txt']);
    assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), '');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).seed, 9);
    await assert.rejects(
      run(dir, config({ seed: 9 }), { resume: true }),
      new RegExp(
        `^Error: cannot resume: .*checkpoint\\.safetensors does not exist \\(the run in ${dir} completed no epoch; start it again with --overwrite\\)$`,
      ),
    );
  });

  it("removes the temporary files that killed writers left in the run folder, and never a live writer's", async () => {
    const dir = path.join(root, 'killed');
    await run(dir, config());
    const dead = deadPid();
    const stale = RUN.map((f, i) => `${f}.tmp-${dead}-${1700000000000 + i}`);
    const kept = [`checkpoint.safetensors.tmp-${process.pid}-1700000000009`, `notes.txt.tmp-${dead}-1700000000010`];
    for (const f of [...stale, ...kept]) fs.writeFileSync(path.join(dir, f), 'torn');
    // Stopped before its first step, the resumed run writes no checkpoint: what goes is what train() cleaned up.
    const controller = new AbortController();
    await run(dir, config({ epochs: 2 }), {
      resume: true,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'start') controller.abort();
      },
    });
    assert.deepEqual(Object.keys(snapshot(dir)), [...RUN, ...kept].sort());
  });

  it('--resume refuses changed settings, naming each with both values, and changes nothing', async () => {
    const dir = path.join(root, 'changed');
    await run(dir, config());
    const before = snapshot(dir);
    await assert.rejects(
      run(dir, config({ batchSize: 16 }), { resume: true }),
      /^Error: cannot resume from .*checkpoint\.safetensors: it was trained with different settings: batchSize 32 → 16 \(only epochs, learningRate, evalBatchSize, name may change on resume; to train with these settings, start afresh with --overwrite or another --out\)$/,
    );
    await assert.rejects(
      run(dir, config({ seed: 1, augment: true, targets: { weightKB: 5 }, schedule: { kind: 'constant' } }), { resume: true }),
      /different settings: schedule\.kind "step" → "constant", schedule\.milestones \[0\.5,0\.75\] → absent, schedule\.factor 0\.1 → absent, targets\.weightKB null → 5, augment false → true, seed 313 → 1 \(/,
    );
    assert.deepEqual(snapshot(dir), before);
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), `${before['metrics.jsonl']}oops\n`);
    await assert.rejects(run(dir, config(), { resume: true }), new RegExp(`^Error: ${dir}/metrics\\.jsonl: line 2 is not JSON \\(`));
  });

  it('--resume with more epochs (and another learning rate) continues, records each resume, and logs every epoch once', async () => {
    const dir = path.join(root, 'extended');
    await run(dir, config({ epochs: 2 }));
    const firstLines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
    // a crash while appending epoch 3's line (before its checkpoint) leaves half a line: dropped, the epoch runs again
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"epoch":3,"learningR');
    const starts: TrainEvent[] = [];
    const r = await run(dir, config({ epochs: 3 }), {
      resume: true,
      onEvent: (e) => {
        if (e.type === 'start') starts.push(e);
      },
    });
    assert.equal(r.epochsCompleted, 3);
    assert.deepEqual(
      starts.map((e) => e.type === 'start' && [e.startEpoch, e.changes]),
      [[2, [{ field: 'epochs', from: 2, to: 3 }]]],
    );
    assert.deepEqual(epochs(dir), [1, 2, 3]);
    assert.ok(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').startsWith(firstLines), 'the earlier epochs are kept as they were');
    await run(dir, config({ epochs: 4, learningRate: 0.01 }), { resume: true });
    assert.deepEqual(epochs(dir), [1, 2, 3, 4]);
    assert.equal(readCheckpoint(path.join(dir, 'checkpoint.safetensors')).meta.epoch, 4);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(saved.epochs, 4);
    assert.equal(saved.learningRate, 0.01);
    assert.deepEqual(
      saved.resumes.map((x: { fromEpoch: number; changes: unknown }) => [x.fromEpoch, x.changes]),
      [
        [2, [{ field: 'epochs', from: 2, to: 3 }]],
        [
          3,
          [
            { field: 'learningRate', from: 0.05, to: 0.01 },
            { field: 'epochs', from: 3, to: 4 },
          ],
        ],
      ],
    );
    for (const x of saved.resumes) assert.ok(!Number.isNaN(Date.parse(x.date)), `a date: ${x.date}`);
    assert.deepEqual(Object.keys(snapshot(dir)), RUN, 'no temporary files left');
  });

  it('checks the config itself before touching the folder', async () => {
    const dir = path.join(root, 'invalid');
    await assert.rejects(run(dir, { ...config(), batchSize: 0 }), /^TrainConfigError: config: field "batchSize" must be a positive integer, got 0$/);
    assert.equal(fs.existsSync(dir), false);
  });
});
