import * as tf from '@tensorflow/tfjs';
import { DigitSet, NUM_CLASSES, PIXELS } from './data';
import { InputError } from './errors';

/**
 * Inference and evaluation. Everything runs in inference mode (dropout off) in batches, and
 * returns plain typed arrays, so callers never hold tensors they must dispose.
 */

function imagesOf(input: DigitSet | Float32Array): Float32Array {
  const images = input instanceof Float32Array ? input : input.images;
  if (!(images instanceof Float32Array) || images.length % PIXELS !== 0) {
    throw new InputError('BAD_IMAGES', `images must be a Float32Array of n × ${PIXELS} pixels, got length ${images?.length}.`);
  }
  return images;
}

/**
 * Raw logits (n × 10, row-major) for every image, ALWAYS in inference mode: dropout is off even
 * for a teacher built with dropout, so soft targets are the deterministic ones.
 */
export function predictLogits(model: tf.LayersModel, input: DigitSet | Float32Array, batchSize = 1000): Float32Array {
  const images = imagesOf(input);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InputError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${batchSize}.`);
  }
  const n = images.length / PIXELS;
  const out = new Float32Array(n * NUM_CLASSES);
  for (let start = 0; start < n; start += batchSize) {
    const rows = Math.min(batchSize, n - start);
    const logits = tf.tidy(() => {
      const x = tf.tensor2d(images.subarray(start * PIXELS, (start + rows) * PIXELS), [rows, PIXELS]);
      // apply() with training: false, not predict(): predict() also runs in inference mode, but
      // stating it here makes the guarantee independent of tf.layers defaults.
      return model.apply(x, { training: false }) as tf.Tensor;
    });
    try {
      if (logits.shape.length !== 2 || logits.shape[1] !== NUM_CLASSES) {
        throw new InputError('BAD_MODEL', `the model outputs shape [${logits.shape.join(', ')}]; expected [batch, ${NUM_CLASSES}] logits.`);
      }
      out.set(logits.dataSync() as Float32Array, start * NUM_CLASSES);
    } finally {
      logits.dispose();
    }
  }
  return out;
}

export interface Evaluation {
  /** Fraction correct in [0, 1]. */
  accuracy: number;
  /** Number of misclassified examples (how Hinton et al. report MNIST results). */
  errors: number;
  total: number;
  /** confusion[trueClass][predictedClass] counts. */
  confusion: number[][];
  /** Accuracy per true class (NaN for a class absent from the set). */
  perClassAccuracy: number[];
  /** Predicted class of every example. */
  predictions: Uint8Array;
}

/** Argmax of each row of an n × classes logit array (first maximum wins ties). */
export function argmaxRows(logits: Float32Array, classes = NUM_CLASSES): Uint8Array {
  const n = logits.length / classes;
  const pred = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bestV = logits[r * classes];
    for (let c = 1; c < classes; c++) {
      const v = logits[r * classes + c];
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    pred[r] = best;
  }
  return pred;
}

/** Accuracy, errors, confusion matrix and per-class accuracy from logits and labels. */
export function evaluateLogits(logits: Float32Array, labels: ArrayLike<number>, classes = NUM_CLASSES): Evaluation {
  if (logits.length !== labels.length * classes) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `evaluateLogits: ${logits.length} logits for ${labels.length} labels × ${classes} classes.`,
    );
  }
  const predictions = argmaxRows(logits, classes);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new InputError('BAD_LABELS', `evaluateLogits: label ${y} at index ${i} is not a class id in 0..${classes - 1}.`);
    }
    confusion[y][predictions[i]]++;
    if (y === predictions[i]) correct++;
  }
  const total = labels.length;
  const perClassAccuracy = confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? Number.NaN : row[c] / n;
  });
  return { accuracy: total === 0 ? Number.NaN : correct / total, errors: total - correct, total, confusion, perClassAccuracy, predictions };
}

/** Evaluates `model` on `set` in inference mode, in batches. */
export function evaluate(model: tf.LayersModel, set: DigitSet, options: { batchSize?: number } = {}): Evaluation {
  return evaluateLogits(predictLogits(model, set, options.batchSize ?? 1000), set.labels);
}
