import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import { assertTemperature } from '../softmax';
import { assertLabels, assertLogitPair } from './checks';
import { crossEntropyCore, oneHotOf, teacherOf } from './core';
import type { ObjectiveEntry, ParameterInfo } from './types';

// Beyond Hinton's loss: Decoupled KD (notebook 08).

/** DKD's hyper-parameters: temperature T > 0, alpha (TCKD weight) ≥ 0 and beta (NCKD weight) ≥ 0. */
export interface DkdLossOptions {
  /** Softmax temperature of both parts (the paper's default 4). */
  temperature: number;
  /** Weight of TCKD, the target-vs-rest part (the paper's default 1). Any finite value ≥ 0. */
  alpha: number;
  /** Weight of NCKD, the part among the non-target classes (the paper's default 8). Any finite value ≥ 0. */
  beta: number;
}

/** DKD's defaults for CIFAR-100 (Zhao et al. 2022; mdistiller's CFG.DKD): T 4, alpha 1, beta 8. */
export const DKD_DEFAULTS: Readonly<DkdLossOptions> = Object.freeze({ temperature: 4, alpha: 1, beta: 8 });

/** Per-sample parts of DKD at temperature T (no T², no weights), each [batch]. */
export interface DkdTerms {
  /** KL(p_T ‖ p_S) of each sample: the classical KD term (without T²). */
  kl: tf.Tensor1D;
  /** Target-class KD: binary KL between [p_t, 1 − p_t] of teacher and student. */
  tckd: tf.Tensor1D;
  /** Non-target-class KD: KL between teacher and student distributions over the non-target classes. */
  nckd: tf.Tensor1D;
  /** The teacher's probability of the target class at temperature T, p_t^T. */
  teacherTargetProb: tf.Tensor1D;
}

export function assertWeight(value: number, name: 'alpha' | 'beta', where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InputError(
      name === 'alpha' ? 'BAD_ALPHA' : 'BAD_BETA',
      `${where}: ${name} must be a finite number ≥ 0 (the weight of ${name === 'alpha' ? 'TCKD' : 'NCKD'}; ` +
        `the paper uses alpha ${DKD_DEFAULTS.alpha}, beta ${DKD_DEFAULTS.beta}), got ${String(value)}.`,
    );
  }
}

/**
 * z with the target entry of each row moved 100 below the row's smallest entry: a softmax over
 * it is the softmax over the non-target classes (the target's share is below e^−100). Finite
 * everywhere, unlike −∞, so that 0 · (−∞) never makes a NaN; the gradient that flows into the
 * filler is below e^−100 too. (mdistiller subtracts a fixed 1000, which is not enough for
 * logits of 1e3 at small T.)
 */
function withoutTarget(z: tf.Tensor2D, isTarget: tf.Tensor2D): tf.Tensor2D {
  const filler = tf.sub(tf.min(z, 1, true), 100);
  return tf.where(isTarget, tf.broadcastTo(filler, z.shape), z) as tf.Tensor2D;
}

/** The four per-sample quantities of DKD for logits already divided by T. */
function dkdCore(zs: tf.Tensor2D, zt: tf.Tensor2D, oneHot: tf.Tensor2D): { kl: tf.Tensor1D; tckd: tf.Tensor1D; nckd: tf.Tensor1D; ptT: tf.Tensor1D } {
  const isTarget = tf.greater(oneHot, 0.5) as tf.Tensor2D;
  const other = tf.sub(1, oneHot);
  const logQ = tf.logSoftmax(zs);
  const logP = tf.logSoftmax(zt);
  const p = tf.exp(logP);
  const kl = tf.sum(tf.mul(p, tf.sub(logP, logQ)), 1) as tf.Tensor1D;
  // Binary distributions [p_t, 1 − p_t], both entries as logs computed without cancellation.
  const logPtS = tf.sum(tf.mul(oneHot, logQ), 1);
  const logPtT = tf.sum(tf.mul(oneHot, logP), 1);
  const ztNt = withoutTarget(zt, isTarget);
  const zsNt = withoutTarget(zs, isTarget);
  const logRestS = tf.sub(tf.logSumExp(zsNt, 1), tf.logSumExp(zs, 1));
  const logRestT = tf.sub(tf.logSumExp(ztNt, 1), tf.logSumExp(zt, 1));
  const ptT = tf.exp(logPtT) as tf.Tensor1D;
  const restT = tf.exp(logRestT);
  const tckd = tf.add(tf.mul(ptT, tf.sub(logPtT, logPtS)), tf.mul(restT, tf.sub(logRestT, logRestS))) as tf.Tensor1D;
  // Distributions over the non-target classes: softmax with the target left out.
  const logPn = tf.logSoftmax(ztNt);
  const logQn = tf.logSoftmax(zsNt);
  const nckd = tf.sum(tf.mul(tf.mul(tf.exp(logPn), other), tf.sub(logPn, logQn)), 1) as tf.Tensor1D;
  return { kl, tckd, nckd, ptT };
}

