import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from '../errors';
import { fusedSoftmaxLoss, fusedSoftmaxLossAvailable, type FusedLossAttrs } from '../kernels/softmax-loss-wasm';
import type { FeatureInputs, Objective, ResolvedObjective } from '../losses';
import { forwardWithFeatures, hiddenLayers } from '../models';
import { nativeKernelNames } from '../kernels/native';
import { createDirectMlpStep } from './direct-step';
import { trainableVariables, trainingForward, trainingForwardWithFeatures } from './forward';
import type { Optimizer } from './optimizer';

/**
 * One optimizer step: forward the batch in training mode, the objective's loss, gradients with
 * tf.variableGrads, one optimizer update. Not model.fit: fit() cannot take a loss that needs a
 * second input per example (the teacher's logits or hidden representations).
 */

export interface StepBatch {
  x: tf.Tensor2D;
  /** One-hot labels [batch, 10]. */
  oneHot: tf.Tensor2D;
  /** Integer labels [batch]. */
  labels: tf.Tensor1D;
  /** Teacher logits [batch, 10] (objectives that learn from a teacher's logits). */
  teacher?: tf.Tensor2D;
  /** The teacher's last hidden layer for the batch, when cached (feature objectives, clean inputs). */
  teacherHidden?: tf.Tensor;
}

/** What the feature objectives (hint, cosine) need besides the student: the teacher, a regressor. */
export interface FeatureSource {
  /** Run on every batch in inference mode (dropout off) for its last hidden representation. */
  teacher: tf.LayersModel;
  /** FitNets' regressor (hint): trained by the same optimizer as the student; the caller disposes it. */
  regressor?: tf.LayersModel;
}

/** A resolved objective plus, for feature objectives, the teacher and the regressor. */
export type TrainObjective = ResolvedObjective & { readonly features?: FeatureSource };

/**
 * A function that runs one optimizer step on a batch and returns the loss and the number of
 * correctly classified examples as scalar tensors (the caller disposes them; reading them back
 * is left to the caller so the hot loop does not wait on data). `objective` comes from
 * resolveObjective, which validated it: its loss is the very function kdLoss runs. Feature
 * objectives also run the teacher on the batch (outside the gradient tape) and, for 'hint', the
 * regressor, whose weights the optimizer updates together with the student's.
 */
export function createTrainStep(
  model: tf.LayersModel,
  optimizer: Optimizer,
  objective: TrainObjective,
): (batch: StepBatch) => { loss: tf.Scalar; correct: tf.Scalar } {
  if (objective.needsFeatures) return createFeatureStep(model, optimizer, objective);
  const forward = trainingForward(model);
  const variables = trainableVariables(model);
  const { loss: lossOf, needsTeacher } = objective;
  const fused = fusedSoftmaxLossAvailable() ? fusedAttrs(objective.objective) : null;
  const checkBatch = (b: StepBatch): void => {
    if (needsTeacher && !b.teacher) {
      throw new KdlabError('NO_TEACHER_LOGITS', `train step: objective '${objective.objective.objective}' needs teacher logits for the batch.`);
    }
  };
  // The direct step calls the native kernels by name (rank-2 matmuls the stock wasm kernel
  // would read out of bounds): a step made on native takes the taped path whenever a benchmark
  // or test has switched the native kernels off.
  const direct = createDirectMlpStep(model, optimizer, variables, fused);
  return (b) => {
    checkBatch(b);
    if (direct && nativeKernelNames().length > 0) return direct(b);
    if (fused) {
      let hits: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const r = fusedSoftmaxLoss(forward(b.x), b.oneHot, b.teacher, fused);
        hits = tf.keep(r.correct);
        return r.loss;
      }, variables);
      applyGradients(optimizer, variables, grads);
      return { loss: value, correct: hits as tf.Scalar };
    }
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(b.x);
      logits = tf.keep(out);
      return lossOf(out, b.teacher, b.oneHot);
    }, variables);
    return finishStep(optimizer, variables, value, grads, logits as tf.Tensor2D, b.labels);
  };
}

function finishStep(
  optimizer: Optimizer,
  variables: tf.Variable[],
  value: tf.Scalar,
  grads: tf.NamedTensorMap,
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
): { loss: tf.Scalar; correct: tf.Scalar } {
  applyGradients(optimizer, variables, grads);
  const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'))) as tf.Scalar;
  logits.dispose();
  return { loss: value, correct };
}

