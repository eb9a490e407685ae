/**
 * The WebGPU host patches (src/backend/webgpu_host.ts) change when and how buffers are written and submitted, never
 * what is computed: training steps with them are bit-identical to tfjs-backend-webgpu's own path, and gradients
 * agree with the cpu backend; a steady-state step creates no GPU buffer and submits only to read results. Runs where
 * a WebGPU adapter exists (lavapipe in CI).
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createModel, type QuantModel } from '../../src/nn';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../../src/train/config';
import { createSolver } from '../../src/train/optimizer';
import { createTrainingStep, trainableParams } from '../../src/train/step';
import { trainingLoss } from '../../src/train/loss';
import { countWebGpuWork } from '../../src/backend/webgpu_counters';
import { MAX_DISPATCHES_PER_SUBMIT, UNIFORM_SLOTS, packUniforms, setWebGpuHostPatches } from '../../src/backend/webgpu_host';
import { testBackends, useBackend } from '../helpers/backends';

const config = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { quant: { weights: 'U3', activations: 'U3' }, learningRate: 0.05 });

function model(name: 'resnet20' | 'mnistnet', seed = 11): QuantModel {
  const shape: [number, number, number] = name === 'resnet20' ? [32, 32, 3] : [28, 28, 1];
  return createModel(name, {
    inputShape: shape,
    numClasses: 10,
    seed,
    quantization: { weights: 'U3', activations: 'U3', weightBits: 4, activationBits: 4 },
  });
}

function batch(name: 'resnet20' | 'mnistnet', n: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const shape: [number, number, number, number] = name === 'resnet20' ? [n, 32, 32, 3] : [n, 28, 28, 1];
  return { x: tf.randomUniform(shape, 0, 1, 'float32', 5) as tf.Tensor4D, y: tf.randomUniformInt([n], 0, 10, 6) as tf.Tensor1D };
}

/** Every trainable variable's values after `steps` training steps from the seeded initialisation. */
async function trainedValues(name: 'resnet20' | 'mnistnet', steps: number): Promise<Map<string, Float32Array>> {
  const m = model(name);
  const solver = createSolver('momentum', 0.05, 0.9);
  const stepper = createTrainingStep(m, config, solver);
  const { x, y } = batch(name, 4);
  for (let i = 0; i < steps; i++) await stepper.step(x, y);
  const out = new Map<string, Float32Array>();
  for (const p of trainableParams(m)) out.set(p.name, (await p.variable.data()) as Float32Array);
  tf.dispose([x, y]);
  solver.dispose();
  m.dispose();
  return out;
}

/** The gradient of the training loss for every trainable variable, in float64. */
async function gradients(name: 'resnet20' | 'mnistnet'): Promise<Map<string, Float64Array>> {
  const m = model(name);
  const { x, y } = batch(name, 4);
  const named = trainableParams(m);
  const { value, grads } = tf.variableGrads(
    () => trainingLoss(m, x, y, config.targets).total,
    named.map((p) => p.variable),
  );
  const out = new Map<string, Float64Array>();
  for (const p of named) {
    const g = grads[p.variable.name];
    if (g) out.set(p.name, Float64Array.from(await g.data()));
  }
  tf.dispose([value, x, y, ...Object.values(grads)]);
  m.dispose();
  return out;
}

