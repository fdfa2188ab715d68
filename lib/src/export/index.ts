/**
 * Deploying a student: TensorFlow.js layers-model export with float16 / uint8 weight quantization,
 * MNIST's preprocessing for a drawn digit, and a small distillation loop for a browser tab. Every
 * module here is browser-safe (no Node module): the playground page bundles them (browser.ts).
 */
export { WEIGHT_QUANTIZATIONS, float16Bits, float16Value, quantizeWeights, uint8Range } from './quantize';
export type { QuantizedWeights, WeightQuantization } from './quantize';
export { exportLayersModel, layersModelJson, loadExportedModel, parseLayersModelJson, weightBytes } from './layers-model';
export type { ExportedModel, LayersModelJson } from './layers-model';
export { MNIST_BOX, MNIST_SIDE, inkBox, mnistPreprocess } from './preprocess';
export { LiveStudent, accuracyOf } from './live-train';
export type { LiveEpoch, LiveSet, LiveStudentOptions } from './live-train';
