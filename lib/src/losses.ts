import * as tf from '@tensorflow/tfjs';
import { InputError } from './errors';
import { assertTemperature } from './softmax';

/**
 * The distillation losses. Conventions (tested in tests/kd/losses.test.ts):
 *
 *   L = alpha · T² · KL(p_teacher^T ‖ p_student^T) + (1 − alpha) · CE(y, p_student^1)
 *
 * - KL and CE are summed over classes and averaged over the batch ("batchmean"), never averaged
 *   over all elements (that would silently divide by the class count).
 * - T² keeps the soft term's gradient on the same scale as the hard term's for every T (the soft
 *   gradients shrink as 1/T², Hinton et al. 2015 §2).
 * - Every probability is taken through log-softmax, so logits of magnitude 1e3 stay finite and a
 *   teacher probability that underflows to 0 contributes 0 · (finite) = 0, not NaN.
 */

export interface KdLossOptions {
  temperature: number;
  /** Weight of the soft (distillation) term in [0, 1]; the hard term gets 1 − alpha. */
  alpha: number;
}

function describeShape(t: tf.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

function assertTensor(x: unknown, name: string, where: string): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new InputError('BAD_INPUT', `${where}: ${name} must be a tf.Tensor, got ${x === null ? 'null' : typeof x}.`);
  }
  if (x.isDisposed) throw new InputError('BAD_INPUT', `${where}: ${name} has already been disposed.`);
}

function assertLogits(x: unknown, name: string, where: string): asserts x is tf.Tensor2D {
  assertTensor(x, name, where);
  if (x.rank !== 2) {
    throw new InputError(
      'BAD_RANK',
      `${where}: ${name} must be a 2-D tensor [batch, classes] of raw logits, got shape ${describeShape(x)}.`,
    );
  }
  if (x.dtype !== 'float32') {
    throw new InputError('BAD_DTYPE', `${where}: ${name} must be float32 logits, got ${x.dtype}.`);
  }
  if (x.shape[0] === 0 || (x.shape[1] ?? 0) < 2) {
    throw new InputError('BAD_RANK', `${where}: ${name} needs at least one row and two classes, got ${describeShape(x)}.`);
  }
}

function assertFinite(x: tf.Tensor, name: string, where: string): void {
  const data = x.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InputError(
        'NON_FINITE_LOGITS',
        `${where}: ${name} contains ${data[i]} at flat index ${i}. Logits must be finite numbers ` +
          '(a NaN usually means training diverged: lower the learning rate).',
      );
    }
  }
}

/** Student and teacher logits: rank 2, same batch and class count, no NaN or infinity. */
function assertLogitPair(student: tf.Tensor2D, teacher: tf.Tensor2D, where: string): void {
  assertLogits(student, 'studentLogits', where);
  assertLogits(teacher, 'teacherLogits', where);
  assertSameShape(student, teacher, where);
  assertFinite(student, 'studentLogits', where);
  assertFinite(teacher, 'teacherLogits', where);
}

function assertSameShape(student: tf.Tensor2D, teacher: tf.Tensor2D, where: string): void {
  const [bs, cs] = student.shape;
  const [bt, ct] = teacher.shape;
  if (cs !== ct) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: class-count mismatch: student logits have ${cs} classes, teacher logits ${ct}. ` +
        'Both models must score the same classes in the same order.',
    );
  }
  if (bs !== bt) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: batch mismatch: student logits ${describeShape(student)} vs teacher logits ${describeShape(teacher)}. ` +
        'Each teacher row must belong to the same input as the student row.',
    );
  }
}

function assertLabels(labels: unknown, batch: number, classes: number, where: string): asserts labels is tf.Tensor1D {
  assertTensor(labels, 'labels', where);
  if (labels.rank !== 1) {
    throw new InputError(
      'BAD_LABELS',
      `${where}: labels must be a 1-D tensor of class ids, got shape ${describeShape(labels)} ` +
        '(one-hot labels are not accepted: pass tf.argMax(oneHot, 1)).',
    );
  }
  if (labels.shape[0] !== batch) {
    throw new InputError('BAD_LABELS', `${where}: ${labels.shape[0]} labels for ${batch} rows of logits.`);
  }
  const data = labels.dataSync();
  for (let i = 0; i < data.length; i++) {
    const y = data[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new InputError(
        'BAD_LABELS',
        `${where}: label ${y} at index ${i} is not an integer class id in 0..${classes - 1}.`,
      );
    }
  }
}

