import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { PIXELS, type DigitSet } from '../../lib/src/data';
import { argmaxRows, evaluate, evaluateLogits, predictLogits } from '../../lib/src/evaluate';
import { createStudent } from '../../lib/src/models';
import { rng } from './reference';

test('evaluateLogits: accuracy, errors, confusion matrix and per-class accuracy by hand', () => {
  // 3 classes, 5 examples. Predictions (argmax): 0, 1, 1, 2, 0. Labels: 0, 1, 2, 2, 1.
  const logits = Float32Array.from([
    [5, 1, 0],
    [0, 3, 1],
    [0, 2, 1],
    [1, 0, 4],
    [2, 1, 0],
  ].flat());
  const e = evaluateLogits(logits, [0, 1, 2, 2, 1], 3);
  assert.equal(e.total, 5);
  assert.equal(e.errors, 2);
  assert.equal(e.accuracy, 3 / 5);
  assert.deepEqual(e.confusion, [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 1],
  ]);
  assert.deepEqual(e.perClassAccuracy, [1, 0.5, 0.5]);
  assert.deepEqual(Array.from(e.predictions), [0, 1, 1, 2, 0]);
  // A class absent from the labels has NaN per-class accuracy, not 0.
  const absent = evaluateLogits(Float32Array.from([1, 0, 0]), [0], 3);
  assert.ok(Number.isNaN(absent.perClassAccuracy[2]));
  // Ties go to the first maximum.
  assert.deepEqual(Array.from(argmaxRows(Float32Array.from([1, 1, 0]), 3)), [0]);
  assert.throws(() => evaluateLogits(logits, [0, 1], 3), /logits/);
  assert.throws(() => evaluateLogits(logits, [0, 1, 2, 3, 0], 3), /label/);
});

test('evaluate is batched, matches the unbatched logits and leaks no tensors', async () => {
  await initBackend({ quiet: true });
  const model = createStudent({ hidden: [16], seed: 5 });
  const r = rng(77);
  const n = 23;
  const set: DigitSet = {
    id: 'random:23',
    images: Float32Array.from({ length: n * PIXELS }, () => r()),
    labels: Uint8Array.from({ length: n }, () => Math.floor(r() * 10)),
    size: n,
  };
  const before = tf.memory().numTensors;
  const small = predictLogits(model, set, 5);
  const big = predictLogits(model, set, 1000);
  const e = evaluate(model, set, { batchSize: 4 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(small.length, n * 10);
  for (let i = 0; i < small.length; i++) assert.ok(Math.abs(small[i] - big[i]) < 1e-5);
  const direct = tf.tidy(() => (model.predict(tf.tensor2d(set.images, [n, PIXELS])) as tf.Tensor).dataSync());
  for (let i = 0; i < small.length; i++) assert.ok(Math.abs(small[i] - direct[i]) < 1e-5);
  const byHand = evaluateLogits(big, set.labels);
  assert.equal(e.errors, byHand.errors);
  assert.deepEqual(e.confusion, byHand.confusion);
  assert.equal(e.confusion.flat().reduce((a, b) => a + b, 0), n);
  assert.throws(() => predictLogits(model, new Float32Array(10)), /images/);
  assert.throws(() => predictLogits(model, set, 0), /batchSize/);
  model.dispose();
});
