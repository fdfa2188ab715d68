import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import { cosineEmbeddingLoss, dkdLoss, hintLoss, mseProbabilitiesLoss, poolFeatures, resolveObjective, studentLoss, type Objective } from '../../lib/src/losses';
import { createConvStudent, createConvTeacher, createRegressor, createStudent, createTeacher, forwardWithFeatures, hiddenLayers } from '../../lib/src/models';
import { createTrainStep, Optimizer, train, type StepBatch } from '../../lib/src/train';
import { resolveLoss } from '../../lib/src/train/teacher-targets';
import type { LossSpec } from '../../lib/src/train/types';
import { assertClose } from './reference';

/**
 * Training with the objectives beyond Hinton's (notebook 08): DKD and MSE on probabilities from
 * the teacher's logits, FitNets' hint and the cosine loss from its hidden representations. Each
 * step's first loss is compared with the public, separately tested loss functions on the same
 * tensors (teacher in inference mode); a few steps on one batch must lower it; the regressor
 * must learn; no tensor may be left behind; bad settings must fail before training.
 */

let cached: DigitSet | undefined;
function digits(): DigitSet {
  if (!cached) cached = subset(loadMnist().train, Int32Array.from({ length: 128 }, (_, i) => i), 'mnist:train[0:128]');
  return cached;
}

function batchOf(set: DigitSet, rows: number, teacher?: tf.LayersModel): StepBatch {
  const x = tf.tensor2d(set.images.subarray(0, rows * 784), [rows, 784]);
  const labels = tf.tensor1d(Int32Array.from(set.labels.subarray(0, rows)), 'int32');
  const oneHot = tf.tidy(() => tf.oneHot(labels, 10).toFloat()) as tf.Tensor2D;
  const logits = teacher ? (tf.tidy(() => teacher.predict(x)) as tf.Tensor2D) : undefined;
  return { x, labels, oneHot, teacher: logits };
}
const disposeBatch = (b: StepBatch) => tf.dispose([b.x, b.labels, b.oneHot, ...(b.teacher ? [b.teacher] : [])]);
const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;
const scalar = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]);

/** Runs `steps` steps on one batch; returns the losses the step reported. */
function stepLosses(model: tf.LayersModel, objective: ReturnType<typeof resolveLoss>['objective'], b: StepBatch, steps: number, lr = 1e-3): number[] {
  const optimizer = new Optimizer({ name: 'adam', learningRate: lr });
  try {
    const step = createTrainStep(model, optimizer, objective);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const out = step(b);
      losses.push(out.loss.dataSync()[0]);
      tf.dispose([out.loss, out.correct]);
    }
    return losses;
  } finally {
    optimizer.dispose();
  }
}

test('dkd and mse-prob: validated as objectives (DKD alpha is a weight ≥ 0), train() steps equal the public losses and lower them', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  const teacher = createTeacher({ hidden: [64, 64], dropout: 0.5, inputDropout: 0.2, seed: 1 });
  const baseline = tf.memory().numTensors;
  // DKD's alpha and beta are weights: 8 is a valid alpha; negatives are not.
  assert.doesNotThrow(() => resolveObjective({ objective: 'dkd', temperature: 4, alpha: 8, beta: 8 }));
  assert.throws(() => resolveObjective({ objective: 'dkd', temperature: 4, alpha: -1, beta: 8 }), code('BAD_ALPHA'));
  assert.throws(() => resolveObjective({ objective: 'dkd', temperature: 4, alpha: 1, beta: Number.NaN }), code('BAD_BETA'));
  assert.throws(() => resolveObjective({ objective: 'dkd', temperature: 0, alpha: 1, beta: 8 }), code('BAD_TEMPERATURE'));
  assert.throws(() => resolveObjective({ objective: 'dkd', temperature: 4, alpha: 1 } as unknown as Objective), code('BAD_BETA'));
  assert.throws(() => resolveObjective({ objective: 'mse-prob', temperature: 4, alpha: 1.5 }), code('BAD_ALPHA'));
  assert.throws(() => resolveObjective({ objective: 'mse-prob', temperature: 4, alpha: 0.5, beta: 1 } as unknown as Objective), code('BAD_LOSS'));

  const cases: Array<{ spec: Objective; expected: (s: tf.Tensor2D, t: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar }> = [
    { spec: { objective: 'dkd', temperature: 4, alpha: 1, beta: 8 }, expected: (s, t, y) => tf.add(studentLoss(s, y), dkdLoss(s, t, y, { temperature: 4, alpha: 1, beta: 8 })) as tf.Scalar },
    {
      spec: { objective: 'mse-prob', temperature: 4, alpha: 0.9 },
      expected: (s, t, y) => tf.add(tf.mul(mseProbabilitiesLoss(s, t, 4), 0.9), tf.mul(studentLoss(s, y), 0.1)) as tf.Scalar,
    },
  ];
  for (const { spec, expected } of cases) {
    const b = batchOf(set, 64, teacher);
    const student = createStudent({ hidden: [32, 32], seed: 2 });
    const want = scalar(() => expected(student.predict(b.x) as tf.Tensor2D, b.teacher as tf.Tensor2D, b.labels));
    const { objective } = resolveLoss({ ...(spec as Exclude<Objective, { objective: 'hard' }>), teacherLogits: new Float32Array(set.size * 10) } as LossSpec, set, 0);
    const losses = stepLosses(student, objective, b, 10, 3e-3);
    assertClose([losses[0]], [want], 1e-5, 1e-5, `${spec.objective}: first step's loss = the public losses`);
    assert.ok(losses[9] < losses[0] * 0.8, `${spec.objective}: ${losses[0]} → ${losses[9]}`);
    student.dispose();
    disposeBatch(b);
  }
  // Through train(): teacher logits computed once in inference mode, finite epochs, no leaks.
  const student = createStudent({ hidden: [32, 32], seed: 3 });
  const r = await train(student, { train: set, epochs: 3, batchSize: 32, seed: 3, loss: { objective: 'dkd', teacher, temperature: 4, alpha: 1, beta: 8 } });
  assert.ok(r.history[2].loss < r.history[0].loss, `dkd epochs ${r.history.map((h) => h.loss).join(', ')}`);
  student.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  teacher.dispose();
});

