/** The projection after each optimizer step (docs/METHOD.md#parameter-projection) against a float32 emulation of clip_quant_vals. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createQuantizer, resolveSpec, SHORT_NAME_LIST, specFor, type ParamName } from '../../src/quant';
import { testBackends, useBackend } from '../helpers/backends';
import { Random, testSeed } from '../helpers/random';

const seed = testSeed();
const f = Math.fround;

/** clip_quant_vals in nnabla float32 arithmetic, parameters visited in creation order. */
function projectRef(
  params: Record<string, number>,
  order: readonly ParamName[],
  ranges: Record<string, readonly [number, number]>,
  coupled: boolean,
) {
  const p = { ...params };
  const clip = (v: number, [lo, hi]: readonly [number, number]) => Math.min(Math.max(v, f(lo + 1e-5)), f(hi - 1e-5));
  for (const name of order) {
    if (coupled && name !== 'xmax') {
      const lower = Math.min(p[name]!, f(p.xmax! - f(1e-5)));
      const upper = Math.max(f(p[name]! + f(1e-5)), p.xmax!);
      p[name] = lower;
      p.xmax = upper;
    }
    p[name] = clip(p[name]!, ranges[name]!);
  }
  return p;
}

describe('projection of quantizer parameters (clip_quant_vals)', async () => {
  for (const backend of await testBackends()) {
    it(`matches the float32 emulation for every parametrization on ${backend}`, async () => {
      await useBackend(backend);
      const r = new Random(seed);
      for (const short of SHORT_NAME_LIST) {
        for (let trial = 0; trial < 40; trial++) {
          const signed = r.next() < 0.5;
          const spec = specFor(short, {
            signed,
            ranges: { n: [signed && short.startsWith('U') ? 2 : 1, 8] },
            ...(short.startsWith('P') ? { withZero: false } : {}),
          });
          const resolved = resolveSpec(spec);
          const ranges = resolved.ranges as Record<string, readonly [number, number]>;
          const init: Record<string, number> = {};
          for (const name of resolved.params) {
            const [lo, hi] = ranges[name]!;
            const u = r.next();
            // inside, below, above, or exactly at a bound
            init[name] = f(u < 0.5 ? r.uniform(lo, Math.min(hi, 4 * lo + 4)) : u < 0.65 ? lo / 2 : u < 0.8 ? hi * 2 : r.pick([lo, hi]));
          }
          // Often violate the ordering d ≤ xmax / xmin ≤ xmax that the coupling restores.
          if (resolved.params.includes('xmax') && r.next() < 0.5) init.xmax = f(r.uniform(0, 0.02));
          const q = createQuantizer({ ...spec, init });
          q.project();
          const expected = projectRef(init, resolved.params, ranges, short === 'U3' || short === 'P3');
          for (const name of resolved.params) {
            const got = (await q.variables[name]!.data())[0];
            assert.equal(got, expected[name], `${short} ${name}: init ${JSON.stringify(init)} [seed ${seed}]`);
          }
          q.dispose();
        }
      }
    });
  }

  it('a fixed bitwidth range [2, 2] projects n to 2 − 1e-5, as the CON (TQT-like) runs do', async () => {
    for (const short of ['U1', 'U2', 'P1', 'P2'] as const) {
      const spec = specFor(short, { signed: true, ranges: { n: [2, 2] }, init: { n: 2 }, ...(short.startsWith('P') ? { withZero: false } : {}) });
      const q = createQuantizer(spec);
      q.project();
      assert.equal((await q.variables.n!.data())[0], f(2 - 1e-5), short);
      assert.equal((await q.state()).bits, 2, `${short}: the bitwidth stays 2`);
      q.dispose();
    }
  });
});
