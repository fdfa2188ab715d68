import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../../lib/src/checkpoint';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import { evaluate, predictLogits } from '../../lib/src/evaluate';
import { createMlp, createStudent, createTeacher } from '../../lib/src/models';
import { train, type TrainOptions } from '../../lib/src/train';

// Tiny slices of real MNIST so every run takes well under a second.
let sets: { train: DigitSet; validation: DigitSet } | undefined;
function data(): { train: DigitSet; validation: DigitSet } {
  if (!sets) {
    const mnist = loadMnist();
    const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
    sets = {
      train: subset(mnist.train, range(0, 320), 'mnist:train[0:320]'),
      validation: subset(mnist.train, range(50000, 50200), 'mnist:train[50000:50200]'),
    };
  }
  return sets;
}

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-train-'));

test('a hard-label run learns, reports best and last epochs apart, and leaks no tensors', async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  const model = createStudent({ hidden: [64], seed: 1 });
  const baseline = tf.memory().numTensors;
  const epochs: number[] = [];
  const batchesSeen: number[] = [];
  const result = await train(model, {
    train: set,
    validation,
    epochs: 4,
    batchSize: 32,
    optimizer: { name: 'adam', learningRate: 3e-3 },
    seed: 1,
    progressEveryMs: 0,
    onBatch: (p) => batchesSeen.push(p.batch),
    onEpoch: (r) => epochs.push(r.epoch),
  });
  assert.equal(tf.memory().numTensors, baseline, 'training leaves no tensors');
  evaluate(model, validation);
  assert.equal(tf.memory().numTensors, baseline, 'evaluation leaves no tensors');
  assert.deepEqual(epochs, [1, 2, 3, 4]);
  assert.equal(batchesSeen.length, 4 * 10);
  assert.equal(result.steps, 40);
  assert.equal(result.history.length, 4);
  assert.ok(result.history[3].loss < result.history[0].loss, 'loss decreases');
  assert.ok((result.last?.valAccuracy ?? 0) > 0.6, `val accuracy ${result.last?.valAccuracy}`);
  const maxVal = Math.max(...result.history.map((r) => r.valAccuracy ?? 0));
  assert.equal(result.best?.valAccuracy, maxVal);
  assert.equal(result.last, result.history[3]);
  assert.equal(result.last?.valAccuracy, evaluate(model, validation).accuracy);
  assert.equal(result.aborted, false);
  model.dispose();
});

test('same seed => identical history and weights (two runs); another seed differs', async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  const teacherLogits = new Float32Array(set.size * 10).map((_, i) => ((i * 7919) % 13) / 3 - 2);
  const run = async (seed: number) => {
    const model = createTeacher({ hidden: [48, 32], seed: 2 });
    const r = await train(model, {
      train: set,
      validation,
      epochs: 2,
      batchSize: 40,
      seed,
      jitter: 2,
      loss: 'hard',
    });
    const w = weightsOf(model);
    model.dispose();
    const student = createStudent({ hidden: [32], seed: 3 });
    const kd = await train(student, { train: set, validation, epochs: 2, batchSize: 64, seed, loss: { teacherLogits, temperature: 4, alpha: 0.7 } });
    const ws = weightsOf(student);
    student.dispose();
    const strip = (h: typeof r.history) => h.map(({ seconds: _s, ...rest }) => rest);
    return { history: strip(r.history), w, kdHistory: strip(kd.history), ws };
  };
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.w, b.w);
  assert.deepEqual(a.kdHistory, b.kdHistory);
  assert.deepEqual(a.ws, b.ws);
  assert.notDeepEqual(a.history, c.history);
});

