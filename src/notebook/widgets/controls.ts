/**
 * The standard controls, named as in ipywidgets 8 and modelled as in @jupyter-widgets/controls 2.0.0 (base 2.0.0,
 * output 1.0.0), so that any frontend with the standard widget manager (JupyterLab, Notebook 7, the classic notebook
 * with widgetsnbextension, VS Code, the html-manager) renders them without an extension.
 */
import { bool, float, int, json, list, nullable, oneOf, ref, str, TraitError } from './traits';
import { BASE_MODULE, BASE_VERSION, CONTROLS_MODULE, CONTROLS_VERSION, defineWidget, Widget, type Observer } from './widget';

const nstr = () => nullable(str());

// --- layout and styles --------------------------------------------------------------------------------------------

/** CSS layout of a widget's view (`w.layout.width = '300px'`); every attribute unset (null) by default. */
export class Layout extends Widget {
  declare alignContent: string | null;
  declare alignItems: string | null;
  declare alignSelf: string | null;
  declare borderTop: string | null;
  declare borderRight: string | null;
  declare borderBottom: string | null;
  declare borderLeft: string | null;
  declare bottom: string | null;
  declare display: string | null;
  declare flex: string | null;
  declare flexFlow: string | null;
  declare gridArea: string | null;
  declare gridAutoColumns: string | null;
  declare gridAutoFlow: string | null;
  declare gridAutoRows: string | null;
  declare gridColumn: string | null;
  declare gridGap: string | null;
  declare gridRow: string | null;
  declare gridTemplateAreas: string | null;
  declare gridTemplateColumns: string | null;
  declare gridTemplateRows: string | null;
  declare height: string | null;
  declare justifyContent: string | null;
  declare justifyItems: string | null;
  declare left: string | null;
  declare margin: string | null;
  declare maxHeight: string | null;
  declare maxWidth: string | null;
  declare minHeight: string | null;
  declare minWidth: string | null;
  declare objectFit: string | null;
  declare objectPosition: string | null;
  declare order: string | null;
  declare overflow: string | null;
  declare padding: string | null;
  declare right: string | null;
  declare top: string | null;
  declare visibility: string | null;
  declare width: string | null;
  constructor(options: Partial<LayoutOptions> = {}) {
    super(options);
  }
}
const LAYOUT_KEYS = [
  'alignContent',
  'alignItems',
  'alignSelf',
  'borderTop',
  'borderRight',
  'borderBottom',
  'borderLeft',
  'bottom',
  'display',
  'flex',
  'flexFlow',
  'gridArea',
  'gridAutoColumns',
  'gridAutoFlow',
  'gridAutoRows',
  'gridColumn',
  'gridGap',
  'gridRow',
  'gridTemplateAreas',
  'gridTemplateColumns',
  'gridTemplateRows',
  'height',
  'justifyContent',
  'justifyItems',
  'left',
  'margin',
  'maxHeight',
  'maxWidth',
  'minHeight',
  'minWidth',
  'objectFit',
  'objectPosition',
  'order',
  'overflow',
  'padding',
  'right',
  'top',
  'visibility',
  'width',
] as const;
export type LayoutOptions = Record<(typeof LAYOUT_KEYS)[number], string | null>;
defineWidget(Layout, {
  modelName: 'LayoutModel',
  modelModule: BASE_MODULE,
  modelModuleVersion: BASE_VERSION,
  viewName: 'LayoutView',
  viewModule: BASE_MODULE,
  viewModuleVersion: BASE_VERSION,
  traits: Object.fromEntries(LAYOUT_KEYS.map((k) => [k, nstr()])),
});

/** The base of style models. */
export class Style extends Widget {}
defineWidget(Style, { modelName: 'StyleModel', viewName: 'StyleView', viewModule: BASE_MODULE, viewModuleVersion: BASE_VERSION });

export interface DescriptionStyleOptions {
  descriptionWidth: string;
}
export class DescriptionStyle extends Style {
  declare descriptionWidth: string;
  constructor(options: Partial<DescriptionStyleOptions> = {}) {
    super(options);
  }
}
defineWidget(DescriptionStyle, {
  modelName: 'DescriptionStyleModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  traits: { descriptionWidth: str('') },
});

