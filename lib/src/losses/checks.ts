import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';

// ---------------------------------------------------------------------------------------------
// Input checks

export function describeShape(t: tf.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

export function assertTensor(x: unknown, name: string, where: string): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new InputError('BAD_INPUT', `${where}: ${name} must be a tf.Tensor, got ${x === null ? 'null' : typeof x}.`);
  }
  if (x.isDisposed) throw new InputError('BAD_INPUT', `${where}: ${name} has already been disposed.`);
}

export function assertLogits(x: unknown, name: string, where: string): asserts x is tf.Tensor2D {
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

export function assertFinite(x: tf.Tensor, name: string, where: string, code: 'NON_FINITE_LOGITS' | 'NON_FINITE_FEATURES' = 'NON_FINITE_LOGITS'): void {
  const data = x.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InputError(
        code,
        `${where}: ${name} contains ${data[i]} at flat index ${i}. ${code === 'NON_FINITE_LOGITS' ? 'Logits' : 'Hidden activations'} must be finite numbers ` +
          '(a NaN usually means training diverged: lower the learning rate).',
      );
    }
  }
}

/** Student and teacher logits: rank 2, same batch and class count, no NaN or infinity. */
export function assertLogitPair(student: tf.Tensor2D, teacher: tf.Tensor2D, where: string): void {
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

export function assertLabels(labels: unknown, batch: number, classes: number, where: string): asserts labels is tf.Tensor1D {
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

// Hidden representations (hintLoss, cosineEmbeddingLoss; notebook 08), the counterparts of the
// logit checks with the same input rules: tensors (not disposed), float32, batch first and equal
// on both sides, finite values, shapes never broadcast. Activations come from
// forwardWithFeatures (models.ts).

export function assertHidden(x: unknown, name: string, where: string): asserts x is tf.Tensor {
  assertTensor(x, name, where);
  if (x.rank < 2) {
    throw new InputError('BAD_RANK', `${where}: ${name} must be [batch, ...features], got shape ${describeShape(x)}.`);
  }
  if (x.dtype !== 'float32') throw new InputError('BAD_DTYPE', `${where}: ${name} must be float32 activations, got ${x.dtype}.`);
  if (x.shape[0] === 0 || x.size === 0) throw new InputError('BAD_RANK', `${where}: ${name} is empty, shape ${describeShape(x)}.`);
}

export function assertSameBatch(s: tf.Tensor, t: tf.Tensor, where: string): void {
  if (s.shape[0] !== t.shape[0]) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: batch mismatch: student activations ${describeShape(s)} vs teacher activations ${describeShape(t)}. ` +
        'Each teacher row must belong to the same input as the student row.',
    );
  }
}