test('resuming from a checkpoint reaches the same final weights as an uninterrupted run', async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  // A teacher with dropout, input jitter and Adam: every kind of state that must survive.
  const options = (extra: Partial<TrainOptions>): TrainOptions => ({
    train: set,
    validation,
    epochs: 3,
    batchSize: 64,
    seed: 11,
    jitter: 2,
    optimizer: { name: 'adam', learningRate: 2e-3 },
    ...extra,
  });
  const full = createTeacher({ hidden: [40, 24], seed: 4 });
  const uninterrupted = await train(full, options({}));

  const dir = tmp();
  try {
    const part = createTeacher({ hidden: [40, 24], seed: 4 });
    const first = await train(part, options({ epochs: 1, checkpoint: { dir } }));
    assert.equal(first.history.length, 1);
    assert.ok(hasCheckpoint(dir));
    part.dispose();
    // A fresh process would build the model with any seed: the checkpoint's weights win.
    const resumed = createTeacher({ hidden: [40, 24], seed: 999 });
    const rest = await train(resumed, options({ resumeFrom: dir, checkpoint: { dir } }));
    assert.equal(rest.resumedFromEpoch, 1);
    assert.deepEqual(weightsOf(resumed), weightsOf(full));
    const strip = (h: typeof rest.history) => h.map(({ seconds: _s, ...r }) => r);
    assert.deepEqual(strip(rest.history), strip(uninterrupted.history));
    assert.equal(rest.steps, uninterrupted.steps);
    // Only the files of the newest checkpoint remain, no temp files.
    const files = fs.readdirSync(dir).sort();
    assert.equal(files.length, 3, files.join(', '));
    // A different seed cannot silently continue this run.
    const again = createTeacher({ hidden: [40, 24], seed: 4 });
    await assert.rejects(train(again, options({ resumeFrom: dir, seed: 12 })), (e: unknown) => e instanceof InputError && e.code === 'CHECKPOINT_MISMATCH');
    // Nor a different architecture.
    const wrong = createTeacher({ hidden: [40], seed: 4 });
    await assert.rejects(loadCheckpoint(dir, { model: wrong }), (e: unknown) => e instanceof InputError && e.code === 'CHECKPOINT_MISMATCH');
    again.dispose();
    wrong.dispose();
    resumed.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  full.dispose();
});