export class SliderStyle extends DescriptionStyle {
  declare handleColor: string | null;
  constructor(options: Partial<DescriptionStyleOptions & { handleColor: string | null }> = {}) {
    super(options);
  }
}
defineWidget(SliderStyle, { modelName: 'SliderStyleModel', traits: { handleColor: nstr() } });

export class ProgressStyle extends DescriptionStyle {
  declare barColor: string | null;
  constructor(options: Partial<DescriptionStyleOptions & { barColor: string | null }> = {}) {
    super(options);
  }
}
defineWidget(ProgressStyle, { modelName: 'ProgressStyleModel', traits: { barColor: nstr() } });

export class ToggleButtonsStyle extends DescriptionStyle {
  declare buttonWidth: string;
  declare fontWeight: string;
  constructor(options: Partial<DescriptionStyleOptions & { buttonWidth: string; fontWeight: string }> = {}) {
    super(options);
  }
}
defineWidget(ToggleButtonsStyle, { modelName: 'ToggleButtonsStyleModel', traits: { buttonWidth: str(''), fontWeight: str('') } });

export interface ButtonStyleOptions {
  buttonColor: string | null;
  fontFamily: string | null;
  fontSize: string | null;
  fontStyle: string | null;
  fontVariant: string | null;
  fontWeight: string | null;
  textColor: string | null;
  textDecoration: string | null;
}
export class ButtonStyle extends Style {
  declare buttonColor: string | null;
  declare fontWeight: string | null;
  constructor(options: Partial<ButtonStyleOptions> = {}) {
    super(options);
  }
}
defineWidget(ButtonStyle, {
  modelName: 'ButtonStyleModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  traits: {
    buttonColor: nstr(),
    fontFamily: nstr(),
    fontSize: nstr(),
    fontStyle: nstr(),
    fontVariant: nstr(),
    fontWeight: nstr(),
    textColor: nstr(),
    textDecoration: nstr(),
  },
});

// --- DOM widgets ----------------------------------------------------------------------------------------------------

export interface DOMWidgetOptions {
  layout: Layout;
  domClasses: string[];
  tabbable: boolean | null;
  tooltip: string | null;
}

/** A widget with a view: layout, CSS classes, tab focus, tooltip. */
export class DOMWidget extends Widget {
  declare layout: Layout;
  declare domClasses: string[];
  declare tabbable: boolean | null;
  declare tooltip: string | null;
}
defineWidget(DOMWidget, {
  modelName: 'DOMWidgetModel',
  traits: {
    layout: ref(Layout, () => new Layout()),
    domClasses: list(str(), () => [], { wire: '_dom_classes' }),
    tabbable: nullable(bool()),
    tooltip: nstr(),
  },
});

export interface DescriptionOptions extends DOMWidgetOptions {
  description: string;
  descriptionAllowHtml: boolean;
  style: DescriptionStyle;
}

/** A control with a description label and a style. */
export class DescriptionWidget extends DOMWidget {
  declare description: string;
  declare descriptionAllowHtml: boolean;
  declare style: DescriptionStyle;
}
defineWidget(DescriptionWidget, {
  modelName: 'DescriptionModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  viewModule: CONTROLS_MODULE,
  viewModuleVersion: CONTROLS_VERSION,
  traits: { description: str(''), descriptionAllowHtml: bool(false), style: ref(DescriptionStyle, () => new DescriptionStyle()) },
});