test('hint: the first step equals alpha·hintLoss + (1 − alpha)·CE with the teacher in inference mode; the regressor learns; losses fall; no leaks', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  const teacher = createTeacher({ hidden: [48, 40], dropout: 0.5, inputDropout: 0.2, seed: 4 });
  const student = createStudent({ hidden: [24, 16], seed: 5 });
  const baseline = tf.memory().numTensors;
  const regressor = createRegressor([16], [40], { seed: 6 });
  const b = batchOf(set, 64);
  const alpha = 0.25;
  const want = scalar(() => {
    const hs = forwardWithFeatures(student, b.x).features[1];
    const ht = forwardWithFeatures(teacher, b.x, { training: false }).features[1];
    const z = student.predict(b.x) as tf.Tensor2D;
    return tf.add(tf.mul(hintLoss(hs, ht, regressor), alpha), tf.mul(studentLoss(z, b.labels), 1 - alpha)) as tf.Scalar;
  });
  const regressorBefore = regressor.getWeights().map((w) => Array.from(w.dataSync()));
  const teacherBefore = teacher.getWeights().map((w) => Array.from(w.dataSync()));
  const { objective } = resolveLoss({ objective: 'hint', alpha, teacher, regressor }, set, 0);
  const losses = stepLosses(student, objective, b, 10, 3e-3);
  assertClose([losses[0]], [want], 1e-5, 1e-5, "first step's loss");
  assert.ok(losses[9] < losses[0] * 0.8, `hint: ${losses[0]} → ${losses[9]}`);
  const moved = regressor.getWeights().map((w, i) => Math.max(...Array.from(w.dataSync()).map((v, k) => Math.abs(v - regressorBefore[i][k]))));
  assert.ok(moved.every((d) => d > 1e-4), `every regressor weight tensor was updated (largest changes ${moved.join(', ')})`);
  assert.deepEqual(teacher.getWeights().map((w) => Array.from(w.dataSync())), teacherBefore, 'the teacher is not trained');
  disposeBatch(b);
  // Through train(): the same objective for two epochs.
  const r = await train(student, { train: set, epochs: 2, batchSize: 32, seed: 5, loss: { objective: 'hint', alpha, teacher, regressor } });
  assert.ok(r.history.every((h) => Number.isFinite(h.loss)));
  regressor.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind (regressor disposed by its owner)');
  student.dispose();
  teacher.dispose();
});

