import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
import type { ResolvedObjective } from '../losses';
import { trainableVariables, trainingForward } from './forward';
import type { Optimizer } from './optimizer';

/**
 * One optimizer step: forward the batch in training mode, the objective's loss, gradients with
 * tf.variableGrads, one optimizer update. Not model.fit: fit() cannot take a loss that needs a
 * second input per example (the teacher's logits).
 */

export interface StepBatch {
  x: tf.Tensor2D;
  /** One-hot labels [batch, 10]. */
  oneHot: tf.Tensor2D;
  /** Integer labels [batch]. */
  labels: tf.Tensor1D;
  /** Teacher logits [batch, 10] (objectives that learn from a teacher). */
  teacher?: tf.Tensor2D;
}

/**
 * A function that runs one optimizer step on a batch and returns the loss and the number of
 * correctly classified examples as scalar tensors (the caller disposes them; reading them back
 * is left to the caller so the hot loop does not wait on data). `objective` comes from
 * resolveObjective, which validated it: its loss is the very function kdLoss runs.
 */
export function createTrainStep(
  model: tf.LayersModel,
  optimizer: Optimizer,
  objective: ResolvedObjective,
): (batch: StepBatch) => { loss: tf.Scalar; correct: tf.Scalar } {
  const forward = trainingForward(model);
  const variables = trainableVariables(model);
  const { loss: lossOf, needsTeacher } = objective;
  return (b) => {
    if (needsTeacher && !b.teacher) {
      throw new KdlabError('NO_TEACHER_LOGITS', `train step: objective '${objective.objective.objective}' needs teacher logits for the batch.`);
    }
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(b.x);
      logits = tf.keep(out);
      return lossOf(out, b.teacher, b.oneHot);
    }, variables);
    try {
      optimizer.step(variables, variables.map((v) => grads[v.name]));
    } finally {
      tf.dispose(grads);
    }
    const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits as tf.Tensor2D, 1), b.labels), 'float32'))) as tf.Scalar;
    (logits as tf.Tensor2D).dispose();
    return { loss: value, correct };
  };
}
