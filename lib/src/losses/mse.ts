import * as tf from '@tensorflow/tfjs';
import { assertLogitPair } from './checks';
import { mseCore, teacherOf, withHardTerm } from './core';
import type { ObjectiveEntry } from './types';

export const mse: ObjectiveEntry<'mse'> = {
  parameters: ['alpha'],
  needsTeacher: true,
  loss:
    ({ alpha }) =>
    (student, teacher, oneHot) =>
      tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(mseCore(student, teacherOf(teacher)), alpha))),
};

/**
 * Mean over all elements of (z − v)²: logit matching, the high-temperature limit of distillation
 * for zero-mean logits (Caruana's method, Hinton et al. §2.1).
 */
export function mseLogitsLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D): tf.Scalar {
  const where = 'mseLogitsLoss';
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => mseCore(studentLogits, teacherLogits));
}
