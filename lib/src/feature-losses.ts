import * as tf from '@tensorflow/tfjs';
import { InputError } from './errors';
import { assertFinite, assertTensor, cosineCore, describeShape } from './losses';

/**
 * Losses on hidden representations (notebook 08), the counterparts of the logit losses in
 * losses.ts, with the same input rules: tensors (not disposed), float32, batch first and equal
 * on both sides, finite values, shapes never broadcast. Activations come from
 * forwardWithFeatures (models.ts).
 *
 * - hintLoss: FitNets (Romero et al. 2015): mean((r(h_S) − h_T)²) through a learned regressor r.
 * - cosineEmbeddingLoss: mean over the batch of 1 − cos(h_S, h_T) on flattened activations
 *   (torch.nn.CosineEmbeddingLoss with target 1, as in the PyTorch KD tutorial).
 */

/** A regressor: a tf.LayersModel (createRegressor) or any function of the student's activations. */
export type Regressor = tf.LayersModel | ((studentHidden: tf.Tensor) => tf.Tensor);

function assertHidden(x: unknown, name: string, where: string): asserts x is tf.Tensor {
  assertTensor(x, name, where);
  if (x.rank < 2) {
    throw new InputError('BAD_RANK', `${where}: ${name} must be [batch, ...features], got shape ${describeShape(x)}.`);
  }
  if (x.dtype !== 'float32') throw new InputError('BAD_DTYPE', `${where}: ${name} must be float32 activations, got ${x.dtype}.`);
  if (x.shape[0] === 0 || x.size === 0) throw new InputError('BAD_RANK', `${where}: ${name} is empty, shape ${describeShape(x)}.`);
}

function assertSameBatch(s: tf.Tensor, t: tf.Tensor, where: string): void {
  if (s.shape[0] !== t.shape[0]) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: batch mismatch: student activations ${describeShape(s)} vs teacher activations ${describeShape(t)}. ` +
        'Each teacher row must belong to the same input as the student row.',
    );
  }
}

/**
 * Cosine-embedding loss on hidden representations: mean over the batch of 1 − cos(h_S, h_T),
 * each example's activations flattened (torch.nn.CosineEmbeddingLoss with target 1, the
 * PyTorch KD tutorial's hidden-representation loss). 0 when every student vector points the
 * teacher's way, 1 for orthogonal ones, 2 for opposite ones; the scale of either side does not
 * matter. Both sides must have the same number of values per example (the tutorial average-pools
 * the teacher's features to the student's size; a regressor works too).
 */
export function cosineEmbeddingLoss(studentHidden: tf.Tensor, teacherHidden: tf.Tensor): tf.Scalar {
  const where = 'cosineEmbeddingLoss';
  assertHidden(studentHidden, 'studentHidden', where);
  assertHidden(teacherHidden, 'teacherHidden', where);
  assertSameBatch(studentHidden, teacherHidden, where);
  const perS = studentHidden.size / studentHidden.shape[0];
  const perT = teacherHidden.size / teacherHidden.shape[0];
  if (perS !== perT) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: student activations ${describeShape(studentHidden)} have ${perS} values per example, teacher activations ` +
        `${describeShape(teacherHidden)} ${perT}. Pool the teacher's features or map the student's through a regressor first.`,
    );
  }
  assertFinite(studentHidden, 'studentHidden', where, 'NON_FINITE_FEATURES');
  assertFinite(teacherHidden, 'teacherHidden', where, 'NON_FINITE_FEATURES');
  return tf.tidy(() => cosineCore(studentHidden, teacherHidden));
}

function applyRegressor(regressor: Regressor, x: tf.Tensor): tf.Tensor {
  if (regressor instanceof tf.LayersModel) return regressor.apply(x, { training: true }) as tf.Tensor;
  return regressor(x);
}

/**
 * FitNets' hint loss (Romero et al. 2015): mean over all elements of (r(h_S) − h_T)², where r
 * is a learned regressor (createRegressor) that maps the student's hidden activations h_S to
 * the shape of the teacher's h_T. Averaged like torch.nn.MSELoss (the PyTorch tutorial's
 * choice); FitNets writes ½‖·‖², the same loss up to a constant. Gradients reach the student
 * and the regressor's weights; train both, then drop the regressor.
 */
export function hintLoss(studentHidden: tf.Tensor, teacherHidden: tf.Tensor, regressor: Regressor): tf.Scalar {
  const where = 'hintLoss';
  assertHidden(studentHidden, 'studentHidden', where);
  assertHidden(teacherHidden, 'teacherHidden', where);
  assertSameBatch(studentHidden, teacherHidden, where);
  if (!(regressor instanceof tf.LayersModel) && typeof regressor !== 'function') {
    throw new InputError('BAD_REGRESSOR', `${where}: regressor must be a tf.LayersModel (createRegressor) or a function of the student's activations.`);
  }
  if (regressor instanceof tf.LayersModel) {
    const expected = (regressor.inputs[0]?.shape ?? []).slice(1);
    const got = studentHidden.shape.slice(1);
    if (expected.length !== got.length || expected.some((d, i) => d !== null && d !== got[i])) {
      throw new InputError(
        'BAD_REGRESSOR',
        `${where}: the regressor takes activations of shape [batch, ${expected.join(', ')}], the student's are ${describeShape(studentHidden)}.`,
      );
    }
  }
  assertFinite(studentHidden, 'studentHidden', where, 'NON_FINITE_FEATURES');
  assertFinite(teacherHidden, 'teacherHidden', where, 'NON_FINITE_FEATURES');
  return tf.tidy(() => {
    const mapped = applyRegressor(regressor, studentHidden);
    if (mapped.shape.length !== teacherHidden.shape.length || mapped.shape.some((d, i) => d !== teacherHidden.shape[i])) {
      throw new InputError(
        'SHAPE_MISMATCH',
        `${where}: the regressor maps the student's activations to ${describeShape(mapped)}, the teacher's are ${describeShape(teacherHidden)}. ` +
          'Create it with createRegressor(studentShape, teacherShape).',
      );
    }
    return tf.mean(tf.squaredDifference(mapped, teacherHidden)) as tf.Scalar;
  });
}
