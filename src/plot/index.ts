/**
 * Plots: typed Vega-Lite spec builders (pure functions from rows to specs) for the paper's figures and for training
 * runs, and one renderer (spec → SVG → PNG) shared by the kernel's displays, the notebook report and files.
 */
export { renderSvg, svgToPng, plotBundle, savePlot, isVegaLiteSpec, VEGA_LITE_SCHEMA, type VegaLiteSpec, type PlotBundle } from './render';
export {
  quantizerCurves,
  transferCurvePlot,
  gradientCurvePlot,
  maxGradientNormRows,
  maxGradientNormPlot,
  gaussianMseRows,
  gaussianMsePlot,
  defaultTheta,
  curveGrid,
  partialLabel,
  type ChartOptions,
  type QuantizerCurveRow,
  type MaxGradientNormRow,
  type GaussianMseRow,
} from './quantizer';
export {
  epochCurveRows,
  curveRecorder,
  trainingCurvesPlot,
  layerBitsRows,
  layerBitwidthPlot,
  layerMemoryRows,
  layerMemoryPlot,
  paretoFront,
  paretoPlot,
  type TrainingCurveRow,
  type LayerBitsRow,
  type LayerMemoryRow,
  type ParetoRow,
} from './training';
export {
  ordering,
  orderingAgreement,
  comparisonMarkdown,
  comparisonPlot,
  comparisonTableRows,
  formatError,
  rankCorrelation,
  type ComparisonRow,
  type ErrorValue,
  type OrderingAgreement,
} from './compare';