test('cosine: the first step equals alpha·(1 − cos(h_S, pool(h_T))) + (1 − alpha)·CE; pooling by hand; losses fall; no leaks', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  // 48 → 32 teacher units: windows [floor(1.5i), ceil(1.5(i+1))), overlapping, as adaptive_avg_pool1d.
  const teacher = createTeacher({ hidden: [40, 48], dropout: 0.5, seed: 7 });
  const student = createStudent({ hidden: [20, 32], seed: 8 });
  const baseline = tf.memory().numTensors;
  const b = batchOf(set, 64);
  const ht = tf.tidy(() => forwardWithFeatures(teacher, b.x).features[1].arraySync() as number[][]);
  const pooled = tf.tidy(() => poolFeatures(tf.tensor2d(ht), 32).arraySync());
  const byHand = ht.map((row) =>
    Array.from({ length: 32 }, (_, i) => {
      const [a, e] = [Math.floor((i * 48) / 32), Math.ceil(((i + 1) * 48) / 32)];
      return row.slice(a, e).reduce((s, v) => s + v, 0) / (e - a);
    }),
  );
  assertClose(pooled.flat(), byHand.flat(), 1e-5, 1e-5, 'adaptive average pooling');
  const alpha = 0.25;
  const want = scalar(() => {
    const hs = forwardWithFeatures(student, b.x).features[1];
    const z = student.predict(b.x) as tf.Tensor2D;
    return tf.add(tf.mul(cosineEmbeddingLoss(hs, tf.tensor2d(byHand)), alpha), tf.mul(studentLoss(z, b.labels), 1 - alpha)) as tf.Scalar;
  });
  const { objective } = resolveLoss({ objective: 'cosine', alpha, teacher }, set, 0);
  const losses = stepLosses(student, objective, b, 10, 3e-3);
  assertClose([losses[0]], [want], 1e-5, 1e-5, "first step's loss");
  assert.ok(losses[9] < losses[0] * 0.8, `cosine: ${losses[0]} → ${losses[9]}`);
  disposeBatch(b);
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  student.dispose();
  teacher.dispose();
});

test('hint and cosine on the conv teacher and student: conv regressor learns, channel-group pooling, no leaks', async () => {
  await initBackend({ quiet: true });
  const set = subset(digits(), Int32Array.from({ length: 64 }, (_, i) => i), 'mnist:train[0:64]');
  const teacher = createConvTeacher({ filters: [8, 16], seed: 9 });
  const baseline = tf.memory().numTensors;
  const probe = createConvStudent({ filters: [4, 8], seed: 10 });
  const [s, t] = [probe, teacher].map((m) => hiddenLayers(m).at(-1)?.shape ?? []);
  probe.dispose();
  assert.deepEqual([s, t], [[7, 7, 8], [7, 7, 16]]);
  // NHWC [7, 7, 16] pooled to 392 values = the mean of channel pairs of each pixel.
  const pooled = tf.tidy(() => {
    const x = tf.randomUniform([2, 7, 7, 16], 0, 1, 'float32', 3);
    const byGroups = tf.mean(tf.reshape(x, [2, 7, 7, 8, 2]), 4).reshape([2, 392]);
    return tf.max(tf.abs(tf.sub(poolFeatures(x, 392), byGroups))).dataSync()[0];
  });
  assert.ok(pooled < 1e-6);
  for (const objective of ['hint', 'cosine'] as const) {
    const student = createConvStudent({ filters: [4, 8], seed: 10 });
    const regressor = objective === 'hint' ? createRegressor(s, t, { seed: 11 }) : undefined;
    const before = regressor?.getWeights().map((w) => Array.from(w.dataSync()));
    const r = await train(student, { train: set, epochs: 2, batchSize: 32, seed: 1, optimizer: { learningRate: 3e-3 }, loss: { objective, alpha: 0.25, teacher, regressor } });
    assert.ok(r.history.every((h) => Number.isFinite(h.loss)), `${objective}: ${r.history.map((h) => h.loss).join(', ')}`);
    assert.ok(r.history[1].loss < r.history[0].loss, `${objective}: ${r.history.map((h) => h.loss).join(', ')}`);
    if (regressor && before) {
      regressor.getWeights().forEach((w, i) => assert.notDeepEqual(Array.from(w.dataSync()), before[i], 'the conv regressor was trained'));
      regressor.dispose();
    }
    student.dispose();
  }
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  teacher.dispose();
});

