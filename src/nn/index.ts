export { type ModelQuantization, type QuantizerSlot, type NamedVariable, FLOAT_QUANTIZATION, reinitializeWeightQuantizers } from './builder';
export { QConv2d, QDepthwiseConv2d, QDense, BatchNorm, Nonlinearity, glorotLimit, type Conv2dOptions, type Padding } from './layers';
export { type QuantModel, type WeightLayer, parameterCount, ClassifierHead, assembleModel, ModelInputError } from './model';
export { createModel, checkModelInput, checkModelFitsData, MODEL_NAMES, type ModelName, type CreateModelOptions } from './registry';
export { createResNet, RESNET_DEPTHS, type ResNetDepth, type ResNetOptions } from './resnet';
export { createMobileNetV2, makeDivisible, type MobileNetV2Options } from './mobilenetv2';
export { createMnistNet, type MnistNetOptions } from './mnistnet';
export { weightMemoryKB, activationMemoryKB, activationSizes, memoryReport, type LayerMemory, type MemoryReport } from './memory';
