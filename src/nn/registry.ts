/** Models by name: one entry per architecture. */
import type { ModelQuantization } from './builder';
import { createMnistNet } from './mnistnet';
import { createMobileNetV2 } from './mobilenetv2';
import type { QuantModel } from './model';
import { createResNet, type ResNetDepth } from './resnet';

export const MODEL_NAMES = [
  'resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110', 'mobilenetv2-cifar', 'mobilenetv2-imagenet', 'mnistnet',
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

export function createModel(name: ModelName, o: CreateModelOptions): QuantModel {
  const common = { inputShape: o.inputShape, numClasses: o.numClasses, quantization: o.quantization, scaleLayer: o.scaleLayer ?? false, seed: o.seed ?? 313 };
  if (name.startsWith('resnet')) return createResNet({ ...common, depth: Number(name.slice(6)) as ResNetDepth });
  if (name === 'mobilenetv2-cifar' || name === 'mobilenetv2-imagenet') {
    return createMobileNetV2({ ...common, variant: name === 'mobilenetv2-cifar' ? 'cifar' : 'imagenet', ...(o.widthMultiplier ? { widthMultiplier: o.widthMultiplier } : {}) });
  }
  if (name === 'mnistnet') return createMnistNet(common);
  throw new Error(`unknown model "${String(name)}"; models: ${MODEL_NAMES.join(', ')}`);
}