// --- numbers --------------------------------------------------------------------------------------------------------

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** A value kept within [min, max]: clamped when the kernel sets it (as ipywidgets does), refused from a frontend. */
abstract class Bounded extends DescriptionWidget {
  declare min: number;
  declare max: number;
  protected lowest(): number {
    return this.get('min') as number;
  }
  protected highest(): number {
    return this.get('max') as number;
  }
  protected inRange(v: number, from: 'kernel' | 'frontend'): number {
    const lo = this.lowest();
    const hi = this.highest();
    if (v >= lo && v <= hi) return v;
    if (from === 'frontend') throw new TraitError(`${v} is outside [${lo}, ${hi}]`);
    return clamp(v, lo, hi);
  }
  protected override coerce(name: string, value: unknown, from: 'kernel' | 'frontend'): unknown {
    if (name === 'value') {
      if (Array.isArray(value)) {
        const [a, b] = (value as number[]).map((v) => this.inRange(v, from)) as [number, number];
        if (a > b) {
          if (from === 'frontend') throw new TraitError(`the lower end ${a} is above the upper end ${b}`);
          return [b, a];
        }
        return [a, b];
      }
      return this.inRange(value as number, from);
    }
    if (name === 'min' && (value as number) > (this.get('max') as number))
      throw new TraitError(`min ${String(value)} is above max ${String(this.get('max'))}`);
    if (name === 'max' && (value as number) < (this.get('min') as number))
      throw new TraitError(`max ${String(value)} is below min ${String(this.get('min'))}`);
    return value;
  }
  protected override changed(name: string): void {
    if (name === 'min' || name === 'max' || name === 'base') {
      const v = this.get('value');
      const fitted = this.coerce('value', v, 'kernel');
      if (JSON.stringify(fitted) !== JSON.stringify(v)) this.set('value', fitted);
    }
  }
  protected override initialize(given: Set<string>): void {
    const lo = this.get('min') as number;
    const hi = this.get('max') as number;
    if (lo > hi) throw new TraitError(`${this.constructor.name}: min ${lo} is above max ${hi}`);
    if (!given.has('value')) this.defaultValue();
    // Clamp silently; the value must lie within the range in the state that is opened.
    this.initValue('value', this.coerce('value', this.get('value'), 'kernel'));
  }
  /** The value when none is given. */
  protected defaultValue(): void {}
}

export interface SliderOptions extends DescriptionOptions {
  orientation: 'horizontal' | 'vertical';
  readout: boolean;
  readoutFormat: string;
  continuousUpdate: boolean;
  disabled: boolean;
  behavior: 'drag-tap' | 'drag-snap' | 'tap' | 'drag' | 'snap';
  style: SliderStyle;
}

const sliderTraits = (format: string) => ({
  orientation: oneOf(['horizontal', 'vertical'], 'horizontal'),
  readout: bool(true),
  readoutFormat: str(format),
  continuousUpdate: bool(true),
  disabled: bool(false),
  behavior: oneOf(['drag-tap', 'drag-snap', 'tap', 'drag', 'snap'], 'drag-tap'),
  style: ref(SliderStyle, () => new SliderStyle()),
});

/** The traits every slider has (sliderTraits), as typed properties. */
abstract class Slider extends Bounded {
  declare orientation: 'horizontal' | 'vertical';
  declare readout: boolean;
  declare readoutFormat: string;
  declare continuousUpdate: boolean;
  declare disabled: boolean;
  declare behavior: SliderOptions['behavior'];
  declare style: SliderStyle;
}

export interface IntSliderOptions extends SliderOptions {
  value: number;
  min: number;
  max: number;
  step: number;
}
/** An integer slider: `new widgets.IntSlider({ value: 3, min: 2, max: 8, description: 'bits' })`. */
export class IntSlider extends Slider {
  declare value: number;
  declare step: number;
  constructor(options: Partial<IntSliderOptions> = {}) {
    super(options);
  }
}
defineWidget(IntSlider, {
  modelName: 'IntSliderModel',
  viewName: 'IntSliderView',
  traits: { value: int(0), min: int(0), max: int(100), step: int(1), ...sliderTraits('d') },
});

export interface FloatSliderOptions extends SliderOptions {
  value: number;
  min: number;
  max: number;
  step: number | null;
}
export class FloatSlider extends Slider {
  declare value: number;
  declare step: number | null;
  constructor(options: Partial<FloatSliderOptions> = {}) {
    super(options);
  }
}
defineWidget(FloatSlider, {
  modelName: 'FloatSliderModel',
  viewName: 'FloatSliderView',
  traits: { value: float(0), min: float(0), max: float(100), step: nullable(float(), 0.1), ...sliderTraits('.2f') },
});

