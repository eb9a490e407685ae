/**
 * The line that ends an interrupted `mixprec train`: where it stopped, what holds its state, and a command that
 * resumes it (the same options, --resume last; a pre-training run's own preset and folder); and the signal handling.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { INTERRUPT_EXIT_CODES, trainCommandLine, trainingInterrupted, withTrainingInterrupt } from '../../src/train/interrupt';

const opts = { dataset: 'ds/a b-train.arrow', model: 'mnistnet', epochs: 100, lr: 0.01, overwrite: true, 'no-pretrain': false, out: 'runs/x' };

describe('interrupting mixprec train', () => {
  it('rebuilds the command line: options in order, quoted where a shell needs it, without --resume/--overwrite', () => {
    assert.equal(
      trainCommandLine(opts, { last: '--resume' }),
      "mixprec train --dataset 'ds/a b-train.arrow' --model mnistnet --epochs 100 --lr 0.01 --out runs/x --resume",
    );
    assert.equal(
      trainCommandLine({ resume: true, preset: "it's", init: 'f' }, { drop: ['init'], set: { preset: 'DEFAULT', out: 'runs/DEFAULT' } }),
      'mixprec train --preset DEFAULT --out runs/DEFAULT',
    );
    assert.equal(trainCommandLine({ name: "it's" }), `mixprec train --name 'it'\\''s'`);
  });

  it('says where the run stopped, what was saved and how to resume, with the exit code of the signal', () => {
    const e = trainingInterrupted(
      { epochsCompleted: 1, outDir: 'runs/x', interruptedAt: { epoch: 2, step: 3, stepsPerEpoch: 8, checkpoint: 'runs/x/checkpoint.safetensors' } },
      opts,
      'runs/x',
      'SIGINT',
    );
    assert.equal(e.exitCode, 130);
    assert.equal(
      e.message,
      'interrupted at epoch 2 step 3 of 8: saved runs/x/checkpoint.safetensors (metrics of 1 epoch in runs/x/metrics.jsonl); ' +
        "resume with: mixprec train --dataset 'ds/a b-train.arrow' --model mnistnet --epochs 100 --lr 0.01 --out runs/x --resume",
    );
    const fresh = trainingInterrupted(
      { epochsCompleted: 0, outDir: 'runs/x', interruptedAt: { epoch: 1, step: 0, stepsPerEpoch: 8, checkpoint: null } },
      opts,
      'runs/x',
      'SIGTERM',
    );
    assert.equal(fresh.exitCode, INTERRUPT_EXIT_CODES.SIGTERM);
    assert.match(
      fresh.message,
      /^interrupted at epoch 1 step 0 of 8, before its first step: nothing to resume; start it again with: mixprec train .* --out runs\/x --overwrite$/,
    );
  });

  it('names a pre-training run and the command that finishes it', () => {
    const e = trainingInterrupted(
      {
        epochsCompleted: 3,
        outDir: 'runs/DEFAULT',
        interruptedAt: { epoch: 4, step: 5, stepsPerEpoch: 8, checkpoint: 'runs/DEFAULT/checkpoint.safetensors' },
      },
      { preset: 'FT', init: 'x.safetensors', epochs: 9, out: 'runs/FT' },
      'runs/FT',
      'SIGINT',
    );
    assert.equal(
      e.message,
      'interrupted at epoch 4 step 5 of 8 of the pre-training run in runs/DEFAULT: saved runs/DEFAULT/checkpoint.safetensors ' +
        '(metrics of 3 epochs in runs/DEFAULT/metrics.jsonl); resume with: mixprec train --preset DEFAULT --epochs 9 --out runs/DEFAULT --resume, then run this command again',
    );
  });

  it('aborts the signal on the first SIGINT, printing the notice, and exits 130 on the second', async () => {
    const listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    const written: string[] = [];
    const exits: number[] = [];
    const result = await withTrainingInterrupt(
      async (signal) => {
        process.kill(process.pid, 'SIGINT');
        const deadline = Date.now() + 10_000;
        while (!signal.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        return signal.aborted;
      },
      { write: (t) => written.push(t), exit: (code) => exits.push(code) },
    );
    assert.deepEqual(result, { value: true, stoppedBy: 'SIGINT' });
    assert.deepEqual(written, ['\nSIGINT: stopping at the next step to save a checkpoint (again to quit at once)\n']);
    // The handler stays after a stop: a second signal while the run winds up quits at once.
    process.kill(process.pid, 'SIGINT');
    const deadline = Date.now() + 10_000;
    while (exits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(exits, [130]);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      for (const l of process.listeners(sig)) if (!listeners[sig].includes(l)) process.off(sig, l);
    }
  });
});
