export { renderSvg, svgToPng, plotBundle, isVegaLiteSpec, VEGA_LITE_SCHEMA, type VegaLiteSpec, type PlotBundle } from './render';
