import * as tf from '@tensorflow/tfjs';
import { dropout } from '../kernels/dropout-wasm';
import { denseGradNative, nativeKernelNames } from '../kernels/native';
import { forwardWithFeatures } from '../models';
import { convTrainingForward, convTrainingForwardWithFeatures } from './conv-forward';

/**
 * The training-mode forward pass: the model as a list of dense/dropout steps run with a dense op
 * whose gradient is arranged for the wasm backend, and the variables the optimizer updates.
 */

type DenseFn = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Saves what the backward pass needs. tfjs saves a
 * tensor by copying it (an Identity kernel: 5 MB per step for the 2×800 student's weights). A
 * tf.Variable needs no copy: it outlives the gradient computation and the optimizer changes it
 * only after the backward pass. Activations are intermediates and must be saved.
 */
function saveForBackward(x: tf.Tensor, w: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc): void {
  save(w instanceof tf.Variable ? [x, y] : [x, y, w]);
}

/** The saved activations, and the weights: saved (a plain tensor) or the variable itself. */
function savedForBackward(saved: tf.Tensor[], w: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return [saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, (saved[2] as tf.Tensor2D | undefined) ?? w];
}

/**
 * y = act(x·W + b) with a hand-written gradient arranged for the wasm backend: XNNPACK packs a
 * matmul's second operand into a cached operator, and weights that change every step make that
 * packing cost about as much as the product itself. Here the big weight matrix is always the
 * first operand (y^T = W^T·x^T, dx^T = W·dz^T); only thin batch-sized matrices get packed.
 * The first layer skips its input gradient (nobody needs d loss / d pixels).
 */
function makeDense(relu: boolean, inputGrad: boolean): DenseFn {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const z = tf.add(tf.transpose(tf.matMul(w, x, true, true)), b);
    const y = relu ? tf.relu(z) : z;
    saveForBackward(x, w, y, save);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy, sw] = savedForBackward(saved, w);
        const dz = relu ? tf.mul(dy, tf.step(sy)) : (dy as tf.Tensor2D);
        const dW = tf.matMul(sx, dz, true, false);
        const db = tf.sum(dz, 0);
        const dx = inputGrad ? tf.transpose(tf.matMul(sw, dz, false, true)) : tf.zerosLike(sx);
        return [dx, dW, db];
      },
    };
  });
  return op as DenseFn;
}

/**
 * The same dense op for the native (OpenBLAS) path, where the wasm arrangement above would only
 * add transposes: y = act(x·W + b) is one fused sgemm with bias and relu applied in place, the
 * weight gradient is xᵀ·dz and the input gradient dz·Wᵀ (transposes are sgemm flags), and dz with
 * db come from one pass over dy (denseGradNative).
 */
function makeNativeDense(relu: boolean, inputGrad: boolean): DenseFn {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    // The kernel directly: tf.fused.matMul declines to fuse relu while a gradient is being
    // recorded (it would need its own gradient); this op brings its own.
    const attrs = { transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear', leakyreluAlpha: 0 };
    const y = tf.engine().runKernel('_FusedMatMul', { a: x, b: w, bias: b }, attrs) as tf.Tensor2D;
    saveForBackward(x, w, y, save);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy, sw] = savedForBackward(saved, w);
        const [dz, db] = denseGradNative(dy as tf.Tensor2D, sy, relu);
        const dW = tf.matMul(sx, dz, true, false);
        const dx = inputGrad ? tf.matMul(dz, sw, false, true) : tf.zerosLike(sx);
        return [dx, dW, db];
      },
    };
  });
  return op as DenseFn;
}

const denseOps = new Map<string, DenseFn>();
function denseOp(relu: boolean, inputGrad: boolean): DenseFn {
  const native = tf.getBackend() === 'wasm' && nativeKernelNames().length > 0;
  const key = `${native}/${relu}/${inputGrad}`;
  let op = denseOps.get(key);
  if (!op) denseOps.set(key, (op = native ? makeNativeDense(relu, inputGrad) : makeDense(relu, inputGrad)));
  return op;
}