/** One optimizer update with `grads`, which it disposes. */
function applyGradients(optimizer: Optimizer, variables: tf.Variable[], grads: tf.NamedTensorMap): void {
  // A variable the loss does not reach (the regressor when the hint's weight is 0) gets a zero
  // gradient: Adam then leaves it where it is, and the optimizer's slots keep their order.
  const zeros = variables.filter((v) => !grads[v.name]).map((v) => [v.name, tf.zerosLike(v)] as const);
  const all: tf.NamedTensorMap = { ...grads, ...Object.fromEntries(zeros) };
  try {
    optimizer.step(variables, variables.map((v) => all[v.name]));
  } finally {
    tf.dispose(grads);
    tf.dispose(zeros.map(([, z]) => z));
  }
}

const sameShape = (a: readonly (number | null)[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === null || d === b[i]);

/** The shapes a feature objective works on, checked before the first step. */
function checkFeatureSource(model: tf.LayersModel, objective: TrainObjective): { teacher: tf.LayersModel; regressor?: tf.LayersModel } {
  const name = objective.objective.objective;
  const source = objective.features;
  if (!source?.teacher) {
    throw new InputError('NO_TEACHER', `objective '${name}' compares hidden representations: pass loss.teacher (the teacher model), not only its logits.`);
  }
  const s = hiddenLayers(model).at(-1);
  const t = hiddenLayers(source.teacher).at(-1);
  if (!s || !t) {
    throw new InputError('BAD_MODEL', `objective '${name}' needs a hidden layer in both models (student: ${hiddenLayers(model).length}, teacher: ${t ? 'some' : 'none'}).`);
  }
  const regressor = source.regressor;
  if (objective.needsRegressor) {
    const hint = `create it with createRegressor([${s.shape.join(', ')}], [${t.shape.join(', ')}])`;
    if (!regressor) throw new InputError('NO_REGRESSOR', `objective '${name}' trains a regressor from the student's last hidden layer to the teacher's: ${hint} and pass it as loss.regressor.`);
    const input = (regressor.inputs[0]?.shape ?? []).slice(1);
    const output = (regressor.outputs[0]?.shape ?? []).slice(1);
    if (!sameShape(input, s.shape) || !sameShape(output, t.shape)) {
      throw new InputError('BAD_REGRESSOR', `the regressor maps [${input.join(', ')}] → [${output.join(', ')}], the student's last hidden layer is [${s.shape.join(', ')}] and the teacher's [${t.shape.join(', ')}]: ${hint}.`);
    }
  } else if (regressor) {
    throw new InputError('BAD_LOSS', `objective '${name}' trains no regressor: remove loss.regressor.`);
  }
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  if (name === 'cosine' && size(s.shape) > size(t.shape)) {
    throw new InputError('SHAPE_MISMATCH', `objective 'cosine' pools the teacher's ${size(t.shape)} values per example to the student's ${size(s.shape)}: the student's layer must not be larger.`);
  }
  return { teacher: source.teacher, regressor };
}

function createFeatureStep(model: tf.LayersModel, optimizer: Optimizer, objective: TrainObjective): (batch: StepBatch) => { loss: tf.Scalar; correct: tf.Scalar } {
  const { teacher, regressor } = checkFeatureSource(model, objective);
  const forward = trainingForwardWithFeatures(model);
  const variables = [...trainableVariables(model), ...(regressor ? trainableVariables(regressor) : [])];
  const lossOf = objective.loss;
  return (b) => {
    // The teacher's last hidden representation, inference mode, outside the gradient tape: the
    // cached rows (owned by the batch) or the teacher run on the batch.
    const teacherHidden = b.teacherHidden ?? tf.tidy(() => forwardWithFeatures(teacher, b.x, { training: false }).features.at(-1) as tf.Tensor);
    let logits: tf.Tensor2D | undefined;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(b.x);
        logits = tf.keep(out.logits);
        const student = out.features[out.features.length - 1];
        const inputs: FeatureInputs = { student, teacher: teacherHidden };
        if (regressor) inputs.mapped = regressor.apply(student, { training: true }) as tf.Tensor;
        return lossOf(out.logits, b.teacher, b.oneHot, inputs);
      }, variables);
      return finishStep(optimizer, variables, value, grads, logits as tf.Tensor2D, b.labels);
    } finally {
      if (teacherHidden !== b.teacherHidden) teacherHidden.dispose();
    }
  };
}

/**
 * The objectives the fused wasm loss computes ('hard', 'kd'), as its attributes; null for the
 * others, which run their tf-ops loss from the objective table.
 */
function fusedAttrs(o: Objective): FusedLossAttrs | null {
  if (o.objective === 'hard') return { temperature: 1, alpha: 0 };
  if (o.objective === 'kd') return { temperature: o.temperature, alpha: o.alpha };
  return null;
}
