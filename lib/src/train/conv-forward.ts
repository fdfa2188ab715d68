import * as tf from '@tensorflow/tfjs';
import { LEAKY_RELU_GRAD } from '../kernels/step-kernels-wasm';
import { nativeConvKernelNames } from '../kernels/native-conv';

/**
 * The training-mode forward pass of the convolutional nets (models.ts createConvNet: reshape →
 * conv → LeakyReLU → max-pool → conv → flatten → dense) on the native kernels, as a list of
 * steps with convolution ops that bring their own gradient. What it saves over model.apply,
 * measured on the conv student (16/32, batch 128, one thread): tf.layers' per-layer bookkeeping;
 * the LeakyReLU as its own kernel and pass (it is the convolution's epilogue here, and its
 * gradient is taken from the output); and the first convolution's input gradient, which tfjs
 * computes inside the fused op's gradient although nothing needs d loss / d pixels.
 * Same function as model.apply(x, { training: true }) (tests/kd/conv-forward.test.ts).
 */

type Padding = 'same' | 'valid';

type ConvPlanStep =
  | { kind: 'reshape'; shape: number[] }
  | { kind: 'conv'; kernel: tf.Variable; bias: tf.Variable; strides: [number, number]; pad: Padding; alpha: number | null; inputGrad: boolean }
  | { kind: 'maxPool'; pool: [number, number]; strides: [number, number]; pad: Padding }
  | { kind: 'dense'; kernel: tf.Variable; bias: tf.Variable };

interface LayerConfig {
  targetShape?: number[];
  strides?: number[];
  padding?: string;
  activation?: string;
  useBias?: boolean;
  dilationRate?: number | number[];
  dataFormat?: string;
  alpha?: number;
  poolSize?: number[];
}

function pair(v: number[] | undefined, fallback: number): [number, number] {
  return v && v.length === 2 ? [v[0], v[1]] : [fallback, fallback];
}

function dilationOne(d: number | number[] | undefined): boolean {
  if (d === undefined || d === 1) return true;
  if (!Array.isArray(d)) return false;
  // Plain loops in this file: notebook code (a graded student's) may patch Array.prototype.
  for (const x of d) if (x !== 1) return false;
  return true;
}

/** The model as conv-net steps, or null when any layer is outside what the op below handles. */
function convPlan(model: tf.LayersModel): ConvPlanStep[] | null {
  const plan: ConvPlanStep[] = [];
  const layers = model.layers;
  let trainableBefore = false;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    if (cls === 'Reshape' && cfg.targetShape) {
      plan.push({ kind: 'reshape', shape: [-1, ...cfg.targetShape] });
    } else if (cls === 'Flatten') {
      plan.push({ kind: 'reshape', shape: [-1, (layer.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1)] });
    } else if (cls === 'Conv2D') {
      const pad = cfg.padding;
      if ((pad !== 'same' && pad !== 'valid') || cfg.activation !== 'linear' || cfg.useBias === false || weights.length !== 2 ||
          !dilationOne(cfg.dilationRate) || (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') return null;
      // A LeakyReLU right after is folded into the convolution.
      const next = layers[i + 1];
      const alpha = next?.getClassName() === 'LeakyReLU' ? Number((next.getConfig() as LayerConfig).alpha ?? 0.3) : null;
      if (alpha !== null && !(alpha > 0)) return null; // the gradient reads the output's sign
      if (alpha !== null) i++;
      plan.push({ kind: 'conv', kernel: weights[0], bias: weights[1], strides: pair(cfg.strides, 1), pad, alpha, inputGrad: trainableBefore });
      trainableBefore = true;
    } else if (cls === 'MaxPooling2D') {
      const pad = cfg.padding;
      if ((pad !== 'same' && pad !== 'valid') || (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') return null;
      plan.push({ kind: 'maxPool', pool: pair(cfg.poolSize, 2), strides: pair(cfg.strides, pair(cfg.poolSize, 2)[0]), pad });
    } else if (cls === 'Dense') {
      if ((cfg.activation ?? 'linear') !== 'linear' || cfg.useBias === false || weights.length !== 2 || i !== layers.length - 1) return null;
      plan.push({ kind: 'dense', kernel: weights[0], bias: weights[1] });
      trainableBefore = true;
    } else {
      return null;
    }
  }
  for (const s of plan) if (s.kind === 'conv') return plan;
  return null;
}

type ConvFn = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;

/**
 * y = leakyRelu(conv(x, W) + b) (or without the activation) as one FusedConv2D, with the gradient
 * written out: dz = dy·[y > 0 ? 1 : alpha] (y and the pre-activation share their sign when
 * alpha > 0), db = Σ dz, dW and dx from the two backprop kernels; dx only where asked.
 */
function makeConv(strides: [number, number], pad: Padding, alpha: number | null, inputGrad: boolean): ConvFn {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
    const attrs = {
      strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
      activation: alpha === null ? 'linear' : 'leakyrelu', leakyreluAlpha: alpha ?? 0,
    } as unknown as tf.NamedAttrMap;
    const y = tf.engine().runKernel('FusedConv2D', { x, filter: w, bias: b }, attrs) as tf.Tensor4D;
    // The weights are variables: they outlive the backward pass unchanged (see forward.ts).
    save([x, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dz = alpha === null ? (dy as tf.Tensor4D)
          : (tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x: sy }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor4D);
        const geometry = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
        const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x: sx, dy: dz },
          { ...geometry, filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const db = tf.sum(dz, [0, 1, 2]) as tf.Tensor1D;
        const dx = inputGrad
          ? (tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter: w }, { ...geometry, inputShape: sx.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D)
          : tf.zerosLike(sx);
        return [dx, dW, db];
      },
    };
  });
  return op as ConvFn;
}

