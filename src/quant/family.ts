/**
 * The shape shared by the six parametrizations. A family (uniform, pow2) owns the elementwise quantizer, written in
 * terms of two grid scalars; a parametrization owns how those two scalars follow from its two learnable parameters
 * (with their exact partial derivatives) and how many bits they imply. The chain rule between the two is generic
 * (parametric.ts), so a new parametrization is one row of the table (parametrizations.ts) and one more entry with a
 * `grid` and a `bitwidth`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LearnedKind } from './parametrizations';
import type { ParamName, Parametrization, ResolvedSpec, ShortName } from './spec';

export type RawParams = Partial<Record<ParamName, tf.Scalar>>;
/** ∂(derived scalar)/∂(raw parameter) for the parameters it depends on; absent means zero. */
export type Partials = Partial<Record<ParamName, tf.Scalar>>;

/** The two scalars of a quantization grid: uniform [step d_q, range X]; pow2 [smallest level a, largest level b]. */
export interface Grid {
  values: readonly [tf.Scalar, tf.Scalar];
  /** Partial derivatives of each value w.r.t. the raw parameters (computed only for the backward pass). */
  partials(): readonly [Partials, Partials];
}

/** A differentiable scalar function of the raw parameters. */
export interface ScalarWithPartials {
  value: tf.Scalar;
  partials: Partials;
}

export interface Family {
  /** Quantizes x on the grid given by its two scalars. */
  forward(x: tf.Tensor, g0: tf.Scalar, g1: tf.Scalar, spec: ResolvedSpec): tf.Tensor;
  /** Gradient of Σ dy·q w.r.t. x and the two grid scalars (the code's autodiff, in closed form). */
  backward(dy: tf.Tensor, x: tf.Tensor, g0: tf.Scalar, g1: tf.Scalar, spec: ResolvedSpec): { dx: tf.Tensor; dg0: tf.Scalar; dg1: tf.Scalar };
}

/** What a parametrization's module defines: its grid and its bitwidth (its identity is in parametrizations.ts). */
export interface ParametrizationMath {
  /** Derived grid scalars from the raw parameters (docs/METHOD.md#uniform-parametrizations, docs/METHOD.md#power-of-two-parametrizations). */
  grid(p: RawParams, spec: ResolvedSpec): Grid;
  /** Bitwidth for the memory accounting (docs/METHOD.md#bitwidth-inference), with the code's straight-through partials. */
  bitwidth(p: RawParams, spec: ResolvedSpec): ScalarWithPartials;
}

/** A parametrization as the quantizers run it: its table identity, its family's quantizer and its own math. */
export interface ParametrizationEntry extends ParametrizationMath {
  kind: LearnedKind;
  param: Parametrization;
  short: ShortName;
  family: Family;
}
