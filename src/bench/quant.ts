/**
 * Quantizer throughput: forward + backward (gradients w.r.t. x and every parameter) of each quantizer on a tensor,
 * in elements per second, next to the same loss through the identity on each backend.
 */
import * as tf from '@tensorflow/tfjs';
import { layerQuantizerSpec, quantize, resolveSpec, SHORT_NAME_LIST, type LayerQuantization, type QuantizerParams } from '../quant';
import { useProgress, type BenchContext, type BenchSuite } from './suite';
import { timeIt } from './harness';
import { formatTable, si } from '../util/table';
import { useFastKernels } from '../backend';

/** Backends with fused quantizer kernels (their composed path is measured too, in the same run). */
const FUSED_BACKENDS = new Set(['cpu', 'wasm']);

const QUANTIZERS: readonly LayerQuantization[] = ['float', ...SHORT_NAME_LIST, 'fp', 'pow2'];

export interface QuantBenchRow {
  backend: string;
  /** `fused`: mixprec's fused kernels where the backend has them; `composed`: the tfjs ops (useFastKernels(false)). */
  path: 'fused' | 'composed';
  quantizer: string;
  elements: number;
  medianMs: number;
  elementsPerSecond: number;
  /** Throughput relative to the identity on the same backend (1 = as fast as no quantizer). */
  relativeToIdentity: number;
}

async function measure(quantization: LayerQuantization, elements: number, ctx: BenchContext): Promise<number> {
  const spec = layerQuantizerSpec(quantization, 'weight');
  const resolved = resolveSpec(spec);
  const x = tf.randomNormal([elements], 0, 0.5, 'float32', 1);
  const w = tf.randomNormal([elements], 0, 1, 'float32', 2);
  const params = resolved.params.map((name) => tf.scalar(resolved.init[name]!));
  const asParams = (ps: tf.Tensor[]): QuantizerParams => Object.fromEntries(resolved.params.map((n, i) => [n, ps[i] as tf.Scalar]));
  const gradients = tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) => tf.sum(tf.mul(quantize(xx, spec, asParams(ps)), w)));
  const timing = await timeIt(
    async () => {
      const grads = gradients([x, ...params]);
      await Promise.all(grads.map((g) => g.data()));
      tf.dispose(grads);
    },
    { budgetMs: ctx.quick ? 300 : 1500 },
  );
  tf.dispose([x, w, ...params]);
  return timing.medianMs;
}

export const quantSuite: BenchSuite<QuantBenchRow> = {
  name: 'quant',
  description: 'quantizer forward+backward throughput (elements/s) per parametrization and backend, against the identity',
  async run(ctx) {
    const elements = ctx.options.elements ?? (ctx.quick ? 2 ** 16 : 2 ** 20);
    const rows: QuantBenchRow[] = [];
    const passes = ctx.backends.flatMap(({ name }) =>
      (FUSED_BACKENDS.has(name) ? (['fused', 'composed'] as const) : (['composed'] as const)).map((path) => ({ name, path })),
    );
    const progress = useProgress(ctx, 'quant', passes.length * QUANTIZERS.length);
    let done = 0;
    try {
      for (const { name, path } of passes) {
        await ctx.switchTo(name);
        useFastKernels(path === 'fused');
        let identityMs = NaN;
        for (const q of QUANTIZERS) {
          progress.update(done++, `${name} ${path} ${q}`);
          const medianMs = await measure(q, elements, ctx);
          if (q === 'float') identityMs = medianMs;
          rows.push({
            backend: name,
            path,
            quantizer: q === 'float' ? 'identity' : q,
            elements,
            medianMs,
            elementsPerSecond: elements / (medianMs / 1000),
            relativeToIdentity: identityMs / medianMs,
          });
        }
      }
    } finally {
      useFastKernels(true);
    }
    progress.finish();
    return rows;
  },
  table(rows) {
    const label = (r: QuantBenchRow) => `${r.backend} ${r.path}`;
    const columns = [...new Set(rows.map(label))];
    const quantizers = [...new Set(rows.map((r) => r.quantizer))];
    const body = quantizers.map((q) => [
      q,
      ...columns.map((col) => {
        const r = rows.find((x) => label(x) === col && x.quantizer === q)!;
        return `${si(r.elementsPerSecond)}elem/s (${r.relativeToIdentity.toFixed(2)}×)`;
      }),
    ]);
    const elements = rows[0]?.elements ?? 0;
    return `Quantizer forward+backward, ${elements} elements, elements/s (relative to identity)\n` + formatTable(['quantizer', ...columns], body);
  },
};
