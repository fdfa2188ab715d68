import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cachedFloat32, setContentHash, weightsHash } from './cache';
import { PIXELS, type DigitSet } from './data';
import { InputError } from './errors';
import { WORKER_BLAS_THREADS, withBlasThreadsSync } from './kernels/native';
import { poolFeatures } from './losses/cosine';
import { forwardWithFeatures, hiddenLayers } from './models';
import { cacheDir } from './paths';

/**
 * The teacher's last hidden representation of every training image, computed once per run (or
 * once per teacher and slice, on disk) instead of once per batch of every epoch: the feature
 * objectives (hint, cosine) otherwise spend most of their step in the teacher's forward pass (for
 * the 256/512 conv teacher, 77–84 of a 106–115 ms step). Valid only for clean inputs: a jittered
 * batch is a different image in every epoch, so with jitter the teacher runs on the batch (the
 * same rule as the logits: STALE_TEACHER_LOGITS).
 */

// 1: inference mode, computed at WORKER_BLAS_THREADS in chunks of CHUNK rows.
const FORMAT = 'kdlab-teacher-features-1';

/**
 * Above this many bytes the rows are not kept (the conv teacher's 7×7×512 layer over 55,000
 * images would be 5.5 GB): the teacher then runs on each batch. A constant, not a share of this
 * machine's memory, so whether a run uses the rows never depends on where it runs.
 */
export const TEACHER_FEATURES_MAX_BYTES = 1 << 30;
let maxBytes = TEACHER_FEATURES_MAX_BYTES;

/** Tests: lower the limit (0: the teacher always runs on each batch); returns the one before. */
export function setTeacherFeaturesMaxBytes(bytes: number): number {
  const before = maxBytes;
  maxBytes = bytes;
  return before;
}

/** True when rows of `bytes` are kept (the limit in effect). */
export function teacherFeaturesFit(bytes: number): boolean {
  return bytes <= maxBytes;
}

/**
 * The one rule train(), the run engine, its preparation job and its cost estimate share: a run
 * reads its teacher's hidden rows from a table only on clean inputs (with jitter each epoch's
 * image is new) and only when the rows (`bytes`) fit under the limit.
 */
export function keepsTeacherFeatures(jitter: number, bytes: number): boolean {
  return jitter === 0 && teacherFeaturesFit(bytes);
}

const CHUNK = 250;

export interface TeacherFeatures {
  /** Row i: the values for image i of the set (n × perExample floats, NHWC order for conv layers). */
  values: Float32Array;
  /** Shape of one example's values: the teacher's last hidden layer, or [poolTo] when pooled. */
  shape: number[];
  setId: string;
  size: number;
  /** Cosine pools the teacher's layer to the student's size: the pooled rows are stored. */
  pooledTo: number | null;
}

/**
 * How many values per example the teacher's rows are stored as: cosine pools the teacher's layer
 * to the student's size in its loss (pooled once here instead), hint compares the layer itself.
 */
export function featurePoolSize(objective: string, studentHiddenShape: readonly number[]): number | null {
  return objective === 'cosine' ? studentHiddenShape.reduce((a, b) => a * b, 1) : null;
}

/** Bytes the rows of `teacher`'s last hidden layer (or pooled to `poolTo`) take for `rows` images. */
export function teacherFeatureBytes(teacher: tf.LayersModel, rows: number, poolTo: number | null): number {
  const shape = lastHiddenShapeOf(teacher);
  return rows * (poolTo ?? shape.reduce((a, b) => a * b, 1)) * 4;
}

function lastHiddenShapeOf(teacher: tf.LayersModel): number[] {
  const last = hiddenLayers(teacher).at(-1);
  if (!last) throw new InputError('BAD_MODEL', 'the teacher has no hidden layer to read features from.');
  return last.shape;
}

/**
 * The teacher's last hidden layer for every image of `set`, inference mode (dropout off), pooled
 * as poolFeatures does when `poolTo` is given. At the workers' BLAS thread count, so the values do
 * not depend on which process computed them.
 */
export function computeTeacherFeatures(teacher: tf.LayersModel, set: DigitSet, poolTo: number | null = null): TeacherFeatures {
  const hidden = lastHiddenShapeOf(teacher);
  const per = poolTo ?? hidden.reduce((a, b) => a * b, 1);
  const values = new Float32Array(set.size * per);
  withBlasThreadsSync(WORKER_BLAS_THREADS, () => {
    for (let start = 0; start < set.size; start += CHUNK) {
      const rows = Math.min(CHUNK, set.size - start);
      const out = tf.tidy(() => {
        const x = tf.tensor2d(set.images.subarray(start * PIXELS, (start + rows) * PIXELS), [rows, PIXELS]);
        const h = forwardWithFeatures(teacher, x, { training: false }).features.at(-1) as tf.Tensor;
        return poolTo === null ? h : poolFeatures(h, poolTo);
      });
      try {
        values.set(out.dataSync() as Float32Array, start * per);
      } finally {
        out.dispose();
      }
    }
  });
  return { values, shape: poolTo === null ? hidden : [poolTo], setId: set.id, size: set.size, pooledTo: poolTo };
}

export function teacherFeaturesDir(): string {
  return path.join(cacheDir(), 'teacher-features');
}

/**
 * computeTeacherFeatures, kept under <cacheDir>/teacher-features/ keyed by the teacher's weights,
 * the slice (id and content) and the pooling, so the runs that share a teacher compute it once
 * (the run engine fills it before its workers start). Null when the rows would exceed
 * TEACHER_FEATURES_MAX_BYTES.
 */
export function teacherFeaturesCached(
  teacher: tf.LayersModel,
  set: DigitSet,
  options: { poolTo?: number | null; dir?: string } = {},
): TeacherFeatures | null {
  const poolTo = options.poolTo ?? null;
  if (!keepsTeacherFeatures(0, teacherFeatureBytes(teacher, set.size, poolTo))) return null;
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([FORMAT, weightsHash(teacher), set.id, setContentHash(set), poolTo]))
    .digest('hex');
  const hidden = lastHiddenShapeOf(teacher);
  const shape = poolTo === null ? hidden : [poolTo];
  const { values } = cachedFloat32(
    options.dir ?? teacherFeaturesDir(),
    key,
    set.size * shape.reduce((a, b) => a * b, 1),
    () => computeTeacherFeatures(teacher, set, poolTo).values,
    { format: FORMAT, setId: set.id, size: set.size, shape },
  );
  return { values, shape, setId: set.id, size: set.size, pooledTo: poolTo };
}