export interface FloatLogSliderOptions extends SliderOptions {
  value: number;
  /** Exponents: the slider spans base^min … base^max. */
  min: number;
  max: number;
  step: number | null;
  base: number;
}
/** A slider on a log scale: value in [base^min, base^max], moved in steps of the exponent. */
export class FloatLogSlider extends Slider {
  declare value: number;
  declare step: number | null;
  declare base: number;
  constructor(options: Partial<FloatLogSliderOptions> = {}) {
    super(options);
  }
  protected override lowest(): number {
    return (this.get('base') as number) ** (this.get('min') as number);
  }
  protected override highest(): number {
    return (this.get('base') as number) ** (this.get('max') as number);
  }
}
defineWidget(FloatLogSlider, {
  modelName: 'FloatLogSliderModel',
  viewName: 'FloatLogSliderView',
  traits: { value: float(1), min: float(0), max: float(4), step: nullable(float(), 0.1), base: float(10), ...sliderTraits('.3g') },
});

export interface IntRangeSliderOptions extends SliderOptions {
  value: [number, number];
  min: number;
  max: number;
  step: number;
}
/** A slider with two handles: value is [lower, upper]. */
export class IntRangeSlider extends Slider {
  declare value: [number, number];
  declare step: number;
  constructor(options: Partial<IntRangeSliderOptions> = {}) {
    super(options);
  }
  protected override defaultValue(): void {
    // ipywidgets: a quarter and three quarters of the way.
    const lo = this.get('min') as number;
    const hi = this.get('max') as number;
    this.initValue('value', [Math.round(lo + 0.25 * (hi - lo)), Math.round(lo + 0.75 * (hi - lo))]);
  }
}
defineWidget(IntRangeSlider, {
  modelName: 'IntRangeSliderModel',
  viewName: 'IntRangeSliderView',
  traits: { value: list(int(), () => [25, 75], { length: 2 }), min: int(0), max: int(100), step: int(1), ...sliderTraits('d') },
});

export interface IntProgressOptions extends DescriptionOptions {
  value: number;
  min: number;
  max: number;
  barStyle: 'success' | 'info' | 'warning' | 'danger' | '';
  orientation: 'horizontal' | 'vertical';
  style: ProgressStyle;
}
export class IntProgress extends Bounded {
  declare value: number;
  declare barStyle: IntProgressOptions['barStyle'];
  constructor(options: Partial<IntProgressOptions> = {}) {
    super(options);
  }
}
defineWidget(IntProgress, {
  modelName: 'IntProgressModel',
  viewName: 'ProgressView',
  traits: {
    value: int(0),
    min: int(0),
    max: int(100),
    barStyle: oneOf(['success', 'info', 'warning', 'danger', ''], ''),
    orientation: oneOf(['horizontal', 'vertical'], 'horizontal'),
    style: ref(ProgressStyle, () => new ProgressStyle()),
  },
});

export interface PlayOptions extends DescriptionOptions {
  value: number;
  min: number;
  max: number;
  step: number;
  /** Milliseconds between steps. */
  interval: number;
  playing: boolean;
  repeat: boolean;
  showRepeat: boolean;
  disabled: boolean;
}
/** Play / pause / stop buttons that step `value` every `interval` ms (in the frontend). */
export class Play extends Bounded {
  declare value: number;
  declare step: number;
  declare interval: number;
  declare playing: boolean;
  declare repeat: boolean;
  constructor(options: Partial<PlayOptions> = {}) {
    super(options);
  }
}
defineWidget(Play, {
  modelName: 'PlayModel',
  viewName: 'PlayView',
  traits: {
    value: int(0),
    min: int(0),
    max: int(100),
    step: int(1),
    interval: int(100),
    playing: bool(false),
    repeat: bool(false),
    showRepeat: bool(true),
    disabled: bool(false),
  },
});

// --- choices --------------------------------------------------------------------------------------------------------

/** Options of a selection: labels, [label, value] pairs, or an object of label → value. */
export type SelectionOptions<V> = readonly V[] | readonly (readonly [string, V])[] | Readonly<Record<string, V>>;

function normalizeOptions<V>(options: SelectionOptions<V>): { labels: string[]; values: V[] } {
  if (Array.isArray(options)) {
    const pairs = options.every((o) => Array.isArray(o) && o.length === 2 && typeof o[0] === 'string');
    if (pairs && options.length > 0) return { labels: options.map((o) => (o as [string, V])[0]), values: options.map((o) => (o as [string, V])[1]) };
    return { labels: options.map((o) => String(o)), values: [...(options as V[])] };
  }
  const entries = Object.entries(options as Record<string, V>);
  return { labels: entries.map(([k]) => k), values: entries.map(([, v]) => v) };
}

