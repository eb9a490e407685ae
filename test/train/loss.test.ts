/**
 * The memory penalty of docs/METHOD.md#memory-penalty: value, gradient (2λ·relu(S − T)·numel/8192·∂b/∂θ per quantizer parameter, only
 * the largest layer for 'max'), and a descent step on it alone lowering the memory.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activationMemoryKB, createModel, weightMemoryKB, type QuantModel } from '../../src/nn';
import { memoryPenalty } from '../../src/train/loss';
import { useBackend } from '../helpers/backends';
import { assertClose } from '../helpers/assert';

const scalar = async (t: tf.Tensor) => (await t.data())[0]!;

function model(): QuantModel {
  return createModel('mnistnet', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    quantization: { weights: 'U3', activations: 'U3', weightBits: 4, activationBits: 4 },
  });
}

describe('memory penalty', () => {
  before(() => useBackend('cpu'));

  it('is relu(S − T)², zero below the target', async () => {
    assert.equal(await scalar(memoryPenalty(tf.scalar(10), 7.5)), 6.25);
    assert.equal(await scalar(memoryPenalty(tf.scalar(5), 7.5)), 0);
  });

  it('weight penalty gradient = 2λ(S − T)·numel/8192·∂bits/∂θ for every weight and bias quantizer parameter', async () => {
    const m = model();
    const S = await scalar(weightMemoryKB(m));
    const T = S - 1.5;
    const lambda = 0.1;
    const vars = m.quantizers.filter((q) => q.role !== 'activation').flatMap((q) => Object.values(q.quantizer.variables)) as tf.Variable[];
    const { grads } = tf.variableGrads(() => tf.mul(memoryPenalty(weightMemoryKB(m), T), lambda) as tf.Scalar, vars);
    for (const slot of m.quantizers.filter((q) => q.role !== 'activation')) {
      const { grads: bitGrads } = tf.variableGrads(() => slot.quantizer.bitwidth(), Object.values(slot.quantizer.variables) as tf.Variable[]);
      for (const [name, v] of Object.entries(slot.quantizer.variables)) {
        const expected = 2 * lambda * (S - T) * (slot.size / 8192) * (await scalar(bitGrads[v!.name]!));
        assertClose(await scalar(grads[v!.name]!), expected, `${slot.layer} ${slot.role} ${name}`, { rtol: 1e-5, atol: 1e-12 });
      }
    }
    m.dispose();
  });

  it("'max' activation penalty reaches only the largest layer; 'sum' reaches every layer", async () => {
    const m = model();
    const acts = m.quantizers.filter((q) => q.role === 'activation');
    assert.deepEqual(
      acts.map((a) => a.size),
      [8 * 8 * 16, 4 * 4 * 32],
    );
    const vars = acts.flatMap((q) => Object.values(q.quantizer.variables)) as tf.Variable[];
    for (const type of ['max', 'sum'] as const) {
      const S = await scalar(activationMemoryKB(m, type));
      const { grads } = tf.variableGrads(() => memoryPenalty(activationMemoryKB(m, type), S - 0.5), vars);
      const reached = await Promise.all(acts.map(async (a) => Math.abs(await scalar(grads[a.quantizer.variables.xmax!.name]!)) > 0));
      assert.deepEqual(reached, type === 'max' ? [true, false] : [true, true], type);
    }
    m.dispose();
  });

  it("'max' with tied largest layers (ResNet-20 at equal bits) reaches only the first of them, as nnabla's F.max", async () => {
    const m = createModel('resnet20', {
      inputShape: [32, 32, 3],
      numClasses: 10,
      quantization: { weights: 'U3', activations: 'U3', weightBits: 4, activationBits: 4 },
    });
    const acts = m.quantizers.filter((q) => q.role === 'activation');
    const largest = Math.max(...acts.map((a) => a.size));
    const tied = acts.map((a, i) => (a.size === largest ? i : -1)).filter((i) => i >= 0);
    assert.equal(tied.length, 7, 'seven equally large layers');
    const S = await scalar(activationMemoryKB(m, 'max'));
    assert.equal(S, (4 * largest) / 8192);
    const vars = acts.flatMap((q) => Object.values(q.quantizer.variables)) as tf.Variable[];
    const T = S - 0.5;
    const { grads } = tf.variableGrads(() => memoryPenalty(activationMemoryKB(m, 'max'), T), vars);
    for (const [i, a] of acts.entries()) {
      const { grads: bitGrads } = tf.variableGrads(() => a.quantizer.bitwidth(), Object.values(a.quantizer.variables) as tf.Variable[]);
      for (const [name, v] of Object.entries(a.quantizer.variables)) {
        const expected = i === tied[0] ? 2 * (S - T) * (a.size / 8192) * (await scalar(bitGrads[v!.name]!)) : 0;
        assertClose(await scalar(grads[v!.name]!), expected, `activation ${i} (${a.layer}) ${name}`, { rtol: 1e-5, atol: 1e-12 });
      }
    }
    m.dispose();
  });

  it('a gradient step on the penalty alone lowers the memory', async () => {
    const m = model();
    const before = await scalar(weightMemoryKB(m));
    const vars = m.quantizers.filter((q) => q.role !== 'activation').flatMap((q) => Object.values(q.quantizer.variables)) as tf.Variable[];
    for (let step = 0; step < 30; step++) {
      const { grads } = tf.variableGrads(() => memoryPenalty(weightMemoryKB(m), before / 2), vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.01)));
      for (const q of m.quantizers) q.quantizer.project();
    }
    const after = await scalar(weightMemoryKB(m));
    assert.ok(after < before, `memory ${before} → ${after}`);
    m.dispose();
  });
});