/** Throws unless alpha is a number in [0, 1]. */
export function assertAlpha(alpha: number, where = 'kdLoss'): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new InputError(
      'BAD_ALPHA',
      `${where}: alpha must be a number in [0, 1] (0 = plain student, 1 = pure distillation), got ${String(alpha)}.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Unchecked cores. The public functions below validate, then call these; the training loop
// validates once per run and calls these directly so the hot loop never reads tensors back.

function klBatchMean(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const logP = tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T));
  const p = tf.exp(logP);
  return tf.div(tf.sum(tf.mul(p, tf.sub(logP, logQ))), student.shape[0]);
}

function softCrossEntropyCore(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const p = tf.exp(tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T)));
  return tf.div(tf.neg(tf.sum(tf.mul(p, logQ))), student.shape[0]);
}

function crossEntropyCore(student: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(student)))), student.shape[0]);
}

function oneHotOf(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.oneHot(labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), classes).toFloat() as tf.Tensor2D;
}

/**
 * The loss cores without input checks, for callers that validated their inputs once already
 * (the training loop). `oneHot` is the [batch, classes] one-hot of the labels.
 */
export const uncheckedLosses = {
  distillation(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
    return tf.tidy(() => tf.mul(klBatchMean(student, teacher, T), T * T));
  },
  student(student: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => crossEntropyCore(student, oneHot));
  },
  kd(student: tf.Tensor2D, teacher: tf.Tensor2D, oneHot: tf.Tensor2D, T: number, alpha: number): tf.Scalar {
    return tf.tidy(() => {
      if (alpha === 0) return crossEntropyCore(student, oneHot);
      const soft: tf.Scalar = tf.mul(klBatchMean(student, teacher, T), alpha * T * T);
      if (alpha === 1) return soft;
      return tf.add(soft, tf.mul(crossEntropyCore(student, oneHot), 1 - alpha)) as tf.Scalar;
    });
  },
  mse(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.mean(tf.squaredDifference(student, teacher)));
  },
};

// ---------------------------------------------------------------------------------------------
// Public, validated losses.

/**
 * T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed over classes, averaged over the
 * batch. Zero when the student matches the teacher; its gradient w.r.t. the student logits is
 * T · (q − p) / batch.
 */
export function distillationLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, T: number): tf.Scalar {
  const where = 'distillationLoss';
  assertTemperature(T, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return uncheckedLosses.distillation(studentLogits, teacherLogits, T);
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

/** Mean cross-entropy between the student's T = 1 softmax and integer class labels. */
export function studentLoss(studentLogits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const where = 'studentLoss';
  assertLogits(studentLogits, 'studentLogits', where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  assertFinite(studentLogits, 'studentLogits', where);
  return tf.tidy(() => crossEntropyCore(studentLogits, oneHotOf(labels, studentLogits.shape[1])));
}

/**
 * alpha · distillationLoss(student, teacher, T) + (1 − alpha) · studentLoss(student, labels).
 * alpha = 0 is the plain student, alpha = 1 pure distillation (labels still checked).
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
  const { temperature, alpha } = options;
  assertTemperature(temperature, where);
  assertAlpha(alpha, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  return tf.tidy(() =>
    uncheckedLosses.kd(studentLogits, teacherLogits, oneHotOf(labels, studentLogits.shape[1]), temperature, alpha),
  );
}

/**
 * Mean over all elements of (z − v)²: logit matching, the high-temperature limit of distillation
 * for zero-mean logits (Caruana's method, Hinton et al. §2.1).
 */
export function mseLogitsLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D): tf.Scalar {
  const where = 'mseLogitsLoss';
  assertLogitPair(studentLogits, teacherLogits, where);
  return uncheckedLosses.mse(studentLogits, teacherLogits);
}
