import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { assertTemperature } from '../softmax';
import { assertAlpha, assertLabels, assertLogitPair } from './checks';
import { klBatchMean, oneHotOf, softCrossEntropyCore, teacherOf, withHardTerm } from './core';
import type { KdLossOptions, ObjectiveEntry } from './types';

export const kd: ObjectiveEntry<'kd'> = {
  parameters: ['temperature', 'alpha'],
  needsTeacher: true,
  inert: ({ alpha }) => (alpha === 0 ? ['temperature'] : []),
  loss:
    ({ temperature: T, alpha }) =>
    (student, teacher, oneHot) =>
      tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(klBatchMean(student, teacherOf(teacher), T), alpha * T * T))),
};

/**
 * T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed over classes, averaged over the
 * batch. Zero when the student matches the teacher; its gradient w.r.t. the student logits is
 * T · (q − p) / batch.
 */
export function distillationLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, T: number): tf.Scalar {
  const where = 'distillationLoss';
  assertTemperature(T, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => tf.mul(klBatchMean(studentLogits, teacherLogits, T), T * T));
}

/**
 * Hinton's soft-target cross-entropy C = −Σ_i p_i log q_i at temperature T (batch mean, no T²).
 * Its gradient is (1/T)(q_i − p_i) per example; it differs from the KL by the teacher's entropy,
 * a constant for the student.
 */
export function softTargetCrossEntropy(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, T: number): tf.Scalar {
  const where = 'softTargetCrossEntropy';
  assertTemperature(T, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => softCrossEntropyCore(studentLogits, teacherLogits, T));
}

/**
 * alpha · distillationLoss(student, teacher, T) + (1 − alpha) · studentLoss(student, labels).
 * alpha = 0 is the plain student, alpha = 1 pure distillation (labels still checked). The same
 * function the training loop runs for { objective: 'kd', temperature, alpha }.
 */
export function kdLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: KdLossOptions,
): tf.Scalar {
  const where = 'kdLoss';
  if (options === null || typeof options !== 'object') {
    throw new InputError('BAD_INPUT', `${where}: pass { temperature, alpha } as the fourth argument.`);
  }
  // resolveObjective's checks for { objective: 'kd', temperature, alpha } (PARAMETERS: assertTemperature,
  // assertAlpha), written out because table.ts imports this file.
  assertTemperature(options.temperature, where);
  assertAlpha(options.alpha, where);
  const loss = kd.loss({ objective: 'kd', temperature: options.temperature, alpha: options.alpha });
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  return tf.tidy(() => loss(studentLogits, teacherLogits, oneHotOf(labels, studentLogits.shape[1])));
}
