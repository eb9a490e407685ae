/**
 * mixprec: the quantizers, models and training of "Mixed Precision DNNs: All you need is a good parametrization"
 * (Uhlich et al., ICLR 2020) on TensorFlow.js, with the official nnabla code's forward passes and gradients.
 *
 * ```ts
 * import { initBackend, createQuantizer, specFor } from 'mixprec';
 * await initBackend();                                   // tensorflow-gpu, tensorflow, webgpu, wasm or cpu
 * const q = createQuantizer(specFor('U3', { signed: true, init: { d: 2 ** -3, xmax: 0.875 } }));
 * const y = q.apply(x);                                  // differentiable w.r.t. x, q.variables.d, q.variables.xmax
 * const bits = q.bitwidth();                             // differentiable bitwidth for memory penalties
 * q.project();                                           // after each optimizer step, as the code does
 * ```
 * @packageDocumentation
 */

// Backends: selection, reports, and the training kernels wasm lacks.
export {
  /** Selects and starts a compute backend (explicit name, MIXPREC_BACKEND, or the first that starts). */
  initBackend,
  /** The report of the running backend, if started through initBackend. */
  currentBackend,
  /** One-line description of a backend report. */
  formatBackendReport,
  /** Thrown when a requested backend cannot start; `reason` says why. */
  BackendUnavailableError,
  /** Backends in automatic selection order. */
  BACKEND_ORDER,
  registerWasmTrainingKernels,
  /** Switches mixprec's faster kernels (fused quantizers, batch norm and momentum, wasm Conv2DBackpropInput) on or off. */
  useFastKernels,
  fastKernelsEnabled,
  /** Names of the fused parametric quantizer kernels (quantize, its gradient, the projection). */
  FUSED_QUANTIZER_KERNELS,
  /** Names of the fused training-mode batch-norm kernels (moments and running averages, normalize, gradient). */
  BATCH_NORM_KERNELS,
  /** Threads the wasm backend starts with (MIXPREC_WASM_THREADS, else the machine's parallelism). */
  wasmThreadCount,
  /** Turns mixprec's WebGPU host patches (no buffers created per step, few submits) off or on again, to compare. */
  setWebGpuHostPatches,
  /** Runs a function and counts the WebGPU backend's dispatches, buffers created, submits and writeBuffer calls in it. */
  countWebGpuWork,
  type WebGpuCounts,
  type BackendName,
  type BackendReport,
  type AdapterInfo,
  type InitBackendOptions,
} from './backend';

// Quantizers: the six parametrizations, the fixed baselines, bitwidths and projection.
export {
  /** Creates a quantizer whose parameters are tfjs Variables named as in the official code. */
  createQuantizer,
  /** Stateless quantization with explicit parameter tensors (differentiable w.r.t. them). */
  quantize,
  /** The memory bitwidth a parameter set implies, differentiable w.r.t. tensor parameters. */
  bitwidthOf,
  /** The code's clip_quant_vals projection for a set of variables. */
  projectParams,
  /** A spec from the paper's short name (U1, U2, U3, P1, P2, P3). */
  specFor,
  /** Validates a spec and fills in the code's defaults. */
  resolveSpec,
  /** The spec the official model uses for a layer (initialisation: docs/METHOD.md#initialization, ranges: docs/METHOD.md#parameter-ranges). */
  layerQuantizerSpec,
  /** model_resnet.find_delta. */
  findDelta,
  /** The official training configuration's defaults per role (weights, activations). */
  CODE_CONFIG,
  /** Thrown for a bad spec; `field` names the entry. */
  QuantizerSpecError,
  /**
   * The one table of the six parametrizations, U1…P3 in the paper's order: per row the short name, the family
   * (`kind`: uniform | pow2), the spec's `param`, the two learned parameters (`params` in the code's names and
   * creation order, `paperParams` in the paper's), the official method name (`method`, e.g. `parametric_fp_d_xmax`),
   * the experiment-name token (`nameToken`, e.g. `DELTA_XMAX`) and the display label (`U3 θ=[d,qmax]`). Every other
   * mapping in mixprec is derived from it.
   */
  PARAMETRIZATION_TABLE,
  /** Per family: its display label, its experiment-name token (FP, POW2) and its official cfg file. */
  PARAMETRIZATION_FAMILIES,
  /** The table's row for a short name, or for a (kind, param) pair; undefined for anything else. */
  parametrizationInfo,
  parametrizationOf,
  PAPER_PARAM_NAMES,
  UNIFORM_SHORT_NAMES,
  PARAMETRIZATIONS,
  SHORT_NAME_LIST,
  QUANTIZER_KINDS,
  roundHalfAway,
  pow2Round,
  ceilLog2,
  scopeName,
  type Quantizer,
  type QuantizerSpec,
  type ResolvedSpec,
  type QuantizerParams,
  type QuantizerState,
  type QuantizerKind,
  type Parametrization,
  type UniformParametrization,
  type Pow2Parametrization,
  type ParamName,
  type ShortName,
  type UniformShortName,
  type Pow2ShortName,
  type ParametrizationInfo,
  type LearnedKind,
  type FamilyLabel,
  type ParametricMethod,
  type Range,
  type QuantizerRole,
  type RoleConfig,
  type LayerQuantization,
  type LayerQuantizerOptions,
  type ParametrizationEntry,
} from './quant';

