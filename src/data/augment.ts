/**
 * The CIFAR augmentation of the official code (cifar_data.py `augmented_shift` + `augmented_flip`): zero-pad 4 pixels
 * on each side, take a random H×W window (offsets 0–8 per axis), mirror it horizontally with probability ½. As
 * there, padding happens after normalisation, so the border is 0 in normalised units. Draws are keyed by
 * (seed, epoch, row): an example's augmentation depends on nothing else.
 */
import { hashWords, mulberry32, STREAMS } from './random';

export const AUGMENT_PAD = 4;

export interface Augmentation {
  /** Window offset into the padded image, 0 ≤ dy, dx ≤ 2·AUGMENT_PAD. */
  dy: number;
  dx: number;
  flip: boolean;
}

/** The augmentation of split row `row` in `epoch`. */
export function augmentationFor(seed: number, epoch: number, row: number): Augmentation {
  const random = mulberry32(hashWords(seed, epoch, STREAMS.augment, row));
  const span = 2 * AUGMENT_PAD + 1;
  const dy = Math.floor(random() * span);
  const dx = Math.floor(random() * span);
  return { dy, dx, flip: random() < 0.5 };
}

/**
 * Writes one normalised image to `out` at `outOffset`: `src` (HWC uint8 at `srcOffset`) through the lookup `table`
 * (see normalize.ts), shifted and mirrored by `aug` when given.
 */
export function writeImage(
  out: Float32Array,
  outOffset: number,
  src: Uint8Array,
  srcOffset: number,
  shape: readonly [number, number, number],
  table: Float32Array,
  aug: Augmentation | null,
): void {
  const [H, W, C] = shape;
  if (aug === null) {
    for (let i = 0, n = H * W * C; i < n;) {
      for (let c = 0; c < C; c++, i++) out[outOffset + i] = table[src[srcOffset + i]! * C + c]!;
    }
    return;
  }
  let o = outOffset;
  for (let y = 0; y < H; y++) {
    const sy = y + aug.dy - AUGMENT_PAD;
    const rowInside = sy >= 0 && sy < H;
    for (let x = 0; x < W; x++) {
      const sx = (aug.flip ? W - 1 - x : x) + aug.dx - AUGMENT_PAD;
      if (rowInside && sx >= 0 && sx < W) {
        const s = srcOffset + (sy * W + sx) * C;
        for (let c = 0; c < C; c++) out[o++] = table[src[s + c]! * C + c]!;
      } else {
        for (let c = 0; c < C; c++) out[o++] = 0;
      }
    }
  }
}
