import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS } from './data';
import { InputError } from './errors';
import { maxNormNative } from './kernels/native';

/**
 * Teacher and student are the same kind of network, an MLP 784 → hidden (ReLU) → 10 that
 * outputs raw logits (no softmax: the losses apply the temperature softmax themselves, and a
 * second softmax inside the model is a classic distillation bug).
 */

export interface MlpOptions {
  /** Hidden layer widths, e.g. [800, 800]. */
  hidden: number[];
  /** Dropout rate after each hidden layer (0 = none). Active only in training mode. */
  dropout?: number;
  /** Dropout rate on the input pixels (Hinton et al. used 0.2 with 0.5 on hidden units). */
  inputDropout?: number;
  /** Max-norm bound on each hidden unit's incoming weight vector, applied after every step by `train`. */
  maxNorm?: number;
  /** Seed of the weight initialisers: same seed, same starting weights. */
  seed?: number;
  name?: string;
}

export interface TeacherOptions {
  hidden?: number[];
  dropout?: number;
  inputDropout?: number;
  maxNorm?: number;
  seed?: number;
}

export interface StudentOptions {
  hidden?: number[];
  seed?: number;
}

/** Settings the training loop needs from the model that tf.layers does not keep for us. */
interface TrainingHints {
  maxNorm?: number;
}
const hints = new WeakMap<tf.LayersModel, TrainingHints>();

function checkRate(rate: number, name: string): void {
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    throw new InputError('BAD_DROPOUT', `${name} must be a rate in [0, 1), got ${String(rate)}.`);
  }
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InputError('BAD_SEED', `seed must be a non-negative integer, got ${String(seed)}.`);
  }
}

/** The common builder behind createTeacher and createStudent. */
export function createMlp(options: MlpOptions): tf.Sequential {
  const { hidden, dropout = 0, inputDropout = 0, maxNorm, seed = 0, name } = options;
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h <= 0)) {
    throw new InputError('BAD_HIDDEN', `hidden must be an array of positive integers, got ${JSON.stringify(hidden)}.`);
  }
  checkRate(dropout, 'dropout');
  checkRate(inputDropout, 'inputDropout');
  checkSeed(seed);
  if (maxNorm !== undefined && !(typeof maxNorm === 'number' && maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new InputError('BAD_MAX_NORM', `maxNorm must be a finite number > 0, got ${String(maxNorm)}.`);
  }
  // One distinct initialiser seed per layer, derived from the model seed.
  const layerSeed = (i: number) => seed * 1009 + i + 1;
  const model = tf.sequential({ name });
  let first = true;
  const inputShape = (): { inputShape?: number[] } => (first ? { inputShape: [PIXELS] } : {});
  if (inputDropout > 0) {
    model.add(tf.layers.dropout({ rate: inputDropout, seed: seed, ...inputShape() }));
    first = false;
  }
  hidden.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: layerSeed(i) }),
        biasInitializer: 'zeros',
        ...inputShape(),
      }),
    );
    first = false;
    if (dropout > 0) model.add(tf.layers.dropout({ rate: dropout, seed: seed }));
  });
  model.add(
    tf.layers.dense({
      units: NUM_CLASSES,
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(hidden.length) }),
      biasInitializer: 'zeros',
      ...inputShape(),
    }),
  );
  hints.set(model, { maxNorm });
  return model;
}

/**
 * Hinton et al.'s MNIST teacher: 784-1200-1200-10 ReLU with dropout (0.2 on inputs, 0.5 on
 * hidden units by default). Dropout is active only while training; `predictLogits` and
 * `evaluate` always run it in inference mode.
 */
export function createTeacher(options: TeacherOptions = {}): tf.Sequential {
  return createMlp({
    hidden: options.hidden ?? [1200, 1200],
    dropout: options.dropout ?? 0.5,
    inputDropout: options.inputDropout ?? 0.2,
    maxNorm: options.maxNorm,
    seed: options.seed ?? 0,
    name: 'teacher',
  });
}

