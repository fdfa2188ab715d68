import * as tf from '@tensorflow/tfjs';
import { assertFinite, assertLabels, assertLogits } from './checks';
import { crossEntropyCore, oneHotOf } from './core';
import type { ObjectiveEntry } from './types';

export const hard: ObjectiveEntry<'hard'> = {
  parameters: [],
  needsTeacher: false,
  loss: () => (student, _teacher, oneHot) => tf.tidy(() => crossEntropyCore(student, oneHot)),
};

/** Mean cross-entropy between the student's T = 1 softmax and integer class labels. */
export function studentLoss(studentLogits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const where = 'studentLoss';
  assertLogits(studentLogits, 'studentLogits', where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  assertFinite(studentLogits, 'studentLogits', where);
  return tf.tidy(() => crossEntropyCore(studentLogits, oneHotOf(labels, studentLogits.shape[1])));
}
