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