/** Hinton et al.'s student: 784-800-800-10 ReLU, no regularisation. */
export function createStudent(options: StudentOptions = {}): tf.Sequential {
  return createMlp({ hidden: options.hidden ?? [800, 800], seed: options.seed ?? 0, name: 'student' });
}

/** Number of trainable parameters (weights and biases). */
export function countParams(model: tf.LayersModel): number {
  let n = 0;
  for (const w of model.trainableWeights) n += w.shape.reduce((a: number, b) => a * (b ?? 0), 1);
  return n;
}

/** Layer widths of a dense MLP, input to output, e.g. [784, 800, 800, 10]. */
export function layerWidths(model: tf.LayersModel): number[] {
  const widths: number[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dense') continue;
    const kernel = layer.getWeights()[0];
    if (widths.length === 0) widths.push(kernel.shape[0] ?? 0);
    widths.push(kernel.shape[1] ?? 0);
  }
  return widths;
}

/** "784-1200-1200-10 (2,395,210 parameters, dropout 0.2/0.5)". */
export function describeModel(model: tf.LayersModel): string {
  const rates = model.layers
    .filter((l) => l.getClassName() === 'Dropout')
    .map((l) => (l as unknown as { rate: number }).rate);
  const drop = rates.length ? `, dropout ${[...new Set(rates)].join('/')}` : '';
  return `${layerWidths(model).join('-')} (${countParams(model).toLocaleString('en-US')} parameters${drop})`;
}

/** Whether the model has any layer that behaves differently in training mode (dropout). */
export function hasDropout(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l.getClassName() === 'Dropout' && (l as unknown as { rate: number }).rate > 0);
}

/**
 * Gives every dropout layer a fresh seed for the next training step. tf.layers' Dropout reuses
 * one fixed seed on every call (the same mask on every batch); the training loop calls this
 * once per step with a seed derived from (run seed, epoch, step), so masks differ per step yet
 * a rerun or a resumed run draws exactly the same masks.
 */
export function reseedDropout(model: tf.LayersModel, stepSeed: number): void {
  let i = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout') continue;
    (layer as unknown as { seed?: number }).seed = (stepSeed * 31 + i++) % 2147483647;
  }
}

/** Max-norm bound set at creation time (createTeacher({ maxNorm })), if any. */
export function maxNormOf(model: tf.LayersModel): number | undefined {
  return hints.get(model)?.maxNorm;
}

/**
 * Rescales each hidden unit's incoming weight vector (a kernel column) to norm ≤ maxNorm, as in
 * Hinton et al. 2012's dropout training. The output layer is left free.
 */
