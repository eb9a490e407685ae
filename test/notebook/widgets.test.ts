/**
 * The widget API in TypeScript, outside a kernel (no comm: the models live in this process): trait validation and
 * its messages, clamping from the kernel side against refusal from a frontend, observe / unobserve, selections,
 * link / dlink, the buffer split of ipywidgets, interact's abbreviations, and train's step-boundary control.
 * The wire protocol itself is tested against the real kernel through jupyter_client (test/e2e/widget_protocol.py).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as widgets from '../../src/notebook/widgets';
import { controlFor } from '../../src/notebook/widgets/interact';

describe('widgets API', () => {
  it('validates options and assignments, naming the class, the trait and what it expects', () => {
    assert.throws(() => new widgets.IntSlider({ value: 2.5 }), /IntSlider\.value: expected an integer, got 2\.5/);
    assert.throws(() => new widgets.IntSlider({ nope: 1 } as never), /IntSlider: no option 'nope' \(options: .*value/);
    const s = new widgets.IntSlider({ value: 3, min: 2, max: 8, description: 'bits' });
    assert.throws(() => (s.value = 'x' as never), /expected an integer, got "x"/);
    assert.throws(() => (s.min = 9), /min 9 is above max 8/);
    assert.throws(() => (s.orientation = 'diagonal' as never), /one of "horizontal", "vertical"/);
    assert.equal(s.value, 3);
  });

  it('clamps a value set in the kernel into range, as ipywidgets does, and follows a shrinking range', () => {
    const s = new widgets.IntSlider({ value: 30, min: 0, max: 10 });
    assert.equal(s.value, 10);
    s.value = -4;
    assert.equal(s.value, 0);
    s.value = 7;
    s.max = 5;
    assert.equal(s.value, 5);
    const log = new widgets.FloatLogSlider({ value: 0.25, base: 2, min: -10, max: 0 });
    assert.equal(log.value, 0.25, 'checked against base, min and max together');
    const r = new widgets.IntRangeSlider({ min: 0, max: 100 });
    assert.deepEqual(r.value, [25, 75]);
    r.value = [80, 20];
    assert.deepEqual(r.value, [20, 80]);
  });

  it('calls observers with name, old, new and owner, and stops when asked', () => {
    const s = new widgets.FloatSlider({ value: 1, min: 0, max: 10 });
    const seen: unknown[] = [];
    const stop = s.observe('value', (c) => void seen.push([c.name, c.old, c.new, c.owner === s, c.type]));
    const all: string[] = [];
    s.observe('*', (c) => void all.push(c.name));
    s.value = 2;
    s.value = 2; // no change, no call
    s.step = 0.5;
    stop();
    s.value = 3;
    assert.deepEqual(seen, [['value', 1, 2, true, 'change']]);
    assert.deepEqual(all, ['value', 'step', 'value']);
    assert.throws(() => s.observe('nope', () => undefined), /FloatSlider has no trait 'nope'/);
    // An observer that throws reaches the code that assigned.
    s.observe('value', () => {
      throw new Error('observer failed');
    });
    assert.throws(() => (s.value = 4), /observer failed/);
  });

  it('keeps a selection by index, with value and label as the kernel sees them', () => {
    const d = new widgets.Dropdown<number | string>({
      options: [
        ['four', 4],
        ['eight', 8],
      ],
      value: 8,
    });
    assert.equal(d.index, 1);
    assert.equal(d.label, 'eight');
    const changes: unknown[] = [];
    d.observe('value', (c) => void changes.push([c.old, c.new]));
    d.label = 'four';
    assert.equal(d.value, 4);
    assert.throws(() => (d.value = 5), /5 is not one of the options \(four, eight\)/);
    assert.throws(() => (d.index = 2), /index 2 is outside 0…1/);
    d.options = ['a', 'b', 'c'];
    assert.equal(d.index, 0);
    assert.deepEqual(changes, [
      [8, 4],
      [4, 'a'],
    ]);
    assert.deepEqual(d.state(['optionsLabels', 'index']), { _options_labels: ['a', 'b', 'c'], index: 0 });
    const t = new widgets.ToggleButtons({ options: { U3: 'uniform', P3: 'pow2' } });
    assert.deepEqual([t.value, t.label], ['uniform', 'U3']);
  });

  it('links traits both ways and one way', () => {
    const a = new widgets.IntSlider({ value: 1 });
    const b = new widgets.IntSlider({ value: 9 });
    const l = widgets.link([a, 'value'], [b, 'value']);
    assert.equal(b.value, 1, 'the target takes the source value');
    b.value = 5;
    assert.equal(a.value, 5);
    l.unlink();
    a.value = 6;
    assert.equal(b.value, 5);
    const text = new widgets.Label();
    widgets.dlink([a, 'value'], [text, 'value'], (v) => `bits: ${String(v)}`);
    a.value = 7;
    assert.equal(text.value, 'bits: 7');
    assert.throws(() => widgets.link([a, 'nope'], [b, 'value']), /IntSlider has no trait 'nope'/);
    const js = widgets.jslink([a, 'value'], [b, 'continuousUpdate']);
    assert.deepEqual(js.state(['source', 'target']), {
      source: [`IPY_MODEL_${a.modelId}`, 'value'],
      target: [`IPY_MODEL_${b.modelId}`, 'continuous_update'],
    });
  });

  it('splits binary values out of a state at their paths and puts them back (ipywidgets _remove_buffers)', () => {
    const bytes = new Uint8Array([1, 2]);
    const view = new Float32Array([0.5]);
    const { state, bufferPaths, buffers } = widgets.removeBuffers({ a: bytes, b: { c: [1, view, 'x'] }, d: 3 });
    assert.deepEqual(state, { b: { c: [1, null, 'x'] }, d: 3 });
    assert.deepEqual(bufferPaths, [['a'], ['b', 'c', 1]]);
    assert.deepEqual(
      buffers.map((b) => [...b]),
      [[1, 2], [...new Uint8Array(view.buffer)]],
    );
    widgets.putBuffers(state, bufferPaths, buffers);
    assert.deepEqual([...((state as Record<string, unknown>).a as Uint8Array)], [1, 2]);
    assert.throws(() => widgets.putBuffers({}, [['a'], ['b']], [bytes]), /names 2 buffers but the message carries 1/);
    assert.throws(() => widgets.putBuffers({}, [['x', 'y']], [bytes]), /does not fit the state/);
  });

  it('builds interact controls from abbreviations', () => {
    const int = controlFor('bits', [2, 8]) as widgets.IntSlider;
    assert.ok(int instanceof widgets.IntSlider);
    assert.deepEqual([int.min, int.max, int.value, int.description], [2, 8, 5, 'bits']);
    const float = controlFor('lr', [0.001, 0.1]) as widgets.FloatSlider;
    assert.ok(float instanceof widgets.FloatSlider);
    assert.ok(controlFor('kind', ['U3', 'P3']) instanceof widgets.Dropdown);
    assert.ok(controlFor('on', true) instanceof widgets.Checkbox);
    assert.ok(controlFor('name', 'run') instanceof widgets.Text);
    assert.deepEqual([(controlFor('n', 4) as widgets.IntSlider).min, (controlFor('n', 4) as widgets.IntSlider).max], [-4, 12]);
    assert.equal(controlFor('seed', widgets.fixed(3)), null);
    const own = new widgets.IntSlider();
    assert.equal(controlFor('own', own), own);
    assert.throws(() => controlFor('bad', [8, 2]), /bad: min 8 is above max 2/);
    assert.throws(() => controlFor('bad', []), /an empty list/);
  });

  it('shows a widget as a view of its model with text for frontends without widgets', () => {
    const s = new widgets.IntSlider({ value: 3, description: 'bits' });
    const bundle = s.toMimeBundle();
    assert.deepEqual(bundle['application/vnd.jupyter.widget-view+json'], { version_major: 2, version_minor: 0, model_id: s.modelId });
    assert.equal(bundle['text/plain'], 'IntSlider(value=3, min=0, max=100, description="bits")');
    const state = s.state();
    assert.equal(state._model_module, '@jupyter-widgets/controls');
    assert.equal(state.layout, `IPY_MODEL_${s.layout.modelId}`);
    assert.ok(widgets.widgetById(s.modelId) === s);
    s.close();
    assert.equal(widgets.widgetById(s.modelId), undefined);
  });
});