export type PlanStep =
  | { kind: 'dense'; kernel: tf.LayerVariable; bias: tf.LayerVariable; relu: boolean }
  | { kind: 'dropout'; layer: tf.layers.Layer; rate: number };

/** The model as a list of dense/dropout steps, or null if it has any other layer. */
export function mlpPlan(model: tf.LayersModel): PlanStep[] | null {
  const plan: PlanStep[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dense') {
      const cfg = layer.getConfig() as { activation?: string; useBias?: boolean };
      const act = cfg.activation ?? 'linear';
      if ((act !== 'relu' && act !== 'linear') || cfg.useBias === false || layer.trainableWeights.length !== 2) return null;
      plan.push({ kind: 'dense', kernel: layer.trainableWeights[0], bias: layer.trainableWeights[1], relu: act === 'relu' });
    } else if (cls === 'Dropout') {
      plan.push({ kind: 'dropout', layer, rate: (layer as unknown as { rate: number }).rate });
    } else {
      return null;
    }
  }
  return plan;
}

/**
 * The training-mode forward pass used inside the gradient tape. For Dense/Dropout MLPs (all
 * models from createMlp) it uses the wasm-friendly dense op above, for the conv nets on the
 * native kernels the conv ops of conv-forward.ts, otherwise model.apply.
 * Same function as model.apply(x, { training: true }) (tested against it).
 */
export function trainingForward(model: tf.LayersModel): (x: tf.Tensor2D) => tf.Tensor2D {
  const plan = mlpPlan(model);
  if (!plan) return convTrainingForward(model) ?? ((x) => model.apply(x, { training: true }) as tf.Tensor2D);
  return (x) => {
    let h: tf.Tensor = x;
    let firstDense = true;
    for (const step of plan) {
      if (step.kind === 'dense') {
        h = denseOp(step.relu, !firstDense)(h, step.kernel.read(), step.bias.read());
        firstDense = false;
      } else if (step.rate > 0) {
        const seed = (step.layer as unknown as { seed?: number }).seed;
        h = dropout(h, step.rate, seed);
      }
    }
    return h as tf.Tensor2D;
  };
}

/** Logits and the hidden representations (models.ts hiddenLayers) of one training-mode pass. */
export interface TrainingOutputs {
  logits: tf.Tensor2D;
  features: tf.Tensor[];
}

/**
 * trainingForward that also returns every hidden representation, in hiddenLayers(model) order:
 * for MLPs each hidden dense layer's ReLU output (before dropout) through the wasm-friendly dense
 * op, for the conv nets on the native kernels the conv ops of conv-forward.ts, for other models
 * forwardWithFeatures in training mode. The feature objectives (hint, cosine) read the last one.
 */
export function trainingForwardWithFeatures(model: tf.LayersModel): (x: tf.Tensor2D) => TrainingOutputs {
  const plan = mlpPlan(model);
  if (!plan) {
    const viaLayers = (x: tf.Tensor2D): TrainingOutputs => {
      const r = forwardWithFeatures(model, x, { training: true });
      return { logits: r.logits, features: r.features };
    };
    return convTrainingForwardWithFeatures(model, viaLayers) ?? viaLayers;
  }
  const lastDense = plan.map((p) => p.kind).lastIndexOf('dense');
  return (x) => {
    let h: tf.Tensor = x;
    let firstDense = true;
    const features: tf.Tensor[] = [];
    plan.forEach((step, i) => {
      if (step.kind === 'dense') {
        h = denseOp(step.relu, !firstDense)(h, step.kernel.read(), step.bias.read());
        firstDense = false;
        if (i !== lastDense) features.push(h);
      } else if (step.rate > 0) {
        const seed = (step.layer as unknown as { seed?: number }).seed;
        h = dropout(h, step.rate, seed);
      }
    });
    return { logits: h as tf.Tensor2D, features };
  };
}

/** The model's trainable tf.Variables, in layer order (the order optimizer state is saved in). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}