export interface SelectionWidgetOptions<V> extends DescriptionOptions {
  options: SelectionOptions<V>;
  value: V | null;
  label: string | null;
  index: number | null;
  disabled: boolean;
}

/**
 * One of several options. The frontend sees the labels and syncs the index; `value` and `label` are the kernel's
 * view of it (as in ipywidgets).
 */
abstract class Selection<V = unknown> extends DescriptionWidget {
  declare index: number | null;
  declare disabled: boolean;
  constructor(o: Partial<SelectionWidgetOptions<V>> & object = {}) {
    const { options = [], value, label, index, ...rest } = o;
    const { labels, values } = normalizeOptions(options);
    let at: number | null = labels.length > 0 ? 0 : null;
    if (index !== undefined) at = index;
    else if (label !== undefined && label !== null) at = indexOf(labels, label, 'label', labels);
    else if (value !== undefined && value !== null) at = indexOf(values, value, 'value', labels);
    // All in the state the comm opens with: the frontend never sees an empty list first.
    super({ ...rest, optionsLabels: labels, choices: values, index: at });
  }
  private get choices(): V[] {
    return this.get('choices') as V[];
  }
  /** The options as [label, value] pairs. */
  get options(): [string, V][] {
    const labels = this.get('optionsLabels') as string[];
    return labels.map((l, i) => [l, this.choices[i] as V]);
  }
  set options(options: SelectionOptions<V>) {
    const { labels, values } = normalizeOptions(options);
    const before = this.value;
    this.holdSync(() => {
      this.set('choices', values);
      this.set('optionsLabels', labels);
      const keep = values.findIndex((v) => Object.is(v, before));
      this.set('index', keep >= 0 ? keep : values.length > 0 ? 0 : null);
    });
  }
  get value(): V | null {
    const i = this.index;
    return i === null ? null : (this.choices[i] ?? null);
  }
  set value(value: V | null) {
    if (value === null) {
      this.index = null;
      return;
    }
    this.index = indexOf(this.choices, value, `${this.constructor.name}.value`, this.get('optionsLabels') as string[]);
  }
  get label(): string | null {
    const i = this.index;
    return i === null ? null : ((this.get('optionsLabels') as string[])[i] ?? null);
  }
  set label(label: string | null) {
    if (label === null) {
      this.index = null;
      return;
    }
    const i = (this.get('optionsLabels') as string[]).indexOf(label);
    if (i < 0)
      throw new TraitError(
        `${this.constructor.name}.label: ${JSON.stringify(label)} is not one of ${(this.get('optionsLabels') as string[]).join(', ')}`,
      );
    this.index = i;
  }
  /** As Widget.observe; `value` and `label` are observed through the index they follow. */
  override observe<W extends Widget>(this: W, names: string | readonly string[], callback: Observer<W>): () => void {
    const self = this as unknown as Selection<V>;
    const list = typeof names === 'string' ? [names] : [...names];
    const derived = list.filter((n) => n === 'value' || n === 'label');
    const direct = list.filter((n) => n !== 'value' && n !== 'label');
    const stops: (() => void)[] = [];
    if (direct.length > 0) stops.push(Widget.prototype.observe.call(this, direct, callback as Observer<Widget>));
    for (const name of derived) {
      // Follows everything it derives from: new options can change the value under the same index.
      const current = () => (name === 'value' ? self.value : self.label);
      let last = current();
      stops.push(
        Widget.prototype.observe.call(this, ['index', 'choices', 'optionsLabels'], () => {
          const now = current();
          if (Object.is(now, last)) return;
          const old = last;
          last = now;
          return callback({ name, old, new: now, owner: this, type: 'change' });
        }),
      );
    }
    return () => stops.forEach((stop) => stop());
  }
  protected override coerce(name: string, value: unknown): unknown {
    if (name === 'index' && value !== null) {
      const n = (this.get('optionsLabels') as string[]).length;
      if ((value as number) < 0 || (value as number) >= n) throw new TraitError(`index ${String(value)} is outside 0…${n - 1}`);
    }
    return value;
  }
}
const selectionTraits = () => ({
  optionsLabels: list(str(), () => [], { wire: '_options_labels' }),
  // The values behind the labels, kernel-side only.
  choices: json<unknown[]>(() => [], { sync: false }),
  index: nullable(int()),
  disabled: bool(false),
});

