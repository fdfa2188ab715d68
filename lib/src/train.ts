import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, saveCheckpoint, type OptimizerState, type TrainingState } from './checkpoint';
import { batches, DigitSet, IMAGE_SIZE, jitterImages, makeRng, NUM_CLASSES, PIXELS } from './data';
import { InputError, KdlabError } from './errors';
import { evaluate, predictLogits } from './evaluate';
import { assertAlpha, uncheckedLosses } from './losses';
import { applyMaxNorm, maxNormOf, reseedDropout } from './models';
import { assertTemperature } from './softmax';
import type { TeacherLogits } from './cache';

/**
 * One training loop for the teacher, the scratch student and the distilled student.
 *
 * Each step is: forward the batch in training mode, loss (hard labels, or the KD mix with soft
 * targets), gradients with tf.variableGrads, one optimizer update. Not model.fit: fit() cannot
 * take a loss that needs a second input per example (the teacher's logits), and it cannot be
 * stopped between two steps by an AbortSignal.
 */

// ---------------------------------------------------------------------------------------------
// Options and results

export type OptimizerName = 'adam' | 'sgd' | 'momentum';

export interface OptimizerSpec {
  name?: OptimizerName;
  /** Step size (default 1e-3 for adam, 0.01 for sgd and momentum). */
  learningRate?: number;
  /** Alias of learningRate. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Momentum coefficient for 'momentum' (default 0.9). */
  momentum?: number;
}

export interface DistillSpec {
  /** Teacher logits for every row of the training set (n × 10), e.g. from teacherLogitsCached. */
  teacherLogits?: Float32Array | TeacherLogits | tf.Tensor2D;
  /** A teacher model: its logits are computed in inference mode (dropout off). */
  teacher?: tf.LayersModel;
  temperature: number;
  /** Weight of the soft term; the hard-label term gets 1 − alpha. */
  alpha: number;
  /** 'kl' (default): T²·KL soft term. 'mse': mean squared logit difference instead (T unused). */
  kind?: 'kl' | 'mse';
}

export type LossSpec = 'hard' | DistillSpec;

export interface BatchProgress {
  /** 1-based epoch being trained. */
  epoch: number;
  /** 1-based batch within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Optimizer steps taken since the model was created (or the checkpoint's count). */
  step: number;
  /** Mean loss over the epoch's batches so far. */
  loss: number;
  samplesPerSecond: number;
}

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Accuracy on the training batches while training (dropout on for a teacher). */
  trainAccuracy: number;
  /** Accuracy on the validation set in inference mode, or null without a validation set. */
  valAccuracy: number | null;
  seconds: number;
}

export interface TrainOptions {
  train: DigitSet;
  validation?: DigitSet;
  /** Total number of epochs (a resumed run continues up to this number). */
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerSpec;
  loss?: LossSpec;
  /** Seeds batch order, jitter and dropout masks. Weights are seeded by createStudent/createTeacher. */
  seed?: number;
  /** Shift each training image by up to this many pixels per axis (Hinton's teacher used 2). */
  jitter?: number;
  /** Overrides the model's max-norm bound (createTeacher({ maxNorm })). */
  maxNorm?: number;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Minimum milliseconds between two onBatch calls (default 500). */
  progressEveryMs?: number;
  /** Stops between two steps; the model keeps the weights of the last completed step. */
  signal?: AbortSignal;
  /**
   * Also stop on SIGINT (a Jupyter kernel interrupt). tslab answers an interrupt by abandoning
   * the cell's promise, so without this the training would go on in the background and keep
   * changing the model. Default: on when some SIGINT handler is already installed (as in the
   * tslab kernel), off in a plain Node process (where Ctrl-C should still exit).
   */
  abortOnInterrupt?: boolean;
  /** Save a checkpoint every `every` epochs (default 1) and at the end. */
  checkpoint?: { dir: string; every?: number };
  /** Continue from the checkpoint in this directory (if one exists there). */
  resumeFrom?: string;
}

