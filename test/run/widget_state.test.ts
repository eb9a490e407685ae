/**
 * Widgets in headless runs: the collector keeps every widget model's last state in the notebook's metadata (as
 * nbclient stores it), routes what an Output widget captures into that widget's state instead of the cell, and the
 * HTML report draws widget views statically from the saved state. The same path runs for real in the notebooks e2e
 * test (06-explore through `mixprec reproduce`).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { newMessage, type JupyterMessage } from '../../src/jupyter/message';
import { OutputCollector, WIDGET_STATE_MIME } from '../../src/run/outputs';
import { outputHtml, widgetStatesOf } from '../../src/run/report';
import type { Notebook } from '../../src/run/notebook';

const cellRequest = newMessage('execute_request', {}, { session: 's' });
const msg = (type: string, content: Record<string, unknown>, buffers: Buffer[] = []): JupyterMessage =>
  newMessage(type, content, { session: 'k', parent: cellRequest, buffers });
const open = (id: string, state: Record<string, unknown>, bufferPaths: unknown[] = [], buffers: Buffer[] = []) =>
  msg('comm_open', { comm_id: id, target_name: 'jupyter.widget', data: { state, buffer_paths: bufferPaths } }, buffers);
const update = (id: string, state: Record<string, unknown>, method = 'update') =>
  msg('comm_msg', { comm_id: id, data: { method, state, buffer_paths: [] } });

describe('widget state of headless runs', () => {
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: '', metadata: {}, outputs: [] }] };
  const c = new OutputCollector(nb);
  c.begin(nb.cells[0]!);
  const layout = { _model_name: 'LayoutModel', _model_module: '@jupyter-widgets/base', _model_module_version: '2.0.0', display: null };
  c.apply(0, open('L', layout));
  c.apply(
    0,
    open('S', {
      _model_name: 'IntSliderModel',
      _model_module: '@jupyter-widgets/controls',
      _model_module_version: '2.0.0',
      value: 3,
      description: 'bits',
      layout: 'IPY_MODEL_L',
    }),
  );
  c.apply(0, open('B', { _model_name: 'BlobModel', _model_module: 'blob', _model_module_version: '1.0.0' }, [['data']], [Buffer.from([1, 2])]));
  c.apply(
    0,
    open('O', { _model_name: 'OutputModel', _model_module: '@jupyter-widgets/output', _model_module_version: '1.0.0', msg_id: '', outputs: [] }),
  );
  c.apply(
    0,
    open('V', {
      _model_name: 'VBoxModel',
      _model_module: '@jupyter-widgets/controls',
      _model_module_version: '2.0.0',
      children: ['IPY_MODEL_S', 'IPY_MODEL_O'],
    }),
  );
  c.apply(
    0,
    msg('display_data', {
      data: { 'application/vnd.jupyter.widget-view+json': { model_id: 'V', version_major: 2, version_minor: 0 }, 'text/plain': 'VBox()' },
      metadata: {},
    }),
  );
  c.apply(0, update('S', { value: 5 }));
  c.apply(0, update('S', { value: 6 }, 'echo_update'));
  // The Output captures the cell's request: its outputs go into the widget.
  c.apply(0, update('O', { msg_id: cellRequest.header.msg_id }));
  c.apply(0, msg('stream', { name: 'stdout', text: 'inside ' }));
  c.apply(0, msg('stream', { name: 'stdout', text: 'the output\n' }));
  c.apply(0, msg('clear_output', { wait: true }));
  c.apply(0, msg('display_data', { data: { 'text/html': '<i>drawn</i>', 'text/plain': 'drawn' }, metadata: {} }));
  c.apply(0, update('O', { msg_id: '' }));
  c.apply(0, msg('stream', { name: 'stdout', text: 'after\n' }));
  c.apply(0, msg('comm_close', { comm_id: 'B', data: {} }));

  const saved = (
    nb.metadata.widgets as Record<string, { version_major: number; state: Record<string, { model_name: string; state: Record<string, unknown> }> }>
  )[WIDGET_STATE_MIME]!;

  it('keeps the last state of every open model, as nbclient saves it', () => {
    assert.equal(saved.version_major, 2);
    assert.deepEqual(Object.keys(saved.state).sort(), ['L', 'O', 'S', 'V'], 'the closed model is gone');
    assert.equal(saved.state.S!.state.value, 6, 'updates and echo_updates applied');
    assert.equal(saved.state.S!.model_name, 'IntSliderModel');
  });

  it('puts what an Output widget captured into its state, not into the cell', () => {
    assert.deepEqual(saved.state.O!.state.outputs, [
      { output_type: 'display_data', data: { 'text/html': '<i>drawn</i>', 'text/plain': 'drawn' }, metadata: {} },
    ]);
    assert.deepEqual(
      nb.cells[0]!.outputs!.map((o) => o.output_type + (o.text ? `:${o.text as string}` : '')),
      ['display_data', 'stream:after\n'],
    );
  });

  it('keeps binary values as base64 buffers at their paths', () => {
    const nb2: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: '', metadata: {}, outputs: [] }] };
    const c2 = new OutputCollector(nb2);
    c2.begin(nb2.cells[0]!);
    c2.apply(0, open('B', { _model_name: 'BlobModel', _model_module: 'blob', _model_module_version: '1.0.0' }, [['data']], [Buffer.from([1, 2])]));
    const state = (nb2.metadata.widgets as Record<string, { state: Record<string, { buffers?: unknown }> }>)[WIDGET_STATE_MIME]!.state;
    assert.deepEqual(state.B!.buffers, [{ encoding: 'base64', path: ['data'], data: Buffer.from([1, 2]).toString('base64') }]);
  });

  it('draws a widget view statically from the saved state in the report', () => {
    const html = outputHtml(nb.cells[0]!.outputs![0]!, widgetStatesOf(nb));
    assert.match(html, /<div class="widget box"/);
    assert.match(html, /<span class="wlabel">bits<\/span> 6/);
    assert.match(html, /<div class="widget output"><div class="out html"><i>drawn<\/i><\/div><\/div>/);
    // Without the state (another viewer's notebook), the text fallback.
    assert.equal(outputHtml(nb.cells[0]!.outputs![0]!), '<pre class="out">VBox()</pre>');
    // A view its layout hides is left out.
    saved.state.L!.state.display = 'none';
    assert.doesNotMatch(outputHtml(nb.cells[0]!.outputs![0]!, widgetStatesOf(nb)), /bits/);
  });
});