/** Where `value` is among `values`; the error lists the options. */
function indexOf<V>(values: readonly V[], value: V, what: string, labels: readonly string[]): number {
  const i = values.findIndex((v) => Object.is(v, value) || JSON.stringify(v) === JSON.stringify(value));
  if (i < 0) throw new TraitError(`${what}: ${JSON.stringify(value)} is not one of the options (${labels.join(', ')})`);
  return i;
}

/** A drop-down list: `new widgets.Dropdown({ options: ['U3', 'P3'], value: 'U3' })`. */
export class Dropdown<V = unknown> extends Selection<V> {
  constructor(options: Partial<SelectionWidgetOptions<V>> = {}) {
    super(options);
  }
}
defineWidget(Dropdown, { modelName: 'DropdownModel', viewName: 'DropdownView', traits: selectionTraits() });

export interface ToggleButtonsOptions<V> extends SelectionWidgetOptions<V> {
  buttonStyle: 'primary' | 'success' | 'info' | 'warning' | 'danger' | '';
  tooltips: string[];
  icons: string[];
  style: ToggleButtonsStyle;
}
export class ToggleButtons<V = unknown> extends Selection<V> {
  declare buttonStyle: ToggleButtonsOptions<V>['buttonStyle'];
  declare tooltips: string[];
  declare icons: string[];
  constructor(options: Partial<ToggleButtonsOptions<V>> = {}) {
    super(options);
  }
}
defineWidget(ToggleButtons, {
  modelName: 'ToggleButtonsModel',
  viewName: 'ToggleButtonsView',
  traits: {
    ...selectionTraits(),
    buttonStyle: oneOf(['primary', 'success', 'info', 'warning', 'danger', ''], ''),
    tooltips: list(str()),
    icons: list(str()),
    style: ref(ToggleButtonsStyle, () => new ToggleButtonsStyle()),
  },
});

// --- booleans, text, buttons --------------------------------------------------------------------------------------

export interface CheckboxOptions extends DescriptionOptions {
  value: boolean;
  indent: boolean;
  disabled: boolean;
}
export class Checkbox extends DescriptionWidget {
  declare value: boolean;
  declare indent: boolean;
  declare disabled: boolean;
  constructor(options: Partial<CheckboxOptions> = {}) {
    super(options);
  }
}
defineWidget(Checkbox, {
  modelName: 'CheckboxModel',
  viewName: 'CheckboxView',
  traits: { value: bool(false), indent: bool(true), disabled: bool(false) },
});

export interface TextOptions extends DescriptionOptions {
  value: string;
  placeholder: string;
  continuousUpdate: boolean;
  disabled: boolean;
}
/** A one-line text box; `onSubmit(fn)` runs fn on Enter. */
export class Text extends DescriptionWidget {
  declare value: string;
  declare placeholder: string;
  declare continuousUpdate: boolean;
  declare disabled: boolean;
  constructor(options: Partial<TextOptions> = {}) {
    super(options);
  }
  onSubmit(handler: (text: Text) => void | Promise<void>): () => void {
    return this.onCustomMessage((content) => {
      if ((content as { event?: string } | null)?.event === 'submit') return handler(this);
    });
  }
}
defineWidget(Text, {
  modelName: 'TextModel',
  viewName: 'TextView',
  traits: { value: str(''), placeholder: str('\u200b'), continuousUpdate: bool(true), disabled: bool(false) },
});

export interface StringOptions extends DescriptionOptions {
  value: string;
  placeholder: string;
}
export class Label extends DescriptionWidget {
  declare value: string;
  constructor(options: Partial<StringOptions> = {}) {
    super(options);
  }
}
defineWidget(Label, { modelName: 'LabelModel', viewName: 'LabelView', traits: { value: str(''), placeholder: str('\u200b') } });

