/** A typed wrapper over tf.customGrad, whose variadic signature (inputs..., save) does not type-check well. */
import * as tf from '@tensorflow/tfjs';

export interface CustomOpResult {
  value: tf.Tensor;
  /** Gradients w.r.t. each input, from the upstream gradient and the tensors saved in the forward pass. */
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** Runs `forward` as one differentiable op over `inputs` (typed per position); `save` keeps tensors for `gradFunc`. */
export function customOp<const T extends readonly tf.Tensor[]>(
  inputs: T,
  forward: (inputs: { -readonly [K in keyof T]: tf.Tensor }, save: (tensors: tf.Tensor[]) => void) => CustomOpResult,
): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return forward(args as { -readonly [K in keyof T]: tf.Tensor }, save);
  }) as unknown as (...xs: tf.Tensor[]) => tf.Tensor;
  return op(...inputs);
}