test('checkpoint save/load round-trips weights without a file:// handler', async () => {
  await initBackend({ quiet: true });
  const dir = tmp();
  try {
    const a = createStudent({ hidden: [12], seed: 1 });
    await saveCheckpoint(dir, { model: a });
    const b = createStudent({ hidden: [12], seed: 2 });
    assert.notDeepEqual(weightsOf(a), weightsOf(b));
    const loaded = await loadCheckpoint(dir, { model: b });
    assert.ok(loaded);
    assert.equal(loaded?.optimizer, null);
    assert.deepEqual(weightsOf(a), weightsOf(b));
    assert.equal(await loadCheckpoint(path.join(dir, 'nothing-here'), { model: b }), null);
    a.dispose();
    b.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a weights-only load leaves the optimizer slots unread', async () => {
  await initBackend({ quiet: true });
  const dir = tmp();
  try {
    const a = createStudent({ hidden: [12], seed: 1 });
    const slot = { name: 'm0', shape: [3], data: Float32Array.of(1, 2, 3) };
    await saveCheckpoint(dir, { model: a, optimizer: { name: 'adam', config: { learningRate: 0.1 }, iterations: 7, slots: [slot] } });
    const b = createStudent({ hidden: [12], seed: 2 });
    assert.deepEqual(Array.from((await loadCheckpoint(dir, { model: b }))?.optimizer?.slots[0].data ?? []), [1, 2, 3]);
    // Truncate the slots' file: a full load must notice, a weights-only load must not read it.
    const slotsFile = fs.readdirSync(dir).find((f) => f.startsWith('optimizer-')) as string;
    fs.writeFileSync(path.join(dir, slotsFile), Buffer.alloc(4));
    await assert.rejects(loadCheckpoint(dir, { model: b }), (e: unknown) => (e as { code?: string }).code === 'CHECKPOINT_CORRUPT');
    const c = createStudent({ hidden: [12], seed: 3 });
    const loaded = await loadCheckpoint(dir, { model: c }, { weightsOnly: true });
    assert.equal(loaded?.optimizer, null);
    assert.deepEqual(weightsOf(c), weightsOf(a));
    [a, b, c].forEach((m) => m.dispose());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an AbortSignal stops between steps and leaves a usable model', async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  const model = createStudent({ hidden: [32], seed: 1 });
  const baseline = tf.memory().numTensors;
  const controller = new AbortController();
  const result = await train(model, {
    train: set,
    validation,
    epochs: 3,
    batchSize: 32,
    progressEveryMs: 0,
    signal: controller.signal,
    onBatch: (p) => {
      if (p.batch === 3) controller.abort();
    },
  });
  assert.equal(result.aborted, true);
  assert.equal(result.steps, 3);
  assert.equal(result.history.length, 0, 'the unfinished epoch is not reported as an epoch');
  assert.equal(result.last, null);
  assert.equal(tf.memory().numTensors, baseline);
  for (const w of weightsOf(model)) for (const v of w) assert.ok(Number.isFinite(v));
  const e = evaluate(model, validation);
  assert.ok(e.accuracy >= 0 && e.accuracy <= 1);
  model.dispose();
});

test('distillation: cached logits train a student; jittered inputs never use clean-input logits', async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  const teacher = createTeacher({ hidden: [64, 64], seed: 1 });
  await train(teacher, { train: set, validation, epochs: 3, batchSize: 32, seed: 1 });
  const logits = predictLogits(teacher, set);
  const student = createStudent({ hidden: [32], seed: 2 });
  const kd = await train(student, { train: set, validation, epochs: 3, batchSize: 32, loss: { teacherLogits: logits, temperature: 4, alpha: 0.9 } });
  assert.ok(kd.history[2].loss < kd.history[0].loss);
  // Far above chance (0.1): the teacher itself, with dropout 0.5 after 3 epochs on 320 images,
  // reaches only about 0.45, so the student's level varies with the dropout masks around that.
  assert.ok((kd.last?.valAccuracy ?? 0) > 0.3);
  // The same logits as a [n, 10] tensor give the same run.
  const asTensor = tf.tensor2d(logits, [set.size, 10]);
  const student2 = createStudent({ hidden: [32], seed: 2 });
  const kd2 = await train(student2, { train: set, validation, epochs: 3, batchSize: 32, loss: { teacherLogits: asTensor, temperature: 4, alpha: 0.9 } });
  assert.deepEqual(kd2.history.map((h) => h.loss), kd.history.map((h) => h.loss));
  asTensor.dispose();
  student2.dispose();

  // jitter + only clean logits: refused with a message that says what to do.
  await assert.rejects(
    train(createStudent({ hidden: [8] }), { train: set, epochs: 1, jitter: 2, loss: { teacherLogits: logits, temperature: 4, alpha: 0.5 } }),
    (e: unknown) => e instanceof InputError && e.code === 'STALE_TEACHER_LOGITS' && /loss\.teacher/.test(e.message),
  );
  // Logits for another slice are refused.
  await assert.rejects(
    train(createStudent({ hidden: [8] }), {
      train: set,
      epochs: 1,
      loss: {
        teacherLogits: { logits, key: 'k', setId: 'mnist:other', size: set.size, preprocessing: 'none', hit: true, file: '' },
        temperature: 4,
        alpha: 0.5,
      },
    }),
    (e: unknown) => e instanceof InputError && e.code === 'TEACHER_LOGITS_MISMATCH',
  );
  await assert.rejects(
    train(createStudent({ hidden: [8] }), { train: set, epochs: 1, loss: { teacherLogits: logits.subarray(10), temperature: 4, alpha: 0.5 } }),
    (e: unknown) => e instanceof InputError && e.code === 'SHAPE_MISMATCH',
  );

  // jitter + a teacher model: logits computed on the fly for the jittered batch, in inference
  // mode. A teacher copy without any dropout layers gives exactly the same run.
  const noDropout = createMlp({ hidden: [64, 64], seed: 1 });
  noDropout.setWeights(teacher.getWeights());
  const run = async (t: tf.LayersModel) => {
    const s = createStudent({ hidden: [16], seed: 9 });
    const r = await train(s, { train: set, epochs: 1, batchSize: 64, jitter: 2, seed: 3, loss: { teacher: t, temperature: 4, alpha: 0.5 } });
    s.dispose();
    return r.history.map((h) => h.loss);
  };
  assert.deepEqual(await run(teacher), await run(noDropout));
  for (const m of [teacher, student, noDropout]) m.dispose();
});

test('bad training options are refused', async () => {
  await initBackend({ quiet: true });
  const { train: set } = data();
  const m = createStudent({ hidden: [8] });
  const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;
  await assert.rejects(train(m, { train: set, epochs: -1 }), code('BAD_EPOCHS'));
  await assert.rejects(train(m, { train: set, epochs: 1, batchSize: 0 }), code('BAD_BATCH_SIZE'));
  await assert.rejects(train(m, { train: set, epochs: 1, jitter: 1.5 }), code('BAD_JITTER'));
  await assert.rejects(train(m, { train: set, epochs: 1, loss: { teacherLogits: new Float32Array(set.size * 10), temperature: 0, alpha: 0.5 } }), code('BAD_TEMPERATURE'));
  await assert.rejects(train(m, { train: set, epochs: 1, loss: { teacherLogits: new Float32Array(set.size * 10), temperature: 2, alpha: 2 } }), code('BAD_ALPHA'));
  await assert.rejects(train(m, { train: set, epochs: 1, loss: { temperature: 2, alpha: 0.5 } }), code('NO_TEACHER'));
  await assert.rejects(train(m, { train: set, epochs: 1, optimizer: { learningRate: 0 } }), code('BAD_LEARNING_RATE'));
  m.dispose();
});

test('max-norm: each hidden unit keeps an incoming weight vector of norm <= maxNorm', async () => {
  await initBackend({ quiet: true });
  const { train: set } = data();
  const teacher = createTeacher({ hidden: [32, 16], maxNorm: 0.3, seed: 1 });
  await train(teacher, { train: set, epochs: 1, batchSize: 64, optimizer: { learningRate: 0.05 } });
  const dense = teacher.layers.filter((l) => l.getClassName() === 'Dense');
  for (const layer of dense.slice(0, -1)) {
    const kernel = layer.getWeights()[0];
    const [rows, cols] = kernel.shape as [number, number];
    const w = kernel.dataSync();
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += w[i * cols + j] ** 2;
      assert.ok(Math.sqrt(s) <= 0.3 + 1e-5, `unit ${j}: norm ${Math.sqrt(s)}`);
    }
  }
  teacher.dispose();
});

