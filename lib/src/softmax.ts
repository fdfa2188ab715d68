import * as tf from '@tensorflow/tfjs';
import { assertTemperature, entropyOf, softmaxT } from './softmax-plain';

export { assertTemperature, entropyOf, logSoftmaxT, softmaxT } from './softmax-plain';

/**
 * Temperature softmax, the one idea every other part of distillation rests on:
 * q_i = exp(z_i / T) / sum_j exp(z_j / T). Everything here works on the last axis.
 */


/** softmax(logits / T) over the last axis. */
export function softmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor {
  assertTemperature(T, 'softmaxWithTemperature');
  // Through log-softmax: max-subtraction inside it keeps logits of 1e3 from overflowing exp.
  return tf.tidy(() => tf.exp(tf.logSoftmax(T === 1 ? logits : tf.div(logits, T))));
}

/** log softmax(logits / T) over the last axis; finite wherever the logits are. */
export function logSoftmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor {
  assertTemperature(T, 'logSoftmaxWithTemperature');
  return tf.tidy(() => tf.logSoftmax(T === 1 ? logits : tf.div(logits, T)));
}

/** Shannon entropy in nats over the last axis, with 0 · log 0 taken as 0. */
export function entropy(probs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const safeLog = tf.log(tf.maximum(probs, 1e-30));
    return tf.neg(tf.sum(tf.mul(probs, safeLog), -1));
  });
}

/** The logits of the chapter's §4.1 worked example. */
export const WORKED_EXAMPLE_LOGITS: readonly number[] = [2, 1, 0.5];

/**
 * What the chapter prints for softmax([2, 1, 0.5]) at T = 1. It is not the softmax of those
 * logits (that is [0.629, 0.231, 0.140]); notebooks show both so readers can check it themselves.
 */
export const CHAPTER_PRINTED_T1: readonly number[] = [0.57, 0.28, 0.15];

export interface WorkedExampleRow {
  T: number;
  probs: number[];
  /** Entropy in nats: rises with T towards log(classes). */
  entropy: number;
}

/** softmax([2, 1, 0.5] / T) for each T, with the entropy of each row. */
export function workedExample(
  temperatures: readonly number[] = [1, 2, 5, 10],
  logits: readonly number[] = WORKED_EXAMPLE_LOGITS,
): WorkedExampleRow[] {
  return temperatures.map((T) => {
    const probs = softmaxT(logits, T);
    return { T, probs, entropy: entropyOf(probs) };
  });
}

/** Rounds every entry to `digits` decimals (for printing tables that match the text). */
export function roundTo(values: readonly number[], digits = 3): number[] {
  const f = 10 ** digits;
  return values.map((v) => Math.round(v * f) / f);
}
