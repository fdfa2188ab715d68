import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DigitSet, NUM_CLASSES, PIXELS } from './data';
import { InputError } from './errors';
import { predictLogits } from './evaluate';
import { WORKER_BLAS_THREADS, withBlasThreadsSync } from './kernels/native';
import { cacheDir, writeFileAtomic } from './paths';

/**
 * Teacher logits for a data slice, computed once and kept under <cacheDir>/teacher-logits/.
 * The file name is a hash of everything the logits depend on: the teacher's weights (not its
 * name: retraining changes the weights), the slice's id AND a hash of its pixels and labels
 * (two slices with the same id but different content must not collide), and the preprocessing
 * tag. Changing any of them gives a different key, so a stale file is never read.
 */

// 2: the logits are computed at WORKER_BLAS_THREADS; a 1-file may hold another thread count's digits.
const FORMAT = 'kdlab-teacher-logits-2';

export interface TeacherLogits {
  /** n × 10 logits, row i for row i of the set. */
  logits: Float32Array;
  key: string;
  setId: string;
  size: number;
  /** The preprocessing the inputs had when the logits were computed ('none' = clean images). */
  preprocessing: string;
  /** True when read from the cache, false when computed now. */
  hit: boolean;
  file: string;
}

export interface TeacherLogitsOptions {
  /** Tag of any input transformation applied before the teacher (default 'none'). */
  preprocessing?: string;
  batchSize?: number;
  /** Overrides <cacheDir>/teacher-logits. */
  dir?: string;
}

/** SHA-256 over the shapes and float32 bytes of every weight of `model`, in order. */
export function weightsHash(model: tf.LayersModel): string {
  const h = crypto.createHash('sha256');
  for (const w of model.weights) {
    const t = w.read();
    h.update(`${t.dtype}[${t.shape.join(',')}];`);
    const data = t.dataSync() as Float32Array;
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

const contentHashes = new WeakMap<Float32Array, { labels: Uint8Array; size: number; hash: string }>();

/** SHA-256 of a set's pixels and labels (memoised per array: hashing 60k images takes ~0.1 s). */
export function setContentHash(set: DigitSet): string {
  const memo = contentHashes.get(set.images);
  if (memo && memo.labels === set.labels && memo.size === set.size) return memo.hash;
  const h = crypto.createHash('sha256');
  h.update(`${set.size};`);
  h.update(new Uint8Array(set.images.buffer, set.images.byteOffset, set.size * PIXELS * 4));
  h.update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.size));
  const hash = h.digest('hex');
  contentHashes.set(set.images, { labels: set.labels, size: set.size, hash });
  return hash;
}

/** The cache key of (teacher weights, data slice, preprocessing). */
export function teacherLogitsKey(teacherWeightsHash: string, set: DigitSet, preprocessing = 'none'): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([FORMAT, teacherWeightsHash, set.id, setContentHash(set), preprocessing]))
    .digest('hex');
}

/**
 * A cache file of float32 values, <dir>/<key>.f32 with a <key>.json note beside it: read back when
 * it holds exactly `length` values, else (missing, truncated, foreign) computed by `compute` and
 * written atomically. The teacher's logits and its hidden rows are both kept this way.
 */
export function cachedFloat32(
  dir: string,
  key: string,
  length: number,
  compute: () => Float32Array,
  note: Record<string, unknown>,
): { values: Float32Array; hit: boolean; file: string } {
  const file = path.join(dir, `${key}.f32`);
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    if (buf.byteLength === length * 4) {
      const values = new Float32Array(length);
      new Uint8Array(values.buffer).set(buf);
      return { values, hit: true, file };
    }
  }
  const values = compute();
  writeFileAtomic(file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify({ ...note, createdAt: new Date().toISOString() }, null, 1));
  return { values, hit: false, file };
}

export function teacherLogitsDir(): string {
  return path.join(cacheDir(), 'teacher-logits');
}

/**
 * The teacher's logits for every row of `set` (inference mode: dropout off), from the cache when
 * the same teacher weights, slice and preprocessing were seen before, else computed and stored.
 */
export function teacherLogitsCached(teacher: tf.LayersModel, set: DigitSet, options: TeacherLogitsOptions = {}): TeacherLogits {
  const preprocessing = options.preprocessing ?? 'none';
  if (typeof preprocessing !== 'string' || preprocessing === '') {
    throw new InputError('BAD_INPUT', 'teacherLogitsCached: preprocessing must be a non-empty tag such as "none".');
  }
  const key = teacherLogitsKey(weightsHash(teacher), set, preprocessing);
  const { values, hit, file } = cachedFloat32(
    options.dir ?? teacherLogitsDir(),
    key,
    set.size * NUM_CLASSES,
    // The file's digits must not depend on the thread count of the process that filled it (OpenBLAS
    // sums in another order with another count, and the key cannot tell): always the workers' count.
    () => withBlasThreadsSync(WORKER_BLAS_THREADS, () => predictLogits(teacher, set, options.batchSize ?? 1000)),
    { format: FORMAT, setId: set.id, size: set.size, preprocessing },
  );
  return { key, setId: set.id, size: set.size, preprocessing, file, logits: values, hit };
}

/**
 * Reads a logits file written by teacherLogitsCached (its `file`), e.g. in a worker process that
 * was handed the path. The caller checks that it covers its slice (length = size × 10).
 */
export function readCachedLogits(file: string): Float32Array {
  if (!fs.existsSync(file)) {
    throw new InputError('CACHE_MISSING', `teacher logits file ${file} does not exist: compute it with teacherLogitsCached(teacher, set).`);
  }
  const buf = fs.readFileSync(file);
  if (buf.byteLength % (4 * NUM_CLASSES) !== 0) {
    throw new InputError('CACHE_CORRUPT', `${file} has ${buf.byteLength} bytes, not a whole number of ${NUM_CLASSES}-logit rows.`);
  }
  const logits = new Float32Array(buf.byteLength / 4);
  new Uint8Array(logits.buffer).set(buf);
  return logits;
}