export function applyMaxNorm(model: tf.LayersModel, maxNorm: number): void {
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  tf.tidy(() => {
    for (const layer of dense.slice(0, -1)) {
      const kernel = layer.trainableWeights[0].read() as tf.Tensor2D;
      const native = maxNormNative(kernel, maxNorm);
      if (native) {
        layer.trainableWeights[0].write(native);
        continue;
      }
      const norms = tf.sqrt(tf.sum(tf.square(kernel), 0, true));
      const scale = tf.div(tf.clipByValue(norms, 0, maxNorm), tf.add(norms, 1e-7));
      layer.trainableWeights[0].write(tf.mul(kernel, scale));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Convolutional teacher and student (notebook 08), and hidden activations for feature losses.

export interface ConvNetOptions {
  /** Filters of the two 3×3, stride-2 convolutions, e.g. [256, 512]. */
  filters: [number, number];
  /** Seed of the weight initialisers: same seed, same starting weights. */
  seed?: number;
  name?: string;
}

export interface ConvTeacherOptions {
  filters?: [number, number];
  seed?: number;
}

export type ConvStudentOptions = ConvTeacherOptions;

/**
 * The Keras "Knowledge Distillation" example's MNIST network: input 784 pixels reshaped to
 * 28×28×1 → Conv2D(f1, 3×3, stride 2, same) → LeakyReLU(0.2) → MaxPool(2×2, stride 1, same) →
 * Conv2D(f2, 3×3, stride 2, same) → Flatten → Dense(10) raw logits. As in the example, the
 * second convolution has no activation. Takes the same flat [batch, 784] inputs as the MLPs, so
 * train(), evaluate() and the logit cache work unchanged. Glorot-uniform kernels (Keras's
 * default), seeded per layer from `seed` like createMlp.
 */
export function createConvNet(options: ConvNetOptions): tf.Sequential {
  const { filters, seed = 0, name } = options;
  if (!Array.isArray(filters) || filters.length !== 2 || filters.some((f) => !Number.isInteger(f) || f <= 0)) {
    throw new InputError('BAD_HIDDEN', `filters must be two positive integers [f1, f2], got ${JSON.stringify(filters)}.`);
  }
  checkSeed(seed);
  const layerSeed = (i: number) => seed * 1009 + i + 1;
  const side = Math.round(Math.sqrt(PIXELS));
  const model = tf.sequential({ name });
  model.add(tf.layers.reshape({ targetShape: [side, side, 1], inputShape: [PIXELS] }));
  model.add(
    tf.layers.conv2d({
      filters: filters[0], kernelSize: 3, strides: 2, padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(0) }), biasInitializer: 'zeros',
    }),
  );
  model.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
  model.add(
    tf.layers.conv2d({
      filters: filters[1], kernelSize: 3, strides: 2, padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(1) }), biasInitializer: 'zeros',
    }),
  );
  model.add(tf.layers.flatten());
  model.add(
    tf.layers.dense({ units: NUM_CLASSES, kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(2) }), biasInitializer: 'zeros' }),
  );
  return model;
}

/** The Keras example's teacher: convolutions of 256 and 512 filters (1,433,610 parameters). */
export function createConvTeacher(options: ConvTeacherOptions = {}): tf.Sequential {
  return createConvNet({ filters: options.filters ?? [256, 512], seed: options.seed ?? 0, name: 'conv_teacher' });
}

/** The Keras example's student: convolutions of 16 and 32 filters (20,490 parameters). */
export function createConvStudent(options: ConvStudentOptions = {}): tf.Sequential {
  return createConvNet({ filters: options.filters ?? [16, 32], seed: options.seed ?? 0, name: 'conv_student' });
}

const ACTIVATION_LAYERS = new Set(['LeakyReLU', 'ReLU', 'Activation', 'ELU', 'Softmax', 'ThresholdedReLU', 'PReLU']);

/** One hidden representation a model exposes: a layer's output, without the batch axis. */
export interface HiddenLayer {
  /** Position in the list forwardWithFeatures returns. */
  index: number;
  /** The tf.layers name of the layer whose output it is. */
  layer: string;
  /** Shape of one example's activation, e.g. [800] or [14, 14, 16]. */
  shape: number[];
}

/**
 * The layers whose outputs count as hidden representations: every Dense or Conv2D layer except
 * the output layer, taken after its activation (the layer's own, or the activation layer right
 * after it: LeakyReLU in the conv nets). Dropout is not part of a representation. MLP 2×800:
 * the two 800-unit layers; conv nets: the first convolution after LeakyReLU and the second one.
 */
function hiddenLayerObjects(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers;
  const out: tf.layers.Layer[] = [];
  layers.forEach((layer, i) => {
    const cls = layer.getClassName();
    if ((cls !== 'Dense' && cls !== 'Conv2D') || i === layers.length - 1) return;
    const next = layers[i + 1];
    out.push(next && ACTIVATION_LAYERS.has(next.getClassName()) ? next : layer);
  });
  return out;
}

/** The hidden representations of `model`, in order, with their per-example shapes. */
export function hiddenLayers(model: tf.LayersModel): HiddenLayer[] {
  return hiddenLayerObjects(model).map((layer, index) => {
    const shape = (layer.outputShape as (number | null)[]).slice(1).map((d) => d ?? 0);
    return { index, layer: layer.name, shape };
  });
}

const featureModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

