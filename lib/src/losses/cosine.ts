import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
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
