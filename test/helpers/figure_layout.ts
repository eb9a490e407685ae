/**
 * Layout checks on rendered figures (the SVG that vega's headless View writes, the one the notebooks embed as
 * image/svg+xml and the report as <img>): the figure's size from its <svg> width/height/viewBox, and approximate
 * bounding boxes of every visible <text>, to tell whether two texts overlap.
 *
 * The approximation (no browser or font engine involved, so it is deterministic and cheap):
 * - position: the <text>'s transform (vega writes `translate(x,y)` and optionally `rotate(a)` and another
 *   `translate`), composed with every enclosing <g transform="translate(…)">; vega puts the alphabetic baseline at y
 *   (it bakes `baseline` into the translate: vega-scenegraph util/text.js `offset`);
 * - height: ascent 0.79 em above the baseline, descent 0.21 em below (vega's own offsets for top/bottom baselines);
 * - width: the sum of DejaVu Sans advance widths (Book, or Bold for font-weight bold) of the characters
 *   (src/plot/layout.ts `textWidth`, read from DejaVuSans.ttf), the font that Debian's Chromium and resvg (our PNGs)
 *   use for `sans-serif`; DejaVu Sans is wider than Arial, Helvetica and Liberation Sans, so the boxes are at least as
 *   large as in those. Characters outside ASCII count 0.84 em (the widest DejaVu glyphs we use: arrows, ×, −). The
 *   renderer lays text out with the same widths (render.ts), and the Chromium screenshots of issue 11 showed them
 *   to hold;
 * - horizontal anchor from text-anchor (start/middle/end); rotated labels are oriented boxes, compared with the
 *   separating-axis test (no axis-aligned inflation of rotated labels);
 * - texts with opacity 0 (labels vega's overlap removal hid, empty minor-tick labels) are skipped.
 * Two boxes overlap when they intersect by more than `tolerance` px along every separating axis.
 */
import { textWidth } from '../../src/plot/layout';

export { textWidth };

/** The figure's size: the <svg> element's width and height attributes, and its viewBox (vega writes all three). */
export function svgSize(svg: string): { width: number; height: number; viewBox: [number, number, number, number] | null } {
  const tag = /<svg\b[^>]*>/.exec(svg)?.[0];
  if (!tag) throw new Error('no <svg> element');
  const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  const vb = attr('viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number);
  return {
    width: Number(attr('width')),
    height: Number(attr('height')),
    viewBox: vb && vb.length === 4 ? (vb as [number, number, number, number]) : null,
  };
}

type Point = [number, number];

/** A text's approximate box: its four corners in figure coordinates (an oriented rectangle). */
export interface TextBox {
  text: string;
  fontSize: number;
  corners: [Point, Point, Point, Point];
}

const decode = (s: string) =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

const attrOf = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/** The transform list of an element as functions on points, applied right to left as SVG does. */
function transformOf(value: string | undefined): (p: Point) => Point {
  const ops: ((p: Point) => Point)[] = [];
  for (const m of (value ?? '').matchAll(/(translate|rotate|scale)\(([^)]*)\)/g)) {
    const args = m[2]!
      .trim()
      .split(/[\s,]+/)
      .map(Number);
    if (m[1] === 'translate') {
      const [tx = 0, ty = 0] = args;
      ops.push(([x, y]) => [x + tx, y + ty]);
    } else if (m[1] === 'rotate') {
      const a = ((args[0] ?? 0) * Math.PI) / 180;
      const [cx = 0, cy = 0] = args.slice(1);
      ops.push(([x, y]) => [cx + (x - cx) * Math.cos(a) - (y - cy) * Math.sin(a), cy + (x - cx) * Math.sin(a) + (y - cy) * Math.cos(a)]);
    } else {
      const [sx = 1, sy = sx] = args;
      ops.push(([x, y]) => [x * sx, y * sy]);
    }
  }
  return (p) => ops.reduceRight((q, op) => op(q), p);
}

/** Approximate boxes of every visible <text> of a vega SVG (see the module comment). */
export function textBoxes(svg: string): TextBox[] {
  const boxes: TextBox[] = [];
  // The stack of enclosing <g> transforms (as point maps) and opacities.
  const stack: { map: (p: Point) => Point; hidden: boolean }[] = [{ map: (p) => p, hidden: false }];
  const tags = /<(\/?)(g|text|svg)\b((?:[^>"]|"[^"]*")*?)(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = tags.exec(svg))) {
    const [, closing, name, attrs, selfClosing] = m as unknown as [string, string, string, string, string];
    const top = stack[stack.length - 1]!;
    if (name === 'g' || name === 'svg') {
      if (closing) stack.pop();
      else if (!selfClosing) {
        const own = transformOf(attrOf(` ${attrs}`, 'transform'));
        const opacity = attrOf(` ${attrs}`, 'opacity');
        stack.push({ map: (p) => top.map(own(p)), hidden: top.hidden || opacity === '0' });
      }
      continue;
    }
    if (closing || selfClosing) continue; // </text>, or an empty <text/>
    const end = svg.indexOf('</text>', tags.lastIndex);
    const content = decode(svg.slice(tags.lastIndex, end));
    tags.lastIndex = end + '</text>'.length;
    const tag = ` ${attrs}`;
    if (top.hidden || attrOf(tag, 'opacity') === '0' || attrOf(tag, 'fill-opacity') === '0' || content.trim() === '') continue;
    const fontSize = parseFloat(attrOf(tag, 'font-size') ?? '11');
    const bold = /bold|[6-9]00/.test(attrOf(tag, 'font-weight') ?? '');
    const w = textWidth(content, fontSize, bold);
    const anchor = attrOf(tag, 'text-anchor') ?? 'start';
    const x0 = anchor === 'middle' ? -w / 2 : anchor === 'end' ? -w : 0;
    const y0 = -0.79 * fontSize;
    const y1 = 0.21 * fontSize;
    const local = transformOf(attrOf(tag, 'transform'));
    const at = (p: Point) => top.map(local(p));
    boxes.push({ text: content, fontSize, corners: [at([x0, y0]), at([x0 + w, y0]), at([x0 + w, y1]), at([x0, y1])] });
  }
  return boxes;
}

/** Whether two oriented boxes intersect by more than `tolerance` px (separating-axis test). */
export function boxesOverlap(a: TextBox, b: TextBox, tolerance = 0.5): boolean {
  for (const box of [a, b]) {
    for (let i = 0; i < 2; i++) {
      const p = box.corners[i]!;
      const q = box.corners[i + 1]!;
      const len = Math.hypot(q[0] - p[0], q[1] - p[1]) || 1;
      const axis: Point = [(q[0] - p[0]) / len, (q[1] - p[1]) / len];
      const project = (c: TextBox) => c.corners.map(([x, y]) => x * axis[0] + y * axis[1]);
      const pa = project(a);
      const pb = project(b);
      const overlap = Math.min(Math.max(...pa), Math.max(...pb)) - Math.max(Math.min(...pa), Math.min(...pb));
      if (overlap <= tolerance) return false;
    }
  }
  return true;
}

/** Every pair of overlapping texts, as "a" × "b" descriptions. */
export function overlappingTexts(svg: string, tolerance = 0.5): string[] {
  const boxes = textBoxes(svg);
  const found: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (boxesOverlap(boxes[i]!, boxes[j]!, tolerance)) found.push(`"${boxes[i]!.text}" × "${boxes[j]!.text}"`);
    }
  }
  return found;
}