test('feature objectives: missing teacher or regressor, wrong regressor, student larger than teacher → clear InputErrors', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  const teacher = createTeacher({ hidden: [32, 32], seed: 1 });
  const student = createStudent({ hidden: [16, 16], seed: 1 });
  const big = createStudent({ hidden: [64, 64], seed: 1 });
  const baseline = tf.memory().numTensors;
  const run = (model: tf.LayersModel, loss: LossSpec) => train(model, { train: set, epochs: 1, batchSize: 64, loss });
  await assert.rejects(run(student, { objective: 'hint', alpha: 0.5, teacher }), (e) => code('NO_REGRESSOR')(e) && /createRegressor\(\[16\], \[32\]\)/.test((e as Error).message));
  await assert.rejects(run(student, { objective: 'cosine', alpha: 0.5, teacherLogits: new Float32Array(set.size * 10) }), code('NO_TEACHER'));
  const wrong = createRegressor([16], [20]);
  await assert.rejects(run(student, { objective: 'hint', alpha: 0.5, teacher, regressor: wrong }), code('BAD_REGRESSOR'));
  await assert.rejects(run(student, { objective: 'kd', temperature: 4, alpha: 0.5, teacher, regressor: wrong }), code('BAD_LOSS'));
  await assert.rejects(run(big, { objective: 'cosine', alpha: 0.5, teacher }), code('SHAPE_MISMATCH'));
  await assert.rejects(run(student, { objective: 'hint', alpha: 1.5, teacher, regressor: wrong }), code('BAD_ALPHA'));
  wrong.dispose();
  // alpha = 0: the hint term is dropped, the regressor gets no gradient and does not move.
  const idle = createRegressor([16], [32]);
  const idleBefore = idle.getWeights().map((w) => Array.from(w.dataSync()));
  const r0 = await run(student, { objective: 'hint', alpha: 0, teacher, regressor: idle });
  assert.ok(Number.isFinite(r0.history[0].loss));
  assert.deepEqual(idle.getWeights().map((w) => Array.from(w.dataSync())), idleBefore);
  idle.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'failed calls leave no tensors');
  for (const m of [teacher, student, big]) m.dispose();
});

test('feature objectives as runs: hint and cosine name their teacher run, train from its hidden layers (not as scratch)', async () => {
  await initBackend({ quiet: true });
  const { checkRunSpec, executeRun, loadRunModel } = await import('../../lib/src/runs');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-feature-runs-'));
  const env = { runs: process.env.KDLAB_RUNS_DIR, cache: process.env.KDLAB_CACHE_DIR };
  process.env.KDLAB_RUNS_DIR = path.join(tmp, 'runs');
  process.env.KDLAB_CACHE_DIR = path.join(tmp, 'cache');
  try {
    const base = {
      data: { validationSize: 100, splitSeed: 0, pool: 128 }, optimizer: { name: 'adam', learningRate: 1e-3 },
      budget: { epochs: 1 }, batchSize: 32, seed: 3, record: { weights: true },
    } as const;
    const teacher = await executeRun({ ...base, model: { kind: 'mlp', hidden: [16] }, objective: { objective: 'hard' } });
    const student = (objective: Objective) => ({
      ...base, model: { kind: 'mlp' as const, hidden: [8] }, objective, teacher: objective.objective === 'hard' ? undefined : { run: teacher.key },
    });
    for (const objective of [{ objective: 'hint', alpha: 0.5 }, { objective: 'cosine', alpha: 0.5 }] as Objective[]) {
      checkRunSpec(student(objective));
      assert.throws(() => checkRunSpec({ ...student(objective), teacher: undefined }), code('BAD_RUN_SPEC'), `${objective.objective} without a teacher`);
    }
    assert.throws(() => checkRunSpec({ ...student({ objective: 'hard' }), teacher: { run: teacher.key } }), code('BAD_RUN_SPEC'));
    const hard = await executeRun(student({ objective: 'hard' }));
    const hint = await executeRun(student({ objective: 'hint', alpha: 0.5 }));
    const cosine = await executeRun(student({ objective: 'cosine', alpha: 0.5 }));
    // The hint's regressor maps the student's 8 units to the teacher's 16: 8·16 weights + 16 biases.
    assert.deepEqual([hard.extraParams, hint.extraParams, cosine.extraParams], [0, 8 * 16 + 16, 0]);
    // Same seed, same initial weights and batches: only the loss differs, so the weights must too.
    const weights = async (r: typeof hard) => {
      const m = await loadRunModel(r);
      const w = m.getWeights().flatMap((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    const w0 = await weights(hard);
    for (const r of [hint, cosine]) assert.notDeepEqual(await weights(r), w0, `${r.spec.objective.objective} trained like scratch`);
  } finally {
    if (env.runs === undefined) delete process.env.KDLAB_RUNS_DIR;
    else process.env.KDLAB_RUNS_DIR = env.runs;
    if (env.cache === undefined) delete process.env.KDLAB_CACHE_DIR;
    else process.env.KDLAB_CACHE_DIR = env.cache;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