export interface TrainResult {
  history: EpochRecord[];
  /** The epoch with the highest validation accuracy (null without a validation set). */
  best: EpochRecord | null;
  /** The final completed epoch: what the model's weights are now. */
  last: EpochRecord | null;
  aborted: boolean;
  /** Optimizer steps taken in total (including steps before a resume). */
  steps: number;
  /** Training throughput of this call (steps only, without validation). */
  samplesPerSecond: number;
  /** Epoch the run resumed after (0 for a fresh run). */
  resumedFromEpoch: number;
}

// ---------------------------------------------------------------------------------------------
// Optimizer

interface WasmInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function wasmInternals(): WasmInternals | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as Partial<WasmInternals>;
  return b.dataIdMap && b.wasm && b.makeOutput ? (b as WasmInternals) : null;
}

/**
 * Adam's update as one hand-assembled WebAssembly SIMD function that runs directly on the tfjs
 * wasm heap (it imports the backend's own WebAssembly.Memory). tfjs's Adam issues ~13
 * element-wise ops per variable (each a pass over 1.3M floats plus an allocation), and a plain
 * JavaScript loop is no faster; one f32x4 pass is ~4x cheaper than either.
 *
 * adam(w, g, m, v, w2, m2, v2, n, b1, 1-b1, b2, 1-b2, a, epsHat) for n (multiple of 4) floats:
 *   m2 = b1·m + (1-b1)·g;  v2 = b2·v + (1-b2)·g·g;  w2 = w − a·m2 / (sqrt(v2) + epsHat)
 * which is textbook Adam with a = lr·sqrt(1-b2^t)/(1-b1^t) and epsHat = eps·sqrt(1-b2^t).
 */
function adamWasmBytes(): Uint8Array {
  const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const load = (base: number) => [...get(base), ...get(14), 0x6a, ...simd(0x00), 0x00, 0x00];
  const F32X4 = { splat: 0x13, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
  const store = [...simd(0x0b), 0x00, 0x00];
  const body = [
    // locals: 14 i, 15 end (i32); 16 g, 17 m, 18 v, 19..24 splats (v128)
    0x02, 0x02, 0x7f, 0x09, 0x7b,
    ...get(7), 0x41, 0x02, 0x74, ...set(15),
    ...[8, 9, 10, 11, 12, 13].flatMap((p, k) => [...get(p), ...simd(F32X4.splat), ...set(19 + k)]),
    0x02, 0x40,
    ...get(14), ...get(15), 0x4f, 0x0d, 0x00,
    0x03, 0x40,
    ...load(1), ...set(16),
    ...get(19), ...load(2), ...simd(F32X4.mul), ...get(20), ...get(16), ...simd(F32X4.mul), ...simd(F32X4.add), ...set(17),
    ...get(21), ...load(3), ...simd(F32X4.mul), ...get(22), ...get(16), ...simd(F32X4.mul), ...get(16), ...simd(F32X4.mul),
    ...simd(F32X4.add), ...set(18),
    ...get(5), ...get(14), 0x6a, ...get(17), ...store,
    ...get(6), ...get(14), 0x6a, ...get(18), ...store,
    ...get(4), ...get(14), 0x6a,
    ...load(0), ...get(23), ...get(17), ...simd(F32X4.mul), ...get(18), ...simd(F32X4.sqrt), ...get(24), ...simd(F32X4.add),
    ...simd(F32X4.div), ...simd(F32X4.sub), ...store,
    ...get(14), 0x41, 0x10, 0x6a, 0x22, 14, ...get(15), 0x49, 0x0d, 0x00,
    0x0b, 0x0b, 0x0b,
  ];
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      out.push(byte);
    } while (n !== 0);
    return out;
  };
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 14, ...new Array(8).fill(0x7f), ...new Array(6).fill(0x7d), 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('adam'), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

type AdamKernel = (
  w: number, g: number, m: number, v: number, w2: number, m2: number, v2: number, n: number,
  b1: number, ob1: number, b2: number, ob2: number, a: number, epsHat: number,
) => void;

let adamKernel: { memory: WebAssembly.Memory; fn: AdamKernel | null } | undefined;

