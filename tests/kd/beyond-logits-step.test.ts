import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { createRegressor, createStudent, createTeacher } from '../../lib/src/models';
import { train } from '../../lib/src/train';
import type { LossSpec } from '../../lib/src/train/types';

/**
 * Notebook 08's hand-written step (cells 08-c26 … 08-c32) as a test: one SGD step on one batch
 * with the hint, cosine and DKD losses written from their formulas with plain tf ops — hidden
 * layers read by running the layers below the output layer, FitNets' regressor applied to the
 * student's last hidden layer, the teacher's layer pooled by adaptive average windows built here,
 * DKD's TCKD (binary KL on [p_t, 1 − p_t]) and NCKD (KL with the target class left out) — must
 * leave the same weights (student and regressor) as train() run for one epoch on that batch.
 * Nothing of the library's losses, features or pooling is used on the hand side.
 */

const ROWS = 32;
const LR = 0.05;
const ALPHA = 0.25; // hint and cosine, as in the notebook (the PyTorch tutorial's weight)
const DKD = { temperature: 4, alpha: 1, beta: 8 };

let cached: DigitSet | undefined;
function batch(): DigitSet {
  if (!cached) cached = subset(loadMnist().train, Int32Array.from({ length: ROWS }, (_, i) => 100 + i), 'mnist:train[100:132]');
  return cached;
}

const lastHidden = (m: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor =>
  m.layers.slice(0, -1).reduce((h, layer) => layer.apply(h, { training }) as tf.Tensor, x);
const logitsOf = (m: tf.LayersModel, h: tf.Tensor): tf.Tensor2D => m.layers[m.layers.length - 1].apply(h) as tf.Tensor2D;

/** Adaptive average pooling n → size as a matrix, from its definition (window floor(i·n/s) … ceil((i+1)·n/s) − 1). */
function poolMatrix(n: number, size: number): Float32Array {
  const m = new Float32Array(n * size);
  for (let i = 0; i < size; i++) {
    const a = Math.floor((i * n) / size);
    const b = Math.ceil(((i + 1) * n) / size);
    for (let j = a; j < b; j++) m[j * size + i] = 1 / (b - a);
  }
  return m;
}

type HandLoss = (z: tf.Tensor2D, hS: tf.Tensor) => tf.Tensor;

function handStep(student: tf.LayersModel, x: tf.Tensor2D, loss: HandLoss, regressor?: tf.LayersModel): void {
  const vars = [student, ...(regressor ? [regressor] : [])].flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
  const sgd = tf.train.sgd(LR);
  const { value, grads } = tf.variableGrads(() => {
    const hS = lastHidden(student, x, true);
    return loss(logitsOf(student, hS), hS) as tf.Scalar;
  }, vars);
  sgd.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
  sgd.dispose();
}

function maxGap(a: tf.LayersModel, b: tf.LayersModel): number {
  return Math.max(...a.getWeights().map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, b.getWeights()[i]))).dataSync()[0])));
}

