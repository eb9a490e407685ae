/**
 * The same quantizer computation on every backend present: forward values bit-identical to the cpu backend, and
 * gradients of x and of every parameter equal up to float32 summation order.
 */
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { quantize, type ParamName } from '../../src/quant';
import { testBackends, useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';
import { assertClose, assertSameF32 } from '../helpers/assert';
import { configurations, makeCase, type Case } from './cases';

const seed = testSeed();

interface Result {
  q: Float32Array;
  grads: Float32Array[];
}

async function run(c: Case): Promise<Result> {
  const names = Object.keys(c.params) as ParamName[];
  const x = tf.tensor(c.x, [4, c.x.length / 4]);
  const w = tf.tensor(c.w, [4, c.w.length / 4]);
  const scalars = names.map((n) => tf.scalar(c.params[n]!));
  const asParams = (ps: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ps[i] as tf.Scalar]));
  const q = quantize(x, c.spec, asParams(scalars));
  const grads = tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) => tf.sum(tf.mul(quantize(xx, c.spec, asParams(ps)), w)))([x, ...scalars]);
  const out = { q: (await q.data()) as Float32Array, grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)) };
  tf.dispose([x, w, q, ...scalars, ...grads]);
  return out;
}

describe('backends agree on quantizer values and gradients', async () => {
  const backends = await testBackends();
  it(`cpu vs ${backends.filter((b) => b !== 'cpu').join(', ')}`, async () => {
    const r = new Random(seed);
    const cases = configurations().map(({ kind, signed, withZero }) => makeCase(r, kind, signed, withZero, 2048));
    await useBackend('cpu');
    const expected: Result[] = [];
    for (const c of cases) expected.push(await run(c));
    for (const backend of backends.filter((b) => b !== 'cpu')) {
      await useBackend(backend);
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i]!;
        const got = await run(c);
        const where = `${backend} vs cpu, ${c.label} [seed ${seed}]`;
        assertSameF32(got.q, expected[i]!.q, `q ${where}`, c.x);
        const names = Object.keys(c.params) as ParamName[];
        got.grads.forEach((g, k) => {
          const e = expected[i]!.grads[k]!;
          // Parameter gradients are float32 sums whose order differs between backends: their error scales with the
          // sum of the magnitudes of the terms (from the float64 reference), not with the (cancelling) result.
          const scale = k === 0 ? undefined : c.x.reduce((acc, x, j) => acc + Math.abs(c.w[j]! * c.ref.element(x).dqdp[names[k - 1]!]!), 0);
          for (let j = 0; j < e.length; j++) {
            assertClose(g[j]!, e[j]!, `gradient ${k} [${j}] ${where}`, { rtol: k === 0 ? 1e-6 : 4e-6, scale: scale ?? Math.abs(e[j]!), atol: 1e-30 });
          }
        });
      }
    }
  });
});
