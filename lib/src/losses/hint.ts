import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
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
