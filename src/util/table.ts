/** Plain-text tables for terminals and closing notes. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => cell(c ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** 1234567 → "1.23 M", for rates. */
export function si(value: number, digits = 3): string {
  const units = ['', 'k', 'M', 'G', 'T'];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toPrecision(digits)}${units[u] ? ` ${units[u]}` : ''}`;
}
