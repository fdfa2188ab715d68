/**
 * Notebook 07's library: the binomial interval against hand-worked values, the recipe per mode
 * (the paper's settings where they are known, the chapter's teacher reused in quick mode, 00–05's
 * teacher identity unchanged), runs saved once and read back, the table's arithmetic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { chapterConfig } from '../../lib/src/chapter';
import { loadMnist, loadSplits, subset, take, type SplitData } from '../../lib/src/data';
import { teacherLogitsCached } from '../../lib/src/cache';
import { WORKER_BLAS_THREADS } from '../../lib/src/kernels/native';
import { withBlasThreads } from '../../lib/src/kernels/native';
import { createStudent } from '../../lib/src/models';
import { InputError } from '../../lib/src/errors';
import {
  binomialInterval, gapFacts, trainingFit, hintonRecipe, hintonTeacherConfig, runKey, runStudent, runStudents, targetOf,
  type HintonTable, type StudentJob, type StudentRecipe, type StudentScore,
} from '../../lib/src/hinton';
import { HINTON_2015, SRIVASTAVA_2014 } from '../../lib/src/paper';
import { Optimizer } from '../../lib/src/train';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('binomialInterval is the Wilson 95% interval, checked against hand-worked values', () => {
  // 67 of 10,000, z = 1.96: p = 0.0067, centre (p + z²/2n)/(1 + z²/n) = 0.0068894,
  // half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²) = 0.0016098 → 52.796 .. 84.992 errors.
  const i = binomialInterval(67, 10000);
  near(i.low, 52.796, 0.001, 'low');
  near(i.high, 84.992, 0.001, 'high');
  // 0 of 100: the lower end is 0, the upper z²/(n + z²)·n = 3.8415/103.8415·100 = 3.6993.
  const z = binomialInterval(0, 100);
  near(z.low, 0, 1e-12, 'low at 0');
  near(z.high, 3.6993, 1e-4, 'high at 0');
  // Symmetric: k errors and n − k correct give mirrored intervals.
  const a = binomialInterval(30, 200);
  const b = binomialInterval(170, 200);
  near(a.low, 200 - b.high, 1e-9, 'mirror');
  for (const [k, n] of [[-1, 10], [11, 10], [1, 0]]) {
    assert.throws(() => binomialInterval(k, n), (e: unknown) => e instanceof InputError && e.code === 'BAD_INPUT');
  }
});

test("targets are the paper's counts + 15%: 77, 168, 85", () => {
  const H = HINTON_2015;
  assert.deepEqual([H.teacher.testErrors, H.student.scratchTestErrors, H.student.distilledTestErrors].map(targetOf), [77, 168, 85]);
});

test("quick mode reuses the chapter's teacher; 00-05's teacher checkpoints keep their names", () => {
  const quick = chapterConfig('quick', 0);
  const recipe = hintonRecipe(quick);
  assert.equal(hintonTeacherConfig(quick, recipe), quick);
  assert.deepEqual(recipe.seeds, [0, 1, 2]);
  assert.ok(recipe.curve.temperatures.some((T) => T >= 2.5 && T <= 4) && recipe.curve.temperatures.length >= 5);
});

test("full mode follows Srivastava et al.'s MNIST settings and decays the step to 1% by the last epoch", () => {
  const full = chapterConfig('full', 0);
  const recipe = hintonRecipe(full);
  const t = recipe.teacher;
  const S = SRIVASTAVA_2014.mnist;
  assert.deepEqual([t.inputDropout, t.dropout, t.maxNorm, t.jitter], [S.inputDropout, S.hiddenDropout, S.maxNorm, 2]);
  assert.deepEqual(t.hidden, [1200, 1200]);
  assert.equal(t.trainSize, null);
  assert.equal(t.optimizer?.name, 'momentum');
  assert.equal(t.optimizer?.momentum, S.finalMomentum);
  // Dampened, so the momentum ramp does not multiply the step (the plain form went unstable at 0.95).
  assert.equal(t.optimizer?.dampened, true);
  assert.equal(recipe.scratch.optimizer.dampened, true);
  // Each student's optimizer chosen on validation: scratch momentum SGD at 0.8 over 60 epochs,
  // distilled Adam at 1e-3 over 120 epochs, both decaying to 1% of the step by their last epoch.
  assert.equal(recipe.scratch.optimizer.learningRate, 0.8);
  assert.deepEqual([recipe.distilled.optimizer.name, recipe.distilled.optimizer.learningRate, recipe.distilled.epochs], ['adam', 1e-3, 120]);
  const studentBatches = Math.ceil(55000 / recipe.distilled.batchSize);
  const adam = new Optimizer(recipe.distilled.optimizer);
  near(adam.learningRateAt(recipe.distilled.epochs * studentBatches), 1e-5, 1e-15, "the distilled student's final step");
  // lr0 · rate^(epochs · batches / batches) = lr0 · 0.01 after the last step.
  const batches = Math.ceil(55000 / (t.batchSize ?? 128));
  const opt = new Optimizer(t.optimizer);
  near(opt.learningRateAt(t.epochs * batches), 0.01 * opt.learningRate, 1e-12, 'final step size');
  near(opt.learningRateAt(batches), opt.learningRate * Math.pow(0.01, 1 / t.epochs), 1e-15, 'after one epoch');
  assert.equal(opt.momentumAt(0), 0.5);
  assert.equal(opt.momentumAt(t.epochs * batches), S.finalMomentum);
  assert.deepEqual(recipe.scratch.hidden, [800, 800]);
  assert.equal(recipe.distilled.temperature, HINTON_2015.student.temperature);
  assert.equal(recipe.trainSize, null);
});

test('runStudent trains once, saves the score atomically, reads it back; the key tracks the loss', async () => {
  await initBackend({ quiet: true });
  const mnist = loadMnist();
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  const data: SplitData = {
    train: subset(mnist.train, range(0, 256), 'mnist:train[0:256]'),
    validation: subset(mnist.train, range(50000, 50128), 'mnist:train[50000:50128]'),
    test: subset(mnist.test, range(0, 200), 'mnist:test[0:200]'),
  };
  const recipe: StudentRecipe = {
    hidden: [16], epochs: 2, batchSize: 64,
    optimizer: { name: 'momentum', learningRate: 0.05, rampMomentum: { from: 0.5, steps: 4 }, schedule: { kind: 'exponential', decayRate: 0.9, decaySteps: 4 } },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-hinton-'));
  const baseline = tf.memory().numTensors;
  try {
    const first = await runStudent(data, { recipe, seed: 3, loss: 'hard' }, { dir });
    assert.equal(first.cached, false);
    assert.equal(first.valCurve.length, 2);
    assert.equal(first.testErrors, Math.round((1 - first.testAccuracy) * 200));
    assert.equal(fs.readdirSync(dir).length, 1);
    const again = await runStudent(data, { recipe, seed: 3, loss: 'hard' }, { dir });
    assert.equal(again.cached, true);
    assert.deepEqual({ ...again, cached: false }, first);
    const logits = { logits: new Float32Array(256 * 10), key: 'k', setId: data.train.id, size: 256, preprocessing: 'none', hit: false, file: '' };
    const k = (T: number) => runKey(data, { recipe, seed: 3, loss: { temperature: T, alpha: 0.9, teacherLogits: logits } });
    assert.notEqual(k(2), k(4));
    assert.notEqual(k(2), runKey(data, { recipe, seed: 3, loss: 'hard' }));
    assert.notEqual(runKey(data, { recipe, seed: 4, loss: 'hard' }), runKey(data, { recipe, seed: 3, loss: 'hard' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(tf.memory().numTensors, baseline);
});

test('gapFacts: the gap to the target and what each validation curve says, worked by hand', () => {
  const score = (seed: number, testErrors: number, valCurve: number[], trainErrors = 0, teacherDisagreements: number | null = null): StudentScore => ({
    seed, valAccuracy: valCurve[valCurve.length - 1], testAccuracy: 1 - testErrors / 10000, testErrors, valCurve, seconds: 1,
    fit: { trainErrors, teacherDisagreements }, cached: true,
  });
  const mean = (m: number, n: number) => ({ mean: m, sd: 0, n });
  const row = (system: 'teacher' | 'scratch' | 'distilled', m: number, target: number, n: number) =>
    ({ system, hidden: [], paperErrors: 0, target, errors: [], seeds: [], mean: mean(m, n), interval: { low: 0, high: 0 },
      paperInterval: { low: 0, high: 0 }, withinTarget: m <= target });
  const table: HintonTable = {
    mode: 'full', testSize: 10000, teacher: { seed: 0, testErrors: 84, trainErrors: 250 }, orderingHolds: true,
    rows: [row('teacher', 84, 77, 1), row('scratch', 180, 168, 2), row('distilled', 80, 85, 2)],
    // Scratch: one run peaks at epoch 2 and falls back by 0.3 points, one is flat at its best from epoch 2.
    scratch: [score(0, 170, [0.95, 0.98, 0.977]), score(1, 190, [0.95, 0.97, 0.97])],
    distilled: [score(0, 79, [0.96, 0.97, 0.99], 400, 230), score(1, 81, [0.96, 0.98, 0.985], 410, 260)],
  };
  const g = Object.fromEntries(gapFacts(table, [0.9, 0.95, 0.99, 0.99], { teacher: 55000, students: 50000 }).map((x) => [x.system, x]));
  assert.equal(g.teacher.gap, 7);
  assert.deepEqual([g.teacher.epochs, g.teacher.trainImages, g.teacher.runs], [4, 55000, 1]);
  // Equal best values: the first epoch that reached it, and the last epoch counts as "at its best".
  assert.deepEqual([g.teacher.bestEpochs, g.teacher.improvingAtEnd, g.teacher.lostSinceBest], [[3], 1, [0]]);
  assert.equal(g.scratch.gap, 12);
  assert.deepEqual([g.scratch.epochs, g.scratch.trainImages, g.scratch.runs], [3, 50000, 2]);
  assert.deepEqual(g.scratch.bestEpochs, [2, 2]);
  assert.equal(g.scratch.improvingAtEnd, 1);
  near(g.scratch.lostSinceBest[0], 0.003, 1e-12, 'lost since best');
  assert.equal(g.scratch.lostSinceBest[1], 0);
  assert.equal(g.distilled.gap, -5);
  assert.deepEqual([g.distilled.bestEpochs, g.distilled.improvingAtEnd], [[3, 3], 2]);
  // The fit to the training images, per run, passed through from the scores; disagreements for distilled rows only.
  assert.deepEqual([g.teacher.trainErrors, g.scratch.trainErrors, g.distilled.trainErrors], [[250], [0, 0], [400, 410]]);
  assert.deepEqual([g.teacher.teacherDisagreements, g.scratch.teacherDisagreements, g.distilled.teacherDisagreements], [null, null, [230, 260]]);
});

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
  assert.throws(() => trainingFit(model, set, logits.subarray(0, 30)), /teacher logits for 3 images, the set has 4/);
  assert.equal(tf.memory().numTensors, baseline);
  model.dispose();
});

test('runStudents in worker processes: the digits of in-process training at their BLAS thread count, reported as they finish, read back on a rerun', async () => {
  await initBackend({ quiet: true });
  process.env.KDLAB_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));
  const splits = loadSplits({ validationSize: 5000, seed: 0 });
  const data: SplitData = { ...splits, train: take(splits.train, 300) };
  const teacher = createStudent({ hidden: [32], seed: 5 });
  const soft = teacherLogitsCached(teacher, data.train);
  teacher.dispose();
  const recipe: StudentRecipe = {
    hidden: [8], epochs: 2, batchSize: 64,
    optimizer: { name: 'momentum', learningRate: 0.05, rampMomentum: { from: 0.5, steps: 4 }, schedule: { kind: 'exponential', decayRate: 0.9, decaySteps: 4 } },
  };
  const jobs: StudentJob[] = [
    { label: 'hard 1', spec: { recipe, seed: 1, loss: 'hard' } },
    { label: 'soft 1', spec: { recipe, seed: 1, loss: { temperature: 4, alpha: 0.7, teacherLogits: soft } } },
    { label: 'hard 2', spec: { recipe, seed: 2, loss: 'hard' } },
  ];
  const inWorkers = { validationSize: 5000, splitSeed: 0, poolSize: 300 };
  const [there, here] = [fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-hw-')), fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-hh-'))];
  const numbers = (s: StudentScore) => ({ ...s, seconds: 0, cached: false });
  try {
    const seen: string[] = [];
    const inWorker = await runStudents(data, jobs, { dir: there, inWorkers, onRun: (label, s) => seen.push(`${label} ${s.cached}`) });
    assert.deepEqual(seen.sort(), ['hard 1 false', 'hard 2 false', 'soft 1 false']);
    assert.deepEqual(inWorker.map((s) => s.seed), [1, 1, 2], 'scores in job order');
    const inProcess = await withBlasThreads(WORKER_BLAS_THREADS, () => runStudents(data, jobs, { dir: here }));
    assert.deepEqual(inWorker.map(numbers), inProcess.map(numbers));
    assert.notDeepEqual(inWorker[0].valCurve, inWorker[1].valCurve, 'the soft targets changed the run');
    const again = await runStudents(data, jobs, { dir: there, inWorkers });
    assert.ok(again.every((s) => s.cached));
    assert.deepEqual(again.map(numbers), inWorker.map(numbers));
    // Logits without their cache file cannot reach a worker.
    const fileless = { label: 'no file', spec: { recipe, seed: 9, loss: { temperature: 2, alpha: 0.5, teacherLogits: { ...soft, file: '' } } } };
    await assert.rejects(runStudents(data, [fileless], { dir: there, inWorkers }), /needs the teacher logits' cache file/);
    // Split settings that do not rebuild data are refused, not trained on other images.
    await assert.rejects(runStudents(data, jobs, { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-hx-')), inWorkers: { ...inWorkers, poolSize: 200 } }), /do not rebuild/);
  } finally {
    fs.rmSync(there, { recursive: true, force: true });
    fs.rmSync(here, { recursive: true, force: true });
  }
});
