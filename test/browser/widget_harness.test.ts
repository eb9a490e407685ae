/**
 * Self-check of the widget browser harness (test/helpers/widget_browser.ts) against a real kernel: Debian's
 * ipykernel under Debian's classic notebook server, with headless Chromium running the ipywidgets 8 manager.
 *
 * Debian's ipywidgets (6.0) is too old for protocol 2.1, so the Python cell speaks the widget protocol by hand: it
 * opens `jupyter.widget` comms (protocol version 2.1.0) for a LayoutModel, a SliderStyleModel and an IntSliderModel
 * of @jupyter-widgets/controls 2.0.0 with their full state, records the frontend's messages, and displays the
 * slider's view. The browser shows it; keyboard and mouse move it; the kernel sees the new values; an update from
 * the kernel moves it back. Screenshots go to test-artifacts/widgets/.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  missingWidgetTools,
  openWidgetPage,
  pythonKernelspec,
  startNotebookServer,
  waitUntil,
  type NotebookServer,
  type WidgetPage,
} from '../helpers/widget_browser';

const missing = missingWidgetTools();
const KERNEL = 'harness-python';

// The full serialized state of each model, as ipywidgets 8 sends it (the widget spec's attributes and defaults).
const LAYOUT_STATE: Record<string, unknown> = {
  _model_module: '@jupyter-widgets/base',
  _model_module_version: '2.0.0',
  _model_name: 'LayoutModel',
  _view_module: '@jupyter-widgets/base',
  _view_module_version: '2.0.0',
  _view_name: 'LayoutView',
  ...Object.fromEntries(
    [
      'align_content',
      'align_items',
      'align_self',
      'border_bottom',
      'border_left',
      'border_right',
      'border_top',
      'bottom',
      'display',
      'flex',
      'flex_flow',
      'grid_area',
      'grid_auto_columns',
      'grid_auto_flow',
      'grid_auto_rows',
      'grid_column',
      'grid_gap',
      'grid_row',
      'grid_template_areas',
      'grid_template_columns',
      'grid_template_rows',
      'height',
      'justify_content',
      'justify_items',
      'left',
      'margin',
      'max_height',
      'max_width',
      'min_height',
      'min_width',
      'object_fit',
      'object_position',
      'order',
      'overflow',
      'padding',
      'right',
      'top',
      'visibility',
      'width',
    ].map((k) => [k, null]),
  ),
};
const STYLE_STATE: Record<string, unknown> = {
  _model_module: '@jupyter-widgets/controls',
  _model_module_version: '2.0.0',
  _model_name: 'SliderStyleModel',
  _view_module: '@jupyter-widgets/base',
  _view_module_version: '2.0.0',
  _view_name: 'StyleView',
  description_width: '',
  handle_color: null,
};
const SLIDER_STATE: Record<string, unknown> = {
  _dom_classes: [],
  _model_module: '@jupyter-widgets/controls',
  _model_module_version: '2.0.0',
  _model_name: 'IntSliderModel',
  _view_module: '@jupyter-widgets/controls',
  _view_module_version: '2.0.0',
  _view_name: 'IntSliderView',
  behavior: 'drag-tap',
  continuous_update: true,
  description: 'harness',
  description_allow_html: false,
  disabled: false,
  layout: null, // IPY_MODEL_<layout comm id>, set in the cell
  max: 100,
  min: 0,
  orientation: 'horizontal',
  readout: true,
  readout_format: 'd',
  step: 1,
  style: null, // IPY_MODEL_<style comm id>
  tabbable: null,
  tooltip: null,
  value: 40,
};

/** A JSON text as a Python string literal (a JSON string literal of ASCII text is one). */
const py = (value: unknown) => JSON.stringify(JSON.stringify(value));

const SLIDER_CELL = `
import json
from ipykernel.comm import Comm
from IPython.display import display

def open_model(state):
    return Comm(target_name='jupyter.widget', data={'state': state, 'buffer_paths': []}, metadata={'version': '2.1.0'})

layout = open_model(json.loads(${py(LAYOUT_STATE)}))
style = open_model(json.loads(${py(STYLE_STATE)}))
slider_state = json.loads(${py(SLIDER_STATE)})
slider_state.update(layout='IPY_MODEL_' + layout.comm_id, style='IPY_MODEL_' + style.comm_id)
slider = open_model(slider_state)
updates = []
slider.on_msg(lambda msg: updates.append(msg['content']['data']))
display({'application/vnd.jupyter.widget-view+json': {'model_id': slider.comm_id, 'version_major': 2, 'version_minor': 0},
         'text/plain': 'IntSlider(value=40)'}, raw=True)
`;

