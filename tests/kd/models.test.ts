import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { jitterImages, makeRng, PIXELS } from '../../lib/src/data';
import { predictLogits } from '../../lib/src/evaluate';
import { resolveObjective } from '../../lib/src/losses';
import { countParams, createMlp, createStudent, createTeacher, describeModel, layerWidths, reseedDropout } from '../../lib/src/models';
import { adamImplementation } from '../../lib/src/kernels/optimizer-wasm';
import { Optimizer, trainableVariables, trainingForward } from '../../lib/src/train';
import { assertClose, rng } from './reference';

const mlpParams = (widths: number[]) => widths.slice(1).reduce((a, w, i) => a + widths[i] * w + w, 0);

function randomImages(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * PIXELS }, () => r());
}

test('parameter counts of the teacher and the student', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher();
  const student = createStudent();
  const small = createStudent({ hidden: [30, 30] });
  assert.equal(countParams(teacher), mlpParams([784, 1200, 1200, 10]));
  assert.equal(countParams(teacher), 2_395_210);
  assert.equal(countParams(student), 1_276_810);
  assert.equal(countParams(small), mlpParams([784, 30, 30, 10]));
  assert.deepEqual(layerWidths(teacher), [784, 1200, 1200, 10]);
  assert.match(describeModel(teacher), /784-1200-1200-10 \(2,395,210 parameters, dropout 0\.2\/0\.5\)/);
  for (const m of [teacher, student, small]) m.dispose();
});

test('seeded initialisation: same seed, same weights; another seed, other weights', async () => {
  await initBackend({ quiet: true });
  const a = createStudent({ hidden: [40, 20], seed: 3 });
  const b = createStudent({ hidden: [40, 20], seed: 3 });
  const c = createStudent({ hidden: [40, 20], seed: 4 });
  const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
  const wb = b.getWeights().map((w) => Array.from(w.dataSync()));
  const wc = c.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(wa, wb);
  assert.notDeepEqual(wa[0], wc[0]);
  for (const m of [a, b, c]) m.dispose();
});

test('the teacher produces soft labels in inference mode: dropout off, deterministic, equal to the plain forward pass', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher({ hidden: [48, 24], dropout: 0.5, inputDropout: 0.2, seed: 7 });
  const n = 6;
  const images = randomImages(n, 1);
  const first = predictLogits(teacher, images, 4);
  const second = predictLogits(teacher, images, 1000);
  assert.deepEqual(Array.from(first), Array.from(second));
  // Independent float64 forward pass with the weights and no dropout at all.
  const dense = teacher.layers.filter((l) => l.getClassName() === 'Dense');
  const params = dense.map((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
  const shapes = dense.map((l) => l.getWeights()[0].shape as [number, number]);
  const expected: number[] = [];
  for (let r = 0; r < n; r++) {
    let h = Array.from(images.subarray(r * PIXELS, (r + 1) * PIXELS), Number);
    params.forEach(([W, b], k) => {
      const [inW, outW] = shapes[k];
      const out = new Array<number>(outW).fill(0);
      for (let j = 0; j < outW; j++) {
        let s = b[j];
        for (let i = 0; i < inW; i++) s += h[i] * W[i * outW + j];
        out[j] = k < params.length - 1 ? Math.max(0, s) : s;
      }
      h = out;
    });
    expected.push(...h);
  }
  assertClose(first, expected, 1e-4, 1e-4, 'teacher logits');
  // Training mode (dropout on) gives different numbers: the switch matters and is really off above.
  reseedDropout(teacher, 123);
  const training = tf.tidy(() => (teacher.apply(tf.tensor2d(images, [n, PIXELS]), { training: true }) as tf.Tensor).dataSync());
  assert.notDeepEqual(Array.from(training), Array.from(first));
  teacher.dispose();
});

test('dropout masks are seeded per step: same seed, same mask; new seed, new mask', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher({ hidden: [32], seed: 1 });
  const x = tf.tensor2d(randomImages(4, 2), [4, PIXELS]);
  const run = (seed: number) => {
    reseedDropout(teacher, seed);
    return Array.from(tf.tidy(() => trainingForward(teacher)(x).dataSync()));
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
  x.dispose();
  teacher.dispose();
});

test('the training forward pass and its gradients equal model.apply(training: true) and autodiff', async () => {
  await initBackend({ quiet: true });
  const model = createStudent({ hidden: [24, 16], seed: 2 });
  const x = tf.tensor2d(randomImages(5, 3), [5, PIXELS]);
  const teacher = tf.randomNormal([5, 10], 0, 3, 'float32', 4) as tf.Tensor2D;
  const oneHot = tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), 10).toFloat() as tf.Tensor2D;
  const fast = tf.tidy(() => trainingForward(model)(x).dataSync());
  const slow = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
  assertClose(fast, slow, 1e-5, 1e-5, 'forward');
  const vars = trainableVariables(model);
  const kd = resolveObjective({ objective: 'kd', temperature: 4, alpha: 0.5 }).loss;
  const gradsOf = (forward: (x: tf.Tensor2D) => tf.Tensor2D) =>
    tf.tidy(() => {
      const { grads, value } = tf.variableGrads(() => kd(forward(x), teacher, oneHot), vars);
      value.dispose();
      return vars.map((v) => Array.from(grads[v.name].dataSync()));
    });
  const gFast = gradsOf(trainingForward(model));
  const gSlow = gradsOf((xx) => model.apply(xx, { training: true }) as tf.Tensor2D);
  gFast.forEach((g, i) => assertClose(g, gSlow[i], 1e-6, 1e-4, `gradient ${vars[i].name}`));
  tf.dispose([x, teacher, oneHot]);
  model.dispose();
});

