import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from '../errors';
import { assertFinite, assertHidden, assertSameBatch, describeShape } from './checks';
import { featuresOf, withHardTerm } from './core';
import type { ObjectiveEntry } from './types';

export const hint: ObjectiveEntry<'hint'> = {
  parameters: ['alpha'],
  needsTeacher: false,
  needsFeatures: true,
  needsRegressor: true,
  loss:
    ({ alpha }) =>
    (student, _teacher, oneHot, features) =>
      tf.tidy(() =>
        withHardTerm(alpha, student, oneHot, () => {
          const f = featuresOf(features, 'hint');
          if (!f.mapped) throw new KdlabError('NO_REGRESSOR', "loss: objective 'hint' needs the regressor's output r(h_S).");
          return tf.mul(tf.mean(tf.squaredDifference(f.mapped, f.teacher)), alpha);
        }),
      ),
};

// The public loss on hidden representations (notebook 08), FitNets (Romero et al. 2015):
// mean((r(h_S) − h_T)²) through a learned regressor r.

/** A regressor: a tf.LayersModel (createRegressor) or any function of the student's activations. */
export type Regressor = tf.LayersModel | ((studentHidden: tf.Tensor) => tf.Tensor);

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