/** The attribute names the widget spec shipped with the manager lists for a model. */
function specAttributes(modelName: string): string[] {
  const manager = path.dirname(require.resolve('@jupyter-widgets/html-manager/package.json'));
  const file = require.resolve('@jupyter-widgets/schema/jupyterwidgetmodels.latest.json', { paths: [manager] });
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: { name: string }; attributes: { name: string }[] }[];
  const entry = spec.find((m) => m.model.name === modelName);
  assert.ok(entry, `${modelName} in the widget spec`);
  return entry.attributes.map((a) => a.name).sort();
}

describe('widget browser harness (ipywidgets 8 manager in Chromium, Debian ipykernel)', { skip: missing || false }, () => {
  let server: NotebookServer;
  let widgets: WidgetPage;
  let sliderCell = '';
  let modelId = '';

  /** The value of the last update the kernel recorded from the frontend, polled until it is `want`. */
  async function kernelSees(want: number): Promise<unknown[]> {
    return waitUntil(
      `the kernel recording value ${want} from the frontend`,
      async () => {
        const r = await widgets.run('print(json.dumps(updates))');
        const updates = JSON.parse(r.outputs.find((o) => o.output_type === 'stream')?.text ?? '[]') as {
          method: string;
          state: { value?: number };
        }[];
        const values = updates.filter((u) => u.method === 'update' && 'value' in u.state);
        return values.at(-1)?.state.value === want ? updates : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  const handle = () => widgets.page.locator(`${sliderCell} .widget-slider .noUi-handle`);
  const shownValue = async () => Number(await handle().getAttribute('aria-valuenow'));

  before(async () => {
    server = await startNotebookServer({ kernelspecs: { [KERNEL]: pythonKernelspec() } });
    widgets = await openWidgetPage(server, KERNEL);
  });

  after(async () => {
    await widgets?.close();
    await server?.stop();
  });

  it('uses the full widget spec states, and the manager paired with controls 2.0.0 / base 2.0.0', () => {
    assert.deepEqual(Object.keys(LAYOUT_STATE).sort(), specAttributes('LayoutModel'));
    assert.deepEqual(Object.keys(STYLE_STATE).sort(), specAttributes('SliderStyleModel'));
    assert.deepEqual(Object.keys(SLIDER_STATE).sort(), specAttributes('IntSliderModel'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const controls = require('@jupyter-widgets/controls/package.json') as { version: string };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const base = require('@jupyter-widgets/base/package.json') as { version: string };
    assert.match(controls.version, /^5\./, 'controls 5.x implements model module version 2.0.0');
    assert.match(base.version, /^6\./, 'base 6.x implements model module version 2.0.0');
  });

  it('connects to the kernel, and the manager asked it for widget states on the control comm', async () => {
    assert.equal(widgets.connection.language, 'python');
    assert.match(widgets.connection.protocolVersion, /^5\./);
    // ipykernel without ipywidgets has no jupyter.widget.control target: it closes the comm (and logs it), and
    // the manager falls back to comm_info.
    await waitUntil(
      'the kernel logging the control comm request',
      () => /No such comm target registered: jupyter\.widget\.control/.test(server.log()),
      {
        timeoutMs: 20_000,
      },
    );
  });

  it('renders text, HTML, SVG and PNG outputs', async () => {
    const r = await widgets.run(
      [
        'from IPython.display import HTML, SVG, Image, display',
        'import base64',
        'print("from stdout")',
        'display(HTML("<b id=\'harness-html\'>bold</b>"))',
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect id="harness-svg" width="40" height="20" fill="teal"/></svg>\'))',
        "display(Image(data=base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='), format='png'))",
        '6 * 7',
      ].join('\n'),
    );
    assert.deepEqual(
      r.outputs.map((o) => o.output_type),
      ['stream', 'display_data', 'display_data', 'display_data', 'execute_result'],
    );
    assert.equal(r.outputs[0]!.text, 'from stdout\n');
    assert.equal(r.outputs.at(-1)!.text, '42');
    const cell = widgets.cellSelector(r);
    await widgets.page.locator(`${cell} #harness-html`).waitFor({ state: 'visible', timeout: 10_000 });
    await widgets.page.locator(`${cell} svg #harness-svg`).waitFor({ state: 'attached', timeout: 10_000 });
    await widgets.page.locator(`${cell} img[src^="data:image/png;base64,"]`).waitFor({ state: 'attached', timeout: 10_000 });
  });

  it('shows an IntSlider opened by the kernel', async () => {
    const r = await widgets.run(SLIDER_CELL);
    const view = r.outputs.find((o) => o.mimes.includes('application/vnd.jupyter.widget-view+json'));
    assert.ok(view?.model_id, `a widget view output: ${JSON.stringify(r.outputs)}`);
    assert.equal(view.widget_error, '', 'the manager showed the view');
    modelId = view.model_id;
    sliderCell = widgets.cellSelector(r);
    const slider = widgets.page.locator(`${sliderCell} .widget-slider`);
    await slider.waitFor({ state: 'visible', timeout: 20_000 });
    await handle().waitFor({ state: 'visible', timeout: 20_000 });
    // With the controls' CSS applied the track is wide and the handle has a size (unstyled, noUiSlider's are 0 × 0).
    const track = await widgets.page.locator(`${sliderCell} .widget-slider .noUi-target`).boundingBox();
    const knob = await handle().boundingBox();
    assert.ok(track && track.width > 100, `slider track ${JSON.stringify(track)}`);
    assert.ok(knob && knob.width >= 8 && knob.height >= 8, `slider handle ${JSON.stringify(knob)}`);
    assert.equal(await widgets.page.locator(`${sliderCell} .widget-slider .widget-label`).textContent(), 'harness');
    assert.equal((await widgets.page.locator(`${sliderCell} .widget-slider .widget-readout`).textContent())?.trim(), '40');
    assert.equal(await shownValue(), 40);
    const state = await widgets.modelState(modelId);
    assert.equal(state.value, 40);
    assert.match(String(state.layout), /^IPY_MODEL_/);
    assert.match(String(state.style), /^IPY_MODEL_/);
    await widgets.screenshot('slider-shown');
  });

  it('moves the slider with the keyboard, and the kernel sees the value', async () => {
    assert.ok(sliderCell, 'the slider is shown');
    for (let i = 0; i < 3; i++) await handle().press('ArrowRight');
    await waitUntil('the slider showing 43', async () => (await shownValue()) === 43, { timeoutMs: 10_000 });
    const updates = await kernelSees(43);
    assert.deepEqual(updates.at(-1), { method: 'update', state: { value: 43 }, buffer_paths: [] });
    await widgets.screenshot('slider-after-keys');
  });

  it('drags the slider with the mouse to its end, and the kernel sees the maximum', async () => {
    const knob = await handle().boundingBox();
    const track = await widgets.page.locator(`${sliderCell} .widget-slider .noUi-target`).boundingBox();
    assert.ok(knob && track);
    const mouse = widgets.page.mouse;
    await mouse.move(knob.x + knob.width / 2, knob.y + knob.height / 2);
    await mouse.down();
    await mouse.move(track.x + track.width + 60, knob.y + knob.height / 2, { steps: 12 });
    await mouse.up();
    await waitUntil('the slider showing 100', async () => (await shownValue()) === 100, { timeoutMs: 10_000 });
    await kernelSees(100);
    await widgets.screenshot('slider-after-drag');
  });

  it('follows an update sent by the kernel', async () => {
    await widgets.run("slider.send({'method': 'update', 'state': {'value': 7}, 'buffer_paths': []})");
    await waitUntil('the slider showing 7', async () => (await shownValue()) === 7, { timeoutMs: 20_000 });
    assert.equal((await widgets.page.locator(`${sliderCell} .widget-slider .widget-readout`).textContent())?.trim(), '7');
    assert.equal((await widgets.modelState(modelId)).value, 7);
    await widgets.screenshot('slider-after-kernel-update');
    assert.deepEqual(await widgets.unexpectedErrors(), []);
  });
});
