export {
  type QuantizerKind,
  type UniformParametrization,
  type Pow2Parametrization,
  type Parametrization,
  type ParamName,
  type ShortName,
  type Range,
  type QuantizerSpec,
  type ResolvedSpec,
  QuantizerSpecError,
  resolveSpec,
  specFor,
  scopeName,
  defaultBitRange,
  checkRange,
  QUANTIZER_KINDS,
  PARAM_NAMES,
} from './spec';
export {
  type ParametrizationInfo,
  type LearnedKind,
  type FamilyLabel,
  type UniformShortName,
  type Pow2ShortName,
  type ParametricMethod,
  type PaperParam,
  PARAMETRIZATION_TABLE,
  PARAMETRIZATION_FAMILIES,
  PAPER_PARAM_NAMES,
  SHORT_NAME_LIST,
  UNIFORM_SHORT_NAMES,
  parametrizationInfo,
  parametrizationOf,
} from './parametrizations';
export { type Quantizer, type QuantizerParams, type QuantizerState, createQuantizer, quantize, bitwidthOf, projectParams } from './quantizer';
export { roundHalfAway, pow2Round, ceilLog2, SQRT2_F32, SQRT1_2_F32 } from './round';
export { PARAMETRIZATIONS, parametrizationEntry, entryByShortName } from './registry';
export type { ParametrizationEntry, Family, Grid } from './family';
export { fixedPointLimits, fixedPow2Limits } from './fixed';
export {
  type QuantizerRole,
  type RoleConfig,
  type LayerQuantization,
  type LayerQuantizerOptions,
  CODE_CONFIG,
  findDelta,
  layerQuantizerSpec,
} from './init';