test('08 hand-written step: hint, cosine and DKD by hand equal train()\'s one-step update (student and regressor) to float32 rounding', async () => {
  await initBackend({ quiet: true });
  const set = batch();
  // Teacher with dropout (off in inference mode) and 48 → 32 units: pooling windows overlap.
  const teacher = createTeacher({ hidden: [40, 48], dropout: 0.5, inputDropout: 0.2, seed: 21 });
  const baseline = tf.memory().numTensors;
  const x = tf.tensor2d(set.images, [ROWS, 784]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(set.labels), 'int32'), 10).toFloat()) as tf.Tensor2D;
  const v = tf.tidy(() => teacher.predict(x) as tf.Tensor2D);
  const vLogits = v.dataSync() as Float32Array;
  const hT = tf.tidy(() => lastHidden(teacher, x, false)) as tf.Tensor2D;
  const hTPooled = tf.tidy(() => tf.matMul(hT, tf.tensor2d(poolMatrix(48, 32), [48, 32])));
  const ce = (z: tf.Tensor2D) => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)));
  const mix = (term: tf.Tensor, z: tf.Tensor2D) => tf.add(tf.mul(ALPHA, term), tf.mul(1 - ALPHA, ce(z)));
  const sq = (t: tf.Tensor) => tf.add(tf.sum(tf.square(t), 1), 1e-12);
  const cosine: HandLoss = (z, hS) => mix(tf.mean(tf.sub(1, tf.div(tf.sum(tf.mul(hS, hTPooled), 1), tf.sqrt(tf.mul(sq(hS), sq(hTPooled)))))), z);
  const dkd: HandLoss = (z) => {
    const T = DKD.temperature;
    const [logQ, logP] = [tf.logSoftmax(tf.div(z, T)), tf.logSoftmax(tf.div(v, T))];
    const [qt, pt] = [logQ, logP].map((l) => tf.sum(tf.mul(y, tf.exp(l)), 1));
    const tckd = tf.add(tf.mul(pt, tf.log(tf.div(pt, qt))), tf.mul(tf.sub(1, pt), tf.log(tf.div(tf.sub(1, pt), tf.sub(1, qt)))));
    const others = (l: tf.Tensor2D) => tf.logSoftmax(tf.div(tf.sub(l, tf.mul(y, 1000)), T));
    const [logQn, logPn] = [others(z), others(v)];
    const nckd = tf.sum(tf.mul(tf.exp(logPn), tf.sub(logPn, logQn)), 1);
    return tf.addN([ce(z), tf.mul(DKD.alpha * T * T, tf.mean(tckd)), tf.mul(DKD.beta * T * T, tf.mean(nckd))]);
  };
  const student = () => createStudent({ hidden: [24, 32], seed: 22 });
  const viaTrain = async (loss: LossSpec) => {
    const s = student();
    await train(s, { train: set, epochs: 1, batchSize: ROWS, seed: 3, optimizer: { name: 'sgd', learningRate: LR }, loss });
    return s;
  };
  const initial = student();
  const regressors = [0, 1].map(() => createRegressor([32], [48], { seed: 23 }));
  const hint: HandLoss = (z, hS) => mix(tf.mean(tf.squaredDifference(regressors[0].apply(hS) as tf.Tensor, hT)), z);
  const cases: Array<{ name: string; loss: HandLoss; regressor?: tf.LayersModel; spec: LossSpec }> = [
    { name: 'hint', loss: hint, regressor: regressors[0], spec: { objective: 'hint', alpha: ALPHA, teacher, regressor: regressors[1] } },
    { name: 'cosine', loss: cosine, spec: { objective: 'cosine', alpha: ALPHA, teacher } },
    { name: 'dkd', loss: dkd, spec: { objective: 'dkd', ...DKD, teacherLogits: vLogits } },
  ];
  for (const c of cases) {
    const hand = student();
    handStep(hand, x, c.loss, c.regressor);
    const lib = await viaTrain(c.spec);
    const moved = maxGap(hand, initial);
    const gap = maxGap(hand, lib);
    assert.ok(moved > 1e-4, `${c.name}: the step moved the weights (largest change ${moved})`);
    assert.ok(gap < 1e-6 && gap < 1e-3 * moved, `${c.name}: by hand vs train() differ by ${gap} (largest change ${moved})`);
    [hand, lib].forEach((m) => m.dispose());
  }
  // The two regressors started equal and took the same step: the one train() updated equals ours.
  const rGap = maxGap(regressors[0], regressors[1]);
  const rInit = createRegressor([32], [48], { seed: 23 });
  const rMoved = maxGap(regressors[0], rInit);
  assert.ok(rMoved > 1e-4, `the regressor was trained (largest change ${rMoved})`);
  assert.ok(rGap < 1e-6 && rGap < 1e-3 * rMoved, `regressor: by hand vs train() differ by ${rGap}`);
  [initial, rInit, ...regressors].forEach((m) => m.dispose());
  tf.dispose([x, y, v, hT, hTPooled]);
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  teacher.dispose();
});
