/**
 * The training step's fused loss kernel (kernels/softmax-loss-wasm.ts) against the float64
 * reference, finite differences and the tf-ops loss it replaces inside train(); and a training
 * run with it against one without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { fusedSoftmaxLoss, fusedSoftmaxLossAvailable, setFusedSoftmaxLoss } from '../../lib/src/kernels/softmax-loss-wasm';
import { resolveObjective } from '../../lib/src/losses';
import { createStudent } from '../../lib/src/models';
import { train } from '../../lib/src/train';
import { loadSplits, take } from '../../lib/src/data';
import { assertClose, kd64, numericGrad, randomMatrix, type Matrix } from './reference';

const oneHotOf = (y: number[], classes: number): Matrix => y.map((c) => Array.from({ length: classes }, (_, i) => (i === c ? 1 : 0)));

/** Loss, gradient and arg-max hits of the fused kernel, through the tape as train() uses it. */
function fused(S: Matrix, V: Matrix | null, y: number[], temperature: number, alpha: number): { loss: number; grad: Float32Array; correct: number } {
  // A zero variable added to the logits: variableGrads differentiates with respect to variables.
  const v = tf.tidy(() => tf.variable(tf.zeros([S.length, S[0].length])));
  try {
    return logitsGradient(v, S, V, y, temperature, alpha);
  } finally {
    v.dispose();
  }
}

function logitsGradient(v: tf.Variable, S: Matrix, V: Matrix | null, y: number[], temperature: number, alpha: number): { loss: number; grad: Float32Array; correct: number } {
  return tf.tidy(() => {
    const s = tf.tensor2d(S);
    const oneHot = tf.tensor2d(oneHotOf(y, S[0].length));
    const teacher = V ? tf.tensor2d(V) : undefined;
    let correct = -1;
    const { value, grads } = tf.variableGrads(() => {
      const r = fusedSoftmaxLoss(s.add(v) as tf.Tensor2D, oneHot, teacher, { temperature, alpha });
      correct = r.correct.dataSync()[0];
      return r.loss;
    }, [v]);
    const out = { loss: value.dataSync()[0], grad: grads[v.name].dataSync() as Float32Array, correct };
    return out;
  });
}

test('fused loss: value and gradient equal the float64 reference and finite differences; arg-max hits counted', async () => {
  await initBackend({ quiet: true });
  if (!fusedSoftmaxLossAvailable()) return; // cpu backend: the fused kernel is wasm-only
  const before = tf.memory().numTensors;
  const rows = 7;
  const classes = 10;
  const S = randomMatrix(rows, classes, 4, 1);
  const V = randomMatrix(rows, classes, 9, 2);
  const y = [0, 3, 9, 9, 1, 5, 2];
  for (const [T, alpha] of [[1, 0], [4, 0.5], [20, 0.9], [0.5, 1], [2, 0.25]]) {
    const got = fused(S, V, y, T, alpha);
    const f = (X: Matrix): number => kd64(X, V, y, T, alpha);
    assert.ok(Math.abs(got.loss - f(S)) < 1e-5 * Math.max(1, f(S)), `T ${T} alpha ${alpha}: loss ${got.loss} vs ${f(S)}`);
    assertClose(got.grad, numericGrad(f, S).flat(), 2e-6, 1e-4, `T ${T} alpha ${alpha} gradient`);
    const hits = S.filter((row, b) => row.indexOf(Math.max(...row)) === y[b]).length;
    assert.equal(got.correct, hits);
  }
  // alpha = 0 needs no teacher (the scratch student and the teacher's own training).
  const hard = fused(S, null, y, 1, 0);
  assert.ok(Math.abs(hard.loss - kd64(S, V, y, 1, 0)) < 1e-5);
  // Extreme logits stay finite; a teacher probability that underflows contributes nothing.
  const big = fused([[1000, -1000, 0]], [[-1000, 1000, 0]], [1], 1, 0.5);
  assert.ok(Number.isFinite(big.loss) && big.grad.every(Number.isFinite));
  assert.ok(Math.abs(big.loss - (0.5 * 2000 + 0.5 * 2000)) < 1e-2, `${big.loss}`);
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});

test('fused loss: equal to the objective table loss train() used before (kd and hard)', async () => {
  await initBackend({ quiet: true });
  if (!fusedSoftmaxLossAvailable()) return;
  const rows = 128;
  const v = tf.tidy(() => tf.variable(tf.zeros([rows, 10])));
  const S = randomMatrix(rows, 10, 6, 3);
  const V = randomMatrix(rows, 10, 6, 4);
  const y = Array.from({ length: rows }, (_, i) => (i * 7) % 10);
  for (const o of [{ objective: 'kd' as const, temperature: 4, alpha: 0.9 }, { objective: 'hard' as const }]) {
    const ref = tf.tidy(() => {
      const teacher = tf.tensor2d(V);
      const oneHot = tf.tensor2d(oneHotOf(y, 10));
      const s = tf.tensor2d(S);
      const lossOf = resolveObjective(o).loss;
      const { value, grads } = tf.variableGrads(() => lossOf(s.add(v) as tf.Tensor2D, teacher, oneHot), [v]);
      return { loss: value.dataSync()[0], grad: grads[v.name].dataSync() as Float32Array };
    });
    const got = o.objective === 'kd' ? logitsGradient(v, S, V, y, o.temperature, o.alpha) : logitsGradient(v, S, null, y, 1, 0);
    assert.ok(Math.abs(got.loss - ref.loss) < 1e-5 * Math.max(1, ref.loss), `${o.objective}: ${got.loss} vs ${ref.loss}`);
    assertClose(got.grad, ref.grad, 1e-7, 1e-4, `${o.objective} gradient`);
  }
  v.dispose();
});

test('train() with and without the fused loss: the same accuracy, the same loss curve to float precision', async () => {
  await initBackend({ quiet: true });
  if (!fusedSoftmaxLossAvailable()) return;
  const splits = loadSplits({ validationSize: 1000, seed: 0 });
  const trainSet = take(splits.train, 2048);
  const teacherLogits = new Float32Array(2048 * 10).map((_, i) => ((i * 2654435761) % 1000) / 250 - 2);
  const run = async (on: boolean) => {
    setFusedSoftmaxLoss(on);
    try {
      const model = createStudent({ hidden: [64], seed: 3 });
      const before = tf.memory().numTensors;
      const r = await train(model, {
        train: trainSet, validation: splits.validation, epochs: 2, batchSize: 128, seed: 1,
        loss: { teacherLogits, temperature: 4, alpha: 0.7 },
      });
      model.dispose();
      assert.ok(tf.memory().numTensors <= before, 'no tensors leaked by training');
      return r.history;
    } finally {
      setFusedSoftmaxLoss(true);
    }
  };
  const withFused = await run(true);
  const without = await run(false);
  for (let e = 0; e < 2; e++) {
    assert.ok(Math.abs(withFused[e].loss - without[e].loss) < 1e-4 * without[e].loss, `epoch ${e + 1} loss ${withFused[e].loss} vs ${without[e].loss}`);
    assert.ok(Math.abs((withFused[e].valAccuracy ?? 0) - (without[e].valAccuracy ?? 0)) <= 0.005, `epoch ${e + 1} accuracy`);
    assert.equal(withFused[e].trainAccuracy, without[e].trainAccuracy);
  }
});