test('a kernel interrupt (SIGINT) stops training when abortOnInterrupt is on, and the handler is removed afterwards', async () => {
  await initBackend({ quiet: true });
  const { train: set } = data();
  const model = createStudent({ hidden: [16], seed: 1 });
  const listeners = process.listenerCount('SIGINT');
  const result = await train(model, {
    train: set,
    epochs: 2,
    batchSize: 32,
    progressEveryMs: 0,
    abortOnInterrupt: true,
    onBatch: (p) => {
      // process.emit only calls the listeners: no real signal reaches the test process.
      if (p.batch === 2) process.emit('SIGINT');
    },
  });
  assert.equal(result.aborted, true);
  assert.equal(result.steps, 2);
  assert.equal(process.listenerCount('SIGINT'), listeners);
  model.dispose();
});

test('the loss names its objective: mse trains without a temperature; parameters it lacks and the old `kind` are refused', async () => {
  await initBackend({ quiet: true });
  const { train: set } = data();
  const teacherLogits = new Float32Array(set.size * 10).map((_, i) => ((i * 7919) % 13) / 3 - 2);
  const code = (c: string, re: RegExp) => (e: unknown) => e instanceof InputError && e.code === c && re.test(e.message);
  const run = async (loss: TrainOptions['loss']) => {
    const m = createStudent({ hidden: [16], seed: 4 });
    const r = await train(m, { train: set, epochs: 1, batchSize: 64, seed: 2, loss });
    m.dispose();
    return r.history.map((h) => h.loss);
  };
  const mse = await run({ teacherLogits, objective: 'mse', alpha: 0.5 });
  assert.ok(Number.isFinite(mse[0]));
  // 'kd' is the default objective; at alpha = 0 it is the hard-label run, bit for bit.
  assert.deepEqual(await run({ teacherLogits, objective: 'kd', temperature: 3, alpha: 0.5 }), await run({ teacherLogits, temperature: 3, alpha: 0.5 }));
  assert.deepEqual(await run({ teacherLogits, temperature: 3, alpha: 0 }), await run('hard'));
  const m = createStudent({ hidden: [8] });
  const bad = (loss: unknown) => train(m, { train: set, epochs: 1, loss: loss as TrainOptions['loss'] });
  await assert.rejects(bad({ teacherLogits, objective: 'mse', temperature: 4, alpha: 0.5 }), code('BAD_LOSS', /'mse' has no temperature/));
  await assert.rejects(bad({ teacherLogits, temperature: 4, alpha: 0.5, kind: 'mse' }), code('BAD_LOSS', /'kind' is now 'objective'/));
  await assert.rejects(bad({ teacherLogits, objective: 'crd', alpha: 0.5 }), code('BAD_LOSS', /unknown objective/));
  await assert.rejects(bad({ objective: 'mse', alpha: 0.5 }), code('NO_TEACHER', /teacherLogits/));
  m.dispose();
});

