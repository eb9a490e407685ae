/** The HTML report: self-contained (nothing fetched), plots from their fallbacks, text escaped, markdown rendered. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { notebooksHtml, outputHtml } from '../../src/run/report';
import type { Notebook } from '../../src/run/notebook';

const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';

const nb: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'mixprec' } },
  cells: [
    { cell_type: 'markdown', source: '# Title\n\nSome **bold** and a <script>alert(1)</script>', metadata: {} },
    {
      cell_type: 'code',
      source: 'const a = 1 < 2;',
      metadata: {},
      execution_count: 3,
      outputs: [
        { output_type: 'stream', name: 'stdout', text: 'x < y & z\n\x1b[31mred\x1b[0m' },
        {
          output_type: 'display_data',
          data: { 'application/vnd.vegalite.v5+json': {}, 'image/svg+xml': svg, 'image/png': 'iVBORw0KGgo=', 'text/plain': '<plot>' },
          metadata: {},
        },
        { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': '<png>' }, metadata: {} },
        { output_type: 'display_data', data: { 'text/markdown': '| a |\n|---|\n| 1 |', 'text/plain': 'a' }, metadata: {} },
        { output_type: 'error', ename: 'Error', evalue: 'boom', traceback: ['\x1b[31mError: boom\x1b[0m', '    at <cell>'] },
      ],
    },
  ],
};

describe('notebook report', () => {
  const html = notebooksHtml([{ name: '01-x', title: 'X & Y', notebook: nb, href: '01-x.ipynb', status: 'failed', durationSec: 12.4 }]);

  it('is one self-contained page', () => {
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'nothing is fetched');
    assert.doesNotMatch(html, /<script/i, 'no scripts (raw HTML in markdown is escaped)');
    assert.match(
      html,
      /<a href="#01-x">01-x<\/a><\/td><td>X &amp; Y<\/td><td class="status-failed">failed<\/td><td style="text-align:right">12 s<\/td>/,
    );
  });

  it('shows plots from their SVG (preferred) or PNG fallbacks as data URIs', () => {
    assert.ok(html.includes(`src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"`));
    assert.ok(html.includes('src="data:image/png;base64,iVBORw0KGgo="'));
    assert.equal(html.match(/<img /g)?.length, 2, 'the vega-lite output shows once, from its SVG');
  });

  it('escapes text, strips ANSI colours and renders markdown', () => {
    assert.match(html, /<pre class="out stdout">x &lt; y &amp; z\nred<\/pre>/);
    assert.match(html, /<pre class="out error">Error: boom\n {4}at &lt;cell&gt;<\/pre>/);
    assert.match(html, /<h1>Title<\/h1>/);
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<table>[\s\S]*<td>1<\/td>/);
    assert.match(html, /<summary>code \[3\]<\/summary><pre class="code"><code>const a = 1 &lt; 2;<\/code><\/pre>/);
  });

  it('prefers rich static representations in a fixed order', () => {
    assert.match(
      outputHtml({ output_type: 'execute_result', data: { 'text/html': '<b>t</b>', 'text/plain': 't' } }),
      /<div class="out html"><b>t<\/b><\/div>/,
    );
    assert.match(outputHtml({ output_type: 'execute_result', data: { 'text/plain': ['a', 'b'] } }), /<pre class="out">ab<\/pre>/);
    assert.equal(outputHtml({ output_type: 'display_data', data: {} }), '');
  });
});
