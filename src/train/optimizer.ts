/**
 * The solvers as nnabla implements them (docs/METHOD.md#solvers), not as tf.train does:
 *   Momentum: v ← m·v + lr·g;  w ← w − v        (tf.train.momentum scales by lr after accumulating)
 *   Adam:     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  w ← w − α·√(1−β2^t)/(1−β1^t) · m/(√v + ε)
 * with nnabla's coupled weight decay g ← g + wd·w applied to every parameter before the update.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './safetensors';
import { fusedMomentum, MOMENTUM_UPDATE_KERNEL } from '../backend/kernels';

export interface Solver {
  readonly kind: 'momentum' | 'adam';
  learningRate: number;
  /**
   * Updates each variable with its gradient (clipped where the step clips), adding the coupled weight decay
   * `decay`·w first when given (the momentum solver does both in one fused kernel where the backend has it).
   */
  update(params: readonly { name: string; variable: tf.Variable; grad: tf.Tensor; decay?: number }[]): void;
  /** The solver's state, by parameter name, for checkpoints. */
  state(): Promise<Record<string, NamedArray>>;
  /** Restores a state written by {@link state}; every parameter must be present. */
  restore(state: Record<string, NamedArray>, names: readonly string[]): void;
  dispose(): void;
}

/** g + wd·w, the coupled L2 decay of nnabla's solver.weight_decay. */
export function withWeightDecay(grad: tf.Tensor, w: tf.Tensor, decay: number): tf.Tensor {
  return decay === 0 ? grad : tf.add(grad, tf.mul(w, decay));
}

function slots(prefix: string) {
  const buffers = new Map<string, tf.Variable>();
  return {
    get(name: string, like: tf.Tensor): tf.Variable {
      let v = buffers.get(name);
      if (v === undefined) {
        v = tf.variable(tf.zerosLike(like), false);
        buffers.set(name, v);
      }
      return v;
    },
    async save(out: Record<string, NamedArray>) {
      for (const [name, v] of buffers) out[`${prefix}/${name}`] = { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array };
    },
    restore(state: Record<string, NamedArray>, names: readonly string[]) {
      for (const name of names) {
        const saved = state[`${prefix}/${name}`];
        if (saved === undefined) throw new Error(`optimizer state lacks ${prefix}/${name}`);
        const existing = buffers.get(name);
        const tensor = tf.tensor(saved.data, saved.shape, 'float32');
        if (existing) {
          existing.assign(tensor);
          tensor.dispose();
        } else {
          buffers.set(name, tf.variable(tensor, false));
        }
      }
    },
    dispose() {
      for (const v of buffers.values()) v.dispose();
      buffers.clear();
    },
  };
}

export function momentumSolver(learningRate: number, momentum = 0.9): Solver {
  const velocity = slots('optimizer/momentum/v');
  return {
    kind: 'momentum',
    learningRate,
    update(params) {
      tf.tidy(() => {
        const fused = fusedMomentum();
        for (const { name, variable, grad, decay = 0 } of params) {
          const v = velocity.get(name, variable);
          if (fused) {
            // v·m + (g + w·decay)·lr and w − v' in one kernel, rounded as the composed ops below round them.
            const attrs = { momentum, lr: this.learningRate, decay };
            const [v1, w1] = tf
              .engine()
              .runKernel(MOMENTUM_UPDATE_KERNEL, { v, g: grad, w: variable }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
            v.assign(v1!);
            variable.assign(w1!);
          } else {
            v.assign(tf.add(tf.mul(v, momentum), tf.mul(withWeightDecay(grad, variable, decay), this.learningRate)));
            variable.assign(tf.sub(variable, v));
          }
        }
      });
    },
    async state() {
      const out: Record<string, NamedArray> = {};
      await velocity.save(out);
      return out;
    },
    restore: (state, names) => velocity.restore(state, names),
    dispose: () => velocity.dispose(),
  };
}

export function adamSolver(learningRate: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): Solver {
  const first = slots('optimizer/adam/m');
  const second = slots('optimizer/adam/v');
  let t = 0;
  return {
    kind: 'adam',
    learningRate,
    update(params) {
      t += 1;
      const alphaT = (this.learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
      tf.tidy(() => {
        for (const { name, variable, grad: raw, decay = 0 } of params) {
          const grad = withWeightDecay(raw, variable, decay);
          const m = first.get(name, variable);
          const v = second.get(name, variable);
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
          v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
          variable.assign(tf.sub(variable, tf.mul(tf.div(m, tf.add(tf.sqrt(v), eps)), alphaT)));
        }
      });
    },
    async state() {
      const out: Record<string, NamedArray> = { 'optimizer/adam/t': { dtype: 'I32', shape: [], data: Int32Array.of(t) } };
      await first.save(out);
      await second.save(out);
      return out;
    },
    restore(state, names) {
      const saved = state['optimizer/adam/t'];
      if (saved === undefined) throw new Error('optimizer state lacks optimizer/adam/t');
      t = saved.data[0]!;
      first.restore(state, names);
      second.restore(state, names);
    },
    dispose() {
      first.dispose();
      second.dispose();
    },
  };
}

export function createSolver(kind: 'momentum' | 'adam', learningRate: number, momentum = 0.9): Solver {
  return kind === 'adam' ? adamSolver(learningRate) : momentumSolver(learningRate, momentum);
}
