/**
 * mixprec's widget models against the widget specification that ships with the ipywidgets 8 frontend
 * (@jupyter-widgets/schema, jupyterwidgetmodels.latest.json): every model's state has exactly the attributes the
 * spec lists for it, under the model and view names and module versions the manager resolves, with the spec's
 * defaults (except where ipywidgets' Python side chooses a value itself, noted below).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as widgets from '../../src/notebook/widgets';

interface SpecEntry {
  model: { name: string; module: string; version: string };
  view: { name: string | null; module: string | null; version: string | null };
  attributes: { name: string; default: unknown; type: string }[];
}

const manager = path.dirname(require.resolve('@jupyter-widgets/html-manager/package.json'));
const PUBLISHED_MODELS = JSON.parse(
  fs.readFileSync(require.resolve('@jupyter-widgets/schema/jupyterwidgetmodels.latest.json', { paths: [manager] }), 'utf8'),
) as SpecEntry[];

const MODELS: [string, () => widgets.Widget][] = [
  ['IntSlider', () => new widgets.IntSlider()],
  ['FloatSlider', () => new widgets.FloatSlider()],
  ['FloatLogSlider', () => new widgets.FloatLogSlider()],
  ['IntRangeSlider', () => new widgets.IntRangeSlider()],
  ['IntProgress', () => new widgets.IntProgress()],
  ['Play', () => new widgets.Play()],
  ['Dropdown', () => new widgets.Dropdown()],
  ['ToggleButtons', () => new widgets.ToggleButtons()],
  ['Checkbox', () => new widgets.Checkbox()],
  ['Text', () => new widgets.Text()],
  ['Label', () => new widgets.Label()],
  ['HTML', () => new widgets.HTML()],
  ['Button', () => new widgets.Button()],
  ['Output', () => new widgets.Output()],
  ['Box', () => new widgets.Box()],
  ['HBox', () => new widgets.HBox()],
  ['VBox', () => new widgets.VBox()],
  ['Tab', () => new widgets.Tab()],
  ['Layout', () => new widgets.Layout()],
  ['DescriptionStyle', () => new widgets.DescriptionStyle()],
  ['SliderStyle', () => new widgets.SliderStyle()],
  ['ProgressStyle', () => new widgets.ProgressStyle()],
  ['ButtonStyle', () => new widgets.ButtonStyle()],
  ['ToggleButtonsStyle', () => new widgets.ToggleButtonsStyle()],
  ['JsLink', () => widgets.jslink([new widgets.IntSlider(), 'value'], [new widgets.IntSlider(), 'value'])],
];

/**
 * Not the spec's defaults, by design: a range slider starts at a quarter and three quarters of its range (as ipywidgets'
 * Python side sets it), and a link is made with its two ends.
 */
const NOT_DEFAULT: Record<string, string[]> = { IntRangeSlider: ['value'], JsLink: ['source', 'target'] };

describe('widget models against the ipywidgets 8 widget spec', () => {
  for (const [name, make] of MODELS) {
    it(`${name}: the spec's model, view and attributes, with its defaults`, () => {
      const state = make().state();
      const entry = PUBLISHED_MODELS.find((m) => m.model.name === state._model_name && m.model.module === state._model_module);
      assert.ok(entry, `${String(state._model_name)} of ${String(state._model_module)} is in the spec`);
      assert.equal(state._model_module_version, entry.model.version);
      assert.deepEqual(
        [state._view_name, state._view_module, state._view_module_version],
        [entry.view.name, entry.view.module, entry.view.version ?? ''],
      );
      assert.deepEqual(Object.keys(state).sort(), entry.attributes.map((a) => a.name).sort());
      for (const a of entry.attributes) {
        if (a.type === 'reference' || (NOT_DEFAULT[name] ?? []).includes(a.name)) continue;
        assert.deepEqual(state[a.name], a.default, `${name}.${a.name}`);
      }
    });
  }
});