/** The SIMD Adam kernel bound to the active wasm backend's memory, or null where it cannot run. */
function wasmAdam(): AdamKernel | null {
  const b = tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } };
  const memory = b.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  if (adamKernel && adamKernel.memory === memory) return adamKernel.fn;
  let fn: AdamKernel | null = null;
  try {
    const module = new WebAssembly.Module(adamWasmBytes());
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    fn = instance.exports.adam as AdamKernel;
  } catch {
    fn = null; // no WebAssembly SIMD here: the JavaScript loop does the work
  }
  adamKernel = { memory, fn };
  return fn;
}

/** Which Adam implementation runs on the active backend: one wasm SIMD pass, or a JavaScript loop. */
export function adamImplementation(): 'wasm-simd' | 'javascript' {
  return wasmInternals() && wasmAdam() ? 'wasm-simd' : 'javascript';
}

/**
 * Element-wise update kernels run as one JavaScript loop over the tensors' memory: tfjs's own
 * Adam issues ~13 separate element-wise ops (and allocations) per variable per step, which on
 * wasm cost about as much as the whole backward pass. Inputs are read in place; outputs are new
 * tensors (variables are re-pointed with assign), so no tensor that shares a buffer is changed.
 */
function fusedUpdate(
  inputs: tf.Tensor[],
  outputs: number,
  body: (ins: Float32Array[], outs: Float32Array[], start: number, n: number) => void,
  simd?: (ins: number[], outs: number[], n4: number) => void,
): tf.Tensor[] {
  const shape = inputs[0].shape;
  const n = inputs[0].size;
  const wasm = wasmInternals();
  if (wasm) {
    const infos: tf.TensorInfo[] = [];
    for (let i = 0; i < outputs; i++) infos.push(wasm.makeOutput(shape, 'float32'));
    const offset = (dataId: object) => {
      const entry = wasm.dataIdMap.get(dataId);
      if (!entry) throw new KdlabError('BACKEND_STATE', 'optimizer: a tensor has no wasm memory (disposed?).');
      return entry.memoryOffset;
    };
    const inPtr = inputs.map((t) => offset(t.dataId));
    const outPtr = infos.map((info) => offset(info.dataId));
    const n4 = simd ? n - (n % 4) : 0;
    if (simd && n4 > 0) simd(inPtr, outPtr, n4);
    if (n4 < n) {
      // Views are taken after every allocation: growing the wasm heap detaches older views.
      const heap = wasm.wasm.HEAPU8.buffer;
      body(inPtr.map((p) => new Float32Array(heap, p, n)), outPtr.map((p) => new Float32Array(heap, p, n)), n4, n);
    }
    return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
  }
  const outs = Array.from({ length: outputs }, () => new Float32Array(n));
  body(inputs.map((t) => t.dataSync() as Float32Array), outs, 0, n);
  return outs.map((o) => tf.tensor(o, shape, 'float32'));
}

/**
 * Adam, SGD and momentum with state that can be saved and restored exactly (tfjs's Adam
 * rebuilds its beta powers with pow() on restore, which differs from the running product in the
 * last bit and breaks bit-exact resumes).
 */
export class KdOptimizer {
  readonly name: OptimizerName;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly momentum: number;
  /** Number of updates applied so far (Adam's t). */
  iterations = 0;
  private slots: tf.Tensor[][] = [];