function featureModel(model: tf.LayersModel): tf.LayersModel {
  let fm = featureModels.get(model);
  if (fm) return fm;
  if (!model.inputs?.length || !model.outputs?.length) {
    throw new InputError('BAD_MODEL', `forwardWithFeatures: model ${model.name} is not built (give its first layer an inputShape).`);
  }
  const outputs = [...hiddenLayerObjects(model).map((l) => l.output as tf.SymbolicTensor), model.outputs[0]];
  // Shares the model's layers and weights: training through it trains the model.
  fm = tf.model({ inputs: model.inputs, outputs, name: `${model.name}_features` });
  featureModels.set(model, fm);
  return fm;
}

/** Logits and hidden activations of one forward pass. */
export interface ForwardWithFeatures {
  logits: tf.Tensor2D;
  /** One tensor per hiddenLayers(model) entry, each [batch, ...shape]. */
  features: tf.Tensor[];
}

/**
 * One forward pass that returns the logits and every hidden representation (hiddenLayers).
 * The model itself is unchanged: `model.predict`, `model.apply`, train() and evaluate() see the
 * same network; this runs a second view of it that shares its layers and weights, so gradients
 * taken through it reach the model's variables. `training: true` applies dropout (as train()
 * does); the default is inference mode. The caller disposes the returned tensors (or runs this
 * inside tf.tidy).
 */
export function forwardWithFeatures(model: tf.LayersModel, x: tf.Tensor, options: { training?: boolean } = {}): ForwardWithFeatures {
  const fm = featureModel(model);
  const outs = fm.apply(x, { training: options.training ?? false }) as tf.Tensor[];
  const logits = outs[outs.length - 1] as tf.Tensor2D;
  return { logits, features: outs.slice(0, -1) };
}

export interface RegressorOptions {
  /** Kernel size of the convolutional regressor (image-shaped features only; default 1). */
  kernelSize?: number;
  seed?: number;
}

/**
 * FitNets' regressor (Romero et al. 2015): a learned linear map from a student's hidden
 * representation to the shape of the teacher's, trained together with the student by the hint
 * loss and thrown away afterwards. Image-shaped features with the same height and width
 * ([h, w, c_s] → [h, w, c_t]) get a convolution (1×1 by default; the PyTorch tutorial uses 3×3,
 * kernelSize: 3); anything else is flattened and mapped by a dense layer, reshaped to the
 * teacher's shape.
 */
export function createRegressor(studentShape: number[], teacherShape: number[], options: RegressorOptions = {}): tf.Sequential {
  const { kernelSize = 1, seed = 0 } = options;
  const ok = (s: unknown): s is number[] => Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0);
  if (!ok(studentShape) || !ok(teacherShape)) {
    throw new InputError(
      'BAD_REGRESSOR',
      `createRegressor: shapes must be per-example shapes of positive integers (no batch axis), got ${JSON.stringify(studentShape)} → ${JSON.stringify(teacherShape)}.`,
    );
  }
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new InputError('BAD_REGRESSOR', `createRegressor: kernelSize must be an odd positive integer, got ${String(kernelSize)}.`);
  }
  checkSeed(seed);
  const init = tf.initializers.glorotUniform({ seed: seed * 1009 + 777 });
  const model = tf.sequential({ name: 'regressor' });
  const image = studentShape.length === 3 && teacherShape.length === 3 && studentShape[0] === teacherShape[0] && studentShape[1] === teacherShape[1];
  if (image) {
    model.add(
      tf.layers.conv2d({ filters: teacherShape[2], kernelSize, padding: 'same', inputShape: studentShape, kernelInitializer: init, biasInitializer: 'zeros' }),
    );
    return model;
  }
  const flat = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (studentShape.length > 1) model.add(tf.layers.flatten({ inputShape: studentShape }));
  model.add(
    tf.layers.dense({
      units: flat(teacherShape), kernelInitializer: init, biasInitializer: 'zeros',
      ...(studentShape.length > 1 ? {} : { inputShape: studentShape }),
    }),
  );
  if (teacherShape.length > 1) model.add(tf.layers.reshape({ targetShape: teacherShape }));
  return model;
}
