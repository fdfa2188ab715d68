import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
import type { FeatureInputs } from './types';

// ---------------------------------------------------------------------------------------------
// Loss cores: no input checks; callers validated the tensors (public losses) or the run (train).

export function klBatchMean(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const logP = tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T));
  const p = tf.exp(logP);
  return tf.div(tf.sum(tf.mul(p, tf.sub(logP, logQ))), student.shape[0]);
}

export function softCrossEntropyCore(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const p = tf.exp(tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T)));
  return tf.div(tf.neg(tf.sum(tf.mul(p, logQ))), student.shape[0]);
}

export function crossEntropyCore(student: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(student)))), student.shape[0]);
}

export function mseCore(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.squaredDifference(student, teacher));
}

export function oneHotOf(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.oneHot(labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), classes).toFloat() as tf.Tensor2D;
}

export function teacherOf(teacherLogits: tf.Tensor2D | undefined): tf.Tensor2D {
  if (!teacherLogits) throw new KdlabError('NO_TEACHER_LOGITS', 'loss: this objective needs the teacher logits of the batch.');
  return teacherLogits;
}

/**
 * alpha · soft + (1 − alpha) · CE(labels, student), where `weightedSoft` returns alpha · soft.
 * The one place where alpha = 0 (hard labels only: the soft term and the teacher are never
 * touched) and alpha = 1 (no hard term) are handled.
 */
export function withHardTerm(alpha: number, student: tf.Tensor2D, oneHot: tf.Tensor2D, weightedSoft: () => tf.Scalar): tf.Scalar {
  if (alpha === 0) return crossEntropyCore(student, oneHot);
  const soft = weightedSoft();
  if (alpha === 1) return soft;
  return tf.add(soft, tf.mul(crossEntropyCore(student, oneHot), 1 - alpha)) as tf.Scalar;
}

export function featuresOf(features: FeatureInputs | undefined, name: string): FeatureInputs {
  if (!features) throw new KdlabError('NO_TEACHER_FEATURES', `loss: objective '${name}' needs the hidden representations of the batch.`);
  return features;
}
