/**
 * Forward values and every gradient (x and each parameter, via tf.grads) of the six parametrizations against the
 * float64 closed forms of docs/METHOD.md#uniform-gradients and docs/METHOD.md#power-of-two-gradients,
 * signed/unsigned, with/without zero, on every backend present.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createQuantizer, quantize, bitwidthOf, type ParamName } from '../../src/quant';
import { testBackends, useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';
import { assertClose, assertSameF32 } from '../helpers/assert';
import { configurations, makeCase, type Case } from './cases';

const seed = testSeed();
console.log(`quantizer tests: MIXPREC_TEST_SEED=${seed}`);

async function checkCase(c: Case, viaVariables: boolean): Promise<void> {
  const names = Object.keys(c.params) as ParamName[];
  const where = `${c.label} [seed ${seed}]`;
  const x = tf.tensor1d(c.x);
  const w = tf.tensor1d(c.w);
  let q: tf.Tensor;
  let grads: tf.Tensor[];
  let bits: tf.Tensor;
  let bitGrads: tf.Tensor[];
  if (viaVariables) {
    const quantizer = createQuantizer({ ...c.spec, init: c.params });
    const vars = names.map((n) => quantizer.variables[n]!);
    q = quantizer.apply(x);
    const lossGrads = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(quantizer.apply(xx), w)));
    const [dx] = lossGrads([x]);
    const { grads: pg } = tf.variableGrads(() => tf.sum(tf.mul(quantizer.apply(x), w)) as tf.Scalar, vars);
    grads = [dx!, ...vars.map((v) => pg[v.name]!)];
    bits = quantizer.bitwidth();
    const bg = tf.variableGrads(() => quantizer.bitwidth(), vars).grads;
    bitGrads = vars.map((v) => bg[v.name]!);
    quantizer.dispose();
  } else {
    const scalars = names.map((n) => tf.scalar(c.params[n]!));
    const f = (xx: tf.Tensor, ...ps: tf.Tensor[]) => {
      const params = Object.fromEntries(names.map((n, i) => [n, ps[i] as tf.Scalar]));
      return tf.sum(tf.mul(quantize(xx, c.spec, params), w));
    };
    q = quantize(x, c.spec, Object.fromEntries(names.map((n, i) => [n, scalars[i]!])));
    grads = tf.grads(f)([x, ...scalars]);
    const bf = (...ps: tf.Tensor[]) => bitwidthOf(c.spec, Object.fromEntries(names.map((n, i) => [n, ps[i] as tf.Scalar])));
    bits = bitwidthOf(c.spec, Object.fromEntries(names.map((n, i) => [n, scalars[i]!])));
    bitGrads = tf.grads(bf)(scalars);
  }

  const elements = c.x.map((v) => c.ref.element(v));
  assertSameF32(
    await q.data(),
    elements.map((e) => e.q),
    `q ${where}`,
    c.x,
  );
  const dx = await grads[0]!.data();
  elements.forEach((e, i) => assertClose(dx[i]!, c.w[i]! * e.dqdx, `dL/dx[${i}] (x=${c.x[i]}) ${where}`, { rtol: 1e-6 }));
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    const terms = elements.map((e, i) => c.w[i]! * e.dqdp[name]!);
    const expected = terms.reduce((a, b) => a + b, 0);
    const scale = terms.reduce((a, b) => a + Math.abs(b), 0);
    assertClose((await grads[k + 1]!.data())[0]!, expected, `dL/d${name} ${where}`, { rtol: 2e-6, scale, atol: 1e-30 });
  }
  assert.equal((await bits.data())[0], c.ref.bits.value, `bitwidth ${where}`);
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    assertClose((await bitGrads[k]!.data())[0]!, c.ref.bits.grad[name] ?? 0, `d bitwidth/d${name} ${where}`, { rtol: 1e-5, atol: 1e-12 });
  }
  tf.dispose([x, w, q, ...grads, bits, ...bitGrads]);
}

describe('quantizers match the closed forms of docs/METHOD.md in float64', async () => {
  const backends = await testBackends();
  for (const backend of backends) {
    describe(`on ${backend}`, () => {
      before(() => useBackend(backend));
      for (const { kind, signed, withZero } of configurations()) {
        const name = `${kind} ${signed ? 'signed' : 'unsigned'}${kind.startsWith('P') ? (withZero ? ' with zero' : ' without zero') : ''}`;
        it(`${name}: values, dL/dx and dL/dθ, bitwidth and its gradient`, async () => {
          const r = new Random(seed ^ (kind.charCodeAt(0) * 7919 + Number(kind[1]) * 104729 + (signed ? 1 : 0) * 31 + (withZero ? 1 : 0)));
          for (let trial = 0; trial < 6; trial++) await checkCase(makeCase(r, kind, signed, withZero), trial % 3 === 2);
        });
      }
    });
  }
});
