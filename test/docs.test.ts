/**
 * References into docs/: every `docs/<name>.md#<anchor>` written in the sources, tests, scripts, README and notebooks (and
 * every relative link inside docs/) names a file that exists and a heading (GitHub's slug of it) or explicit anchor
 * in it; and no reference to the spec document the code was first written from, which is not in the repository,
 * is left (the docs replace it).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const DOCS = path.join(ROOT, 'docs');
/** Where references may appear: trees scanned for source-like files, plus single files. */
const TREES = ['src', 'test', 'bench', 'scripts', 'bin', 'notebooks'];
const FILES = ['README.md'];
const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs', '.cjs', '.py', '.md', '.ipynb']);

interface Line {
  file: string;
  line: number;
  text: string;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : walk(full);
    return EXTENSIONS.has(path.extname(entry.name)) ? [full] : [];
  });
}

/** The lines of a file; for a notebook the lines of its cells' sources (not outputs), numbered per cell. */
function linesOf(file: string): Line[] {
  const rel = path.relative(ROOT, file);
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.ipynb')) {
    const cells = (JSON.parse(text) as { cells: { source: string | string[] }[] }).cells;
    return cells.flatMap((cell, i) => {
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      return source.split('\n').map((t, j) => ({ file: `${rel} cell ${i}`, line: j + 1, text: t }));
    });
  }
  return text.split('\n').map((t, i) => ({ file: rel, line: i + 1, text: t }));
}

function scannedFiles(): string[] {
  return [...TREES.flatMap((t) => walk(path.join(ROOT, t))), ...FILES.map((f) => path.join(ROOT, f))].sort();
}

/** GitHub's heading anchor: the rendered text lowercased, punctuation removed, each space a hyphen. */
export function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/`([^`]*)`/g, '$1') // inline code keeps its text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[*~]/g, '') // emphasis and strike-through markers
    .trim();
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown file defines: headings outside fenced code (duplicates get -1, -2, …) and `<a id|name>`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined) {
      if (fence === null) fence = marker[0]!;
      else if (marker[0] === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = githubSlug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors === undefined) {
    anchors = anchorsOf(fs.readFileSync(file, 'utf8'));
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** A reference's problem, or null when its file and anchor exist. */
function problem(target: string, anchor: string | undefined): string | null {
  if (!fs.existsSync(target)) return `no file ${path.relative(ROOT, target)}`;
  if (anchor === undefined || anchor === '') return null;
  return anchorsOfFile(target).has(anchor) ? null : `no heading or anchor #${anchor} in ${path.relative(ROOT, target)}`;
}

/** `docs/<name>.md` with an optional `#<anchor>`, as written in comments, strings, test names and links. */
const DOC_REFERENCE = /\bdocs\/([\w.-]+\.md)(?:#([\w-]+))?/g;

describe('references into docs/', () => {
  it('the docs exist and the README links the method document', () => {
    assert.ok(fs.existsSync(path.join(DOCS, 'METHOD.md')), 'docs/METHOD.md is missing');
    assert.match(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /\]\(docs\/METHOD\.md[#)]/, 'README.md does not link docs/METHOD.md');
  });

  it('every docs/….md#anchor in src, test, bench, scripts, bin, notebooks and the README resolves', () => {
    const bad: string[] = [];
    let count = 0;
    for (const file of scannedFiles()) {
      for (const { file: where, line, text } of linesOf(file)) {
        for (const m of text.matchAll(DOC_REFERENCE)) {
          count++;
          const why = problem(path.join(DOCS, m[1]!), m[2]);
          if (why !== null) bad.push(`${where}:${line}: ${m[0]}: ${why}`);
        }
      }
    }
    assert.ok(count > 0, 'no references into docs/ found: the scan is broken');
    assert.deepEqual(bad, []);
  });

  it('every relative link inside docs/ resolves', () => {
    const bad: string[] = [];
    for (const file of walk(DOCS).filter((f) => f.endsWith('.md'))) {
      for (const { file: where, line, text } of linesOf(file)) {
        for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
          const link = m[1]!;
          if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, mailto:, …
          const [target, anchor] = link.split('#', 2) as [string, string | undefined];
          const why = problem(target === '' ? file : path.resolve(path.dirname(file), target), anchor);
          if (why !== null) bad.push(`${where}:${line}: ${link}: ${why}`);
        }
      }
    }
    assert.deepEqual(bad, []);
  });

  it('nothing refers to the spec document that is not in the repository', () => {
    // The character class keeps this file itself out of a plain-text search for the old name.
    const old = /\bS[P]EC\b/;
    const left = scannedFiles().flatMap((file) =>
      linesOf(file)
        .filter((l) => old.test(l.text))
        .map((l) => `${l.file}:${l.line}: ${l.text.trim()}`),
    );
    assert.deepEqual(left, [], 'point these at docs/METHOD.md or docs/EXPERIMENTS.md instead');
  });
});

describe('GitHub heading slugs', () => {
  it('follow GitHub: lowercase, punctuation dropped, spaces to hyphens, duplicates numbered', () => {
    assert.equal(githubSlug('Uniform gradients'), 'uniform-gradients');
    assert.equal(githubSlug('ResNet-20 sizes'), 'resnet-20-sizes');
    assert.equal(githubSlug("The paper's `round` (eq. 1)"), 'the-papers-round-eq-1');
    assert.equal(githubSlug('Why U3 and P3?'), 'why-u3-and-p3');
    assert.equal(githubSlug('[Link](x) and *emphasis*'), 'link-and-emphasis');
    assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n## B <a id="custom"></a>\n')].sort(), ['a', 'a-1', 'b', 'custom']);
  });
});