function dkdLossCore(student: tf.Tensor2D, teacher: tf.Tensor2D, oneHot: tf.Tensor2D, o: DkdLossOptions): tf.Scalar {
  const T = o.temperature;
  const { tckd, nckd } = dkdCore(
    (T === 1 ? student : tf.div(student, T)) as tf.Tensor2D,
    (T === 1 ? teacher : tf.div(teacher, T)) as tf.Tensor2D,
    oneHot,
  );
  const batch = student.shape[0];
  const weighted = tf.add(tf.mul(tf.sum(tckd), o.alpha), tf.mul(tf.sum(nckd), o.beta));
  return tf.mul(weighted, (T * T) / batch) as tf.Scalar;
}

/** DKD's alpha is a weight ≥ 0 (the paper's default 1), not a mix in [0, 1]: its own rule. */
const DKD_ALPHA: ParameterInfo = { label: 'alpha', rule: 'finite values ≥ 0', check: (v, where) => assertWeight(v, 'alpha', where) };

export const dkd: ObjectiveEntry<'dkd'> = {
  parameters: ['temperature', 'alpha', 'beta'],
  needsTeacher: true,
  rules: { alpha: DKD_ALPHA },
  inert: ({ alpha, beta }) => (alpha === 0 && beta === 0 ? ['temperature'] : []),
  loss:
    (o) =>
    (student, teacher, oneHot) =>
      tf.tidy(() => {
        const ce = crossEntropyCore(student, oneHot);
        if (o.alpha === 0 && o.beta === 0) return ce;
        return tf.add(ce, dkdLossCore(student, teacherOf(teacher), oneHot, o)) as tf.Scalar;
      }),
};

/**
 * Decoupled Knowledge Distillation (Zhao et al., CVPR 2022), with the authors' scaling
 * (mdistiller's dkd_loss): alpha · T² · TCKD + beta · T² · NCKD, each KL summed over its classes
 * and averaged over the batch. TCKD is the binary KL between [p_t, 1 − p_t] of teacher and
 * student (p_t: probability of the labelled class at temperature T); NCKD the KL between their
 * distributions over the other classes. Per sample, KL(p_T ‖ p_S) = TCKD + (1 − p_t^T) · NCKD
 * (see dkdTerms): classical KD weighs NCKD by 1 − p_t^T, small for a confident teacher; DKD
 * gives it its own weight beta.
 *
 * This is the distillation term only: mdistiller trains with CE(labels, student) + dkdLoss
 * (CE weight 1, and dkdLoss ramped up linearly over the first 20 epochs).
 *
 * Against the 'kd' objective at { temperature: T, alpha: a } the 'dkd' objective differs in three
 * weights, not only in the split: CE 1 instead of 1 − a, TCKD alpha · T² instead of a · T², NCKD
 * beta · T² instead of a · T² · (1 − p_t^T). With the paper's settings and mdistiller's KD (a 0.9,
 * T 4): CE 1 vs 0.1, TCKD 16 vs 14.4, NCKD 128 vs 14.4 · (1 − p_t^T) (notebook 08 prints these
 * from its methods table).
 */
export function dkdLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, options: DkdLossOptions): tf.Scalar {
  const where = 'dkdLoss';
  if (options === null || typeof options !== 'object') {
    throw new InputError('BAD_INPUT', `${where}: pass { temperature, alpha, beta } as the fourth argument (the paper: { temperature: 4, alpha: 1, beta: 8 }).`);
  }
  const { temperature, alpha, beta } = options;
  assertTemperature(temperature, where);
  assertWeight(alpha, 'alpha', where);
  assertWeight(beta, 'beta', where);
  for (const key of Object.keys(options)) {
    if (!['temperature', 'alpha', 'beta'].includes(key)) {
      throw new InputError('BAD_PARAMETER', `${where}: unknown option ${key}; DKD takes temperature, alpha and beta.`);
    }
  }
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  return tf.tidy(() => dkdLossCore(studentLogits, teacherLogits, oneHotOf(labels, studentLogits.shape[1]), { temperature, alpha, beta }));
}

/**
 * The per-sample parts of DKD at temperature T, for looking at them (notebook 08): KL, TCKD,
 * NCKD and the teacher's target probability p_t^T, each a [batch] tensor, without T² or
 * weights. KL = TCKD + (1 − p_t^T) · NCKD row by row. The caller disposes the four tensors.
 */
export function dkdTerms(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): DkdTerms {
  const where = 'dkdTerms';
  assertTemperature(temperature, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  const T = temperature;
  const r = tf.tidy(() => {
    const c = dkdCore(
      (T === 1 ? studentLogits : tf.div(studentLogits, T)) as tf.Tensor2D,
      (T === 1 ? teacherLogits : tf.div(teacherLogits, T)) as tf.Tensor2D,
      oneHotOf(labels, studentLogits.shape[1]),
    );
    return [c.kl, c.tckd, c.nckd, c.ptT];
  });
  return { kl: r[0], tckd: r[1], nckd: r[2], teacherTargetProb: r[3] };
}
