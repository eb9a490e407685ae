/**
 * The generic glue between a family's elementwise quantizer and a parametrization's grid: one tf.customGrad whose
 * inputs are x and the two raw parameters, and whose gradient is the chain rule through the grid partials. Where the
 * backend has mixprec's fused kernels, one registered op (MixprecParametricQuantize, its gradient below) instead.
 */
import * as tf from '@tensorflow/tfjs';
import { registerGradient } from '@tensorflow/tfjs';
import type { Partials, ParametrizationEntry, RawParams, ScalarWithPartials } from './family';
import type { ParamName, ResolvedSpec } from './spec';
import { customOp } from './custom_op';
import { FUSED_QUANTIZER_KERNELS, fusedQuantizer, type ParametricAttrs } from '../backend/kernels';

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

/** The fused kernels' attributes for a spec: the table row, the sign / zero options and both parameters' ranges. */
export function parametricAttrs(spec: ResolvedSpec): ParametricAttrs {
  const [r0, r1] = spec.params.map((name) => spec.ranges[name]!);
  return { short: spec.short!, signed: spec.signed, withZero: spec.withZero, range0: r0!, range1: r1! };
}

// The fused op's gradient: one backward kernel gives ∂x and both parameter gradients (the chain rule inside it).
registerGradient({
  kernelName: FUSED_QUANTIZER_KERNELS.quantize,
  inputsToSave: ['x', 'p0', 'p1'],
  gradFunc: (dy, saved, attrs) => {
    const [x, p0, p1] = saved;
    const [dx, d0, d1] = tf
      .engine()
      .runKernel(FUSED_QUANTIZER_KERNELS.quantizeGrad, { dy: dy as tf.Tensor, x: x!, p0: p0!, p1: p1! }, attrs) as tf.Tensor[];
    return { x: () => dx!, p0: () => d0!, p1: () => d1! };
  },
});

/** q = Q(x; θ), differentiable w.r.t. x and both parameters (tfjs Variables or plain scalars). */
export function applyParametric(entry: ParametrizationEntry, x: tf.Tensor, params: readonly tf.Scalar[], spec: ResolvedSpec): tf.Tensor {
  if (fusedQuantizer()) {
    // One kernel forward and one backward, on backends that have them (same values as the composed path below).
    const attrs = parametricAttrs(spec) as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(FUSED_QUANTIZER_KERNELS.quantize, { x, p0: params[0]!, p1: params[1]! }, attrs) as tf.Tensor;
  }
  const names = spec.params;
  return customOp([x, ...params], ([input, ...values], save) => {
    const grid = entry.grid(rawParams(names, values), spec);
    const q = entry.family.forward(input!, grid.values[0], grid.values[1], spec);
    save([input!, ...values]);
    return {
      value: q,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, ...p0] = saved;
        const g = entry.grid(rawParams(names, p0), spec);
        const { dx, dg0, dg1 } = entry.family.backward(dy, x0!, g.values[0], g.values[1], spec);
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
