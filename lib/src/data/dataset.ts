import { InputError } from '../errors';
import { makeRng, shuffledIndices } from './random';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;

/**
 * A set of labelled images held in plain typed arrays (pixels scaled to [0, 1]).
 * `id` names the slice exactly (dataset, split, seed), so caches can key on it.
 */
export interface DigitSet {
  id: string;
  images: Float32Array;
  labels: Uint8Array;
  size: number;
}

/** Rows `indices` of `set`, copied into a new set called `id`. */
export function subset(set: DigitSet, indices: ArrayLike<number>, id: string): DigitSet {
  const n = indices.length;
  const images = new Float32Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const i = indices[r];
    if (!(i >= 0 && i < set.size)) {
      throw new InputError('INDEX_RANGE', `subset: index ${i} is outside ${set.id} (size ${set.size}).`);
    }
    images.set(set.images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
    labels[r] = set.labels[i];
  }
  return { id, images, labels, size: n };
}

/** The first `n` rows (quick modes train on a prefix of an already shuffled set). */
export function take(set: DigitSet, n: number): DigitSet {
  if (n >= set.size) return set;
  return {
    id: `${set.id}[:${n}]`,
    images: set.images.subarray(0, n * PIXELS),
    labels: set.labels.subarray(0, n),
    size: n,
  };
}

/**
 * Carves a validation set out of a training set with a seeded shuffle. The test set is never
 * touched: hyper-parameters are chosen on validation accuracy only.
 */
export function trainValidationSplit(
  train: DigitSet,
  validationSize: number,
  seed: number,
): { train: DigitSet; validation: DigitSet } {
  if (!Number.isInteger(validationSize) || validationSize < 0 || validationSize >= train.size) {
    throw new InputError(
      'BAD_SPLIT',
      `validationSize must be an integer in [0, ${train.size - 1}], got ${validationSize}.`,
    );
  }
  const order = shuffledIndices(train.size, makeRng(`split:${seed}`));
  return {
    validation: subset(train, order.subarray(0, validationSize), `${train.id}/val(${validationSize},seed=${seed})`),
    train: subset(train, order.subarray(validationSize), `${train.id}/train(-${validationSize},seed=${seed})`),
  };
}

export interface Batch {
  /** Row indices into the set, in batch order. */
  indices: Int32Array;
  images: Float32Array;
  labels: Int32Array;
}

/**
 * Mini-batches of `set` for one epoch, shuffled by (seed, epoch) so that every epoch differs
 * yet a rerun with the same seed sees exactly the same batches. The last batch may be short.
 */
export function* batches(
  set: DigitSet,
  batchSize: number,
  options: { seed?: number; epoch?: number; shuffle?: boolean } = {},
): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InputError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${batchSize}.`);
  }
  const { seed = 0, epoch = 0, shuffle = true } = options;
  const order = shuffle
    ? shuffledIndices(set.size, makeRng(`batches:${seed}:${epoch}`))
    : Int32Array.from({ length: set.size }, (_, i) => i);
  for (let start = 0; start < set.size; start += batchSize) {
    const indices = order.slice(start, Math.min(start + batchSize, set.size));
    const images = new Float32Array(indices.length * PIXELS);
    const labels = new Int32Array(indices.length);
    for (let r = 0; r < indices.length; r++) {
      const i = indices[r];
      images.set(set.images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
      labels[r] = set.labels[i];
    }
    yield { indices, images, labels };
  }
}