const convOps = new Map<string, ConvFn>();
function convOp(strides: [number, number], pad: Padding, alpha: number | null, inputGrad: boolean): ConvFn {
  const key = `${strides[0]},${strides[1]},${pad},${alpha},${inputGrad}`;
  let op = convOps.get(key);
  if (!op) convOps.set(key, (op = makeConv(strides, pad, alpha, inputGrad)));
  return op;
}

/** Logits and the hidden representations (models.ts hiddenLayers order) of one training-mode pass. */
export interface ConvTrainingOutputs {
  logits: tf.Tensor2D;
  features: tf.Tensor[];
}

/** The plan's pass; every convolution's output (after its folded LeakyReLU) is a hidden representation. */
function runPlan(plan: ConvPlanStep[], x: tf.Tensor2D): ConvTrainingOutputs {
  let h: tf.Tensor = x;
  const features: tf.Tensor[] = [];
  for (const step of plan) {
    if (step.kind === 'reshape') h = tf.reshape(h, step.shape);
    else if (step.kind === 'conv') {
      h = convOp(step.strides, step.pad, step.alpha, step.inputGrad)(h as tf.Tensor4D, step.kernel as tf.Tensor4D, step.bias as tf.Tensor1D);
      features.push(h);
    } else if (step.kind === 'maxPool') h = tf.maxPool(h as tf.Tensor4D, step.pool, step.strides, step.pad);
    else h = tf.fused.matMul({ a: h as tf.Tensor2D, b: step.kernel as tf.Tensor2D, bias: step.bias });
  }
  return { logits: h as tf.Tensor2D, features };
}

function nativeConvOn(): boolean {
  return tf.getBackend() === 'wasm' && nativeConvKernelNames().length > 0;
}

/**
 * The conv net's training forward pass through the ops above, or null where it does not apply
 * (another architecture). Where the native conv kernels are off (pure wasm) it runs model.apply,
 * whose stock kernels these ops would not speed up.
 */
export function convTrainingForward(model: tf.LayersModel): ((x: tf.Tensor2D) => tf.Tensor2D) | null {
  const plan = convPlan(model);
  if (!plan) return null;
  return (x) => (nativeConvOn() ? runPlan(plan, x).logits : (model.apply(x, { training: true }) as tf.Tensor2D));
}

/**
 * The same pass with the hidden representations (the feature objectives' student side), or
 * null; `fallback` runs where the native conv kernels are off.
 */
export function convTrainingForwardWithFeatures(
  model: tf.LayersModel,
  fallback: (x: tf.Tensor2D) => ConvTrainingOutputs,
): ((x: tf.Tensor2D) => ConvTrainingOutputs) | null {
  const plan = convPlan(model);
  if (!plan) return null;
  return (x) => (nativeConvOn() ? runPlan(plan, x) : fallback(x));
}