test('a step budget stops after exactly that many steps, mid-epoch, with the same weights as stopping by hand', async () => {
  await initBackend({ quiet: true });
  const { train: set } = data(); // 320 images: 5 batches of 64 per epoch
  const budget = await (async () => {
    const m = createStudent({ hidden: [16], seed: 6 });
    const r = await train(m, { train: set, steps: 12, batchSize: 64, seed: 3 });
    return { r, w: weightsOf(m), dispose: () => m.dispose() };
  })();
  assert.equal(budget.r.steps, 12);
  assert.deepEqual(budget.r.history.map((h) => h.epoch), [1, 2, 3]);
  assert.equal(budget.r.aborted, false);
  // The same 12 steps stopped from onBatch (what notebook 06 did before train() had a budget).
  const m = createStudent({ hidden: [16], seed: 6 });
  const stop = new AbortController();
  await train(m, { train: set, epochs: 3, batchSize: 64, seed: 3, progressEveryMs: 0, signal: stop.signal, onBatch: (p) => p.step >= 12 && stop.abort() });
  assert.deepEqual(budget.w, weightsOf(m));
  m.dispose();
  budget.dispose();
  // With epochs too, whichever comes first.
  const both = createStudent({ hidden: [16], seed: 6 });
  assert.equal((await train(both, { train: set, epochs: 1, steps: 100, batchSize: 64 })).steps, 5);
  const code = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);
  await assert.rejects(train(both, { train: set, batchSize: 64 }), code(/give epochs .* or steps/));
  await assert.rejects(train(both, { train: set, steps: 0 }), code(/steps must be a positive integer/));
  await assert.rejects(train(both, { train: set, epochs: 1, keep: 'best' }), code(/keep: 'best' .* pass validation too/));
  both.dispose();
});

test("keep: 'best' restores the best epoch's weights, also after a resume from a checkpoint", async () => {
  await initBackend({ quiet: true });
  const { train: set, validation } = data();
  const opts = { train: set, validation, batchSize: 32, seed: 1, keep: 'best' as const, optimizer: { name: 'adam' as const, learningRate: 0.05 } };
  const whole = createStudent({ hidden: [16], seed: 2 });
  const r = await train(whole, { ...opts, epochs: 6 });
  const curve = r.history.map((h) => h.valAccuracy as number);
  const bestEpoch = curve.indexOf(Math.max(...curve)) + 1;
  // A step of 0.05 makes the curve bounce (here: the best epoch is the 5th of 6).
  assert.equal(r.kept?.epoch, bestEpoch);
  assert.equal(evaluate(whole, validation).accuracy, Math.max(...curve));
  // Interrupted right after the best epoch and resumed: the resumed run must go back to it.
  const dir = tmp();
  const part = createStudent({ hidden: [16], seed: 2 });
  await train(part, { ...opts, epochs: Math.min(bestEpoch, 5), checkpoint: { dir } });
  const resumed = createStudent({ hidden: [16], seed: 2 });
  const r2 = await train(resumed, { ...opts, epochs: 6, checkpoint: { dir }, resumeFrom: dir });
  assert.equal(r2.kept?.epoch, bestEpoch);
  assert.deepEqual(weightsOf(resumed), weightsOf(whole));
  for (const m of [whole, part, resumed]) m.dispose();
});