describe('WebGPU host patches', async () => {
  const hasWebGpu = (await testBackends()).includes('webgpu');
  after(() => setWebGpuHostPatches(true));

  it('packs uniforms as WGSL lays them out (tfjs makeUniforms)', () => {
    // [NaN], [∞], a 3-vector (16-aligned), a 5-vector after it (16-aligned), a scalar (after a 5-vector: 16-aligned).
    const bytes = packUniforms([
      { type: 'float32', data: [NaN] },
      { type: 'float32', data: [Infinity] },
      { type: 'int32', data: [1, 2, 3] },
      { type: 'int32', data: [4, 5, 6, 7, 8] },
      { type: 'int32', data: [9] },
    ]);
    assert.equal(bytes.byteLength, 80, 'rounded up to the 16-byte alignment of the largest field');
    const i32 = new Int32Array(bytes);
    const f32 = new Float32Array(bytes);
    assert.ok(Number.isNaN(f32[0]));
    assert.equal(f32[1], Infinity);
    assert.deepEqual([...i32.slice(4, 7)], [1, 2, 3]);
    assert.deepEqual([...i32.slice(8, 13)], [4, 5, 6, 7, 8]);
    assert.equal(i32[16], 9);
  });

  it(
    'leaves training bit-identical to tfjs-backend-webgpu as published (3 U3 ResNet-20 steps)',
    { skip: !hasWebGpu && 'no WebGPU adapter' },
    async () => {
      await useBackend('webgpu');
      setWebGpuHostPatches(false);
      const published = await trainedValues('resnet20', 3);
      setWebGpuHostPatches(true);
      const patched = await trainedValues('resnet20', 3);
      for (const [name, values] of published) {
        const got = patched.get(name)!;
        const first = values.findIndex((v, i) => !Object.is(v, got[i]));
        assert.equal(first, -1, `${name}[${first}]: ${got[first]} with the patches, ${values[first]} without`);
      }
    },
  );

  it('gives the gradients of the cpu backend (relative error below 1e-4), U3 ResNet-20', { skip: !hasWebGpu && 'no WebGPU adapter' }, async (t) => {
    await useBackend('cpu');
    const expected = await gradients('resnet20');
    await useBackend('webgpu');
    const got = await gradients('resnet20');
    let diff = 0;
    let norm = 0;
    const worst: { name: string; rel: number }[] = [];
    for (const [name, e] of expected) {
      const g = got.get(name)!;
      let d = 0;
      let n = 0;
      for (let i = 0; i < e.length; i++) {
        d += (g[i]! - e[i]!) ** 2;
        n += e[i]! ** 2;
      }
      diff += d;
      norm += n;
      worst.push({ name, rel: Math.sqrt(d / Math.max(n, 1e-300)) });
    }
    worst.sort((a, b) => b.rel - a.rel);
    const rel = Math.sqrt(diff / norm);
    t.diagnostic(`relative gradient error ${rel.toExponential(2)} over ${expected.size} parameters`);
    assert.ok(
      rel < 1e-4,
      `relative gradient error ${rel.toExponential(2)}; worst: ${worst
        .slice(0, 3)
        .map((w) => `${w.name} ${w.rel.toExponential(2)}`)
        .join(', ')}`,
    );
  });

  it('a steady-state step creates no GPU buffer and submits only to read its results', { skip: !hasWebGpu && 'no WebGPU adapter' }, async () => {
    await useBackend('webgpu');
    const m = model('mnistnet');
    const solver = createSolver('momentum', 0.05, 0.9);
    const stepper = createTrainingStep(m, config, solver);
    const { x, y } = batch('mnistnet', 8);
    const counted = async () => {
      // Pipelines compiled, pools filled, the pool's buffer assignment settled (for the bind-group cache).
      for (let i = 0; i < 8; i++) await stepper.step(x, y);
      return (await countWebGpuWork(() => stepper.step(x, y))).counts;
    };
    try {
      setWebGpuHostPatches(false);
      const published = await counted();
      setWebGpuHostPatches(true);
      const patched = await counted();
      // The counters see tfjs's own path create buffers (a staging buffer per upload) and submit every 15 dispatches.
      assert.ok(published.buffersCreated > 0 && published.uploads > 0, `tfjs as published: ${JSON.stringify(published)}`);
      assert.ok(published.submits >= Math.floor(published.dispatches / 15), `tfjs as published: ${JSON.stringify(published)}`);
      assert.equal(patched.dispatches, published.dispatches, 'the same programs');
      assert.equal(patched.buffersCreated, 0, `with the patches: ${JSON.stringify(patched)}`);
      assert.equal(published.bindGroupsCreated, published.dispatches, 'tfjs as published: a bind group per dispatch');
      // Most come from the cache (the assignment settles into a cycle; how fast depends on the step).
      assert.ok(patched.bindGroupsCreated < patched.dispatches / 2, `with the patches, most bind groups reused: ${JSON.stringify(patched)}`);
      // A submit per MAX_DISPATCHES_PER_SUBMIT dispatches, and one for each of the step's five result reads at most.
      const limit = Math.ceil(patched.dispatches / MAX_DISPATCHES_PER_SUBMIT) + 5;
      assert.ok(patched.submits <= limit, `with the patches (at most ${limit} submits): ${JSON.stringify(patched)}`);
      assert.ok(patched.writeBuffers <= patched.submits + 1, `one uniform slab write per submit: ${JSON.stringify(patched)}`);
    } finally {
      tf.dispose([x, y]);
      solver.dispose();
      m.dispose();
    }
  });

  it(
    'keeps every result right when the uniform slots are replaced (more distinct uniforms than slots)',
    { skip: !hasWebGpu && 'no WebGPU adapter' },
    async () => {
      await useBackend('webgpu');
      // One pipeline (the shader key has the rank, not the length), a new uniform block (the length) per add: the
      // slots fill and the least recently used are rewritten while earlier batches may still be in flight.
      const lengths = Array.from({ length: UNIFORM_SLOTS + 600 }, (_, i) => 1 + ((i * 7919) % (UNIFORM_SLOTS + 600)));
      const results: tf.Tensor[] = [];
      for (const [i, n] of lengths.entries()) {
        results.push(tf.tidy(() => tf.add(tf.fill([n], i), 0.5)));
        // Read some back mid-way, so that batches are submitted at different points.
        if (i % 997 === 0) await results[i]!.data();
      }
      for (const [i, t] of results.entries()) {
        const values = await t.data();
        assert.equal(values.length, lengths[i]);
        const wrong = values.findIndex((v) => v !== i + 0.5);
        assert.equal(wrong, -1, `add ${i} (length ${lengths[i]}): element ${wrong} is ${values[wrong]}, not ${i + 0.5}`);
      }
      tf.dispose(results);
    },
  );
});
