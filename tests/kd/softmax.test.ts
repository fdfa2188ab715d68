import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { InputError } from '../../lib/src/errors';
import {
  CHAPTER_PRINTED_T1,
  entropy,
  entropyOf,
  logSoftmaxWithTemperature,
  roundTo,
  softmaxT,
  softmaxWithTemperature,
  WORKED_EXAMPLE_LOGITS,
  workedExample,
} from '../../lib/src/softmax';
import { assertClose, softmax64 } from './reference';

test('§4.1 worked example: softmax([2, 1, 0.5]) at T = 1 and T = 2', async () => {
  await initBackend({ quiet: true });
  const rows = workedExample([1, 2]);
  assert.deepEqual(roundTo(rows[0].probs, 3), [0.629, 0.231, 0.14]);
  assert.deepEqual(roundTo(rows[1].probs, 3), [0.481, 0.292, 0.227]);
  // The tensor version agrees with the plain version.
  for (const T of [1, 2]) {
    const p = tf.tidy(() => softmaxWithTemperature(tf.tensor1d([...WORKED_EXAMPLE_LOGITS]), T).arraySync() as number[]);
    assertClose(p, softmax64([2, 1, 0.5], T), 1e-6, 0, `T=${T}`);
  }
  // The chapter's printed T = 1 numbers are not the softmax of [2, 1, 0.5].
  assert.notDeepEqual(roundTo(rows[0].probs, 2), [...CHAPTER_PRINTED_T1]);
  // Higher T, flatter distribution, higher entropy, bounded by log(3).
  const h = workedExample([1, 2, 5, 10, 100]).map((r) => r.entropy);
  for (let i = 1; i < h.length; i++) assert.ok(h[i] > h[i - 1]);
  assert.ok(h[h.length - 1] < Math.log(3));
});

test('softmaxWithTemperature works on the last axis of a batch and matches float64', async () => {
  await initBackend({ quiet: true });
  const z = [
    [3, -1, 0.5, 2],
    [0, 0, 0, 0],
  ];
  for (const T of [0.05, 0.5, 1, 4, 100]) {
    const p = tf.tidy(() => softmaxWithTemperature(tf.tensor2d(z), T).arraySync() as number[][]);
    p.forEach((row, b) => {
      assertClose(row, softmax64(z[b], T), 1e-6, 1e-5, `T=${T} row ${b}`);
      assert.ok(Math.abs(row.reduce((a, x) => a + x, 0) - 1) < 1e-5);
    });
  }
});

test('log-softmax stays finite for logits of magnitude 1e3 and T = 0.05', async () => {
  await initBackend({ quiet: true });
  const out = tf.tidy(() => logSoftmaxWithTemperature(tf.tensor2d([[1000, -1000, 0]]), 0.05).dataSync());
  for (const v of out) assert.ok(Number.isFinite(v));
  assert.ok(Math.abs(out[0]) < 1e-6);
  assert.ok(Math.abs(out[1] - -40000) < 1);
  const p = tf.tidy(() => softmaxWithTemperature(tf.tensor2d([[1000, -1000, 0]]), 1).dataSync());
  assert.deepEqual(Array.from(p), [1, 0, 0]);
});

test('entropy: tensor and plain versions, 0·log 0 = 0', async () => {
  await initBackend({ quiet: true });
  const probs = [
    [0.5, 0.5, 0],
    [1, 0, 0],
    [0.25, 0.25, 0.5],
  ];
  const h = tf.tidy(() => entropy(tf.tensor2d(probs)).arraySync() as number[]);
  assertClose(h, [Math.log(2), 0, 1.5 * Math.log(2)], 1e-6);
  assertClose(probs.map(entropyOf), [Math.log(2), 0, 1.5 * Math.log(2)], 1e-12);
});

test('bad temperatures are refused with BAD_TEMPERATURE', async () => {
  await initBackend({ quiet: true });
  const x = tf.tensor1d([1, 2]);
  for (const T of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => softmaxWithTemperature(x, T), (e: unknown) => e instanceof InputError && e.code === 'BAD_TEMPERATURE');
    assert.throws(() => softmaxT([1, 2], T), (e: unknown) => e instanceof InputError && e.code === 'BAD_TEMPERATURE');
  }
  x.dispose();
});
