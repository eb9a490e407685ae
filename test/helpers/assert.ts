import * as assert from 'node:assert/strict';

/** |actual − expected| ≤ atol + rtol·scale, with a message naming what was compared. */
export function assertClose(actual: number, expected: number, what: string, tol: { rtol?: number; atol?: number; scale?: number } = {}): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 0;
  const scale = tol.scale ?? Math.abs(expected);
  const bound = atol + rtol * scale;
  if (!(Math.abs(actual - expected) <= bound) && !(Number.isNaN(actual) && Number.isNaN(expected))) {
    assert.fail(`${what}: got ${actual}, expected ${expected} (|diff| ${Math.abs(actual - expected)} > ${bound})`);
  }
}

/** Exact float32 equality elementwise, reporting the first mismatch. */
export function assertSameF32(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, inputs?: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = Math.fround(expected[i]!);
    if (!(Object.is(a, e) || a === e || (Number.isNaN(a) && Number.isNaN(e)))) {
      assert.fail(`${what}[${i}]${inputs ? ` (input ${inputs[i]})` : ''}: got ${a}, expected ${e}`);
    }
  }
}
