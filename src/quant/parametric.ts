/**
 * The generic glue between a family's elementwise quantizer and a parametrization's grid: one tf.customGrad whose
 * inputs are x and the two raw parameters, and whose gradient is the chain rule through the grid partials.
 */
import * as tf from '@tensorflow/tfjs';
import type { Partials, ParametrizationEntry, RawParams, ScalarWithPartials } from './family';
import type { ParamName, ResolvedSpec } from './spec';
import { customOp } from './custom_op';
import { fusedQuantizer } from '../backend/kernels';

function rawParams(names: readonly ParamName[], values: readonly tf.Tensor[]): RawParams {
  const raw: RawParams = {};
  names.forEach((name, i) => {
    raw[name] = values[i] as tf.Scalar;
  });
  return raw;
}

function partialOrZero(partials: Partials, name: ParamName): tf.Scalar {
  return partials[name] ?? tf.scalar(0);
}

/** A fused backward kernel's outputs: ∂x and the gradients of the two grid scalars. */
function fusedBackward(
  kernel: string,
  dy: tf.Tensor,
  x: tf.Tensor,
  grid: readonly [tf.Scalar, tf.Scalar],
  attrs: { signed: boolean; withZero: boolean },
) {
  const [dx, dg0, dg1] = tf.engine().runKernel(kernel, { dy, x, p0: grid[0], p1: grid[1] }, attrs) as tf.Tensor[];
  return { dx: dx!, dg0: dg0 as tf.Scalar, dg1: dg1 as tf.Scalar };
}

/** q = Q(x; θ), differentiable w.r.t. x and both parameters (tfjs Variables or plain scalars). */
export function applyParametric(entry: ParametrizationEntry, x: tf.Tensor, params: readonly tf.Scalar[], spec: ResolvedSpec): tf.Tensor {
  const names = spec.params;
  return customOp([x, ...params], ([input, ...values], save) => {
    const grid = entry.grid(rawParams(names, values), spec);
    const fused = fusedQuantizer(entry.kind);
    const attrs = { signed: spec.signed, withZero: spec.withZero };
    const q = fused
      ? (tf.engine().runKernel(fused.forward, { x: input!, p0: grid.values[0], p1: grid.values[1] }, attrs) as tf.Tensor)
      : entry.family.forward(input!, grid.values[0], grid.values[1], spec);
    save([input!, ...values]);
    return {
      value: q,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, ...p0] = saved;
        const g = entry.grid(rawParams(names, p0), spec);
        // The backend's fused kernel where it has one (one dispatch instead of the family's composed ops), same values.
        const { dx, dg0, dg1 } = fused
          ? fusedBackward(fused.backward, dy, x0!, g.values, attrs)
          : entry.family.backward(dy, x0!, g.values[0], g.values[1], spec);
        const [j0, j1] = g.partials();
        const dParams = names.map((name) => tf.add(tf.mul(partialOrZero(j0, name), dg0), tf.mul(partialOrZero(j1, name), dg1)));
        return [dx, ...dParams];
      },
    };
  });
}

/** A scalar function of the parameters as one differentiable op, its gradient given by closed-form partials. */
export function scalarOfParams(names: readonly ParamName[], params: readonly tf.Scalar[], fn: (raw: RawParams) => ScalarWithPartials): tf.Scalar {
  return customOp(params, (values, save) => {
    save(values);
    const { value } = fn(rawParams(names, values));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { partials } = fn(rawParams(names, saved));
        return names.map((name) => tf.mul(dy, partialOrZero(partials, name)));
      },
    };
  }) as tf.Scalar;
}
