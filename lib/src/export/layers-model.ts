/**
 * A trained model as a TensorFlow.js layers model (the `model.json` + weight file pair that
 * `tf.loadLayersModel` reads), with its float32 weights optionally stored as float16 or uint8
 * (see quantize.ts). Browser-safe: artifacts are plain objects and ArrayBuffers; writing them to
 * disk is the caller's business (the tools write files, the playground page inlines them).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from '../errors';
import { checkQuantization, quantizeWeights, type WeightQuantization } from './quantize';

/** One stored variant of a model: topology, weight specs (with their quantization) and bytes. */
export interface ExportedModel {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  quantization: WeightQuantization;
}

/** The `model.json` of a layers model whose weights sit in one file next to it. */
export interface LayersModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/**
 * `model`'s topology and weights as TensorFlow.js stores a layers model, with the float32
 * weights re-encoded as `quantization` (default float32: unchanged). Creates no tensors.
 */
export async function exportLayersModel(model: tf.LayersModel, options: { quantization?: WeightQuantization } = {}): Promise<ExportedModel> {
  const quantization = checkQuantization(options.quantization ?? 'float32', 'exportLayersModel');
  if (!model || typeof (model as { save?: unknown }).save !== 'function') {
    throw new InputError('BAD_MODEL', 'exportLayersModel: pass a tf.LayersModel (createStudent(), createTeacher(), tf.sequential()).');
  }
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved || !saved.modelTopology || !saved.weightSpecs) {
    throw new KdlabError('BACKEND_STATE', 'exportLayersModel: tf.LayersModel.save() gave no topology or weights; the model may not be built yet (call it once on an input).');
  }
  const float = joinWeightData(saved.weightData);
  const { specs, data } = quantizeWeights(saved.weightSpecs, float, quantization);
  return { modelTopology: saved.modelTopology as object, weightSpecs: specs, weightData: data, quantization };
}

/** The model.json for `exported` with its weights in the file `weightsPath` (relative to model.json). */
export function layersModelJson(exported: ExportedModel, weightsPath: string): LayersModelJson {
  return {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: exported.modelTopology,
    weightsManifest: [{ paths: [weightsPath], weights: exported.weightSpecs }],
  };
}

/** An exported model read back from a model.json object and the bytes of its one weight file. */
export function parseLayersModelJson(json: unknown, weightData: ArrayBuffer): ExportedModel {
  const j = json as Partial<LayersModelJson> | null;
  if (!j || typeof j !== 'object' || !j.modelTopology || !Array.isArray(j.weightsManifest) || j.weightsManifest.length === 0) {
    throw new InputError('BAD_MODEL', 'parseLayersModelJson: not a layers model.json (needs modelTopology and weightsManifest); export it with exportLayersModel.');
  }
  const weightSpecs = j.weightsManifest.flatMap((g) => g.weights);
  const kinds = new Set(weightSpecs.map((w) => w.quantization?.dtype ?? 'float32'));
  const quantization = kinds.has('uint8') ? 'uint8' : kinds.has('float16') ? 'float16' : 'float32';
  return { modelTopology: j.modelTopology, weightSpecs, weightData, quantization };
}

/** Bytes of the weight file (model.json's size comes on top; see layersModelJson). */
export function weightBytes(exported: ExportedModel): number {
  return exported.weightData.byteLength;
}

/** Loads an exported model the way a browser loads model.json: tfjs dequantizes the weights itself. */
export async function loadExportedModel(exported: ExportedModel): Promise<tf.LayersModel> {
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: exported.modelTopology, weightSpecs: exported.weightSpecs, weightData: exported.weightData }),
  );
}
