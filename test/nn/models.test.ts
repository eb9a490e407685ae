/**
 * Model structure against the official code and docs/METHOD.md: layer shapes, parameter counts, where quantizers sit,
 * the canonical variable names, and the memory arithmetic of docs/METHOD.md#resnet-20-sizes (ResNet-20) and Table 4 (MobileNetV2).
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activationMemoryKB, createModel, memoryReport, parameterCount, weightMemoryKB, type QuantModel } from '../../src/nn';
import { useBackend } from '../helpers/backends';

const CIFAR = [32, 32, 3] as const;
const q = (weights: 'float' | 'U3' | 'P3' | 'U1', activations: 'float' | 'U3' | 'P3' | 'U1' = weights, bits = 4) => ({
  weights,
  activations,
  weightBits: bits,
  activationBits: bits,
});
const scalar = async (t: tf.Scalar) => (await t.data())[0]!;

describe('ResNet-20 as model_resnet.resnet_cifar10 builds it', () => {
  before(() => useBackend('cpu'));
  let float: QuantModel;
  let u3: QuantModel;
  before(() => {
    float = createModel('resnet20', { inputShape: CIFAR, numClasses: 10, quantization: q('float') });
    u3 = createModel('resnet20', { inputShape: CIFAR, numClasses: 10, quantization: q('U3') });
  });

  it('has 268,346 counted weights (docs/METHOD.md#resnet-20-sizes) and 0.27 M parameters', () => {
    // conv 432 + 6×2304 + 4608 + 5×9216 + 18432 + 5×36864, fc 64×10 + 10
    assert.equal(parameterCount(float, ['weight', 'bias']), 432 + 6 * 2304 + 4608 + 5 * 9216 + 18432 + 5 * 36864 + 650);
    const all = parameterCount(float);
    assert.ok(all > 0.265e6 && all < 0.275e6, `${all} parameters`);
    assert.equal(float.weightLayers.length, 20, '19 convolutions and one fc');
  });

  it('quantizes every conv weight, the fc weight and bias, and every one of the 19 ReLUs', () => {
    const roles = u3.quantizers.map((s) => s.role);
    assert.equal(roles.filter((r) => r === 'weight').length, 20);
    assert.equal(roles.filter((r) => r === 'bias').length, 1);
    assert.equal(roles.filter((r) => r === 'activation').length, 19);
    assert.equal(u3.activationLayers.length, 19);
    assert.deepEqual(
      u3.activationLayers.map((a) => a.size),
      [...Array(7).fill(16384), ...Array(6).fill(8192), ...Array(6).fill(4096)],
    );
  });

  it('names variables as the official code', () => {
    const names = new Set(u3.variables.map((v) => v.name));
    for (const n of [
      'conv1/quantized_conv/W',
      'conv1/bn/gamma',
      'conv1/bn/mean',
      'conv1/quantized_conv/Wquant/parametric_fp_d_xmax/d',
      'conv1/Aquant/parametric_fp_d_xmax/xmax',
      'res1/layer1/basicblock1/quantized_conv/W',
      'res2/layer1/basicblock2/bn/var',
      'res3/layer3/Aquant/parametric_fp_d_xmax/d',
      'fc/quantized_affine/W',
      'fc/quantized_affine/b',
      'fc/quantized_affine/bquant/parametric_fp_d_xmax/xmax',
    ])
      assert.ok(names.has(n), `missing ${n}`);
    assert.equal(names.size, u3.variables.length, 'names are unique');
    const W = u3.variables.find((v) => v.name === 'res2/layer1/basicblock1/quantized_conv/W')!;
    assert.deepEqual(W.variable.shape, [3, 3, 16, 32], 'HWIO, first block of stage 2 widens 16 → 32');
  });

  it('memory: 1048.2 KB of float weights, 131.0 KB at 4 bits; activations 64 / 736 KB float, 8 / 92 KB at 4 bits', async () => {
    assert.equal(await scalar(weightMemoryKB(float)), (268346 * 32) / 8192);
    assert.equal(await scalar(activationMemoryKB(float, 'max')), 64);
    assert.equal(await scalar(activationMemoryKB(float, 'sum')), 736);
    assert.equal(await scalar(weightMemoryKB(u3)), (268346 * 4) / 8192);
    assert.equal(await scalar(activationMemoryKB(u3, 'max')), 8);
    assert.equal(await scalar(activationMemoryKB(u3, 'sum')), 92);
    const report = await memoryReport(u3);
    assert.equal(report.layers.filter((l) => l.role !== 'activation').length, 21);
    assert.ok(Math.abs(report.weightsKB - 131.0283203125) < 1e-9);
    // 70 KB ⇔ 2.137 bits per weight on average (docs/METHOD.md#resnet-20-sizes)
    assert.ok(Math.abs((70 * 8192) / 268346 - 2.137) < 1e-3);
  });

  it('the 4-bit quantizers start at d = 2^-3 (weights: xmax = 7d; activations: xmax = 15d) and count 4 bits', async () => {
    const wq = u3.quantizers.find((s) => s.role === 'weight')!.quantizer;
    const aq = u3.quantizers.find((s) => s.role === 'activation')!.quantizer;
    assert.deepEqual((await wq.state()).params, { d: 0.125, xmax: 0.875 });
    assert.deepEqual((await aq.state()).params, { d: 0.125, xmax: 1.875 });
    assert.equal((await wq.state()).bits, 4);
    assert.equal((await aq.state()).bits, 4);
  });

  it('maps a batch to logits, with option-A shortcuts (stride-2 blocks keep the shape arithmetic of the code)', () => {
    const x = tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D;
    const out = u3.forward(x, false);
    assert.deepEqual(out.shape, [2, 10]);
    const odd = createModel('resnet20', { inputShape: [28, 28, 1], numClasses: 10, quantization: q('float') });
    assert.deepEqual(odd.forward(tf.randomNormal([3, 28, 28, 1]) as tf.Tensor4D, true).shape, [3, 10], 'any input size (MNIST) works');
    assert.deepEqual(odd.activationLayers.at(-1)!.size, 7 * 7 * 64);
    odd.dispose();
  });

  it('builds deeper ResNets with 6n + 2 layers', () => {
    for (const [name, blocks] of [
      ['resnet32', 5],
      ['resnet56', 9],
    ] as const) {
      const m = createModel(name, { inputShape: CIFAR, numClasses: 10, quantization: q('float') });
      assert.equal(m.weightLayers.length, 6 * blocks + 2);
      m.dispose();
    }
  });

  it('adds the scale layer for pow2 configurations and keeps model instances apart', () => {
    const a = createModel('resnet20', { inputShape: CIFAR, numClasses: 10, quantization: q('P3'), scaleLayer: true });
    assert.ok(a.variables.some((v) => v.name === 'fc/scale_layer' && v.kind === 'scale'));
    const b = createModel('resnet20', { inputShape: CIFAR, numClasses: 10, quantization: q('P3'), scaleLayer: true });
    assert.notEqual(a.variables[0]!.variable.name, b.variables[0]!.variable.name, 'tfjs variable names are unique per model');
    a.dispose();
    b.dispose();
  });
});

describe('MobileNetV2', () => {
  before(() => useBackend('cpu'));

  it('ImageNet variant: 53 weight layers, 13.24 MB float weights and 4.59 MB largest activation (Table 4)', async () => {
    const m = createModel('mobilenetv2-imagenet', { inputShape: [224, 224, 3], numClasses: 1000, quantization: q('float') });
    assert.equal(m.weightLayers.length, 53);
    assert.equal(m.weightLayers.filter((l) => l.kind === 'depthwise').length, 17);
    const r = await memoryReport(m);
    assert.equal((r.activationsMaxKB / 1024).toFixed(2), '4.59'); // 96×112×112 at 32 bits
    assert.ok(Math.abs(r.weightsKB / 1024 - 13.23) < 0.02, `${r.weightsKB / 1024} MB`);
    m.dispose();
  });

  it('CIFAR variant: quantized depthwise convolutions, trains (gradients reach every quantizer)', () => {
    const m = createModel('mobilenetv2-cifar', { inputShape: CIFAR, numClasses: 10, quantization: q('U3'), widthMultiplier: 0.25 });
    const dw = m.quantizers.filter((s) => s.layer.endsWith('/depthwise') && s.role === 'weight');
    assert.equal(dw.length, 17);
    const x = tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D;
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.forward(x, true))) as tf.Scalar, m.trainableVariables());
    for (const slot of dw) assert.ok(grads[slot.quantizer.variables.xmax!.name] !== undefined);
    assert.equal(Object.keys(grads).length, m.trainableVariables().length);
    m.dispose();
  });
});

describe('mnistnet', () => {
  before(() => useBackend('cpu'));
  it('28×28×1 → 10 with three quantized layers', () => {
    const m = createModel('mnistnet', { inputShape: [28, 28, 1], numClasses: 10, quantization: q('P3') });
    assert.equal(parameterCount(m, ['weight', 'bias']), 5 * 5 * 16 + 5 * 5 * 16 * 32 + 7 * 7 * 32 * 10 + 10);
    assert.equal(m.quantizers.length, 4 + 2);
    assert.deepEqual(m.forward(tf.zeros([4, 28, 28, 1]) as tf.Tensor4D, false).shape, [4, 10]);
    m.dispose();
  });
});
