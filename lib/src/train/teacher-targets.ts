import * as tf from '@tensorflow/tfjs';
import type { TeacherLogits } from '../cache';
import { computeTeacherFeatures, featurePoolSize, keepsTeacherFeatures, teacherFeatureBytes, type TeacherFeatures } from '../teacher-features';
import { hiddenLayers } from '../models';
import { NUM_CLASSES, type DigitSet } from '../data';
import { InputError } from '../errors';
import { predictLogits } from '../evaluate';
import { resolveObjective, type Objective } from '../losses';
import type { TrainObjective } from './step';
import type { LossSpec, TeacherSource } from './types';

/**
 * train()'s loss option, resolved once per run: the objective (validated, with its loss
 * function) and where each batch's teacher logits come from — logits cached for every training
 * row, or a teacher model run on the batch when the inputs are jittered (logits of the clean
 * images would be soft targets for other inputs: STALE_TEACHER_LOGITS).
 */

export interface TeacherTargets {
  /** Clean-input logits for every training row (n × 10), when they can be used. */
  logits?: Float32Array;
  /** Teacher evaluated per batch (jittered inputs), inference mode. */
  teacher?: tf.LayersModel;
  /** Feature objectives on clean inputs: the teacher's last hidden layer for every training row. */
  features?: TeacherFeatures;
}

export interface ResolvedLoss {
  /** The objective; for feature objectives (hint, cosine) with the teacher and the regressor. */
  objective: TrainObjective;
  targets: TeacherTargets;
}

export function resolveLoss(spec: LossSpec, set: DigitSet, jitter: number): ResolvedLoss {
  if (spec === 'hard') return { objective: resolveObjective({ objective: 'hard' }, 'train loss'), targets: {} };
  if (spec === null || typeof spec !== 'object') {
    throw new InputError('BAD_LOSS', `loss must be 'hard' or { teacherLogits | teacher, temperature, alpha }, got ${String(spec)}.`);
  }
  const { teacher, teacherLogits, teacherFeatures, regressor, ...fields } = spec;
  const objective = resolveObjective({ ...fields, objective: fields.objective ?? 'kd' } as Objective, 'train loss');
  if (objective.needsFeatures) {
    const name = objective.objective.objective;
    if (!(teacher instanceof tf.LayersModel)) {
      throw new InputError('NO_TEACHER', `objective '${name}' compares hidden representations: pass loss.teacher (the teacher model); logits are not enough.`);
    }
    if (teacherFeatures !== undefined && jitter > 0) {
      throw new InputError(
        'STALE_TEACHER_LOGITS',
        `jitter = ${jitter} shifts every training image differently in every epoch, but teacherFeatures were computed on the clean images. ` +
          'Leave teacherFeatures out (the teacher then runs on each jittered batch) or set jitter: 0.',
      );
    }
    // Checked in full (shapes, regressor) by createTrainStep before the first step; the rows by
    // withTeacherFeatures after it.
    return { objective: { ...objective, features: { teacher, regressor } }, targets: teacherFeatures ? { features: teacherFeatures } : {} };
  }
  if (teacherFeatures !== undefined) {
    throw new InputError('BAD_LOSS', `objective '${objective.objective.objective}' does not read hidden layers: remove loss.teacherFeatures.`);
  }
  if (regressor !== undefined) {
    throw new InputError('BAD_LOSS', `objective '${objective.objective.objective}' trains no regressor: remove loss.regressor.`);
  }
  if (!objective.needsTeacher) return { objective, targets: {} };
  return { objective, targets: teacherTargets({ teacher, teacherLogits }, set, jitter) };
}

function teacherTargets(source: TeacherSource, set: DigitSet, jitter: number): TeacherTargets {
  if (source.teacher === undefined && source.teacherLogits === undefined) {
    throw new InputError('NO_TEACHER', 'a distillation loss needs teacherLogits (e.g. from teacherLogitsCached) or a teacher model.');
  }
  if (jitter > 0) {
    if (!source.teacher) {
      throw new InputError(
        'STALE_TEACHER_LOGITS',
        `jitter = ${jitter} shifts every training image differently in every epoch, but only teacherLogits ` +
          'computed on the clean images were given: they would be soft targets for different inputs. ' +
          'Pass loss.teacher (logits are then computed on the jittered batch, dropout off) or set jitter: 0.',
      );
    }
    return { teacher: source.teacher };
  }
  if (source.teacherLogits !== undefined) return { logits: checkedLogits(source.teacherLogits, set) };
  // A teacher and clean inputs: compute its logits once (inference mode), not once per epoch.
  return { logits: predictLogits(source.teacher as tf.LayersModel, set) };
}

function isTeacherLogits(x: unknown): x is TeacherLogits {
  return typeof x === 'object' && x !== null && !(x instanceof Float32Array) && (x as TeacherLogits).logits instanceof Float32Array;
}

