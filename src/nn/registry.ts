/** Models by name: one entry per architecture, with what it needs of its input. */
import type { ModelQuantization } from './builder';
import { createMnistNet, MNISTNET_MIN_SIDE } from './mnistnet';
import { createMobileNetV2 } from './mobilenetv2';
import { ModelInputError, requireMinSide, type QuantModel } from './model';
import { createResNet, type ResNetDepth } from './resnet';

export const MODEL_NAMES = [
  'resnet20',
  'resnet32',
  'resnet44',
  'resnet56',
  'resnet110',
  'mobilenetv2-cifar',
  'mobilenetv2-imagenet',
  'mnistnet',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface CreateModelOptions {
  inputShape: readonly [number, number, number];
  numClasses: number;
  quantization: ModelQuantization;
  scaleLayer?: boolean;
  /** Seed of the weight initialisation (non-zero). */
  seed?: number;
  /** MobileNetV2 width multiplier. */
  widthMultiplier?: number;
}

/**
 * The smallest image side a model accepts. Strided convolutions pad ('same'), so ResNet and MobileNetV2 keep at least
 * one pixel; mnistnet's two valid 2×2 poolings leave none below 4 pixels (and an empty tensor makes tfjs-wasm's
 * MaxPool write out of bounds, the cpu backend return NaN).
 */
const MIN_INPUT_SIDE: Readonly<Record<ModelName, number>> = {
  resnet20: 1,
  resnet32: 1,
  resnet44: 1,
  resnet56: 1,
  resnet110: 1,
  'mobilenetv2-cifar': 1,
  'mobilenetv2-imagenet': 1,
  mnistnet: MNISTNET_MIN_SIDE,
};

const isModelName = (name: string): name is ModelName => (MODEL_NAMES as readonly string[]).includes(name);
const shapeText = (s: readonly number[]) => s.join('×');

/**
 * Throws a {@link ModelInputError} when `name` cannot be built for images of `inputShape` (height × width × channels)
 * and `numClasses` classes: called before training touches anything, so bad data fails with a message, not a hang.
 */
export function checkModelInput(name: string, inputShape: readonly number[], numClasses: number): void {
  if (!isModelName(name)) throw new ModelInputError(`unknown model "${name}"; models: ${MODEL_NAMES.join(', ')}`);
  if (inputShape.length !== 3 || !inputShape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new ModelInputError(`${name} takes images of height × width × channels, each a positive integer; got [${inputShape.join(', ')}]`);
  }
  requireMinSide(name, inputShape, MIN_INPUT_SIDE[name]);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new ModelInputError(`${name} needs at least 2 classes; the data has ${numClasses}`);
  }
}

/** Throws a {@link ModelInputError} when a built model does not take the data's images or classes. */
export function checkModelFitsData(model: QuantModel, inputShape: readonly number[], numClasses: number, data = 'the data'): void {
  if (shapeText(model.inputShape) !== shapeText(inputShape)) {
    throw new ModelInputError(`model ${model.name} takes ${shapeText(model.inputShape)} images, but ${data} holds ${shapeText(inputShape)} images`);
  }
  if (model.numClasses !== numClasses) {
    throw new ModelInputError(`model ${model.name} has ${model.numClasses} classes, but ${data} has ${numClasses}`);
  }
}

export function createModel(name: ModelName, o: CreateModelOptions): QuantModel {
  checkModelInput(name, o.inputShape, o.numClasses);
  const common = {
    inputShape: o.inputShape,
    numClasses: o.numClasses,
    quantization: o.quantization,
    scaleLayer: o.scaleLayer ?? false,
    seed: o.seed ?? 313,
  };
  if (name.startsWith('resnet')) return createResNet({ ...common, depth: Number(name.slice(6)) as ResNetDepth });
  if (name === 'mobilenetv2-cifar' || name === 'mobilenetv2-imagenet') {
    return createMobileNetV2({
      ...common,
      variant: name === 'mobilenetv2-cifar' ? 'cifar' : 'imagenet',
      ...(o.widthMultiplier ? { widthMultiplier: o.widthMultiplier } : {}),
    });
  }
  return createMnistNet(common);
}
