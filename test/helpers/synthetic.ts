/**
 * A small synthetic image-classification set for training tests: each class is a fixed random 8×8 pattern plus
 * noise, so a small CNN learns it within a few steps. Deterministic per (seed, epoch) like the real loader.
 */
import type { Batch, BatchSource } from '../../src/train/trainer';
import { Random } from './random';

export function syntheticSource(options: { examples: number; classes?: number; size?: number; seed?: number; noise?: number }): BatchSource {
  const { examples, classes = 4, size = 8, seed = 7, noise = 0.6 } = options;
  const pixels = size * size;
  // The class patterns are the same for every seed (train and test sets share them); the samples differ.
  const patternRandom = new Random(12345);
  const patterns = Array.from({ length: classes }, () => Float32Array.from({ length: pixels }, () => patternRandom.normal()));
  const r = new Random(seed);
  const labels = Int32Array.from({ length: examples }, () => r.int(0, classes - 1));
  const images = new Float32Array(examples * pixels);
  for (let i = 0; i < examples; i++) {
    for (let p = 0; p < pixels; p++) images[i * pixels + p] = patterns[labels[i]!]![p]! + noise * r.normal();
  }
  return {
    shape: [size, size, 1],
    numClasses: classes,
    numExamples: examples,
    async *batches(epoch, o): AsyncGenerator<Batch> {
      const order = Array.from({ length: examples }, (_, i) => i);
      if (o.shuffle) {
        const s = new Random(seed * 1000 + epoch + 1);
        for (let i = examples - 1; i > 0; i--) {
          const j = s.int(0, i);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let start = 0; start < examples; start += o.batchSize) {
        const n = Math.min(o.batchSize, examples - start);
        if (n < o.batchSize && o.dropLast) break;
        const x = new Float32Array(n * pixels);
        const y = new Int32Array(n);
        for (let k = 0; k < n; k++) {
          const i = order[start + k]!;
          x.set(images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
          y[k] = labels[i]!;
        }
        yield { x, y, size: n };
      }
    },
  };
}

/** The same source with NaN written into one example of the first batch of every epoch. */
export function poisoned(source: BatchSource): BatchSource {
  return {
    ...source,
    async *batches(epoch, o) {
      let first = true;
      for await (const b of source.batches(epoch, o)) {
        if (first) b.x[3] = Number.NaN;
        first = false;
        yield b;
      }
    },
  };
}
