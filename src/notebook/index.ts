/**
 * The notebook user's API: rich output from cells (`display`, tables, progress bars, plots) and the live training
 * widget. It builds on plot/ and train/, not on the kernel server; the kernel installs the sink the output goes to
 * (setDisplaySink) and exposes `display` as a global of every cell.
 */
export {
  setDisplaySink,
  mimeBundleOf,
  isDisplayHandle,
  show,
  track,
  DISPLAY_HANDLE,
  type DisplaySink,
  type DisplayHandle,
  type MimeBundle,
} from './output';
export { display, tableBundle, progressBundle, type Display, type ProgressDisplay, type TableOptions } from './display';
export { trainingWidget, type TrainingWidgetOptions } from './widget';
export { trainingRecorder, trainingHtml, trainingText, type TrainingState } from './widget';
export { trainingDashboard, type TrainingDashboard, type TrainingDashboardOptions } from './dashboard';
export { quantizerExplorer, type QuantizerExplorer, type QuantizerExplorerOptions } from './explorer';
