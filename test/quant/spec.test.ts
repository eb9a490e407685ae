/** Bad specs and parameter sets fail with one error that names the field and the problem. */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createQuantizer, quantize, QuantizerSpecError, resolveSpec, specFor, type QuantizerSpec } from '../../src/quant';
import { useBackend } from '../helpers/backends';

function rejects(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof QuantizerSpecError, `expected QuantizerSpecError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(field), `message names the field: ${err.message}`);
    return true;
  });
}

describe('quantizer spec validation', () => {
  before(() => useBackend('cpu'));

  it('names an unknown kind and lists the valid ones', () => {
    rejects(
      () => resolveSpec({ kind: 'uniformm', signed: true } as unknown as QuantizerSpec),
      'kind',
      /unknown quantizer kind "uniformm".*uniform, pow2, fp, pow2fixed, float/,
    );
  });
  it('names an unknown or missing parametrization', () => {
    rejects(
      () => resolveSpec({ kind: 'uniform', param: 'b_xmin', signed: true }),
      'param',
      /unknown uniform parametrization "b_xmin".*d_b, b_xmax, d_xmax/,
    );
    rejects(() => resolveSpec({ kind: 'pow2', signed: true }), 'param', /unknown pow2 parametrization undefined/);
    rejects(() => resolveSpec({ kind: 'fp', param: 'd_b', signed: true }), 'param', /has no parametrization/);
    rejects(() => specFor('U4' as 'U1', { signed: true }), 'short name', /unknown parametrization "U4"/);
  });
  it('requires signed', () => {
    rejects(() => resolveSpec({ kind: 'uniform', param: 'd_xmax' } as unknown as QuantizerSpec), 'signed', /required boolean/);
  });
  it('rejects a range with min > max, non-finite or non-positive bounds, and unknown ranges', () => {
    rejects(() => resolveSpec(specFor('U3', { signed: true, ranges: { xmax: [2, 1] } })), 'ranges.xmax', /min 2 is greater than max 1/);
    rejects(() => resolveSpec(specFor('U3', { signed: true, ranges: { d: [0, 1] } })), 'ranges.d', /min must be positive/);
    rejects(() => resolveSpec(specFor('P3', { signed: true, ranges: { xmin: [1, Infinity] } })), 'ranges.xmin', /two finite numbers/);
    rejects(
      () => resolveSpec(specFor('U3', { signed: true, ranges: { xmin: [1, 2] } })),
      'ranges.xmin',
      /not a range of this quantizer \(it has: d, xmax, n\)/,
    );
    rejects(() => resolveSpec({ kind: 'fp', signed: true, ranges: { d: [1, 2] } }), 'ranges.d', /not a range/);
  });
  it('rejects bitwidth ranges that leave no magnitude bits', () => {
    rejects(() => resolveSpec(specFor('U1', { signed: true, ranges: { n: [1, 8] } })), 'ranges.n', /needs n ≥ 2/);
    rejects(() => resolveSpec(specFor('P1', { signed: true, withZero: true, ranges: { n: [1, 8] } })), 'ranges.n', /with zero.*n ≥ 2/);
    assert.doesNotThrow(() => resolveSpec(specFor('P1', { signed: true, withZero: false, ranges: { n: [1, 8] } })));
  });
  it('rejects init values of other parameters and non-numbers', () => {
    rejects(() => resolveSpec(specFor('U3', { signed: true, init: { n: 4 } })), 'init.n', /not a parameter of this quantizer \(it has: d, xmax\)/);
    rejects(() => resolveSpec(specFor('U3', { signed: true, init: { d: Number.NaN } })), 'init.d', /finite number/);
    rejects(() => resolveSpec({ kind: 'fp', signed: true, init: { n: 1 } }), 'init.n', /integer bitwidth ≥ 2/);
    rejects(() => resolveSpec({ kind: 'pow2fixed', signed: false, init: { xmax: -1 } }), 'init.xmax', /must be positive/);
  });
  it('rejects withZero = false for uniform quantizers', () => {
    rejects(() => resolveSpec(specFor('U3', { signed: true, withZero: false })), 'withZero', /always has the zero level/);
  });
  it('quantize() names a missing, unknown or non-scalar parameter', () => {
    const x = tf.tensor1d([0.1, 0.2]);
    rejects(() => quantize(x, specFor('U3', { signed: true }), { d: 0.125 }), 'params.xmax', /missing/);
    rejects(() => quantize(x, specFor('U3', { signed: true }), { d: 0.125, xmax: 1, n: 4 }), 'params.n', /not a parameter/);
    rejects(
      () => quantize(x, specFor('U3', { signed: true }), { d: tf.tensor1d([0.1]) as unknown as tf.Scalar, xmax: 1 }),
      'params.d',
      /scalar tensor/,
    );
  });
  it('refuses a second quantizer with the same name', () => {
    const q = createQuantizer(specFor('U3', { signed: true, name: 'conv1/Wquant' }));
    rejects(() => createQuantizer(specFor('U3', { signed: true, name: 'conv1/Wquant' })), 'name', /already exists/);
    q.dispose();
    createQuantizer(specFor('U3', { signed: true, name: 'conv1/Wquant' })).dispose();
  });
});
