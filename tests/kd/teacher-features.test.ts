import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import { poolFeatures } from '../../lib/src/losses';
import { createConvNet, createRegressor, createStudent, createTeacher, forwardWithFeatures, hiddenLayers } from '../../lib/src/models';
import { estimatedRunWork, forwardMacs } from '../../lib/src/runs/cost';
import type { RunSpec } from '../../lib/src/runs';
import { computeTeacherFeatures, setTeacherFeaturesMaxBytes, teacherFeaturesCached } from '../../lib/src/teacher-features';
import { loadNativeAddon, nativeKernelNames, WORKER_BLAS_THREADS, withBlasThreads, withBlasThreadsSync } from '../../lib/src/kernels/native';
import { train } from '../../lib/src/train';
import type { LossSpec } from '../../lib/src/train/types';
import { assertClose } from './reference';

/**
 * The teacher's hidden rows, computed once per run (or once per teacher on disk) for hint and
 * cosine instead of once per batch: the rows equal the teacher run on any batch, so training with
 * them gives the weights of training without them; jittered inputs, another set or another shape
 * are refused; runAll's longest-first order ranks the runs as measured. Bit for bit where a row's
 * sums do not depend on the rows beside it (tfjs-wasm; OpenBLAS's SkylakeX kernels); OpenBLAS's
 * Haswell sgemm sums a row in another order depending on where it falls in the block of rows, so
 * there the rows agree to float rounding (and each run, always given the same rows, to itself).
 */

/** Bit for bit, or to float rounding on the one path that cannot promise it. */
function same(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  if (process.env.OPENBLAS_CORETYPE === 'Haswell' || haswell()) assertClose(actual, expected, tol, tol, what);
  else assert.deepEqual(Array.from(actual), Array.from(expected), what);
}
function haswell(): boolean {
  const load = loadNativeAddon();
  return tf.getBackend() === 'wasm' && nativeKernelNames().length > 0 && load.ok && load.addon.info().core === 'Haswell';
}

let cached: DigitSet | undefined;
function digits(): DigitSet {
  if (!cached) cached = subset(loadMnist().train, Int32Array.from({ length: 96 }, (_, i) => 3 * i), 'mnist:train[0:288:3]');
  return cached;
}
const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;
const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

const teachers = () => [
  { name: 'MLP', teacher: createTeacher({ hidden: [48, 40], dropout: 0.5, inputDropout: 0.2, seed: 4 }), student: () => createStudent({ hidden: [24, 16], seed: 5 }) },
  { name: 'conv', teacher: createConvNet({ filters: [8, 12], seed: 4 }), student: () => createConvNet({ filters: [4, 6], seed: 5 }) },
];

test('teacher features: the cached rows equal the teacher run (inference mode) on shuffled batches of another size (bit for bit where the kernels allow), raw and pooled', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  for (const { name, teacher, student } of teachers()) {
    const s = student();
    const poolTo = hiddenLayers(s).at(-1)?.shape.reduce((a, b) => a * b, 1) ?? 0;
    s.dispose();
    const baseline = tf.memory().numTensors;
    const raw = computeTeacherFeatures(teacher, set);
    const pooled = computeTeacherFeatures(teacher, set, poolTo);
    assert.equal(tf.memory().numTensors, baseline, `${name}: no tensors left behind`);
    const per = raw.values.length / set.size;
    assert.deepEqual(raw.shape, hiddenLayers(teacher).at(-1)?.shape);
    assert.deepEqual(pooled.shape, [poolTo]);
    // A batch of 37 rows in a scrambled order, as train() would draw it.
    const rows = Int32Array.from({ length: 37 }, (_, i) => (i * 53 + 11) % set.size);
    const x = new Float32Array(rows.length * 784);
    rows.forEach((r, i) => x.set(set.images.subarray(r * 784, (r + 1) * 784), i * 784));
    // At the thread count the rows are computed with: OpenBLAS's sums depend on it.
    const [h, p] = withBlasThreadsSync(WORKER_BLAS_THREADS, () => tf.tidy(() => {
      const hidden = forwardWithFeatures(teacher, tf.tensor2d(x, [rows.length, 784]), { training: false }).features.at(-1) as tf.Tensor;
      return [Array.from(hidden.dataSync()), Array.from(poolFeatures(hidden, poolTo).dataSync())];
    }));
    rows.forEach((r, i) => {
      same(raw.values.subarray(r * per, (r + 1) * per), h.slice(i * per, (i + 1) * per), 1e-6, `${name}: row ${r}`);
      same(pooled.values.subarray(r * poolTo, (r + 1) * poolTo), p.slice(i * poolTo, (i + 1) * poolTo), 1e-6, `${name}: pooled row ${r}`);
    });
    teacher.dispose();
  }
});

test('teacher features: train() with the rows gives the weights of train() running the teacher on every batch (hint and cosine, MLP and conv); no leaks', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  for (const { name, teacher, student } of teachers()) {
    for (const objective of ['hint', 'cosine'] as const) {
      const run = async (limit: number) => {
        const before = setTeacherFeaturesMaxBytes(limit);
        const s = student();
        const shapeOf = (m: tf.LayersModel) => hiddenLayers(m).at(-1)?.shape ?? [];
        const regressor = objective === 'hint' ? createRegressor(shapeOf(s), shapeOf(teacher), { seed: 6 }) : undefined;
        const baseline = tf.memory().numTensors;
        try {
          // A run's thread count, the one the rows are computed with (runs train at their spec's).
          const r = await withBlasThreads(WORKER_BLAS_THREADS, () => train(s, { train: set, epochs: 2, batchSize: 32, seed: 5, loss: { objective, alpha: 0.5, teacher, regressor } }));
          assert.equal(tf.memory().numTensors, baseline, `${name} ${objective}: no tensors left behind`);
          return { weights: [...flat(s), ...(regressor ? flat(regressor) : [])], losses: r.history.map((e) => e.loss) };
        } finally {
          setTeacherFeaturesMaxBytes(before);
          s.dispose();
          regressor?.dispose();
        }
      };
      const perBatch = await run(0);
      const rows = await run(1 << 30);
      same(rows.losses, perBatch.losses, 1e-5, `${name} ${objective}: losses`);
      same(rows.weights, perBatch.weights, 1e-4, `${name} ${objective}: weights`);
    }
    teacher.dispose();
  }
});

