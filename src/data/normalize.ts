/** Pixel normalisation, as a per-channel lookup table from uint8 to float32. */

/**
 * - `pm1`: (x/255 − 0.5)·2 ∈ [−1, 1], computed in float32 step by step as the official code does (numpy float32);
 * - `unit`: x/255 ∈ [0, 1];
 * - `{ mean, std }`: (x − mean[c]) / std[c] per channel, on the 0–255 scale (e.g. CIFAR-10's
 *   mean [125.3, 123.0, 113.9], std [63.0, 62.1, 66.7]).
 */
export type Normalization = 'pm1' | 'unit' | { mean: readonly number[]; std: readonly number[] };

/** Throws unless `normalize` is usable for images with `channels` channels. */
export function validateNormalization(normalize: Normalization, channels: number): void {
  if (normalize === 'pm1' || normalize === 'unit') return;
  if (typeof normalize !== 'object' || normalize === null || !Array.isArray(normalize.mean) || !Array.isArray(normalize.std)) {
    throw new TypeError(`normalize must be 'pm1', 'unit' or { mean, std }, got ${JSON.stringify(normalize)}`);
  }
  for (const key of ['mean', 'std'] as const) {
    const values = normalize[key];
    if (values.length !== channels) throw new RangeError(`normalize.${key} has ${values.length} values, the images have ${channels} channels`);
    if (!values.every((v) => Number.isFinite(v))) throw new RangeError(`normalize.${key} must be finite numbers, got ${JSON.stringify(values)}`);
  }
  if (!normalize.std.every((s) => s > 0)) throw new RangeError(`normalize.std must be positive, got ${JSON.stringify(normalize.std)}`);
}

/** `table[v·channels + c]` = the normalised value of pixel value v in channel c. */
export function normalizationTable(normalize: Normalization, channels: number): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(256 * channels);
  for (let v = 0; v < 256; v++) {
    for (let c = 0; c < channels; c++) {
      table[v * channels + c] =
        normalize === 'pm1' ? f(f(f(v / 255) - 0.5) * 2) : normalize === 'unit' ? f(v / 255) : f((v - normalize.mean[c]!) / normalize.std[c]!);
    }
  }
  return table;
}
