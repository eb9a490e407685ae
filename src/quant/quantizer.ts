/**
 * Quantizers as users see them: `createQuantizer(spec)` owns tfjs Variables named as in the official code;
 * `quantize(x, spec, params)` is the same computation on parameter tensors you pass in.
 */
import * as tf from '@tensorflow/tfjs';
import { fixedPoint, fixedPow2 } from './fixed';
import { applyParametric, parametricAttrs, scalarOfParams } from './parametric';
import { FUSED_QUANTIZER_KERNELS, fusedQuantizer } from '../backend/kernels';
import { entryForSpec } from './registry';
import { parametrizationInfo } from './parametrizations';
import { QuantizerSpecError, resolveSpec, scopeName, type ParamName, type QuantizerSpec, type ResolvedSpec } from './spec';

/** Parameter values for the stateless {@link quantize}: tensors (differentiable) or plain numbers. */
export type QuantizerParams = Partial<Record<ParamName, tf.Scalar | number>>;

/** A snapshot of a quantizer's state, for displays and logs. */
export interface QuantizerState {
  kind: ResolvedSpec['kind'];
  short: ResolvedSpec['short'];
  /** Raw parameter values as stored (before clipping and rounding). */
  params: Partial<Record<ParamName, number>>;
  /** The bitwidth used for memory accounting. */
  bits: number;
}

export interface Quantizer {
  readonly spec: ResolvedSpec;
  /** Scope of the variable names, e.g. `conv1/Wquant/parametric_fp_d_xmax`. */
  readonly scope: string;
  /** The learnable parameters (`d`, `xmax`, `xmin`, `n` as in the code); empty for fixed and float quantizers. */
  readonly variables: Readonly<Partial<Record<ParamName, tf.Variable>>>;
  /** Quantizes x; differentiable w.r.t. x and the variables with the official code's gradients. */
  apply(x: tf.Tensor): tf.Tensor;
  /** Bitwidth for memory accounting (docs/METHOD.md#bitwidth-inference), differentiable with straight-through rounding. */
  bitwidth(): tf.Scalar;
  /** Projects the parameters into their ranges after an optimizer step, as the code's clip_quant_vals (docs/METHOD.md#parameter-projection). */
  project(): void;
  /** Reads the current parameters and bitwidth (async: works on WebGPU too). */
  state(): Promise<QuantizerState>;
  dispose(): void;
}

function paramTensors(spec: ResolvedSpec, params: QuantizerParams): tf.Scalar[] {
  for (const key of Object.keys(params)) {
    if (!spec.params.includes(key as ParamName)) {
      throw new QuantizerSpecError(`params.${key}`, `not a parameter of this quantizer (it has: ${spec.params.join(', ') || 'none'})`);
    }
  }
  return spec.params.map((name) => {
    const value = params[name];
    if (value === undefined) throw new QuantizerSpecError(`params.${name}`, 'missing');
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new QuantizerSpecError(`params.${name}`, `expected a finite number, got ${value}`);
      return tf.scalar(value);
    }
    if (value.rank !== 0) throw new QuantizerSpecError(`params.${name}`, `expected a scalar tensor, got shape [${value.shape.join(', ')}]`);
    return value;
  });
}

function applyResolved(x: tf.Tensor, spec: ResolvedSpec, params: readonly tf.Scalar[]): tf.Tensor {
  switch (spec.kind) {
    case 'float':
      return tf.clone(x);
    case 'fp':
      return fixedPoint(x, spec);
    case 'pow2fixed':
      return fixedPow2(x, spec);
    default:
      return applyParametric(entryForSpec(spec)!, x, params, spec);
  }
}

function bitwidthResolved(spec: ResolvedSpec, params: readonly tf.Scalar[]): tf.Scalar {
  const entry = entryForSpec(spec);
  if (entry === undefined) return tf.scalar(spec.kind === 'float' ? 32 : spec.init.n!);
  return scalarOfParams(spec.params, params, (raw) => entry.bitwidth(raw, spec));
}

/** Quantizes `x` with explicit parameter values; gradients flow to any tensor passed in `params`. */
export function quantize(x: tf.Tensor, spec: QuantizerSpec, params: QuantizerParams = {}): tf.Tensor {
  const resolved = resolveSpec(spec);
  const owned: tf.Scalar[] = [];
  const tensors = paramTensors(resolved, params).map((t, i) => {
    if (typeof params[resolved.params[i]!] === 'number') owned.push(t);
    return t;
  });
  try {
    return applyResolved(x, resolved, tensors);
  } finally {
    owned.forEach((t) => t.dispose());
  }
}