/** The logits of every training row as one flat array, after checking they belong to `set`. */
function checkedLogits(given: NonNullable<TeacherSource['teacherLogits']>, set: DigitSet): Float32Array {
  let logits: Float32Array;
  if (isTeacherLogits(given)) {
    if (given.setId !== set.id) {
      throw new InputError('TEACHER_LOGITS_MISMATCH', `teacherLogits were computed for "${given.setId}", but the training set is "${set.id}".`);
    }
    if (given.preprocessing !== 'none') {
      throw new InputError(
        'STALE_TEACHER_LOGITS',
        `teacherLogits were computed with preprocessing "${given.preprocessing}", but training feeds clean images.`,
      );
    }
    logits = given.logits;
  } else if (given instanceof Float32Array) {
    logits = given;
  } else if (given instanceof tf.Tensor) {
    if (given.rank !== 2 || given.shape[1] !== NUM_CLASSES) {
      throw new InputError('SHAPE_MISMATCH', `teacherLogits must have shape [${set.size}, ${NUM_CLASSES}], got [${given.shape.join(', ')}].`);
    }
    logits = given.dataSync() as Float32Array;
  } else {
    throw new InputError('BAD_LOSS', 'loss.teacherLogits must be a Float32Array (n × 10), a [n, 10] tensor or the result of teacherLogitsCached.');
  }
  if (logits.length !== set.size * NUM_CLASSES) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `teacherLogits has ${logits.length} values; the training set needs ${set.size} × ${NUM_CLASSES} = ${set.size * NUM_CLASSES}.`,
    );
  }
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) {
      throw new InputError('NON_FINITE_LOGITS', `teacherLogits[${i}] is ${logits[i]}; teacher logits must be finite.`);
    }
  }
  return logits;
}

/**
 * The teacher logits of one batch as a [rows, 10] tensor (the caller disposes it): rows of the
 * cached logits, or the teacher run on the batch's inputs `x`; undefined without a teacher.
 * `scratch` holds at least rows × 10 floats.
 */
export function batchTeacherLogits(
  targets: TeacherTargets,
  indices: Int32Array,
  x: tf.Tensor2D,
  scratch: Float32Array,
): tf.Tensor2D | undefined {
  const rows = indices.length;
  if (targets.logits) {
    const all = targets.logits;
    for (let r = 0; r < rows; r++) {
      const i = indices[r];
      scratch.set(all.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), r * NUM_CLASSES);
    }
    return tf.tensor2d(scratch.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
  }
  const teacher = targets.teacher;
  if (teacher) return tf.tidy(() => teacher.apply(x, { training: false }) as tf.Tensor2D);
  return undefined;
}

/**
 * The values of the teacher's last hidden layer a feature objective compares with (cosine: pooled
 * to the student's size, as its loss pools them), for every training row: the given rows after
 * checking they fit, or computed here once when the inputs are clean and the rows fit in
 * TEACHER_FEATURES_MAX_BYTES; undefined when the teacher must run on every batch.
 */
export function withTeacherFeatures(resolved: ResolvedLoss, student: tf.LayersModel, set: DigitSet, jitter: number): ResolvedLoss {
  const source = resolved.objective.features;
  if (!source || jitter > 0) return resolved;
  const name = resolved.objective.objective.objective;
  const poolTo = featurePoolSize(name, hiddenLayers(student).at(-1)?.shape ?? []);
  const given = resolved.targets.features;
  if (given) {
    checkFeatureRows(given, source.teacher, set, poolTo);
    return resolved;
  }
  if (!keepsTeacherFeatures(jitter, teacherFeatureBytes(source.teacher, set.size, poolTo))) return resolved;
  return { ...resolved, targets: { ...resolved.targets, features: computeTeacherFeatures(source.teacher, set, poolTo) } };
}

function checkFeatureRows(given: TeacherFeatures, teacher: tf.LayersModel, set: DigitSet, poolTo: number | null): void {
  if (given.setId !== set.id || given.size !== set.size) {
    throw new InputError('TEACHER_LOGITS_MISMATCH', `teacherFeatures were computed for "${given.setId}" (${given.size} rows), but the training set is "${set.id}" (${set.size} rows).`);
  }
  const hidden = hiddenLayers(teacher).at(-1)?.shape ?? [];
  const want = poolTo === null ? hidden : [poolTo];
  let same = want.length === given.shape.length && given.pooledTo === poolTo;
  for (let i = 0; same && i < want.length; i++) same = want[i] === given.shape[i];
  const per = want.reduce((a, b) => a * b, 1);
  if (!same || given.values.length !== set.size * per) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `teacherFeatures hold [${given.shape.join(', ')}] per image${given.pooledTo === null ? '' : ' (pooled)'}; this objective needs [${want.join(', ')}] ` +
        `(${poolTo === null ? "the teacher's last hidden layer" : "the teacher's last hidden layer pooled to the student's size"}): compute them with teacherFeaturesCached.`,
    );
  }
}

/**
 * The teacher's hidden rows of one batch as a tensor [rows, ...shape] (the caller disposes it), or
 * undefined when they are not cached. `scratch` grows as needed.
 */
export function batchTeacherFeatures(targets: TeacherTargets, indices: Int32Array, scratch: { buffer: Float32Array }): tf.Tensor | undefined {
  const f = targets.features;
  if (!f) return undefined;
  const per = f.values.length / f.size;
  const rows = indices.length;
  if (scratch.buffer.length < rows * per) scratch.buffer = new Float32Array(rows * per);
  const out = scratch.buffer;
  for (let r = 0; r < rows; r++) {
    const i = indices[r];
    out.set(f.values.subarray(i * per, (i + 1) * per), r * per);
  }
  return tf.tensor(out.subarray(0, rows * per), [rows, ...f.shape]);
}