// Models: quantized layers, architectures, memory accounting.
export {
  /** Builds a model by name: resnet20…110, mobilenetv2-cifar, mobilenetv2-imagenet, mnistnet. */
  createModel,
  MODEL_NAMES,
  /** Refuses input shapes a model cannot use (mnistnet needs at least 4×4 images) and data a built model does not fit. */
  checkModelInput,
  checkModelFitsData,
  ModelInputError,
  /** Differentiable weight memory in KB (docs/METHOD.md#memory-accounting). */
  weightMemoryKB,
  /** Differentiable activation memory in KB, max or sum over layers. */
  activationMemoryKB,
  /** Current per-layer bits and kilobytes. */
  memoryReport,
  parameterCount,
  reinitializeWeightQuantizers,
  QConv2d,
  QDepthwiseConv2d,
  QDense,
  BatchNorm,
  Nonlinearity,
  type QuantModel,
  type ModelName,
  type CreateModelOptions,
  type ModelQuantization,
  type QuantizerSlot,
  type NamedVariable,
  type WeightLayer,
  type MemoryReport,
  type LayerMemory,
} from './nn';

// Datasets: the Arrow format, converters, the MNIST default, the training loader.
export * from './data';

// Training.
export {
  /** The training loop of the official code, with events for progress displays. */
  train,
  /** Test-set error and loss of a model. */
  evaluate,
  TrainingDivergedError,
  /** An output folder that holds a run, without resume or overwrite; RUN_FILES are what a run writes there. */
  RunFolderError,
  RUN_FILES,
  existingRunFiles,
  /** The settings a resume may change (recorded in config.json's `resumes`); any other change is refused. */
  RESUMABLE_FIELDS,
  configChanges,
  type ConfigChange,
  type ResumeRecord,
  type TrainOptions,
  type TrainingControl,
  type TrainResult,
  type TrainSummary,
  type TrainEvent,
  type EpochMetrics,
  type LayerBits,
} from './train/trainer';
export {
  type TrainConfig,
  type TrainConfigOverrides,
  type QuantizationConfig,
  type MemoryTargets,
  type LearningRateSchedule,
  DEFAULT_TRAIN_CONFIG,
  mergeTrainConfig,
  /**
   * Checks a TrainConfig (validateTrainConfig) or overrides of one (validateTrainConfigOverrides) against
   * TRAIN_CONFIG_SCHEMA, the one description of every field's type and range; the first problem throws a
   * TrainConfigError such as `config.json: field "targets.weightKB" must be a positive number or null, got "a"` or
   * `config.json: unknown field "lr" (did you mean "learningRate"?)`.
   */
  validateTrainConfig,
  validateTrainConfigOverrides,
  TRAIN_CONFIG_SCHEMA,
  TrainConfigError,
  type FieldSchema,
  type ObjectSchema,
  type ValidateOptions,
} from './train/config';
/** What the caller asked for is wrong (a flag, field, parameter, preset name); TrainConfigError and the other input errors extend it. */
export { UsageError } from './util/errors';
export {
  /** Runs a preset (and the float run it initialises from, if missing) on a dataset's splits. */
  runTrainingSession,
  type TrainingSessionOptions,
} from './train/session';
export {
  /** Every cfg section of the official code, by name. */
  listPresets,
  presetConfiguration,
  /** A preset as a TrainConfig, with overrides. */
  presetToTrainConfig,
  PAPER_TABLE1,
  PAPER_TABLE3,
  PAPER_TABLE4,
  PAPER_FIG5_BITWIDTHS,
  type CodeConfiguration,
  type PresetInfo,
} from './train/presets';
export { momentumSolver, adamSolver, createSolver, type Solver } from './train/optimizer';
export { saveCheckpoint, readCheckpoint, loadModelVariables, type CheckpointMeta } from './train/checkpoint';
export { learningRateAt } from './train/schedule';
export { crossEntropy, memoryPenalty, trainingLoss } from './train/loss';