/** The bitwidth a parameter set implies (memory accounting), differentiable w.r.t. tensor parameters. */
export function bitwidthOf(spec: QuantizerSpec, params: QuantizerParams = {}): tf.Scalar {
  const resolved = resolveSpec(spec);
  return tf.tidy(() => bitwidthResolved(resolved, paramTensors(resolved, params)));
}

let autoName = 0;

function uniqueScope(spec: QuantizerSpec, resolved: ResolvedSpec): string {
  const registered = tf.engine().registeredVariables;
  if (spec.name !== undefined) {
    const scope = `${spec.name}/${scopeName(resolved)}`;
    for (const p of resolved.params) {
      if (`${scope}/${p}` in registered) {
        throw new QuantizerSpecError(
          'name',
          `a quantizer named "${spec.name}" already exists (variable ${scope}/${p}); dispose it or pick another name`,
        );
      }
    }
    return scope;
  }
  for (;;) {
    const scope = `quantizer${autoName++}/${scopeName(resolved)}`;
    if (resolved.params.every((p) => !(`${scope}/${p}` in registered))) return scope;
  }
}

/** Creates a quantizer with its parameters as tfjs Variables initialised from the spec (or the code's defaults). */
export function createQuantizer(spec: QuantizerSpec): Quantizer {
  const resolved = resolveSpec(spec);
  const scope = uniqueScope(spec, resolved);
  const trainable = spec.trainable ?? true;
  const variables: Partial<Record<ParamName, tf.Variable>> = {};
  for (const name of resolved.params) {
    variables[name] = tf.variable(tf.scalar(resolved.init[name]!), trainable, `${scope}/${name}`);
  }
  const ordered = () => resolved.params.map((name) => variables[name]! as tf.Variable as unknown as tf.Scalar);

  return {
    spec: resolved,
    scope,
    variables,
    apply: (x) => applyResolved(x, resolved, ordered()),
    bitwidth: () => tf.tidy(() => bitwidthResolved(resolved, ordered())),
    project: () => projectParams(resolved, variables),
    async state() {
      const params: Partial<Record<ParamName, number>> = {};
      for (const name of resolved.params) params[name] = (await variables[name]!.data())[0]!;
      const bits = bitwidthResolved(resolved, ordered());
      const value = (await bits.data())[0]!;
      bits.dispose();
      return { kind: resolved.kind, short: resolved.short, params, bits: value };
    },
    dispose() {
      for (const v of Object.values(variables)) v.dispose();
    },
  };
}

/**
 * The code's clip_quant_vals (docs/METHOD.md#parameter-projection), in parameter creation order: n into [n_min + 1e-5, n_max − 1e-5]; for U3
 * (d, xmax) and P3 (xmin, xmax) first the coupling (lower ← min(lower, xmax − 1e-5), xmax ← max(lower + 1e-5, xmax),
 * both from the old values), then each parameter into [min + 1e-5, max − 1e-5].
 */
export function projectParams(spec: ResolvedSpec, variables: Partial<Record<ParamName, tf.Variable>>): void {
  if (fusedQuantizer() && spec.params.length === 2) {
    // One kernel for both parameters where the backend has it (same values as the composed ops below).
    const [v0, v1] = spec.params.map((name) => variables[name]!);
    const out = tf
      .engine()
      .runKernel(FUSED_QUANTIZER_KERNELS.project, { p0: v0!, p1: v1! }, parametricAttrs(spec) as unknown as tf.NamedAttrMap) as tf.Tensor[];
    v0!.assign(out[0]!);
    v1!.assign(out[1]!);
    tf.dispose(out);
    return;
  }
  const coupled = spec.short !== null && parametrizationInfo(spec.short)!.coupled;
  tf.tidy(() => {
    for (const name of spec.params) {
      const v = variables[name]!;
      if (coupled && name !== 'xmax') {
        const xmax = variables.xmax!;
        const lower = tf.minimum(v, tf.sub(xmax, 1e-5));
        const upper = tf.maximum(tf.add(v, 1e-5), xmax);
        v.assign(lower);
        xmax.assign(upper);
      }
      const [lo, hi] = spec.ranges[name]!;
      // nnabla's clip_by_value is minimum(maximum(v, lo), hi), which also serves a degenerate range: the fixed-bitwidth
      // runs (b_min = b_max = 2) project n to 2 − 1e-5 (docs/METHOD.md#parameter-projection); tf.clipByValue would refuse lo > hi.
      v.assign(tf.minimum(tf.maximum(v, Math.fround(lo + 1e-5)), Math.fround(hi - 1e-5)));
    }
  });
}
