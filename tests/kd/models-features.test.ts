import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { PIXELS } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import { cosineEmbeddingLoss, hintLoss } from '../../lib/src/losses';
import {
  countParams, createConvNet, createConvStudent, createConvTeacher, createRegressor, createStudent, createTeacher, forwardWithFeatures,
  hiddenLayers,
} from '../../lib/src/models';
import { createModel, lastHiddenShape } from '../../lib/src/runs/models';
import { assertClose, rng } from './reference';

/** Hidden activations (forwardWithFeatures) and the convolutional teacher and student. */

function randomImages(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * PIXELS }, () => r());
}

const weights64 = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('forwardWithFeatures on an MLP: hidden ReLU outputs by float64, logits as model.predict, model unchanged', async () => {
  await initBackend({ quiet: true });
  const start = tf.memory().numTensors;
  const model = createStudent({ hidden: [30, 20], seed: 5 });
  const layersBefore = model.layers.length;
  const n = 3;
  const images = randomImages(n, 1);
  const x = tf.tensor2d(images, [n, PIXELS]);
  assert.deepEqual(hiddenLayers(model).map((h) => h.shape), [[30], [20]]);
  const before = tf.memory().numTensors;
  const { logits, features } = tf.tidy(() => {
    const r = forwardWithFeatures(model, x);
    return { logits: r.logits.arraySync() as number[][], features: r.features.map((f) => f.arraySync() as number[][]) };
  });
  assert.equal(tf.memory().numTensors, before, 'no tensors left inside tidy');
  // Independent forward pass in float64 from the weights.
  const [w1, b1, w2, b2, w3, b3] = weights64(model);
  const dense = (h: number[], w: number[], b: number[], out: number, relu: boolean) =>
    Array.from({ length: out }, (_, j) => {
      const z = h.reduce((a, v, i) => a + v * w[i * out + j], b[j]);
      return relu ? Math.max(0, z) : z;
    });
  for (let r = 0; r < n; r++) {
    const h1 = dense(Array.from(images.subarray(r * PIXELS, (r + 1) * PIXELS)), w1, b1, 30, true);
    const h2 = dense(h1, w2, b2, 20, true);
    const z = dense(h2, w3, b3, 10, false);
    assertClose(features[0][r], h1, 1e-4, 1e-4, `h1 row ${r}`);
    assertClose(features[1][r], h2, 1e-4, 1e-4, `h2 row ${r}`);
    assertClose(logits[r], z, 1e-4, 1e-4, `logits row ${r}`);
  }
  const predicted = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][]);
  assertClose(logits.flat(), predicted.flat(), 1e-6, 0, 'same logits as model.predict');
  assert.equal(model.layers.length, layersBefore, 'the model keeps its layers');
  assert.equal(model.outputs.length, 1, 'and its single output');
  // Gradients taken through the feature view reach the model's own variables.
  const { value, grads } = tf.variableGrads(() => tf.sum(forwardWithFeatures(model, x).features[0]) as tf.Scalar);
  const kernel = model.trainableWeights[0].read() as tf.Variable;
  assert.ok(grads[kernel.name], 'gradient for the first kernel');
  assert.ok(Math.max(...Array.from(grads[kernel.name].dataSync()).map(Math.abs)) > 0);
  value.dispose();
  tf.dispose(grads);
  x.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, start, 'disposing the model frees its weights: the feature view holds no extra reference');
});

test('forwardWithFeatures on a teacher with dropout: inference mode by default, dropout only with training: true', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher({ hidden: [40, 30], seed: 2 });
  assert.deepEqual(hiddenLayers(teacher).map((h) => h.shape), [[40], [30]]);
  const x = tf.tensor2d(randomImages(4, 2), [4, PIXELS]);
  const a = tf.tidy(() => forwardWithFeatures(teacher, x).logits.arraySync() as number[][]);
  const b = tf.tidy(() => (teacher.predict(x) as tf.Tensor).arraySync() as number[][]);
  assertClose(a.flat(), b.flat(), 1e-6, 0, 'inference mode = predict');
  const c = tf.tidy(() => forwardWithFeatures(teacher, x, { training: true }).features[0].arraySync() as number[][]);
  const d = tf.tidy(() => forwardWithFeatures(teacher, x).features[0].arraySync() as number[][]);
  assert.notDeepEqual(c, d, 'dropout active in training mode');
  x.dispose();
  teacher.dispose();
});

