/**
 * Layout helpers for the spec builders, computed from the data before Vega-Lite sees it (so the result is the same
 * in every renderer: our SVG/PNG, JupyterLab's vega-embed, the HTML report): text widths, which points would squeeze
 * an axis, and label placement that avoids collisions.
 */

/** DejaVu Sans advance widths in em for the printable ASCII characters 32 (space) … 126 (~), from DejaVuSans.ttf. */
const BOOK = [
  0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361, 0.318, 0.337, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636,
  0.636, 0.636, 0.636, 0.636, 0.337, 0.337, 0.838, 0.838, 0.838, 0.531, 1.0, 0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295,
  0.656, 0.557, 0.863, 0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337, 0.39, 0.838, 0.5, 0.5,
  0.613, 0.635, 0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634,
  0.592, 0.818, 0.592, 0.592, 0.525, 0.636, 0.337, 0.636, 0.838,
];
/** The same for DejaVuSans-Bold.ttf. */
const BOLD = [
  0.348, 0.456, 0.521, 0.838, 0.696, 1.002, 0.872, 0.306, 0.457, 0.457, 0.523, 0.838, 0.38, 0.415, 0.38, 0.365, 0.696, 0.696, 0.696, 0.696, 0.696,
  0.696, 0.696, 0.696, 0.696, 0.696, 0.4, 0.4, 0.838, 0.838, 0.838, 0.58, 1.0, 0.774, 0.762, 0.734, 0.83, 0.683, 0.683, 0.821, 0.837, 0.372, 0.372,
  0.775, 0.637, 0.995, 0.837, 0.85, 0.733, 0.85, 0.77, 0.72, 0.682, 0.812, 0.774, 1.103, 0.771, 0.724, 0.725, 0.457, 0.365, 0.457, 0.838, 0.5, 0.5,
  0.675, 0.716, 0.593, 0.716, 0.678, 0.435, 0.716, 0.712, 0.343, 0.343, 0.665, 0.343, 1.042, 0.712, 0.687, 0.716, 0.716, 0.493, 0.595, 0.478, 0.712,
  0.652, 0.924, 0.645, 0.652, 0.582, 0.712, 0.365, 0.712, 0.838,
];
/** Characters outside ASCII (α, θ, arrows, ×, −): the widest DejaVu glyphs we use. */
const OTHER_EM = 0.84;

/**
 * Width in px of `text` at `fontSize` px in DejaVu Sans, the font Debian's Chromium and resvg pick for `sans-serif`
 * (and wider than Arial, Helvetica and Liberation Sans, so an upper bound for those).
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : BOOK;
  let em = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    em += c >= 32 && c <= 126 ? table[c - 32]! : OTHER_EM;
  }
  return em * fontSize;
}

/**
 * Which values would squeeze the rest of an axis. The top k values (k = 1, 2, …, the fewest that work) are outliers
 * when the gap below them is more than twice the span of the values left (taken as at least `minSpan`, for values
 * that nearly coincide), i.e. when drawing them would leave the others under a third of the axis; the same for the
 * bottom, and again on what is left. At most half the values are outliers (two diverged runs of four are not "the
 * rest"), and none with fewer than three values. With `baseline` (a bar chart's zero), spans are measured from it
 * and only the top is checked: bars must start there. Returns the outliers' indices.
 */