test('teacher features: refused with jitter, for another set or shape, and on objectives that read no hidden layer', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  const other = subset(set, Int32Array.from({ length: 64 }, (_, i) => i), 'first-64');
  const teacher = createTeacher({ hidden: [48, 40], seed: 4 });
  const features = computeTeacherFeatures(teacher, set);
  const fit = (loss: LossSpec, options: { jitter?: number; on?: DigitSet; hidden?: number[] } = {}) => {
    const s = createStudent({ hidden: options.hidden ?? [24, 16], seed: 5 });
    return train(s, { train: options.on ?? set, epochs: 1, batchSize: 32, seed: 5, jitter: options.jitter, loss }).finally(() => s.dispose());
  };
  const regressor = createRegressor([16], [40], { seed: 6 });
  await assert.rejects(fit({ objective: 'hint', alpha: 0.5, teacher, regressor, teacherFeatures: features }, { jitter: 2 }), code('STALE_TEACHER_LOGITS'));
  await assert.rejects(fit({ objective: 'hint', alpha: 0.5, teacher, regressor, teacherFeatures: features }, { on: other }), code('TEACHER_LOGITS_MISMATCH'));
  // Raw rows given to cosine, which compares the rows pooled to the student's 16 values.
  await assert.rejects(fit({ objective: 'cosine', alpha: 0.5, teacher, teacherFeatures: features }), code('SHAPE_MISMATCH'));
  await assert.rejects(fit({ objective: 'kd', temperature: 4, alpha: 0.5, teacher, teacherFeatures: features }), code('BAD_LOSS'));
  // With jitter and no rows given, the teacher runs on each jittered batch: it trains.
  const r = await fit({ objective: 'hint', alpha: 0.5, teacher, regressor }, { jitter: 2 });
  assert.ok(Number.isFinite(r.history[0].loss));
  regressor.dispose();
  teacher.dispose();
});

test('teacher features on disk: computed once, read back equal, keyed by the pooling, recomputed when truncated, none above the size limit', async () => {
  await initBackend({ quiet: true });
  const set = digits();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-features-'));
  const teacher = createTeacher({ hidden: [48, 40], seed: 4 });
  try {
    const first = teacherFeaturesCached(teacher, set, { dir });
    const files = () => fs.readdirSync(dir).filter((f) => f.endsWith('.f32'));
    assert.equal(files().length, 1);
    const again = teacherFeaturesCached(teacher, set, { dir });
    assert.deepEqual(again?.values, first?.values);
    assert.deepEqual(first?.values, computeTeacherFeatures(teacher, set).values);
    const pooled = teacherFeaturesCached(teacher, set, { dir, poolTo: 16 });
    assert.equal(files().length, 2, 'the pooled rows are another file');
    assert.equal(pooled?.values.length, set.size * 16);
    const file = path.join(dir, files().find((f) => fs.statSync(path.join(dir, f)).size === (first?.values.byteLength ?? 0)) ?? '');
    fs.truncateSync(file, 100);
    assert.deepEqual(teacherFeaturesCached(teacher, set, { dir })?.values, first?.values, 'a truncated file is recomputed');
    const before = setTeacherFeaturesMaxBytes(set.size * 40 * 4 - 1);
    try {
      assert.equal(teacherFeaturesCached(teacher, set, { dir }), null);
    } finally {
      setTeacherFeaturesMaxBytes(before);
    }
  } finally {
    teacher.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runAll's work estimate: hand-counted multiply-adds, and 08's runs ranked as their measured times", () => {
  // 3×3 stride-2 'same' convolutions: 14·14·9·256 + 7·7·9·256·512 + 7·7·512·10.
  assert.equal(forwardMacs({ kind: 'conv', filters: [256, 512] }), 451_584 + 57_802_752 + 250_880);
  assert.equal(forwardMacs({ kind: 'mlp', hidden: [800, 800] }), 784 * 800 + 800 * 800 + 800 * 10);
  const spec = (model: RunSpec['model'], objective: RunSpec['objective'], epochs: number): RunSpec => ({
    data: { validationSize: 5000, splitSeed: 0 }, model, objective, optimizer: { name: 'adam' },
    budget: { epochs }, batchSize: 64, seed: 0,
  });
  const mlp: RunSpec['model'] = { kind: 'mlp', hidden: [800, 800] };
  const cnn: RunSpec['model'] = { kind: 'conv', filters: [16, 32] };
  // Measured seconds per run in 08's full mode (docs/full-mode.md): MLP kd 113, dkd 138,
  // CNN kd 12.7. Without a stored teacher the estimate counts the student only.
  const work = (s: RunSpec) => estimatedRunWork(s, 55_000);
  assert.ok(work(spec(mlp, { objective: 'kd', temperature: 4, alpha: 0.9 }, 20)) > 5 * work(spec(cnn, { objective: 'kd', temperature: 4, alpha: 0.9 }, 3)));
  assert.ok(work(spec(mlp, { objective: 'hard' }, 20)) === work(spec(mlp, { objective: 'kd', temperature: 4, alpha: 0.9 }, 20)));
});
