import * as tf from '@tensorflow/tfjs';
import { assertTemperature } from '../softmax';
import { assertLogitPair } from './checks';
import { teacherOf, withHardTerm } from './core';
import type { ObjectiveEntry } from './types';

// Beyond Hinton's loss: MSE on temperature probabilities (notebook 08).

function mseProbabilitiesCore(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const q = tf.exp(tf.logSoftmax(T === 1 ? student : tf.div(student, T)));
  const p = tf.exp(tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T)));
  return tf.mean(tf.squaredDifference(q, p));
}

export const mseProb: ObjectiveEntry<'mse-prob'> = {
  parameters: ['temperature', 'alpha'],
  needsTeacher: true,
  inert: ({ alpha }) => (alpha === 0 ? ['temperature'] : []),
  loss:
    ({ temperature: T, alpha }) =>
    (student, teacher, oneHot) =>
      tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(mseProbabilitiesCore(student, teacherOf(teacher), T), alpha))),
};

/**
 * Mean over all elements of (softmax(z/T) − softmax(v/T))²: matching the temperature
 * probabilities with a squared error (the chapter's §3.3 wording), beside mseLogitsLoss, which
 * matches the logits themselves. Averaged like mseLogitsLoss (over batch × classes), no T².
 */
export function mseProbabilitiesLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  const where = 'mseProbabilitiesLoss';
  assertTemperature(temperature, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => mseProbabilitiesCore(studentLogits, teacherLogits, temperature));
}