  constructor(spec: OptimizerSpec = {}) {
    const name = spec.name ?? 'adam';
    if (!['adam', 'sgd', 'momentum'].includes(name)) {
      throw new InputError('BAD_OPTIMIZER', `optimizer.name must be 'adam', 'sgd' or 'momentum', got ${String(name)}.`);
    }
    this.name = name;
    const lr = spec.learningRate ?? spec.lr ?? (name === 'adam' ? 1e-3 : 0.01);
    if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) {
      throw new InputError('BAD_LEARNING_RATE', `learning rate must be a finite number > 0, got ${String(lr)}.`);
    }
    this.learningRate = lr;
    this.beta1 = spec.beta1 ?? 0.9;
    this.beta2 = spec.beta2 ?? 0.999;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.momentum = spec.momentum ?? 0.9;
    for (const [k, v] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
      ['momentum', this.momentum],
    ] as const) {
      if (!(v >= 0 && v < 1)) throw new InputError('BAD_OPTIMIZER', `optimizer.${k} must be in [0, 1), got ${v}.`);
    }
  }

  private slotCount(): number {
    return this.name === 'adam' ? 2 : this.name === 'momentum' ? 1 : 0;
  }

  /** Applies one update to `variables` given their gradients (same order). Disposes nothing it was given. */
  step(variables: tf.Variable[], gradients: tf.Tensor[]): void {
    if (variables.length !== gradients.length) {
      throw new KdlabError('OPTIMIZER_STATE', `optimizer.step: ${variables.length} variables but ${gradients.length} gradients.`);
    }
    const k = this.slotCount();
    if (this.slots.length === 0 && k > 0) {
      this.slots = variables.map((v) => Array.from({ length: k }, () => tf.keep(tf.zerosLike(v))));
    }
    this.iterations++;
    const t = this.iterations;
    const lr = this.learningRate;
    variables.forEach((variable, i) => {
      const g = gradients[i];
      if (!g) throw new KdlabError('OPTIMIZER_STATE', `optimizer.step: no gradient for ${variable.name}.`);
      let outs: tf.Tensor[];
      if (this.name === 'adam') {
        const [m0, v0] = this.slots[i];
        const b1 = this.beta1;
        const b2 = this.beta2;
        const eps = this.epsilon;
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        // Textbook Adam rearranged so that the bias corrections fold into two scalars.
        const a = (lr * Math.sqrt(c2)) / c1;
        const epsHat = eps * Math.sqrt(c2);
        const kernel = wasmAdam();
        outs = fusedUpdate(
          [variable, g, m0, v0],
          3,
          ([W, G, M, V], [W2, M2, V2], start, n) => {
            for (let j = start; j < n; j++) {
              const gj = G[j];
              const m = b1 * M[j] + (1 - b1) * gj;
              const v = b2 * V[j] + (1 - b2) * gj * gj;
              M2[j] = m;
              V2[j] = v;
              W2[j] = W[j] - (a * m) / (Math.sqrt(v) + epsHat);
            }
          },
          kernel ? ([w, gp, m, v], [w2, m2, v2], n4) => kernel(w, gp, m, v, w2, m2, v2, n4, b1, 1 - b1, b2, 1 - b2, a, epsHat) : undefined,
        );
        this.slots[i][0].dispose();
        this.slots[i][1].dispose();
        this.slots[i] = [tf.keep(outs[1]), tf.keep(outs[2])];
      } else if (this.name === 'momentum') {
        const mu = this.momentum;
        outs = fusedUpdate([variable, g, this.slots[i][0]], 2, ([W, G, A], [W2, A2], start, n) => {
          for (let j = start; j < n; j++) {
            const a = mu * A[j] + G[j];
            A2[j] = a;
            W2[j] = W[j] - lr * a;
          }
        });
        this.slots[i][0].dispose();
        this.slots[i] = [tf.keep(outs[1])];
      } else {
        outs = fusedUpdate([variable, g], 1, ([W, G], [W2], start, n) => {
          for (let j = start; j < n; j++) W2[j] = W[j] - lr * G[j];
        });
      }
      variable.assign(outs[0]);
      outs[0].dispose();
    });
  }

  /** A plain-data copy of the optimizer's state (for checkpoints). */
  getState(): OptimizerState {
    const names = this.slotCount() === 2 ? ['m', 'v'] : this.slotCount() === 1 ? ['velocity'] : [];
    const slots: OptimizerState['slots'] = [];
    this.slots.forEach((perVar, i) =>
      perVar.forEach((t, k) => slots.push({ name: `${i}/${names[k]}`, shape: t.shape.slice(), data: t.dataSync() as Float32Array })),
    );
    return {
      name: this.name,
      config: {
        learningRate: this.learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        momentum: this.momentum,
      },
      iterations: this.iterations,
      slots,
    };
  }

  /** Restores state saved by getState (same optimizer kind, same variables in the same order). */
  setState(state: OptimizerState): void {
    if (state.name !== this.name) {
      throw new InputError('CHECKPOINT_MISMATCH', `checkpoint optimizer is ${state.name}, this run uses ${this.name}.`);
    }
    const k = this.slotCount();
    if (k > 0 && state.slots.length % k !== 0) {
      throw new InputError('CHECKPOINT_MISMATCH', `checkpoint has ${state.slots.length} optimizer slots, not a multiple of ${k}.`);
    }
    this.disposeSlots();
    const perVar: tf.Tensor[][] = [];
    for (let i = 0; i < state.slots.length; i += k) {
      perVar.push(state.slots.slice(i, i + k).map((s) => tf.keep(tf.tensor(s.data, s.shape, 'float32'))));
    }
    this.slots = perVar;
    this.iterations = state.iterations;
  }

  private disposeSlots(): void {
    for (const perVar of this.slots) for (const t of perVar) t.dispose();
    this.slots = [];
  }

  dispose(): void {
    this.disposeSlots();
  }
}

