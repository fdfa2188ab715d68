import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { assertFinite, assertHidden, assertSameBatch, describeShape } from './checks';
import { featuresOf, withHardTerm } from './core';
import type { ObjectiveEntry } from './types';

/** PyTorch's CosineEmbeddingLoss adds this to each squared norm (all-zero activations give cos 0). */
const COSINE_EPS = 1e-12;

/** mean over the batch of 1 − cos(s, t), each example flattened (same number of values per example). */
export function cosineCore(s: tf.Tensor, t: tf.Tensor): tf.Scalar {
  const batch = s.shape[0];
  const s2 = tf.reshape(s, [batch, -1]);
  const t2 = tf.reshape(t, [batch, -1]);
  const dot = tf.sum(tf.mul(s2, t2), 1);
  const ns = tf.add(tf.sum(tf.square(s2), 1), COSINE_EPS);
  const nt = tf.add(tf.sum(tf.square(t2), 1), COSINE_EPS);
  const cos = tf.div(dot, tf.sqrt(tf.mul(ns, nt)));
  return tf.mean(tf.sub(1, cos));
}

/** Largest pooling matrix poolFeatures builds (inputs × outputs floats) when sizes do not divide. */
const MAX_POOL_MATRIX = 4_000_000;
const poolMatrices = new Map<string, Float32Array>();

/**
 * Each example's activations flattened to `size` values by adaptive average pooling (as
 * torch.nn.functional.adaptive_avg_pool1d): output i is the mean of inputs
 * floor(i·n/size) … ceil((i+1)·n/size) − 1. When n is a multiple of `size` these are consecutive
 * groups (for NHWC conv features of c_T = k·c_S channels: groups of k channels of one pixel);
 * otherwise overlapping windows, applied as a constant n × size matrix. [batch, size].
 */
export function poolFeatures(x: tf.Tensor, size: number): tf.Tensor2D {
  const batch = x.shape[0];
  const n = x.size / batch;
  if (!Number.isInteger(size) || size <= 0 || size > n) {
    throw new InputError('SHAPE_MISMATCH', `poolFeatures: cannot pool ${n} values per example to ${size}.`);
  }
  return tf.tidy(() => {
    const flat = tf.reshape(x, [batch, n]) as tf.Tensor2D;
    if (size === n) return flat;
    if (n % size === 0) return tf.mean(tf.reshape(flat, [batch, size, n / size]), 2) as tf.Tensor2D;
    if (n * size > MAX_POOL_MATRIX) {
      throw new InputError('SHAPE_MISMATCH', `poolFeatures: pooling ${n} values to ${size} needs a ${n}×${size} matrix; use sizes that divide.`);
    }
    const key = `${n}/${size}`;
    let m = poolMatrices.get(key);
    if (!m) {
      m = new Float32Array(n * size);
      for (let i = 0; i < size; i++) {
        const a = Math.floor((i * n) / size);
        const b = Math.ceil(((i + 1) * n) / size);
        for (let j = a; j < b; j++) m[j * size + i] = 1 / (b - a);
      }
      poolMatrices.set(key, m);
    }
    return tf.matMul(flat, tf.tensor2d(m, [n, size]));
  });
}

export const cosine: ObjectiveEntry<'cosine'> = {
  parameters: ['alpha'],
  needsTeacher: false,
  needsFeatures: true,
  loss:
    ({ alpha }) =>
    (student, _teacher, oneHot, features) =>
      tf.tidy(() =>
        withHardTerm(alpha, student, oneHot, () => {
          const f = featuresOf(features, 'cosine');
          return tf.mul(cosineCore(f.student, poolFeatures(f.teacher, f.student.size / f.student.shape[0])), alpha);
        }),
      ),
};

// The public loss on hidden representations (notebook 08): mean over the batch of 1 − cos(h_S, h_T)
// on flattened activations (torch.nn.CosineEmbeddingLoss with target 1, as in the PyTorch KD
// tutorial).

/**
 * Cosine-embedding loss on hidden representations: mean over the batch of 1 − cos(h_S, h_T),
 * each example's activations flattened (torch.nn.CosineEmbeddingLoss with target 1, the
 * PyTorch KD tutorial's hidden-representation loss). 0 when every student vector points the
 * teacher's way, 1 for orthogonal ones, 2 for opposite ones; the scale of either side does not
 * matter. Both sides must have the same number of values per example (the tutorial average-pools
 * the teacher's features to the student's size; a regressor works too).
 */
export function cosineEmbeddingLoss(studentHidden: tf.Tensor, teacherHidden: tf.Tensor): tf.Scalar {
  const where = 'cosineEmbeddingLoss';
  assertHidden(studentHidden, 'studentHidden', where);
  assertHidden(teacherHidden, 'teacherHidden', where);
  assertSameBatch(studentHidden, teacherHidden, where);
  const perS = studentHidden.size / studentHidden.shape[0];
  const perT = teacherHidden.size / teacherHidden.shape[0];
  if (perS !== perT) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: student activations ${describeShape(studentHidden)} have ${perS} values per example, teacher activations ` +
        `${describeShape(teacherHidden)} ${perT}. Pool the teacher's features or map the student's through a regressor first.`,
    );
  }
  assertFinite(studentHidden, 'studentHidden', where, 'NON_FINITE_FEATURES');
  assertFinite(teacherHidden, 'teacherHidden', where, 'NON_FINITE_FEATURES');
  return tf.tidy(() => cosineCore(studentHidden, teacherHidden));
}
