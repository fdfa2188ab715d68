import * as tf from '@tensorflow/tfjs';
import { heapView, registerKernelWithSavedGradient, type WasmHeapBackend } from './wasm-heap';

/**
 * The training step's loss as one kernel on the wasm backend (with or without the native
 * matmuls): alpha · T² · KL(teacher^T ‖ student^T) + (1 − alpha) · CE(labels, student), batch
 * mean, together with its gradient with respect to the student's logits and the number of rows
 * whose arg-max matches the label's.
 *
 * Why: on a 128 × 10 batch the same loss written with tf ops is about 60 kernel calls forward and
 * backward (plus the clones tfjs keeps for backward), each doing microseconds of work behind
 * tens of microseconds of dispatch: about a sixth of the native KD step. Here it is one pass over
 * 1,280 numbers in float64, and the backward pass is one multiply by the saved gradient.
 *
 * The tf-ops losses in losses/ stay the reference and the public API (kdLoss and friends);
 * tests/kd/fused-loss.test.ts checks this kernel's loss and gradient against them and against
 * finite differences.
 */

export const FUSED_SOFTMAX_LOSS = 'KdlabSoftmaxLoss';

export interface FusedLossAttrs {
  /** Temperature of the soft term (unused when alpha = 0). */
  temperature: number;
  /** Weight of the soft term; 0 = cross-entropy with the labels only (no teacher input). */
  alpha: number;
}

/** The loss, dLoss/dStudent and the arg-max hits of a [B, C] batch, written into out arrays. */
export function softmaxLossRows(
  s: ArrayLike<number>,
  y: ArrayLike<number>,
  t: ArrayLike<number> | null,
  rows: number,
  classes: number,
  { temperature: T, alpha }: FusedLossAttrs,
  grad: Float32Array,
): { loss: number; correct: number } {
  const hard = 1 - alpha;
  let ceSum = 0;
  let klSum = 0;
  let correct = 0;
  const p = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let max = -Infinity;
    let arg = 0;
    let labelArg = 0;
    let labelMax = -Infinity;
    for (let i = 0; i < classes; i++) {
      if (s[o + i] > max) { max = s[o + i]; arg = i; }
      if (y[o + i] > labelMax) { labelMax = y[o + i]; labelArg = i; }
    }
    if (arg === labelArg) correct++;

    // Hard term: −Σ y log softmax(s); d/ds_i = (Σ y) · p_i − y_i.
    let z = 0;
    for (let i = 0; i < classes; i++) z += Math.exp(s[o + i] - max);
    const lse = max + Math.log(z);
    let ySum = 0;
    for (let i = 0; i < classes; i++) {
      ceSum -= y[o + i] * (s[o + i] - lse);
      ySum += y[o + i];
    }
    for (let i = 0; i < classes; i++) p[i] = hard * (ySum * Math.exp(s[o + i] - lse) - y[o + i]);

    // Soft term: T² · KL(q ‖ p_T); d/ds_i = T · (p_T,i − q_i).
    if (alpha !== 0 && t !== null) {
      let sMax = -Infinity;
      let tMax = -Infinity;
      for (let i = 0; i < classes; i++) {
        sMax = Math.max(sMax, s[o + i] / T);
        tMax = Math.max(tMax, t[o + i] / T);
      }
      let sz = 0;
      let tz = 0;
      for (let i = 0; i < classes; i++) {
        sz += Math.exp(s[o + i] / T - sMax);
        tz += Math.exp(t[o + i] / T - tMax);
      }
      const sLse = sMax + Math.log(sz);
      const tLse = tMax + Math.log(tz);
      for (let i = 0; i < classes; i++) {
        const logQ = t[o + i] / T - tLse;
        const logP = s[o + i] / T - sLse;
        const q = Math.exp(logQ);
        // A teacher probability that underflows to 0 contributes nothing (0 · log 0 = 0).
        if (q > 0) klSum += q * (logQ - logP);
        p[i] += alpha * T * (Math.exp(logP) - q);
      }
    }
    for (let i = 0; i < classes; i++) grad[o + i] = p[i] / rows;
  }
  return { loss: (alpha * T * T * klSum + hard * ceSum) / rows, correct };
}

function softmaxLossKernel({ inputs, attrs, backend }: {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
  backend: object;
}): tf.TensorInfo[] {
  const b = backend as unknown as WasmHeapBackend;
  const { student, oneHot, teacher } = inputs as { student: tf.TensorInfo; oneHot: tf.TensorInfo; teacher?: tf.TensorInfo };
  const { temperature, alpha } = attrs as unknown as FusedLossAttrs;
  const [rows, classes] = student.shape;
  const loss = b.makeOutput([], 'float32');
  const grad = b.makeOutput([rows, classes], 'float32');
  const correct = b.makeOutput([], 'float32');
  const n = rows * classes;
  const K = FUSED_SOFTMAX_LOSS;
  // Views only after the last allocation: a growing heap detaches older ones.
  const r = softmaxLossRows(
    heapView(b, student, n, K),
    heapView(b, oneHot, n, K),
    teacher ? heapView(b, teacher, n, K) : null,
    rows,
    classes,
    { temperature, alpha },
    heapView(b, grad, n, K),
  );
  heapView(b, loss, 1, K)[0] = r.loss;
  heapView(b, correct, 1, K)[0] = r.correct;
  return [loss, grad, correct];
}

let installed = false;
let enabled = true;

/** Registers the kernel and its gradient on the wasm backend; idempotent. */
export function installFusedSoftmaxLoss(): void {
  if (installed) return;
  installed = true;
  // Outputs [loss, dLoss/dStudent, hits]: backward scales the saved gradient by the loss's dy.
  registerKernelWithSavedGradient(FUSED_SOFTMAX_LOSS, softmaxLossKernel, 'student', 3, 1);
}

/**
 * Whether training steps created from now on use the fused loss: on the wasm backend (with or
 * without native matmuls) unless switched off by setFusedSoftmaxLoss(false).
 */
export function fusedSoftmaxLossAvailable(): boolean {
  return enabled && installed && tf.getBackend() === 'wasm';
}

/** Switches the fused loss off (or back on) for new training steps: benchmarks time both. */
export function setFusedSoftmaxLoss(on: boolean): void {
  enabled = on;
}

/**
 * The fused loss of a batch: [loss, correct] as scalars, differentiable in `student`. Inputs are
 * not checked here: the training step passes shapes it built and hyper-parameters that
 * resolveObjective validated.
 */
export function fusedSoftmaxLoss(
  student: tf.Tensor2D,
  oneHot: tf.Tensor2D,
  teacher: tf.Tensor2D | undefined,
  attrs: FusedLossAttrs,
): { loss: tf.Scalar; correct: tf.Scalar } {
  const inputs: tf.NamedTensorMap = teacher && attrs.alpha !== 0 ? { student, oneHot, teacher } : { student, oneHot };
  const [loss, grad, correct] = tf.engine().runKernel(FUSED_SOFTMAX_LOSS, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  grad.dispose();
  return { loss: loss as tf.Scalar, correct: correct as tf.Scalar };
}