export function squeezingOutliers(values: readonly number[], minSpan: number, baseline?: number): Set<number> {
  const order = values
    .map((v, i) => [v, i] as const)
    .filter(([v]) => Number.isFinite(v))
    .sort((a, b) => a[0] - b[0]);
  const out = new Set<number>();
  if (order.length < 3) return out;
  const v = (k: number) => order[k]![0];
  let lo = 0;
  let hi = order.length - 1;
  let budget = Math.floor(order.length / 2);
  while (budget > 0 && hi - lo + 1 > 2) {
    // The fewest top (bottom) values set apart from the rest by a gap of more than twice the rest's span.
    let top: { k: number; gap: number } | null = null;
    let bottom: { k: number; gap: number } | null = null;
    for (let k = 1; k <= budget && hi - lo + 1 - k >= 2; k++) {
      const gapTop = v(hi - k + 1) - v(hi - k);
      if (!top && gapTop > 2 * Math.max(v(hi - k) - (baseline ?? v(lo)), minSpan)) top = { k, gap: gapTop };
      const gapBottom = v(lo + k) - v(lo + k - 1);
      if (!bottom && baseline === undefined && gapBottom > 2 * Math.max(v(hi) - v(lo + k), minSpan)) bottom = { k, gap: gapBottom };
    }
    if (!top && !bottom) break;
    // The wider gap first, so that one far point does not make a near one look like an outlier too.
    if (top && (!bottom || top.gap >= bottom.gap)) {
      for (let j = 0; j < top.k; j++) out.add(order[hi--]![1]);
      budget -= top.k;
    } else {
      for (let j = 0; j < bottom!.k; j++) out.add(order[lo++]![1]);
      budget -= bottom!.k;
    }
  }
  return out;
}

/** A rectangle in px (x right, y down). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const intersects = (a: Box, b: Box, gap: number) => a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;

/** Where a label went: its box, the text alignment at `anchorX`, and whether it is away from its point (draw a leader). */
export interface PlacedLabel {
  box: Box;
  align: 'left' | 'right' | 'center';
  anchorX: number;
  centerY: number;
  leader: boolean;
}

/**
 * Greedy label placement without collisions: for each point (in the given order) the first of right, left, above,
 * below, then right and left at growing vertical offsets (with a leader line back to the point) whose box stays in
 * the plot [0, width] × [0, height] and touches neither a label already placed, nor any point's marker, nor one of
 * the `obstacles` (lines drawn in the plot). A label with no free place at all is left out (null); the point keeps
 * its tooltip.
 */
export function placeLabels(
  points: readonly { x: number; y: number; text: string }[],
  o: { width: number; height: number; fontSize: number; markerRadius: number; gap?: number; obstacles?: readonly Box[] },
): (PlacedLabel | null)[] {
  const gap = o.gap ?? 1;
  const h = Math.ceil(o.fontSize * 1.15);
  const r = o.markerRadius;
  const markers: Box[] = [...points.map((p) => ({ x: p.x - r, y: p.y - r, w: 2 * r, h: 2 * r })), ...(o.obstacles ?? [])];
  const placed: Box[] = [];
  const inside = (b: Box) => b.x >= 0 && b.y >= 0 && b.x + b.w <= o.width && b.y + b.h <= o.height;
  const free = (b: Box) => inside(b) && !placed.some((p) => intersects(p, b, gap)) && !markers.some((m) => intersects(m, b, 0));
  return points.map((p) => {
    const w = Math.ceil(textWidth(p.text, o.fontSize));
    const d = r + 3;
    const right = (dy: number): PlacedLabel => ({
      box: { x: p.x + d, y: p.y + dy - h / 2, w, h },
      align: 'left',
      anchorX: p.x + d,
      centerY: p.y + dy,
      leader: dy !== 0,
    });
    const left = (dy: number): PlacedLabel => ({
      box: { x: p.x - d - w, y: p.y + dy - h / 2, w, h },
      align: 'right',
      anchorX: p.x - d,
      centerY: p.y + dy,
      leader: dy !== 0,
    });
    const candidates: PlacedLabel[] = [
      right(0),
      left(0),
      { box: { x: p.x - w / 2, y: p.y - d - h, w, h }, align: 'center', anchorX: p.x, centerY: p.y - d - h / 2, leader: false },
      { box: { x: p.x - w / 2, y: p.y + d, w, h }, align: 'center', anchorX: p.x, centerY: p.y + d + h / 2, leader: false },
    ];
    for (let k = 1; k * (h + gap) <= o.height; k++) {
      for (const dy of [-k * (h + gap), k * (h + gap)]) candidates.push(right(dy), left(dy));
    }
    const chosen = candidates.find((c) => free(c.box)) ?? null;
    if (chosen) placed.push(chosen.box);
    return chosen;
  });
}