// ---------------------------------------------------------------------------------------------
// Training-mode forward pass

type DenseFn = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

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
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
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

const denseOps = new Map<string, DenseFn>();
function denseOp(relu: boolean, inputGrad: boolean): DenseFn {
  const key = `${relu}/${inputGrad}`;
  let op = denseOps.get(key);
  if (!op) denseOps.set(key, (op = makeDense(relu, inputGrad)));
  return op;
}

type PlanStep =
  | { kind: 'dense'; kernel: tf.LayerVariable; bias: tf.LayerVariable; relu: boolean }
  | { kind: 'dropout'; layer: tf.layers.Layer; rate: number };

/** The model as a list of dense/dropout steps, or null if it has any other layer. */
function mlpPlan(model: tf.LayersModel): PlanStep[] | null {
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
 * models from createMlp) it uses the wasm-friendly dense op above, otherwise model.apply.
 * Same function as model.apply(x, { training: true }) (tested against it).
 */
export function trainingForward(model: tf.LayersModel): (x: tf.Tensor2D) => tf.Tensor2D {
  const plan = mlpPlan(model);
  if (!plan) return (x) => model.apply(x, { training: true }) as tf.Tensor2D;
  return (x) => {
    let h: tf.Tensor = x;
    let firstDense = true;
    for (const step of plan) {
      if (step.kind === 'dense') {
        h = denseOp(step.relu, !firstDense)(h, step.kernel.read(), step.bias.read());
        firstDense = false;
      } else if (step.rate > 0) {
        const seed = (step.layer as unknown as { seed?: number }).seed;
        h = tf.dropout(h, step.rate, undefined, seed);
      }
    }
    return h as tf.Tensor2D;
  };
}

/** The model's trainable tf.Variables, in layer order (the order optimizer state is saved in). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

// ---------------------------------------------------------------------------------------------
// One step

export interface StepBatch {
  x: tf.Tensor2D;
  /** One-hot labels [batch, 10]. */
  oneHot: tf.Tensor2D;
  /** Integer labels [batch]. */
  labels: tf.Tensor1D;
  /** Teacher logits [batch, 10] (distillation only). */
  teacher?: tf.Tensor2D;
}

export interface StepLoss {
  kind: 'hard' | 'kl' | 'mse';
  temperature: number;
  alpha: number;
}

/**
 * A function that runs one optimizer step on a batch and returns the loss and the number of
 * correctly classified examples as scalar tensors (the caller disposes them; reading them back
 * is left to the caller so the hot loop does not wait on data).
 */
export function createTrainStep(
  model: tf.LayersModel,
  optimizer: KdOptimizer,
  loss: StepLoss,
): (batch: StepBatch) => { loss: tf.Scalar; correct: tf.Scalar } {
  const forward = trainingForward(model);
  const variables = trainableVariables(model);
  const { kind, temperature: T, alpha } = loss;
  const lossOf = (logits: tf.Tensor2D, b: StepBatch): tf.Scalar => {
    if (kind === 'hard') return uncheckedLosses.student(logits, b.oneHot);
    if (!b.teacher) throw new KdlabError('NO_TEACHER_LOGITS', 'train step: distillation needs teacher logits for the batch.');
    if (kind === 'kl') return uncheckedLosses.kd(logits, b.teacher, b.oneHot, T, alpha);
    return tf.tidy(() => {
      const soft = tf.mul(uncheckedLosses.mse(logits, b.teacher as tf.Tensor2D), alpha);
      return alpha === 1 ? soft : tf.add(soft, tf.mul(uncheckedLosses.student(logits, b.oneHot), 1 - alpha));
    }) as tf.Scalar;
  };
  return (b) => {
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(b.x);
      logits = tf.keep(out);
      return lossOf(out, b);
    }, variables);
    try {
      optimizer.step(variables, variables.map((v) => grads[v.name]));
    } finally {
      tf.dispose(grads);
    }
    const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits as tf.Tensor2D, 1), b.labels), 'float32'))) as tf.Scalar;
    (logits as tf.Tensor2D).dispose();
    return { loss: value, correct };
  };
}

