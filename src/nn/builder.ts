/**
 * Building a quantized model: variables created with seeded initialisers and named as in the official nnabla code
 * (`conv1/quantized_conv/W`, `res1/layer1/basicblock1/bn/gamma`, `fc/quantized_affine/Wquant/parametric_fp_d_xmax/d`),
 * and a register of every quantizer with its role and the tensor size it accounts for in memory.
 */
import * as tf from '@tensorflow/tfjs';
import {
  createQuantizer,
  layerQuantizerSpec,
  resolveSpec,
  type LayerQuantization,
  type Quantizer,
  type QuantizerRole,
  type RoleConfig,
} from '../quant';
import { hashWords, tfjsSeed } from '../data/random';

/** How a model is quantized: which parametrization for weights (and biases) and for activations, at what start. */
export interface ModelQuantization {
  weights: LayerQuantization;
  activations: LayerQuantization;
  weightBits: number;
  activationBits: number;
  weight?: Partial<RoleConfig>;
  activation?: Partial<RoleConfig>;
}

export const FLOAT_QUANTIZATION: ModelQuantization = { weights: 'float', activations: 'float', weightBits: 32, activationBits: 32 };

/** A quantizer of the model: of a layer's weight or bias tensor, or replacing one ReLU. */
export interface QuantizerSlot {
  /** Layer scope, e.g. `res2/layer1/basicblock1` (activations: the scope of the nonlinearity). */
  layer: string;
  role: 'weight' | 'bias' | 'activation';
  quantizer: Quantizer;
  /**
   * Elements this quantizer's bitwidth is paid for: the tensor's size for weights and biases, the per-sample size
   * C·H·W of the activation for activations (the code's `Asize`).
   */
  size: number;
  /** The weight tensor whose statistics initialise this quantizer (weights and biases; docs/METHOD.md#initialization). */
  statsOf?: tf.Variable;
}

export interface NamedVariable {
  /** Canonical name, as in the official code (checkpoint key). */
  name: string;
  variable: tf.Variable;
  kind: 'weight' | 'bias' | 'bn' | 'bn-stat' | 'quantizer' | 'scale';
}

let modelCounter = 0;

/**
 * Derives distinct non-zero seeds for the initialisers (tfjs treats seed 0 as "unseeded"). A seed of 1 … 2^32−1 is
 * the xorshift32 state, as it always was; any other (0, ≥ 2^32: {@link tfjsSeed} maps them above 2^32−1) starts from
 * a state hashed from it and derives seeds offset by 2^32, so that its weights are never those of a seed 1 … 2^32−1.
 */
class SeedSequence {
  private state: number;
  private readonly offset: number;
  constructor(seed: number) {
    const mapped = tfjsSeed(seed);
    this.offset = mapped <= 0xffffffff ? 0 : 2 ** 32;
    this.state = mapped <= 0xffffffff ? mapped : hashWords(mapped) || 0x9e3779b9;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return (this.state || 1) + this.offset;
  }
}

export class ModelBuilder {
  /** Prefix of the tfjs variable names, unique per model instance (tfjs variable names are global). */
  readonly prefix: string;
  readonly variables: NamedVariable[] = [];
  readonly quantizers: QuantizerSlot[] = [];
  /** Every nonlinearity (quantized or not) with the per-sample size C·H·W of its input (the code's `Asize`). */
  readonly activations: { layer: string; size: number }[] = [];
  private readonly seeds: SeedSequence;

  constructor(
    modelName: string,
    readonly quantization: ModelQuantization,
    seed: number,
  ) {
    this.prefix = `${modelName}_${++modelCounter}`;
    this.seeds = new SeedSequence(seed);
  }

  private add(name: string, init: tf.Tensor, kind: NamedVariable['kind'], trainable = true): tf.Variable {
    const variable = tf.variable(init, trainable, `${this.prefix}/${name}`);
    init.dispose();
    this.variables.push({ name, variable, kind });
    return variable;
  }

  /** U(−lim, lim), seeded. */
  uniform(name: string, shape: number[], lim: number, kind: NamedVariable['kind']): tf.Variable {
    return this.add(name, tf.randomUniform(shape, -lim, lim, 'float32', this.seeds.next()), kind);
  }

  constant(name: string, shape: number[], value: number, kind: NamedVariable['kind'], trainable = true): tf.Variable {
    return this.add(name, tf.fill(shape, value), kind, trainable);
  }

  /**
   * A quantizer for a layer's weights/biases or for an activation, initialised as the code does from the config
   * stepsize (random init); {@link reinitializeWeightQuantizers} redoes it from loaded weights.
   */
  quantizer(layer: string, role: QuantizerSlot['role'], scope: string, size: number, statsOf?: tf.Variable): Quantizer | null {
    const q = this.quantization;
    const kind = role === 'activation' ? q.activations : q.weights;
    if (kind === 'float') return null;
    const codeRole: QuantizerRole = role === 'activation' ? 'activation' : 'weight';
    const spec = layerQuantizerSpec(kind, codeRole, {
      bits: role === 'activation' ? q.activationBits : q.weightBits,
      config: role === 'activation' ? q.activation : q.weight,
      name: `${this.prefix}/${scope}`,
    });
    const quantizer = createQuantizer(spec);
    this.quantizers.push({ layer, role, quantizer, size, ...(statsOf ? { statsOf } : {}) });
    for (const [param, variable] of Object.entries(quantizer.variables)) {
      const canonical = `${quantizer.scope.slice(this.prefix.length + 1)}`;
      this.variables.push({ name: `${canonical}/${param}`, variable: variable!, kind: 'quantizer' });
    }
    return quantizer;
  }
}

/**
 * Re-initialises the parameters of weight and bias quantizers from the current weights, as the code does when a
 * pre-trained float network is loaded (`find_delta` on max|W| of the layer's weight tensor, docs/METHOD.md#initialization).
 */
export async function reinitializeWeightQuantizers(slots: readonly QuantizerSlot[], quantization: ModelQuantization): Promise<void> {
  for (const slot of slots) {
    if (slot.role === 'activation' || slot.statsOf === undefined) continue;
    const maxAbs = (await tf.max(tf.abs(slot.statsOf)).data())[0]!;
    const spec = layerQuantizerSpec(quantization.weights, 'weight', {
      bits: quantization.weightBits,
      config: quantization.weight ?? {},
      maxAbsWeight: maxAbs,
    });
    const init = resolveSpec(spec).init;
    for (const [param, variable] of Object.entries(slot.quantizer.variables)) {
      variable!.assign(tf.scalar(init[param as 'd']!));
    }
  }
}
