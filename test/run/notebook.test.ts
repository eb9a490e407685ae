/** Notebook files: one clear error per kind of bad input; written byte for byte as Debian's nbformat writes them. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotebookError, parseNotebook, readNotebookFile, serializeNotebook, writeNotebookFile } from '../../src/run/notebook';
import { OutputCollector } from '../../src/run/outputs';
import { newMessage, type JupyterMessage } from '../../src/jupyter/message';
import { missingPython, PYTHON } from '../helpers/jupyter';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-nb-'));

describe('reading notebooks', () => {
  const dir = tmp();
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const cases: [string, () => unknown, RegExp][] = [
    ['missing file', () => readNotebookFile(path.join(dir, 'nope.ipynb')), /nope\.ipynb: no such file/],
    ['a folder', () => readNotebookFile(dir), /is a folder, not a notebook/],
    [
      'invalid JSON',
      () => readNotebookFile(file('bad.ipynb', '{\n "cells": [\n  {"cell_type": "code",}\n ]\n}')),
      /bad\.ipynb: not valid JSON \(.* at line 3 column \d+\)/,
    ],
    [
      'JSON that is a list',
      () => readNotebookFile(file('list.ipynb', '[1, 2]')),
      /list\.ipynb: not a Jupyter notebook \(the JSON is not an object\)/,
    ],
    [
      'an object without nbformat',
      () => readNotebookFile(file('obj.ipynb', '{"cells": []}')),
      /obj\.ipynb: not a Jupyter notebook \(no "nbformat" field\)/,
    ],
    [
      'nbformat 3',
      () => readNotebookFile(file('v3.ipynb', JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }))),
      /v3\.ipynb: nbformat 3 is not supported, only nbformat 4; convert it with `jupyter nbconvert --to notebook --nbformat 4`/,
    ],
    ['cells not a list', () => readNotebookFile(file('cells.ipynb', '{"nbformat": 4, "cells": {}}')), /"cells" is not a list/],
    [
      'an unknown cell type',
      () =>
        readNotebookFile(
          file(
            'type.ipynb',
            JSON.stringify({
              nbformat: 4,
              nbformat_minor: 5,
              metadata: {},
              cells: [
                { cell_type: 'markdown', source: '' },
                { cell_type: 'heading', source: '' },
              ],
            }),
          ),
        ),
      /type\.ipynb: cell 2: unknown cell_type "heading"/,
    ],
    [
      'a bad source',
      () =>
        readNotebookFile(
          file('src.ipynb', JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: 3 }] })),
        ),
      /cell 1: "source" must be a string or a list of strings/,
    ],
    [
      'bad tags',
      () =>
        readNotebookFile(
          file(
            'tags.ipynb',
            JSON.stringify({
              nbformat: 4,
              nbformat_minor: 5,
              metadata: {},
              cells: [{ cell_type: 'code', source: '', metadata: { tags: 'parameters' } }],
            }),
          ),
        ),
      /cell 1: metadata.tags must be a list of strings/,
    ],
  ];
  for (const [what, read, message] of cases) {
    it(`rejects ${what} with one NotebookError`, () => {
      assert.throws(read, (err: Error) => err instanceof NotebookError && message.test(err.message) && !err.message.includes('\n'));
    });
  }

  it('joins multi-line strings and keeps unknown fields', () => {
    const nb = parseNotebook(
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 4,
        metadata: { custom: 1 },
        cells: [
          {
            cell_type: 'code',
            source: ['a\n', 'b'],
            metadata: {},
            outputs: [{ output_type: 'stream', name: 'stdout', text: ['x\n', 'y'] }],
            execution_count: 3,
          },
        ],
      }),
    );
    assert.equal(nb.cells[0]!.source, 'a\nb');
    assert.equal(nb.cells[0]!.outputs![0]!.text, 'x\ny');
    assert.deepEqual(nb.metadata, { custom: 1 });
  });
});

describe('writing notebooks', () => {
  const nb = parseNotebook(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'mixprec', display_name: 'TS', language: 'typescript' }, zeta: [1, 2.5, 'é'] },
      cells: [
        { cell_type: 'markdown', id: 'md1', metadata: {}, source: '# Title\n\nünïcode ✓' },
        {
          cell_type: 'code',
          id: 'c1',
          metadata: { tags: ['parameters'] },
          execution_count: 1,
          source: 'const a = 1;\nconst b = "x";\n',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: 'one\ntwo\n' },
            {
              output_type: 'display_data',
              metadata: { 'image/png': { width: 2 } },
              data: {
                'text/plain': 'line1\nline2',
                'application/json': { b: 1, a: [1, 2] },
                'application/vnd.vegalite.v5+json': { mark: 'bar' },
                'image/png': 'iVBORw0KGgo=',
              },
            },
            { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': '42' } },
            { output_type: 'error', ename: 'Error', evalue: 'boom', traceback: ['\u001b[31mError\u001b[0m: boom', '    at <cell>'] },
          ],
        },
        { cell_type: 'raw', id: 'r1', metadata: {}, source: '' },
      ],
    }),
  );

  it('writes what nbformat.writes writes, byte for byte', (t) => {
    const why = missingPython('nbformat', 'python3-nbformat');
    if (why) return t.skip(why);
    const dir = tmp();
    const file = path.join(dir, 'out.ipynb');
    writeNotebookFile(file, nb);
    const r = spawnSync(
      PYTHON,
      [
        '-c',
        'import nbformat, sys; nb = nbformat.read(sys.argv[1], as_version=4); nbformat.validate(nb); sys.stdout.write(nbformat.writes(nb) + "\\n")',
        file,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), r.stdout);
    assert.deepEqual(readNotebookFile(file), nb);
  });

  it('adds cell ids for nbformat 4.5 and leaves them out before it', () => {
    const copy = structuredClone(nb);
    for (const c of copy.cells) delete c.id;
    const v45 = JSON.parse(serializeNotebook(copy)) as { cells: { id?: string }[] };
    assert.ok(v45.cells.every((c) => /^[0-9a-f]{8}$/.test(c.id!)));
    copy.nbformat_minor = 4;
    const v44 = JSON.parse(serializeNotebook(copy)) as { cells: { id?: string }[] };
    assert.ok(v44.cells.every((c) => c.id === undefined));
  });

  it('never leaves a half-written file: the old content stays when writing fails', () => {
    const dir = tmp();
    const file = path.join(dir, 'nb.ipynb');
    writeNotebookFile(file, nb);
    const before = fs.readFileSync(file, 'utf8');
    const circular = structuredClone(nb) as unknown as Record<string, unknown>;
    (circular.metadata as Record<string, unknown>).self = circular;
    assert.throws(() => writeNotebookFile(file, circular as never));
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    assert.deepEqual(fs.readdirSync(dir), ['nb.ipynb']);
  });
});

describe('outputs from IOPub messages (nbclient semantics)', () => {
  const msg = (type: string, content: Record<string, unknown>): JupyterMessage => newMessage(type, content, { session: 's', identities: [] });
  const notebook = () =>
    parseNotebook(
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [0, 1].map(() => ({
          cell_type: 'code',
          source: 'x',
          metadata: {},
          outputs: [{ output_type: 'stream', name: 'stdout', text: 'old' }],
        })),
      }),
    );

  it('merges consecutive stream chunks of one stream only, and takes the execution count from execute_input', () => {
    const nb = notebook();
    const c = new OutputCollector(nb);
    c.begin(nb.cells[0]!);
    c.apply(0, msg('execute_input', { code: 'x', execution_count: 7 }));
    for (const [name, text] of [
      ['stdout', 'a'],
      ['stdout', 'b\n'],
      ['stderr', 'e'],
      ['stdout', 'c'],
    ])
      c.apply(0, msg('stream', { name, text }));
    assert.equal(nb.cells[0]!.execution_count, 7);
    assert.deepEqual(
      nb.cells[0]!.outputs!.map((o) => [o.name, o.text]),
      [
        ['stdout', 'ab\n'],
        ['stderr', 'e'],
        ['stdout', 'c'],
      ],
    );
  });

  it('clears at once, or before the next output with wait=true', () => {
    const nb = notebook();
    const c = new OutputCollector(nb);
    c.begin(nb.cells[0]!);
    c.apply(0, msg('stream', { name: 'stdout', text: '1' }));
    c.apply(0, msg('clear_output', { wait: true }));
    assert.equal(nb.cells[0]!.outputs!.length, 1);
    c.apply(0, msg('stream', { name: 'stdout', text: '2' }));
    assert.deepEqual(
      nb.cells[0]!.outputs!.map((o) => o.text),
      ['2'],
    );
    c.apply(0, msg('clear_output', { wait: false }));
    assert.deepEqual(nb.cells[0]!.outputs, []);
  });

  it('rewrites every output with a display id, in earlier cells too, and ignores updates of unknown ids', () => {
    const nb = notebook();
    const c = new OutputCollector(nb);
    const shown = (text: string, id?: string) => ({ data: { 'text/plain': text }, metadata: {}, ...(id ? { transient: { display_id: id } } : {}) });
    c.begin(nb.cells[0]!);
    c.apply(0, msg('display_data', shown('first', 'd1')));
    c.apply(0, msg('display_data', shown('other')));
    c.begin(nb.cells[1]!);
    c.apply(1, msg('display_data', shown('again', 'd1')));
    c.apply(1, msg('update_display_data', shown('updated', 'd1')));
    c.apply(1, msg('update_display_data', shown('nobody', 'd2')));
    c.apply(1, msg('comm_open', { comm_id: 'x', target_name: 't', data: {} }));
    const texts = (i: number) => nb.cells[i]!.outputs!.map((o) => (o.data as Record<string, string>)['text/plain']);
    assert.deepEqual(texts(0), ['updated', 'other']);
    assert.deepEqual(texts(1), ['updated']);
    assert.ok(nb.cells[1]!.outputs!.every((o) => o.output_type === 'display_data' && !('transient' in o)));
  });
});