test('conv teacher and student: Keras-example sizes, seeded, flat 784-pixel inputs, hidden shapes', async () => {
  await initBackend({ quiet: true });
  const teacher = createConvTeacher();
  const student = createConvStudent();
  // Keras example: 256/512 filters → 2,560 + 1,180,160 + 250,890; 16/32 → 160 + 4,640 + 15,690.
  assert.equal(countParams(teacher), 1_433_610);
  assert.equal(countParams(student), 20_490);
  assert.deepEqual(hiddenLayers(teacher).map((h) => h.shape), [[14, 14, 256], [7, 7, 512]]);
  assert.deepEqual(hiddenLayers(student).map((h) => h.shape), [[14, 14, 16], [7, 7, 32]]);
  const x = tf.tensor2d(randomImages(2, 3), [2, PIXELS]);
  const out = tf.tidy(() => (student.predict(x) as tf.Tensor).shape);
  assert.deepEqual(out, [2, 10]);
  const a = createConvStudent({ seed: 4 });
  const b = createConvStudent({ seed: 4 });
  const c = createConvStudent({ seed: 5 });
  assert.deepEqual(weights64(a), weights64(b), 'same seed, same weights');
  assert.notDeepEqual(weights64(a)[0], weights64(c)[0], 'another seed, other weights');
  // First hidden representation by float64: LeakyReLU(0.2) of the stride-2 'same' 3×3 convolution.
  const img = randomImages(1, 6);
  const [k1, bias1] = weights64(a);
  const feat = tf.tidy(() => forwardWithFeatures(a, tf.tensor2d(img, [1, PIXELS])).features[0].dataSync());
  const expected: number[] = [];
  // 'same' with stride 2 on 28: output 14, total padding max(0, 13·2 + 3 − 28) = 1, top/left 0.
  for (let y = 0; y < 14; y++)
    for (let z = 0; z < 14; z++)
      for (let o = 0; o < 16; o++) {
        let s = bias1[o];
        for (let r = 0; r < 3; r++)
          for (let q = 0; q < 3; q++) {
            const row = y * 2 + r;
            const col = z * 2 + q;
            if (row < 28 && col < 28) s += img[row * 28 + col] * k1[(r * 3 + q) * 16 + o];
          }
        expected.push(s > 0 ? s : 0.2 * s);
      }
  assertClose(feat, expected, 1e-5, 1e-4, 'LeakyReLU(conv1)');
  assert.throws(() => createConvNet({ filters: [16] as unknown as [number, number] }), (e: unknown) => e instanceof InputError && e.code === 'BAD_HIDDEN');
  assert.throws(() => createConvStudent({ seed: -1 }), (e: unknown) => e instanceof InputError && e.code === 'BAD_SEED');
  x.dispose();
  for (const m of [teacher, student, a, b, c]) m.dispose();
});

test('hint and cosine losses compose with forwardWithFeatures: a few SGD steps on student + regressor lower them', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher({ hidden: [24, 24], seed: 8 });
  const student = createStudent({ hidden: [12, 12], seed: 9 });
  const regressor = createRegressor(hiddenLayers(student)[0].shape, hiddenLayers(teacher)[0].shape, { seed: 1 });
  const x = tf.tensor2d(randomImages(16, 7), [16, PIXELS]);
  const target = tf.tidy(() => forwardWithFeatures(teacher, x).features[0]);
  const optimizer = tf.train.sgd(0.05);
  const vars = [...student.trainableWeights, ...regressor.trainableWeights].map((w) => w.read() as tf.Variable);
  const hint = () => hintLoss(forwardWithFeatures(student, x, { training: true }).features[0], target, regressor);
  const baseline = tf.memory().numTensors;
  const first = tf.tidy(() => hint().dataSync()[0]);
  for (let i = 0; i < 20; i++) tf.dispose(optimizer.minimize(hint, false, vars) ?? []);
  const last = tf.tidy(() => hint().dataSync()[0]);
  assert.ok(last < 0.7 * first, `hint loss ${first} → ${last}`);
  // Cosine on the second hidden layers, the teacher's 24 units average-pooled to the student's 12 (as the PyTorch tutorial pools).
  const pooled = tf.tidy(() => tf.avgPool(tf.reshape(forwardWithFeatures(teacher, x).features[1], [16, 24, 1, 1]) as tf.Tensor4D, [2, 1], [2, 1], 'valid').reshape([16, 12]));
  const cos = () => cosineEmbeddingLoss(forwardWithFeatures(student, x, { training: true }).features[1], pooled);
  const c0 = tf.tidy(() => cos().dataSync()[0]);
  for (let i = 0; i < 20; i++) tf.dispose(optimizer.minimize(cos, false, vars) ?? []);
  const c1 = tf.tidy(() => cos().dataSync()[0]);
  assert.ok(c1 < c0, `cosine loss ${c0} → ${c1}`);
  assert.equal(tf.memory().numTensors, baseline + 1, 'only the pooled target is left (optimizer keeps no state for SGD)');
  tf.dispose([x, target, pooled]);
  optimizer.dispose();
  for (const m of [teacher, student, regressor]) m.dispose();
});

test('lastHiddenShape of a model spec is the last hidden layer of the model createModel builds; regressor sizes in closed form', async () => {
  await initBackend({ quiet: true });
  // MLP: the last hidden layer's width. Conv: 28 → 14 (stride 2) → 14 (pool, stride 1) → 7 (stride 2), f2 channels.
  const cases = [
    { spec: { kind: 'mlp', hidden: [30, 20] } as const, shape: [20] },
    { spec: { kind: 'conv', filters: [4, 8] } as const, shape: [7, 7, 8] },
  ];
  for (const { spec, shape } of cases) {
    const s = spec.kind === 'mlp' ? { kind: 'mlp' as const, hidden: [...spec.hidden] } : { kind: 'conv' as const, filters: [...spec.filters] as [number, number] };
    assert.deepEqual(lastHiddenShape(s), shape);
    const m = createModel(s, 0);
    assert.deepEqual(hiddenLayers(m).at(-1)?.shape, shape);
    m.dispose();
  }
  // The hint's regressor (what notebook 08 counts as extra parameters): a dense layer s → t on
  // vectors (s·t weights + t biases), a 1×1 convolution c_s → c_t on images of the same size.
  for (const [a, b, n] of [[[800], [1200], 800 * 1200 + 1200], [[7, 7, 32], [7, 7, 64], 32 * 64 + 64]] as const) {
    const r = createRegressor([...a], [...b]);
    assert.equal(countParams(r), n, `${a} → ${b}`);
    r.dispose();
  }
});