/** HTML shown as is (trusted: it comes from the kernel's code). */
export class HTML extends DescriptionWidget {
  declare value: string;
  constructor(options: Partial<StringOptions> = {}) {
    super(options);
  }
}
defineWidget(HTML, { modelName: 'HTMLModel', viewName: 'HTMLView', traits: { value: str(''), placeholder: str('\u200b') } });

export interface ButtonOptions extends DOMWidgetOptions {
  description: string;
  disabled: boolean;
  icon: string;
  buttonStyle: 'primary' | 'success' | 'info' | 'warning' | 'danger' | '';
  style: ButtonStyle;
}
/** A button: `b.onClick(() => …)`. */
export class Button extends DOMWidget {
  declare description: string;
  declare disabled: boolean;
  declare icon: string;
  declare buttonStyle: ButtonOptions['buttonStyle'];
  declare style: ButtonStyle;
  constructor(options: Partial<ButtonOptions> = {}) {
    super(options);
  }
  /** Calls `handler` on every click in a frontend; returns the function that stops it. */
  onClick(handler: (button: Button) => void | Promise<void>): () => void {
    return this.onCustomMessage((content) => {
      if ((content as { event?: string } | null)?.event === 'click') return handler(this);
    });
  }
  /** What a click in a frontend does (for code and tests). */
  async click(): Promise<void> {
    await this.dispatchCustom({ event: 'click' });
  }
}
defineWidget(Button, {
  modelName: 'ButtonModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  viewName: 'ButtonView',
  viewModule: CONTROLS_MODULE,
  viewModuleVersion: CONTROLS_VERSION,
  traits: {
    description: str(''),
    disabled: bool(false),
    icon: str(''),
    buttonStyle: oneOf(['primary', 'success', 'info', 'warning', 'danger', ''], ''),
    style: ref(ButtonStyle, () => new ButtonStyle()),
  },
});

// --- containers -----------------------------------------------------------------------------------------------------

export interface BoxOptions extends DOMWidgetOptions {
  children: DOMWidget[];
  boxStyle: 'success' | 'info' | 'warning' | 'danger' | '';
}
export class Box extends DOMWidget {
  declare children: DOMWidget[];
  declare boxStyle: BoxOptions['boxStyle'];
  constructor(children: DOMWidget[] = [], options: Partial<Omit<BoxOptions, 'children'>> = {}) {
    super({ ...options, children });
  }
}
const childrenTrait = () => list(ref(DOMWidget, null, { nullable: false }), () => []);
defineWidget(Box, {
  modelName: 'BoxModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  viewName: 'BoxView',
  viewModule: CONTROLS_MODULE,
  viewModuleVersion: CONTROLS_VERSION,
  traits: { children: childrenTrait(), boxStyle: oneOf(['success', 'info', 'warning', 'danger', ''], '') },
});
/** Children side by side: `new widgets.HBox([a, b])`. */
export class HBox extends Box {}
defineWidget(HBox, { modelName: 'HBoxModel', viewName: 'HBoxView' });
/** Children one below the other. */
export class VBox extends Box {}
defineWidget(VBox, { modelName: 'VBoxModel', viewName: 'VBoxView' });

export interface TabOptions extends BoxOptions {
  titles: string[];
  selectedIndex: number | null;
}
/** Children as tabs, titled by `titles`. */
export class Tab extends Box {
  declare titles: string[];
  declare selectedIndex: number | null;
  constructor(children: DOMWidget[] = [], options: Partial<Omit<TabOptions, 'children'>> = {}) {
    super(children, { ...(children.length > 0 ? { selectedIndex: 0 } : {}), ...options });
  }
  protected override coerce(name: string, value: unknown): unknown {
    if (name === 'selectedIndex' && value !== null) {
      const n = (this.get('children') as unknown[]).length;
      if ((value as number) < 0 || (value as number) >= n) throw new TraitError(`selectedIndex ${String(value)} is outside 0…${n - 1}`);
    }
    return value;
  }
}
defineWidget(Tab, { modelName: 'TabModel', viewName: 'TabView', traits: { titles: list(str()), selectedIndex: nullable(int()) } });
