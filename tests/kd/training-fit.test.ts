/**
 * A run's fit to its own training images (RunResult.fit, notebook 07's gaps): errors there and,
 * for a distilled run, disagreements with the teacher, against a hand-built model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { trainingFit } from '../../lib/src/runs/execute';

test('trainingFit counts a model\'s training errors and its disagreements with the teacher, checked against a hand-built model', async () => {
  await initBackend({ quiet: true });
  // A linear model whose logits are the first 10 pixels: its class is the brightest of them.
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10, useBias: false, kernelInitializer: 'zeros' })] });
  const kernel = new Float32Array(784 * 10);
  for (let c = 0; c < 10; c++) kernel[c * 10 + c] = 1;
  model.layers[0].setWeights([tf.tensor2d(kernel, [784, 10])]);
  const images = new Float32Array(4 * 784);
  [3, 5, 5, 9].forEach((cls, i) => { images[i * 784 + cls] = 1; });
  const set = { id: 'hand', images, labels: Uint8Array.from([3, 5, 1, 2]), size: 4 };
  const teacherClasses = [3, 4, 1, 2];
  const logits = new Float32Array(40);
  teacherClasses.forEach((cls, i) => { logits[i * 10 + cls] = 5; });
  const baseline = tf.memory().numTensors;
  // The model predicts 3, 5, 5, 9: wrong on rows 2 and 3; it differs from the teacher on rows 1, 2 and 3.
  assert.deepEqual(trainingFit(model, set, logits), { trainErrors: 2, teacherDisagreements: 3 });
  assert.deepEqual(trainingFit(model, set, null), { trainErrors: 2, teacherDisagreements: null });
  assert.equal(tf.memory().numTensors, baseline);
  model.dispose();
});
