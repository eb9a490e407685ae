/**
 * Two-way Jupyter widgets (protocol 2.1) for TypeScript cells: the standard controls of ipywidgets 8, `observe`,
 * `link` / `jslink`, Output capture and `interact`. Preloaded in the mixprec kernel as the global `widgets`:
 *
 *     const bits = new widgets.IntSlider({ value: 3, min: 2, max: 8, description: 'bits' });
 *     bits.observe('value', ({ old, new: now }) => console.log(old, '→', now));
 *     bits // the cell's last expression shows the slider
 */
export {
  Widget,
  defineWidget,
  widgetById,
  openWidgets,
  removeBuffers,
  putBuffers,
  WIDGET_PROTOCOL_VERSION,
  type Change,
  type Observer,
  type WidgetSpec,
} from './widget';
export { TraitError, type Trait } from './traits';
export * as traits from './traits';
export {
  Layout,
  Style,
  DescriptionStyle,
  SliderStyle,
  ProgressStyle,
  ToggleButtonsStyle,
  ButtonStyle,
  DOMWidget,
  DescriptionWidget,
  IntSlider,
  FloatSlider,
  FloatLogSlider,
  IntRangeSlider,
  IntProgress,
  Play,
  Dropdown,
  ToggleButtons,
  Checkbox,
  Text,
  Label,
  HTML,
  Button,
  Box,
  HBox,
  VBox,
  Tab,
  type SelectionOptions,
} from './controls';
export { Output } from './output_widget';
export { link, dlink, jslink, jsdlink, JsLink, JsDirectionalLink, type Link, type TraitRef } from './link';
export { interact, interactive, fixed, Interactive, type Abbreviation, type Fixed, type Values } from './interact';
