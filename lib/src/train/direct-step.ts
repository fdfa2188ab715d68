import * as tf from '@tensorflow/tfjs';
import { denseGradNative, nativeKernelNames } from '../kernels/native';
import { FUSED_SOFTMAX_LOSS, type FusedLossAttrs } from '../kernels/softmax-loss-wasm';
import { mlpPlan } from './forward';
import type { Optimizer } from './optimizer';

/**
 * The MLP's training step with its backward pass written out, no gradient tape: on the native
 * kernels, for an MLP without dropout and a loss the fused kernel computes (hard labels, KD). The
 * same kernels in the same order as the taped step (forward.ts's native dense op and the fused
 * loss, whose kernel already returns d loss / d logits), so the same digits (tested); what it
 * leaves out is tfjs's bookkeeping around them: recording the tape, wrapping each dense op's
 * custom gradient, the zero input gradient of the first layer, the multiply of the loss gradient
 * by 1. Measured on the 2×800 student, one BLAS thread: see docs/performance.md.
 */

let enabled = true;

/** Switches the direct step off (or back on) for steps created from now on: tests and benchmarks compare both. */
export function setDirectMlpStep(on: boolean): void {
  enabled = on;
}

/** The batch tensors the step reads (train/step.ts StepBatch; declared here to keep the import one-way). */
interface DirectBatch {
  x: tf.Tensor2D;
  oneHot: tf.Tensor2D;
  teacher?: tf.Tensor2D;
}

interface DenseLayer {
  kernel: tf.Variable;
  bias: tf.Variable;
  relu: boolean;
}

/**
 * The step, or null where the taped step must run (another model, dropout, other backend or loss).
 * Call it only while the native kernels are on (createTrainStep checks on every batch).
 */
export function createDirectMlpStep(
  model: tf.LayersModel,
  optimizer: Optimizer,
  variables: tf.Variable[],
  fused: FusedLossAttrs | null,
): ((batch: DirectBatch) => { loss: tf.Scalar; correct: tf.Scalar }) | null {
  if (!enabled || !fused || tf.getBackend() !== 'wasm' || nativeKernelNames().length === 0) return null;
  const plan = mlpPlan(model);
  if (!plan) return null;
  // Plain loops here and below: notebook code may patch Array.prototype methods.
  for (const s of plan) if (s.kind === 'dropout' && s.rate > 0) return null;
  const layers: DenseLayer[] = [];
  for (const s of plan) {
    if (s.kind === 'dense') layers.push({ kernel: s.kernel.read() as tf.Variable, bias: s.bias.read() as tf.Variable, relu: s.relu });
  }
  // The optimizer's variable order is trainableVariables' (kernel, bias per layer): keep it.
  const order = layers.flatMap((l) => [l.kernel, l.bias]);
  if (order.length !== variables.length) return null;
  for (let i = 0; i < order.length; i++) if (order[i] !== variables[i]) return null;
  const attrs = fused as unknown as tf.NamedAttrMap;
  return (b) => {
    const out = tf.tidy(() => {
      const inputs: tf.Tensor2D[] = [b.x];
      for (const l of layers) {
        const a = { transposeA: false, transposeB: false, activation: l.relu ? 'relu' : 'linear', leakyreluAlpha: 0 };
        inputs.push(tf.engine().runKernel('_FusedMatMul', { a: inputs[inputs.length - 1], b: l.kernel, bias: l.bias }, a) as tf.Tensor2D);
      }
      const logits = inputs.pop() as tf.Tensor2D;
      const lossInputs: tf.NamedTensorMap = b.teacher && fused.alpha !== 0 ? { student: logits, oneHot: b.oneHot, teacher: b.teacher } : { student: logits, oneHot: b.oneHot };
      const [loss, dLogits, correct] = tf.engine().runKernel(FUSED_SOFTMAX_LOSS, lossInputs, attrs) as tf.Tensor[];
      const grads: tf.Tensor[] = new Array(order.length);
      let dy = dLogits as tf.Tensor2D;
      let y = logits;
      for (let i = layers.length - 1; i >= 0; i--) {
        const [dz, db] = denseGradNative(dy, y, layers[i].relu);
        grads[2 * i] = tf.matMul(inputs[i], dz, true, false);
        grads[2 * i + 1] = db;
        if (i > 0) {
          dy = tf.matMul(dz, layers[i].kernel, false, true);
          y = inputs[i];
        }
      }
      return { loss: loss as tf.Scalar, correct: correct as tf.Scalar, grads };
    });
    try {
      optimizer.step(variables, out.grads);
    } finally {
      tf.dispose(out.grads);
    }
    return { loss: out.loss, correct: out.correct };
  };
}
