import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
import { fusedSoftmaxLoss, fusedSoftmaxLossAvailable, type FusedLossAttrs } from '../kernels/softmax-loss-wasm';
import type { Objective, ResolvedObjective } from '../losses';
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
  const fused = fusedSoftmaxLossAvailable() ? fusedAttrs(objective.objective) : null;
  return (b) => {
    if (needsTeacher && !b.teacher) {
      throw new KdlabError('NO_TEACHER_LOGITS', `train step: objective '${objective.objective.objective}' needs teacher logits for the batch.`);
    }
    if (fused) {
      let hits: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const r = fusedSoftmaxLoss(forward(b.x), b.oneHot, b.teacher, fused);
        hits = tf.keep(r.correct);
        return r.loss;
      }, variables);
      applyGradients(optimizer, variables, grads);
      return { loss: value, correct: hits as tf.Scalar };
    }
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(b.x);
      logits = tf.keep(out);
      return lossOf(out, b.teacher, b.oneHot);
    }, variables);
    applyGradients(optimizer, variables, grads);
    const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits as tf.Tensor2D, 1), b.labels), 'float32'))) as tf.Scalar;
    (logits as tf.Tensor2D).dispose();
    return { loss: value, correct };
  };
}

function applyGradients(optimizer: Optimizer, variables: tf.Variable[], grads: tf.NamedTensorMap): void {
  try {
    optimizer.step(variables, variables.map((v) => grads[v.name]));
  } finally {
    tf.dispose(grads);
  }
}

/**
 * The objectives the fused wasm loss computes ('hard', 'kd'), as its attributes; null for the
 * others, which run their tf-ops loss from the objective table.
 */
function fusedAttrs(o: Objective): FusedLossAttrs | null {
  if (o.objective === 'hard') return { temperature: 1, alpha: 0 };
  if (o.objective === 'kd') return { temperature: o.temperature, alpha: o.alpha };
  return null;
}