// ---------------------------------------------------------------------------------------------
// The loop

interface ResolvedLoss {
  step: StepLoss;
  /** Clean-input logits for every training row, when they can be used. */
  logits?: Float32Array;
  /** Teacher evaluated per batch (jittered inputs). */
  teacher?: tf.LayersModel;
}

function isTeacherLogits(x: unknown): x is TeacherLogits {
  return typeof x === 'object' && x !== null && !(x instanceof Float32Array) && (x as TeacherLogits).logits instanceof Float32Array;
}

function resolveLoss(spec: LossSpec, set: DigitSet, jitter: number): ResolvedLoss {
  if (spec === 'hard') return { step: { kind: 'hard', temperature: 1, alpha: 0 } };
  if (spec === null || typeof spec !== 'object') {
    throw new InputError('BAD_LOSS', `loss must be 'hard' or { teacherLogits | teacher, temperature, alpha }, got ${String(spec)}.`);
  }
  const kind = spec.kind ?? 'kl';
  if (kind !== 'kl' && kind !== 'mse') throw new InputError('BAD_LOSS', `loss.kind must be 'kl' or 'mse', got ${String(kind)}.`);
  if (kind === 'kl') assertTemperature(spec.temperature, 'train loss');
  assertAlpha(spec.alpha, 'train loss');
  const step: StepLoss = { kind, temperature: kind === 'kl' ? spec.temperature : 1, alpha: spec.alpha };
  if (spec.teacher === undefined && spec.teacherLogits === undefined) {
    throw new InputError('NO_TEACHER', 'a distillation loss needs teacherLogits (e.g. from teacherLogitsCached) or a teacher model.');
  }
  if (jitter > 0) {
    if (!spec.teacher) {
      throw new InputError(
        'STALE_TEACHER_LOGITS',
        `jitter = ${jitter} shifts every training image differently in every epoch, but only teacherLogits ` +
          'computed on the clean images were given: they would be soft targets for different inputs. ' +
          'Pass loss.teacher (logits are then computed on the jittered batch, dropout off) or set jitter: 0.',
      );
    }
    return { step, teacher: spec.teacher };
  }
  if (spec.teacherLogits !== undefined) {
    let logits: Float32Array;
    if (isTeacherLogits(spec.teacherLogits)) {
      if (spec.teacherLogits.setId !== set.id) {
        throw new InputError(
          'TEACHER_LOGITS_MISMATCH',
          `teacherLogits were computed for "${spec.teacherLogits.setId}", but the training set is "${set.id}".`,
        );
      }
      if (spec.teacherLogits.preprocessing !== 'none') {
        throw new InputError(
          'STALE_TEACHER_LOGITS',
          `teacherLogits were computed with preprocessing "${spec.teacherLogits.preprocessing}", but training feeds clean images.`,
        );
      }
      logits = spec.teacherLogits.logits;
    } else if (spec.teacherLogits instanceof Float32Array) {
      logits = spec.teacherLogits;
    } else if (spec.teacherLogits instanceof tf.Tensor) {
      const t = spec.teacherLogits;
      if (t.rank !== 2 || t.shape[1] !== NUM_CLASSES) {
        throw new InputError('SHAPE_MISMATCH', `teacherLogits must have shape [${set.size}, ${NUM_CLASSES}], got [${t.shape.join(', ')}].`);
      }
      logits = t.dataSync() as Float32Array;
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
    return { step, logits };
  }
  // A teacher and clean inputs: compute its logits once (inference mode), not once per epoch.
  return { step, logits: predictLogits(spec.teacher as tf.LayersModel, set) };
}

function stepSeed(seed: number, epoch: number, batch: number): number {
  // A 31-bit mix of (seed, epoch, batch): distinct dropout masks per step, same ones on a rerun.
  let h = (seed * 2654435761) >>> 0;
  h = Math.imul(h ^ (epoch + 0x9e3779b9), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (batch + 0x27d4eb2f), 0xc2b2ae35) >>> 0;
  return h & 0x7fffffff;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains `model` in place. Returns the per-epoch history with the best (validation) and last
 * epochs reported apart; stops cleanly on `signal`.
 */
export async function train(model: tf.LayersModel, options: TrainOptions): Promise<TrainResult> {
  const { train: set, validation, epochs, signal } = options;
  const batchSize = options.batchSize ?? 128;
  const seed = options.seed ?? 0;
  const jitter = options.jitter ?? 0;
  if (!set || !(set.images instanceof Float32Array) || set.size <= 0) {
    throw new InputError('BAD_INPUT', 'train: options.train must be a non-empty DigitSet.');
  }
  if (!Number.isInteger(epochs) || epochs < 0) throw new InputError('BAD_EPOCHS', `epochs must be an integer >= 0, got ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InputError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${batchSize}.`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InputError('BAD_SEED', `seed must be a non-negative integer, got ${seed}.`);
  if (!(Number.isInteger(jitter) && jitter >= 0 && jitter < IMAGE_SIZE)) {
    throw new InputError('BAD_JITTER', `jitter must be a whole number of pixels in 0..${IMAGE_SIZE - 1}, got ${jitter}.`);
  }
  const maxNorm = options.maxNorm ?? maxNormOf(model);
  const resolved = resolveLoss(options.loss ?? 'hard', set, jitter);
  const optimizer = new KdOptimizer(options.optimizer);
  const progressEveryMs = options.progressEveryMs ?? 500;

  let history: EpochRecord[] = [];
  let startEpoch = 0;
  if (options.resumeFrom) {
    const restored = await loadCheckpoint(options.resumeFrom, { model });
    if (restored) {
      if (restored.state.seed !== seed) {
        throw new InputError(
          'CHECKPOINT_MISMATCH',
          `the checkpoint in ${options.resumeFrom} was trained with seed ${restored.state.seed}, this run asks for ${seed}.`,
        );
      }
      if (restored.optimizer) optimizer.setState(restored.optimizer);
      history = restored.state.history.slice();
      startEpoch = restored.state.epoch;
    }
  }

  const stepFn = createTrainStep(model, optimizer, resolved.step);
  const batchesPerEpoch = Math.ceil(set.size / batchSize);
  const teacherRows = new Float32Array(batchSize * NUM_CLASSES);
  const oneHotRows = new Float32Array(batchSize * NUM_CLASSES);
  let aborted = false;
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  const hookInterrupt = options.abortOnInterrupt ?? process.listenerCount('SIGINT') > 0;
  if (hookInterrupt) process.on('SIGINT', onInterrupt);
  let trainedSamples = 0;
  let trainMs = 0;

  const saveNow = async (epochsDone: number) => {
    if (!options.checkpoint) return;
    const state: TrainingState = { epoch: epochsDone, seed, step: optimizer.iterations, history };
    await saveCheckpoint(options.checkpoint.dir, { model, optimizer: optimizer.getState(), state });
  };

  try {
    for (let epoch = startEpoch; epoch < epochs && !aborted; epoch++) {
      const epochStart = performance.now();
      const jitterRng = jitter > 0 ? makeRng(`jitter:${seed}:${epoch}`) : undefined;
      let lossSum: tf.Scalar = tf.keep(tf.scalar(0));
      let correctSum: tf.Scalar = tf.keep(tf.scalar(0));
      let seen = 0;
      let batchIndex = 0;
      let lastProgress = performance.now();
      try {
        for (const batch of batches(set, batchSize, { seed, epoch })) {
          if (signal?.aborted || interrupted) {
            aborted = true;
            break;
          }
          const t0 = performance.now();
          const rows = batch.indices.length;
          const pixels = jitterRng ? jitterImages(batch.images, jitter, jitterRng) : batch.images;
          oneHotRows.fill(0);
          for (let r = 0; r < rows; r++) oneHotRows[r * NUM_CLASSES + batch.labels[r]] = 1;
          if (resolved.logits) {
            for (let r = 0; r < rows; r++) {
              const i = batch.indices[r];
              teacherRows.set(resolved.logits.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), r * NUM_CLASSES);
            }
          }
          const x = tf.tensor2d(pixels, [rows, PIXELS]);
          const oneHot = tf.tensor2d(oneHotRows.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
          const labels = tf.tensor1d(batch.labels, 'int32');
          let teacher: tf.Tensor2D | undefined;
          if (resolved.logits) teacher = tf.tensor2d(teacherRows.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
          else if (resolved.teacher) {
            const t = resolved.teacher;
            teacher = tf.tidy(() => t.apply(x, { training: false }) as tf.Tensor2D);
          }
          reseedDropout(model, stepSeed(seed, epoch, batchIndex));
          try {
            const out = stepFn({ x, oneHot, labels, teacher });
            const newLoss = tf.keep(tf.add(lossSum, out.loss)) as tf.Scalar;
            const newCorrect = tf.keep(tf.add(correctSum, out.correct)) as tf.Scalar;
            tf.dispose([lossSum, correctSum, out.loss, out.correct]);
            lossSum = newLoss;
            correctSum = newCorrect;
          } finally {
            tf.dispose([x, oneHot, labels]);
            teacher?.dispose();
          }
          if (maxNorm !== undefined) applyMaxNorm(model, maxNorm);
          seen += rows;
          batchIndex++;
          trainedSamples += rows;
          trainMs += performance.now() - t0;
          const now = performance.now();
          if (options.onBatch && (now - lastProgress >= progressEveryMs || batchIndex === batchesPerEpoch)) {
            lastProgress = now;
            const meanLoss = lossSum.dataSync()[0] / batchIndex;
            if (!Number.isFinite(meanLoss)) throw divergence(epoch + 1, meanLoss);
            options.onBatch({
              epoch: epoch + 1,
              batch: batchIndex,
              batchesPerEpoch,
              step: optimizer.iterations,
              loss: meanLoss,
              samplesPerSecond: trainMs > 0 ? (trainedSamples / trainMs) * 1000 : 0,
            });
          }
          // Lets a kernel interrupt (AbortSignal) and timers run between steps.
          await yieldToEventLoop();
        }
        if (aborted) break;
        const loss = lossSum.dataSync()[0] / batchIndex;
        if (!Number.isFinite(loss)) throw divergence(epoch + 1, loss);
        const trainAccuracy = correctSum.dataSync()[0] / seen;
        const valAccuracy = validation ? evaluate(model, validation).accuracy : null;
        const record: EpochRecord = {
          epoch: epoch + 1,
          loss,
          trainAccuracy,
          valAccuracy,
          seconds: (performance.now() - epochStart) / 1000,
        };
        history = [...history, record];
        options.onEpoch?.(record);
        const every = options.checkpoint?.every ?? 1;
        if ((epoch + 1) % every === 0 || epoch + 1 === epochs) await saveNow(epoch + 1);
      } finally {
        tf.dispose([lossSum, correctSum]);
      }
    }
  } finally {
    optimizer.dispose();
    if (hookInterrupt) process.off('SIGINT', onInterrupt);
  }

  const withVal = history.filter((r) => r.valAccuracy !== null);
  const best = withVal.length
    ? withVal.reduce((a, b) => ((b.valAccuracy as number) > (a.valAccuracy as number) ? b : a))
    : null;
  return {
    history,
    best,
    last: history.length ? history[history.length - 1] : null,
    aborted,
    steps: optimizer.iterations,
    samplesPerSecond: trainMs > 0 ? (trainedSamples / trainMs) * 1000 : 0,
    resumedFromEpoch: startEpoch,
  };
}

function divergence(epoch: number, loss: number): KdlabError {
  return new KdlabError(
    'TRAINING_DIVERGED',
    `training diverged in epoch ${epoch}: the mean loss is ${loss}. Lower the learning rate, or check the teacher logits.`,
  );
}