test('Adam (SIMD wasm kernel + scalar tail) matches a float64 textbook Adam', async () => {
  const info = await initBackend({ quiet: true });
  if (info.tfjsBackend === 'wasm' && info.simd) assert.equal(adamImplementation(), 'wasm-simd');
  const n = 1001; // not a multiple of 4: exercises the scalar tail as well
  const r = rng(9);
  const w0 = Array.from({ length: n }, () => r() - 0.5);
  const grads = [0, 1, 2].map(() => Array.from({ length: n }, () => (r() - 0.5) * 2));
  const v = tf.variable(tf.tensor1d(w0));
  const opt = new Optimizer({ name: 'adam', learningRate: 0.01 });
  const before = tf.memory().numTensors;
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    opt.step([v], [gt]);
    gt.dispose();
  }
  // Reference in float64.
  const w = w0.slice();
  const m = new Array<number>(n).fill(0);
  const s = new Array<number>(n).fill(0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let j = 0; j < n; j++) {
      m[j] = 0.9 * m[j] + 0.1 * g[j];
      s[j] = 0.999 * s[j] + 0.001 * g[j] * g[j];
      w[j] -= (0.01 * (m[j] / (1 - 0.9 ** t))) / (Math.sqrt(s[j] / (1 - 0.999 ** t)) + 1e-7);
    }
  });
  assertClose(v.dataSync(), w, 1e-6, 1e-5, 'adam');
  assert.equal(opt.iterations, 3);
  // Slots exist (2 per variable) and state round-trips.
  const state = opt.getState();
  assert.equal(state.slots.length, 2);
  assertClose(state.slots[0].data, m, 1e-6, 1e-5, 'first moment');
  opt.dispose();
  assert.equal(tf.memory().numTensors, before);
  v.dispose();
});

test('SGD and momentum updates', async () => {
  await initBackend({ quiet: true });
  const v = tf.variable(tf.tensor1d([1, 2, 3]));
  const g = tf.tensor1d([1, -1, 0.5]);
  const sgd = new Optimizer({ name: 'sgd', learningRate: 0.1 });
  sgd.step([v], [g]);
  assertClose(v.dataSync(), [0.9, 2.1, 2.95], 1e-6);
  const mom = new Optimizer({ name: 'momentum', learningRate: 0.1, momentum: 0.5 });
  mom.step([v], [g]);
  mom.step([v], [g]);
  // velocity 1·g then 1.5·g: w -= 0.1·g·2.5
  assertClose(v.dataSync(), [0.9 - 0.25, 2.1 + 0.25, 2.95 - 0.125], 1e-6);
  mom.dispose();
  tf.dispose([v, g]);
  assert.throws(() => new Optimizer({ name: 'adagrad' as 'adam' }), /adam/);
  assert.throws(() => new Optimizer({ learningRate: -1 }), /learning rate/);
});

test('jitter shifts each image by at most the given number of pixels, reproducibly', () => {
  // One bright pixel at (14, 14): after jitter it sits within 2 pixels of where it was.
  const n = 50;
  const images = new Float32Array(n * PIXELS);
  for (let k = 0; k < n; k++) images[k * PIXELS + 14 * 28 + 14] = 1;
  const a = jitterImages(images, 2, makeRng('j'));
  const b = jitterImages(images, 2, makeRng('j'));
  assert.deepEqual(a, b);
  const shifts = new Set<string>();
  for (let k = 0; k < n; k++) {
    const idx = a.subarray(k * PIXELS, (k + 1) * PIXELS).indexOf(1);
    const r = Math.floor(idx / 28);
    const c = idx % 28;
    assert.ok(Math.abs(r - 14) <= 2 && Math.abs(c - 14) <= 2);
    shifts.add(`${r},${c}`);
  }
  assert.ok(shifts.size > 10, 'shifts vary between images');
  const none = jitterImages(images, 0, makeRng('j'));
  assert.deepEqual(none, images);
});

test('createMlp rejects bad settings', async () => {
  await initBackend({ quiet: true });
  assert.throws(() => createMlp({ hidden: [0] }), /hidden/);
  assert.throws(() => createMlp({ hidden: [10], dropout: 1 }), /dropout/);
  assert.throws(() => createMlp({ hidden: [10], seed: -1 }), /seed/);
});

test('models with other layers fall back to model.apply in the training forward pass', async () => {
  await initBackend({ quiet: true });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, activation: 'tanh', inputShape: [PIXELS], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const x = tf.tensor2d(randomImages(3, 5), [3, PIXELS]);
  const a = tf.tidy(() => trainingForward(model)(x).dataSync());
  const b = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
  assert.deepEqual(Array.from(a), Array.from(b));
  x.dispose();
  model.dispose();
});
