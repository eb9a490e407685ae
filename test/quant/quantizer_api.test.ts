/** createQuantizer: variables named and initialised as the code, trainability, state, disposal without leaks. */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CODE_CONFIG, createQuantizer, findDelta, layerQuantizerSpec, resolveSpec, SHORT_NAME_LIST, specFor } from '../../src/quant';
import { useBackend } from '../helpers/backends';

describe('createQuantizer', () => {
  before(() => useBackend('cpu'));

  it('names variables with the code scopes and uses the function-level defaults (docs/METHOD.md#function-level-defaults)', async () => {
    const expected: Record<string, [string, Record<string, number>]> = {
      U1: ['parametric_fp_d_b', { n: 8, d: 2 ** -4 }],
      U2: ['parametric_fp_b_xmax', { n: 8, xmax: 1 }],
      U3: ['parametric_fp_d_xmax', { d: 2 ** -4, xmax: 1 }],
      P1: ['parametric_pow2_b_xmax', { n: 8, xmax: 1 }],
      P2: ['parametric_pow2_b_xmin', { n: 8, xmin: 2 ** -7 }],
      P3: ['parametric_pow2_xmin_xmax', { xmin: 2 ** -7, xmax: 1 }],
    };
    for (const short of SHORT_NAME_LIST) {
      const q = createQuantizer(specFor(short, { signed: false, name: `layer_${short}/Aquant` }));
      const [scope, init] = expected[short]!;
      assert.equal(q.scope, `layer_${short}/Aquant/${scope}`);
      assert.deepEqual(Object.keys(q.variables), Object.keys(init), `${short}: parameters in creation order`);
      for (const [name, value] of Object.entries(init)) {
        const v = q.variables[name as 'n']!;
        assert.equal(v.name, `layer_${short}/Aquant/${scope}/${name}`);
        assert.equal(v.trainable, true);
        assert.equal(v.rank, 0);
        assert.equal((await v.data())[0], Math.fround(value));
      }
      q.dispose();
    }
  });

  it('generates unique names, honours trainable: false, and reports state', async () => {
    const a = createQuantizer(specFor('U3', { signed: true }));
    const b = createQuantizer(specFor('U3', { signed: true, trainable: false, init: { d: 0.25, xmax: 3 } }));
    assert.notEqual(a.scope, b.scope);
    assert.equal(b.variables.d!.trainable, false);
    const state = await b.state();
    assert.deepEqual(state, { kind: 'uniform', short: 'U3', params: { d: 0.25, xmax: 3 }, bits: 5 }); // 12 levels → 4 + sign
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors in apply, gradients, bitwidth, project and state', async () => {
    for (const short of SHORT_NAME_LIST) {
      const q = createQuantizer(specFor(short, { signed: true }));
      const x = tf.randomNormal([64]);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const vars = Object.values(q.variables);
        tf.variableGrads(() => tf.add(tf.sum(q.apply(x)), q.bitwidth()) as tf.Scalar, vars);
      });
      q.project();
      await q.state();
      assert.equal(tf.memory().numTensors, before, `${short}: tensors leaked`);
      q.dispose();
      x.dispose();
    }
    const left = Object.keys(tf.engine().registeredVariables).filter((n) => n.startsWith('quantizer'));
    assert.deepEqual(left, [], 'disposed quantizers unregister their variables');
  });

  it('is differentiable through tf.variableGrads together with a model weight', () => {
    const q = createQuantizer(specFor('U3', { signed: true, init: { d: 0.125, xmax: 1 } }));
    const w = tf.variable(tf.tensor1d([0.3, -0.7, 1.6]), true, 'test/w');
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(q.apply(w))) as tf.Scalar);
    assert.deepEqual(Object.keys(grads).sort(), [q.variables.d!.name, q.variables.xmax!.name, 'test/w'].sort());
    // dL/dw = 2q·1[|w| < X]: w = 1.6 is clipped, so its gradient is 0.
    assert.deepEqual(Array.from(grads['test/w']!.dataSync()), [2 * 0.25, 2 * -0.75, 0]);
    q.dispose();
    w.dispose();
  });
});

describe('model-level initialisation (docs/METHOD.md#initialization, docs/METHOD.md#parameter-ranges)', () => {
  it('find_delta: floor for b ≤ 4, ceil for b > 4', () => {
    assert.equal(findDelta(0.9, 4), 2 ** -3); // 0.9/7 = 0.129 → 2^-3
    assert.equal(findDelta(0.9, 8), 2 ** -7); // 0.9/127 = 0.0071 → 2^-7 (ceil)
    assert.equal(findDelta(7 * 2 ** -4, 4), 2 ** -4); // exactly representable: eps keeps it at 2^-4
  });
  it('weights start at d = 2^-3, xmax = 7·2^-3 (random init, 4 bits); pre-trained weights use find_delta', () => {
    assert.deepEqual(resolveSpec(layerQuantizerSpec('U3', 'weight')).init, { d: 0.125, xmax: 0.875 });
    assert.deepEqual(resolveSpec(layerQuantizerSpec('U3', 'weight', { maxAbsWeight: 0.9 })).init, { d: 0.125, xmax: 0.875 });
    assert.deepEqual(resolveSpec(layerQuantizerSpec('U1', 'weight', { maxAbsWeight: 0.3 })).init, { n: 4, d: 2 ** -5 });
    const u3 = resolveSpec(layerQuantizerSpec('U3', 'weight'));
    assert.deepEqual(u3.ranges, { d: CODE_CONFIG.weight.stepsizeRange, xmax: [2 ** -8, 127], n: [2, 8] });
    assert.equal(u3.signed, true);
  });
  it('activations start at xmax = d·(2^b − 1): 1.875 at 4 bits, 7.875 at 6 bits', () => {
    assert.deepEqual(resolveSpec(layerQuantizerSpec('U3', 'activation')).init, { d: 0.125, xmax: 1.875 });
    assert.deepEqual(resolveSpec(layerQuantizerSpec('U3', 'activation', { bits: 6 })).init, { d: 0.125, xmax: 7.875 });
    assert.equal(resolveSpec(layerQuantizerSpec('U3', 'activation')).signed, false);
  });
  it('pow2: xmax rounded to a power of two, xmin = xmax / 2^(2^(b−1) − 1), clipped into the ranges', () => {
    const p3a = resolveSpec(layerQuantizerSpec('P3', 'activation'));
    assert.deepEqual(p3a.init, { xmin: 2 / 128, xmax: 2 });
    assert.equal(p3a.withZero, true);
    const six = resolveSpec(layerQuantizerSpec('P3', 'activation', { bits: 6 })).init;
    assert.equal(six.xmax, 8);
    assert.equal(six.xmin, 2 ** -14 + 1e-5); // 8/2^31 clipped to a_xmin_min + 1e-5
    const p3w = resolveSpec(layerQuantizerSpec('P3', 'weight'));
    assert.deepEqual(p3w.init, { xmin: 1 / 128, xmax: 1 }); // 2^round(log2 0.875) = 1
    assert.equal(p3w.withZero, false);
    assert.deepEqual(resolveSpec(layerQuantizerSpec('pow2', 'activation')).init, { n: 4, xmax: 2 });
    assert.deepEqual(resolveSpec(layerQuantizerSpec('fp', 'weight')).init, { n: 4, d: 0.125 });
  });
});
