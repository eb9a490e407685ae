/**
 * Weight initialisation seeds: every seed from 0 to 2^32−1 is deterministic and its own (tfjs treats a seed of 0 as
 * "unseeded", so the user's seed is mapped before it reaches tfjs), and seeds 1 … 2^32−1 initialise as they always did.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { createModel } from '../../src/nn';
import { hashWords, mulberry32, permutation, STREAMS, tfjsSeed } from '../../src/data/random';
import { useBackend } from '../helpers/backends';

async function weights(seed: number): Promise<string> {
  const model = createModel('mnistnet', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    quantization: { weights: 'float', activations: 'float', weightBits: 8, activationBits: 8 },
    seed,
  });
  const parts: string[] = [];
  for (const { variable } of model.variables) parts.push(Buffer.from((await variable.data()).buffer).toString('base64'));
  model.dispose();
  return parts.join(',');
}

describe('seeds', () => {
  before(() => useBackend('cpu'));

  it('seed 0 initialises the same weights every time, and other weights than any other seed', async () => {
    const zero = await weights(0);
    assert.equal(await weights(0), zero);
    assert.notEqual(await weights(1), zero);
    // 0x9e3779b9 stood in for seed 0 before; the two seeds must not share their weights.
    assert.notEqual(await weights(0x9e3779b9), zero);
    assert.notEqual(await weights(2 ** 32), await weights(0), 'seeds above 2^32 do not wrap around');
  });

  it('maps seeds to nonzero tfjs seeds, keeping 1 … 2^32−1 as they are', () => {
    for (const s of [1, 313, 0x9e3779b9, 2 ** 32 - 1]) assert.equal(tfjsSeed(s), s);
    for (const s of [0, 2 ** 32, 2 ** 40 + 3]) {
      const mapped = tfjsSeed(s);
      assert.ok(mapped > 2 ** 32 - 1 && Number.isSafeInteger(mapped), `${s} → ${mapped}`);
      assert.equal(tfjsSeed(s), mapped);
    }
    assert.notEqual(tfjsSeed(0), tfjsSeed(2 ** 32));
  });

  it("the loader's counter-based draws take seed 0 as a seed of its own", () => {
    const order = (seed: number) => Array.from(permutation(64, mulberry32(hashWords(seed, 0, STREAMS.rowOrder, 0)))).join(',');
    const zero = order(0);
    assert.equal(order(0), zero);
    for (const other of [1, 0x9e3779b9, 2 ** 32 - 1, 2 ** 32]) assert.notEqual(order(other), zero, `seed ${other}`);
  });
});