// Experiments.
export {
  /** The paper's Gaussian-data experiment (Fig. 3). */
  gaussianExperiment,
  type GaussianExperimentOptions,
  type GaussianRun,
} from './train/gaussian';
export {
  /** Runs a list of presets as one study (shared float pre-training); Table 1 / Table 3 as run lists. */
  runStudy,
  table1Runs,
  table1Float,
  TABLE1_SETTINGS,
  table3Runs,
  scaledTargets,
  resolveDataset,
  type StudyRun,
  type StudyOptions,
  type StudyResult,
  type DatasetSplits,
  type MemoryTargetsKB,
  type Table1Setting,
} from './train/experiments';

// Plots, the Jupyter protocol, notebook output, the kernel's installation.
export {
  /** Renders a Vega-Lite spec to SVG (vega, headless) / PNG (resvg); saves .svg or .png files atomically. */
  renderSvg,
  svgToPng,
  plotBundle,
  savePlot,
  isVegaLiteSpec,
  VEGA_LITE_SCHEMA,
  type VegaLiteSpec,
  type PlotBundle,
  /** Quantizer figures: transfer and gradient curves (Fig. 2), max gradient norm (Fig. 1), Gaussian MSE (Fig. 3). */
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
  /** Training figures: curves across runs, per-layer bitwidths (Fig. 5) and memory, error against memory. */
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
  /** Our numbers beside the paper's: orderings, Kendall τ, a chart, a table and markdown written from the numbers. */
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
} from './plot';

// Analysis of the quantizers: library autodiff against the paper's closed forms.
export {
  gradientCurve,
  transferCurve,
  paperGradient,
  paperQuantize,
  paperValues,
  maxGradientNormClosedForm,
  maxGradientNormAutodiff,
  maxNormProbePoints,
  analysisSpec,
  LEARNED_PARAMS,
  type PaperParam,
  type PaperTheta,
  type PaperValues,
  type GradientPoint,
} from './quant/analysis';
export { KernelClient, type ExecuteOptions, type ExecuteResult } from './jupyter/client';
export { type JupyterMessage, type MessageHeader, encodeMessage, decodeMessage, newMessage, MessageError } from './jupyter/message';
export { readConnectionFile, createConnectionFile, type ConnectionInfo } from './jupyter/connection';
export { findKernelSpecs, jupyterDataPath, type KernelSpec, type FoundKernelSpec } from './jupyter/kernelspec';
export {
  /** The notebook user's API: `display` (rich output, tables, progress, plots) and the live training widget. */
  display,
  mimeBundleOf,
  tableBundle,
  trainingWidget,
  type Display,
  type DisplayHandle,
  type MimeBundle,
  type TableOptions,
  type ProgressDisplay,
  type TrainingWidgetOptions,
  /** The training dashboard (Stop, Pause / Resume, a learning-rate factor) and the quantizer explorer, as widgets. */
  trainingDashboard,
  quantizerExplorer,
  type TrainingDashboard,
  type TrainingDashboardOptions,
  type QuantizerExplorer,
  type QuantizerExplorerOptions,
} from './notebook';
/** Two-way Jupyter widgets (protocol 2.1): the standard controls, observe, link / jslink, Output capture, interact. */
export * as widgets from './notebook/widgets';
export { Comm, CommManager, type CommTransport, type CommMessage } from './notebook/comm';
export { installKernel, uninstallKernel, mixprecKernelSpec } from './kernel/install';

// The headless runner and the benchmarks are a separate entry, `mixprec/tools` (src/tools.ts), so that loading the
// library (every kernel does) does not load them.
