/**
 * Learning-rate schedules and the momentum ramp: the step size and momentum of update k from
 * their formulas, the update they produce on a variable with a known gradient, bad settings
 * refused, and a resumed run with a schedule bit-exact with an uninterrupted one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, makeRng, subset, type DigitSet } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import { wasmMomentum } from '../../lib/src/kernels/optimizer-wasm';
import { createTeacher } from '../../lib/src/models';
import { Optimizer, train, type TrainOptions } from '../../lib/src/train';

test('exponential decay: lr at update k is lr0 · rate^(k / steps), floored by minLearningRate', () => {
  const smooth = new Optimizer({ name: 'sgd', learningRate: 0.1, schedule: { kind: 'exponential', decayRate: 0.5, decaySteps: 4 } });
  assert.equal(smooth.learningRateAt(0), 0.1);
  // 0.1 · 0.5^(2/4) = 0.1 / √2, worked by hand: 0.0707106781…
  assert.ok(Math.abs(smooth.learningRateAt(2) - 0.07071067811865475) < 1e-15);
  assert.ok(Math.abs(smooth.learningRateAt(8) - 0.025) < 1e-15);
  const stairs = new Optimizer({
    name: 'sgd', learningRate: 0.1, schedule: { kind: 'exponential', decayRate: 0.5, decaySteps: 4, staircase: true, minLearningRate: 0.02 },
  });
  assert.deepEqual([0, 3, 4, 7, 8].map((k) => stairs.learningRateAt(k)), [0.1, 0.1, 0.05, 0.05, 0.025]);
  // 0.1 · 0.5^3 = 0.0125 < 0.02: the floor holds.
  assert.equal(stairs.learningRateAt(12), 0.02);
  assert.equal(new Optimizer({ name: 'adam', learningRate: 3e-3 }).learningRateAt(10_000), 3e-3);
});

test('momentum ramp: linear from `from` to the final momentum over `steps` updates, then constant', () => {
  const o = new Optimizer({ name: 'momentum', learningRate: 0.1, momentum: 0.95, rampMomentum: { from: 0.5, steps: 10 } });
  assert.equal(o.momentumAt(0), 0.5);
  assert.ok(Math.abs(o.momentumAt(4) - (0.5 + 0.45 * 0.4)) < 1e-15);
  assert.equal(o.momentumAt(10), 0.95);
  assert.equal(o.momentumAt(1000), 0.95);
});

test('scheduled momentum SGD applies v = mu_k v + g, w -= lr_k v with the scheduled values', async () => {
  await initBackend({ quiet: true });
  const baseline = tf.memory().numTensors;
  const o = new Optimizer({
    name: 'momentum', learningRate: 0.1, momentum: 0.9, rampMomentum: { from: 0.5, steps: 2 },
    schedule: { kind: 'exponential', decayRate: 0.25, decaySteps: 1 },
  });
  const w0 = tf.tensor1d([1, -2]);
  const w = tf.variable(w0);
  const g = tf.tensor1d([0.5, 1]);
  for (let k = 0; k < 3; k++) o.step([w], [g]);
  // By hand, per element with gradient g constant:
  // k=0: lr 0.1,    mu 0.5 : v = g,               w -= 0.1 · g
  // k=1: lr 0.025,  mu 0.7 : v = 0.7 g + g = 1.7g, w -= 0.025 · 1.7 g
  // k=2: lr 0.00625, mu 0.9: v = 0.9·1.7g + g = 2.53g, w -= 0.00625 · 2.53 g
  const total = 0.1 + 0.025 * 1.7 + 0.00625 * 2.53;
  const got = Array.from(w.dataSync());
  [1 - total * 0.5, -2 - total * 1].forEach((want, i) => assert.ok(Math.abs(got[i] - want) < 1e-6, `w[${i}] ${got[i]} vs ${want}`));
  const state = o.getState();
  assert.equal(state.iterations, 3);
  assert.equal(state.config.decayRate, 0.25);
  assert.equal(state.config.momentumFrom, 0.5);
  o.dispose();
  tf.dispose([w0, w, g]);
  assert.equal(tf.memory().numTensors, baseline);
});

test("dampened momentum (Hinton et al. 2012's form) averages the gradients: v = mu v + (1 - mu) g", async () => {
  await initBackend({ quiet: true });
  const baseline = tf.memory().numTensors;
  const o = new Optimizer({ name: 'momentum', learningRate: 0.1, momentum: 0.9, rampMomentum: { from: 0.5, steps: 2 }, dampened: true });
  const w0 = tf.tensor1d([1]);
  const w = tf.variable(w0);
  const g = tf.tensor1d([2]);
  for (let k = 0; k < 3; k++) o.step([w], [g]);
  // By hand with g = 2: k=0 mu 0.5: v = 0.5·2 = 1; k=1 mu 0.7: v = 0.7·1 + 0.3·2 = 1.3;
  // k=2 mu 0.9: v = 0.9·1.3 + 0.1·2 = 1.37. w = 1 − 0.1·(1 + 1.3 + 1.37) = 0.633.
  assert.ok(Math.abs(w.dataSync()[0] - 0.633) < 1e-6, `w = ${w.dataSync()[0]}`);
  assert.equal(o.getState().config.dampened, 1);
  assert.throws(() => new Optimizer({ name: 'adam', dampened: true }), (e: unknown) => e instanceof InputError && e.code === 'BAD_OPTIMIZER');
  o.dispose();
  tf.dispose([w0, w, g]);
  assert.equal(tf.memory().numTensors, baseline);
});

test('momentum SGD on a large variable (SIMD kernel for the bulk, JavaScript for the tail) is float32 arithmetic rounded once per operation, close to float64', async () => {
  await initBackend({ quiet: true });
  const baseline = tf.memory().numTensors;
  if (tf.getBackend() === 'wasm') assert.ok(wasmMomentum(), 'the SIMD kernel is built (momentum.wasm) and loads');
  const n = 4 * 1000 + 3; // a tail of 3 for the JavaScript loop
  const r = makeRng('momentum-kernel');
  const w0 = Float32Array.from({ length: n }, () => r() * 2 - 1);
  const grads = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => (r() - 0.5) * 4));
  for (const dampened of [false, true]) {
    const o = new Optimizer({ name: 'momentum', learningRate: 0.05, momentum: 0.9, rampMomentum: { from: 0.5, steps: 2 }, dampened, schedule: { kind: 'exponential', decayRate: 0.5, decaySteps: 1 } });
    const start = tf.tensor1d(w0);
    const w = tf.variable(start);
    start.dispose();
    const f = Math.fround;
    const w32 = Float32Array.from(w0), a32 = new Float32Array(n);
    const w64 = Float64Array.from(w0), a64 = new Float64Array(n);
    for (let k = 0; k < 3; k++) {
      const g = tf.tensor1d(grads[k]);
      o.step([w], [g]);
      g.dispose();
      const [mu, lr] = [o.momentumAt(k), o.learningRateAt(k)];
      const d = dampened ? 1 - mu : 1;
      for (let j = 0; j < n; j++) {
        a32[j] = f(f(f(mu) * a32[j]) + f(f(d) * grads[k][j]));
        w32[j] = f(w32[j] - f(f(lr) * a32[j]));
        a64[j] = mu * a64[j] + d * grads[k][j];
        w64[j] -= lr * a64[j];
      }
    }
    const got = w.dataSync() as Float32Array;
    assert.deepEqual(got, w32, `dampened ${dampened}: bits of the float32 recurrence, bulk and tail alike`);
    let worst = 0;
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(got[j] - w64[j]));
    assert.ok(worst < 1e-6, `dampened ${dampened}: within float32 rounding of float64 (${worst})`);
    o.dispose();
    w.dispose();
  }
  assert.equal(tf.memory().numTensors, baseline);
});

test('bad schedules are refused with BAD_SCHEDULE naming the fix', () => {
  const bad = (spec: ConstructorParameters<typeof Optimizer>[0]) =>
    assert.throws(() => new Optimizer(spec), (e: unknown) => e instanceof InputError && e.code === 'BAD_SCHEDULE' && /decayRate|rampMomentum|kind/.test(e.message));
  bad({ name: 'sgd', schedule: { kind: 'exponential', decayRate: 1.5, decaySteps: 1 } });
  bad({ name: 'sgd', schedule: { kind: 'exponential', decayRate: 0.9, decaySteps: 0 } });
  bad({ name: 'sgd', schedule: { kind: 'cosine' } as unknown as { kind: 'constant' } });
  bad({ name: 'adam', rampMomentum: { from: 0.5, steps: 10 } });
  bad({ name: 'momentum', rampMomentum: { from: 1, steps: 10 } });
});

test('a resumed run with decay and a momentum ramp is bit-exact with an uninterrupted one', async () => {
  await initBackend({ quiet: true });
  const mnist = loadMnist();
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  const set: DigitSet = subset(mnist.train, range(0, 256), 'mnist:train[0:256]');
  const baseline = tf.memory().numTensors;
  const options = (extra: Partial<TrainOptions>): TrainOptions => ({
    train: set, epochs: 3, batchSize: 64, seed: 5, jitter: 1,
    optimizer: {
      name: 'momentum', learningRate: 0.05, momentum: 0.95, rampMomentum: { from: 0.5, steps: 6 }, dampened: true,
      schedule: { kind: 'exponential', decayRate: 0.9, decaySteps: 4 },
    },
    ...extra,
  });
  const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  const full = createTeacher({ hidden: [32, 16], seed: 2, maxNorm: 3 });
  await train(full, options({}));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-schedule-'));
  try {
    const part = createTeacher({ hidden: [32, 16], seed: 2, maxNorm: 3 });
    await train(part, options({ epochs: 1, checkpoint: { dir } }));
    part.dispose();
    const resumed = createTeacher({ hidden: [32, 16], seed: 77, maxNorm: 3 });
    const rest = await train(resumed, options({ resumeFrom: dir }));
    assert.equal(rest.resumedFromEpoch, 1);
    assert.equal(rest.steps, 12);
    assert.deepEqual(weightsOf(resumed), weightsOf(full));
    resumed.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  full.dispose();
  assert.equal(tf.memory().numTensors, baseline);
});
